//! Writing query results: an aligned table for people, CSV and JSON lines for programs (no
//! decoration), Parquet for other engines. Results stream batch by batch, except the table,
//! which needs every row to size its columns.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrame;
use futures::StreamExt;
use heatlake_model::parquet_settings::{ParquetSettings, writer_properties};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{DEFAULT_CREATED_BY, DEFAULT_MAX_ROW_GROUP_ROW_COUNT};

use crate::{Error, Result};

/// How a result is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// An aligned text table.
    #[default]
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row, one row per line.
    Json,
    /// A Parquet file (needs a file destination).
    Parquet,
}

/// A name that is not an [`OutputFormat`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {name:?} (table, csv, json, parquet)")]
pub struct UnknownOutputFormat {
    /// The name given.
    pub name: String,
}

impl FromStr for OutputFormat {
    type Err = UnknownOutputFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "parquet" => Ok(Self::Parquet),
            other => Err(UnknownOutputFormat {
                name: other.to_owned(),
            }),
        }
    }
}

/// The Parquet settings of a written result: Heatlake's [`ParquetSettings`] in the `parquet`
/// crate's default row groups (a result is read whole, not pruned) and with its `created_by`.
pub fn result_parquet_settings() -> ParquetSettings {
    ParquetSettings {
        row_group_rows_max: DEFAULT_MAX_ROW_GROUP_ROW_COUNT,
        created_by: DEFAULT_CREATED_BY.to_owned(),
        ..ParquetSettings::default()
    }
}

/// Runs `frame` and writes its rows to `destination` in `format`; returns the row count.
pub async fn write_frame<W: Write + Send>(
    frame: DataFrame,
    format: OutputFormat,
    destination: W,
) -> Result<u64> {
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    let mut stream = frame.execute_stream().await?;
    let mut rows = 0u64;
    match format {
        OutputFormat::Table => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                batches.push(batch);
            }
            write_table(&schema, &batches, destination)?;
        }
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(destination);
            let mut wrote_any = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
                wrote_any = true;
            }
            if !wrote_any {
                // The header alone, so that an empty result is still a valid CSV with columns.
                writer.write(&RecordBatch::new_empty(Arc::clone(&schema)))?;
            }
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(destination);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
        OutputFormat::Parquet => {
            let properties = writer_properties(&result_parquet_settings())?;
            let mut writer = ArrowWriter::try_new(destination, schema, Some(properties))?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.close()?;
        }
    }
    Ok(rows)
}

/// Runs `frame` and collects its rows, failing with [`Error::RowLimit`] as soon as there are
/// more than `rows_max` (the query stops there: no more is read or kept).
pub async fn collect_rows_max(
    frame: DataFrame,
    rows_max: usize,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    let mut stream = frame.execute_stream().await?;
    let mut batches = Vec::new();
    let mut rows = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        if rows > rows_max {
            return Err(Error::RowLimit { rows_max });
        }
        batches.push(batch);
    }
    Ok((schema, batches))
}

/// Writes `batches` as an aligned table, with the column names even when there are no rows.
pub fn write_table<W: Write>(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    mut destination: W,
) -> Result<()> {
    let table = if batches.iter().all(|batch| batch.num_rows() == 0) {
        arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(Arc::clone(schema))])?
    } else {
        arrow::util::pretty::pretty_format_batches(batches)?
    };
    writeln!(destination, "{table}")?;
    Ok(())
}
