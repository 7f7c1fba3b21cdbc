//! An answer to a question asked over HTTP: the rows of one or more named parts, read from one
//! table version, and their encodings (JSON, CSV, Arrow IPC stream) under a byte bound.
//!
//! [`crate::ScopedSession::answer`] runs a question under its limits and collects its parts
//! (stopping at the row bound); [`Answer::encode`] writes them, stopping at the byte bound after
//! each batch, so that neither bound is ever passed by more than one batch.
//!
//! ```no_run
//! # async fn example(session: &heatlake_query::ScopedSession) -> heatlake_query::Result<()> {
//! use heatlake_query::answer::Encoding;
//!
//! let answer = session
//!     .answer(&["result"], 100_000, async |session| {
//!         Ok(vec![session.plan("SELECT type, count(*) FROM events GROUP BY type").await?])
//!     })
//!     .await?;
//! let json = answer.encode(Encoding::Json, 64 << 20)?;
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;

use crate::{Error, Result};

/// How an answer is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `{"version", "columns", "rows"}` with rows as objects; several parts as
    /// `{"version", "<name>": {"columns", "rows"}, ...}`.
    Json,
    /// CSV with a header line (also for no rows), text cells that a spreadsheet would run as a
    /// formula prefixed with `'`. One part only.
    Csv,
    /// An Arrow IPC stream (schema, then record batches). One part only.
    ArrowStream,
}

/// One result of a question: its columns and rows.
#[derive(Debug, Clone)]
pub struct Part {
    name: &'static str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Part {
    /// A part named `name` (its JSON key when an answer has several).
    pub fn new(name: &'static str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self {
            name,
            schema,
            batches,
        }
    }

    /// The part's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The columns.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The rows.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}

/// The parts of an answer and the table version they were read from.
#[derive(Debug, Clone)]
pub struct Answer {
    version: u64,
    parts: Vec<Part>,
}

impl Answer {
    /// An answer of `parts` read from table `version`.
    pub fn new(version: u64, parts: Vec<Part>) -> Self {
        Self { version, parts }
    }

    /// The table version the answer was read from.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The parts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The answer in `encoding`; [`Error::AnswerTooLarge`] as soon as it passes `bytes_max`,
    /// [`Error::SeveralParts`] for CSV and Arrow of an answer with several parts.
    pub fn encode(&self, encoding: Encoding, bytes_max: usize) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        match encoding {
            Encoding::Json => {
                body.extend_from_slice(format!("{{\"version\":{}", self.version).as_bytes());
                if let [part] = self.parts.as_slice() {
                    body.push(b',');
                    json_part(part, &mut body, bytes_max)?;
                } else {
                    for part in &self.parts {
                        body.extend_from_slice(format!(",\"{}\":{{", part.name).as_bytes());
                        json_part(part, &mut body, bytes_max)?;
                        body.push(b'}');
                    }
                }
                body.extend_from_slice(b"}\n");
            }
            Encoding::Csv => {
                let part = self.single()?;
                let empty = RecordBatch::new_empty(part.schema.clone());
                let batches = if part.batches.is_empty() {
                    std::slice::from_ref(&empty)
                } else {
                    part.batches.as_slice()
                };
                for (index, batch) in batches.iter().enumerate() {
                    // The header once, also for an empty answer (so it still names its columns).
                    arrow::csv::WriterBuilder::new()
                        .with_header(index == 0)
                        .build(&mut body)
                        .write(&neutralise_formulas(batch).map_err(encoding_answer)?)
                        .map_err(encoding_answer)?;
                    check_bytes(body.len(), bytes_max)?;
                }
            }
            Encoding::ArrowStream => {
                let part = self.single()?;
                let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut body, &part.schema)
                    .map_err(encoding_answer)?;
                for batch in &part.batches {
                    writer.write(batch).map_err(encoding_answer)?;
                    check_bytes(writer.get_ref().len(), bytes_max)?;
                }
                writer.finish().map_err(encoding_answer)?;
            }
        }
        check_bytes(body.len(), bytes_max)?;
        Ok(body)
    }

    fn single(&self) -> Result<&Part> {
        match self.parts.as_slice() {
            [part] => Ok(part),
            parts => Err(Error::SeveralParts {
                parts: parts.iter().map(|part| part.name).collect(),
            }),
        }
    }
}

/// First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `batch` with every text cell that a spreadsheet would run as a formula prefixed with `'`, so
/// that it opens as text: a CSV answer can carry what visitors typed (element texts, paths,
/// referrers). Only text columns change (as Utf8); numbers never do, so `-1` stays `-1`.
fn neutralise_formulas(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let needs_quote = |text: &str| text.starts_with(FORMULA_STARTS);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(batch.schema().fields()) {
        let is_text = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) || matches!(field.data_type(), DataType::Dictionary(_, value)
                if matches!(**value, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View));
        if !is_text {
            columns.push(column.clone());
            fields.push(field.clone());
            continue;
        }
        let text = arrow::compute::cast(column, &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 gives a StringArray");
        let quoted: StringArray = text
            .iter()
            .map(|cell| {
                cell.map(|cell| {
                    if needs_quote(cell) {
                        Cow::Owned(format!("'{cell}"))
                    } else {
                        Cow::Borrowed(cell)
                    }
                })
            })
            .collect();
        columns.push(Arc::new(quoted));
        fields.push(Arc::new(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// `"columns":[{"name","type"}],"rows":[{...}]`
fn json_part(part: &Part, body: &mut Vec<u8>, bytes_max: usize) -> Result<()> {
    let columns: Vec<_> = part
        .schema
        .fields()
        .iter()
        .map(|field| serde_json::json!({"name": field.name(), "type": field.data_type().to_string()}))
        .collect();
    body.extend_from_slice(b"\"columns\":");
    serde_json::to_writer(&mut *body, &columns).map_err(|error| Error::Encode {
        what: "the columns",
        source: Box::new(error),
    })?;
    body.extend_from_slice(b",\"rows\":");
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(&mut *body);
    for batch in &part.batches {
        writer.write(batch).map_err(encoding_answer)?;
        check_bytes(writer.get_ref().len(), bytes_max)?;
    }
    writer.finish().map_err(encoding_answer)?;
    if part.batches.is_empty() {
        // The array writer writes nothing at all without rows.
        body.extend_from_slice(b"[]");
    }
    Ok(())
}

fn check_bytes(bytes: usize, bytes_max: usize) -> Result<()> {
    if bytes > bytes_max {
        return Err(Error::AnswerTooLarge { bytes_max });
    }
    Ok(())
}

fn encoding_answer(error: ArrowError) -> Error {
    Error::Encode {
        what: "the answer",
        source: Box::new(error),
    }
}
