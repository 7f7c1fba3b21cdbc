//! A batch import: input files → validated, privacy-protected events → sorted data files per
//! partition → one Delta commit.
//!
//! Parsing runs on its own thread and hands finished partition chunks to the writer over a
//! bounded channel, so decoding and Parquet encoding overlap on two cores while memory stays
//! bounded by [`ImportOptions::buffered_rows_max`]. Data files are invisible until the single
//! commit at the end; when anything fails before it, the files written so far are deleted and the
//! table is left exactly as it was.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use deltalake::kernel::{Action, Add};
use heatlake_model::{EventBatchBuilder, IngestContext, ValidationError, decode_line};
use heatlake_table::TableLocation;
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::reader::{Line, LineReader};
use crate::writer::{DataFileWriter, commit_append};
use crate::{Error, ImportOptions, Result};

/// Partition chunks waiting for the writer; two keep both cores busy without piling up memory.
const CHUNKS_IN_FLIGHT_MAX: usize = 2;

/// A line that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The input file.
    pub path: PathBuf,
    /// The line number, 1-based.
    pub line: u64,
    /// Why it was rejected (its message, in a JSON report).
    #[serde(serialize_with = "serialize_displayed")]
    pub reason: RejectionReason,
}

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectionReason {
    /// The line is not an event of the wire format, or breaks a rule of the schema.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The line is longer than [`ImportOptions::line_bytes_max`].
    #[error("line of {bytes} bytes is longer than the {max} allowed")]
    TooLong {
        /// Bytes the line had (at least).
        bytes: usize,
        /// The bound.
        max: usize,
    },
}

/// Serialises a value as its message.
fn serialize_displayed<S: serde::Serializer>(
    value: &impl fmt::Display,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

/// Counters an import advances as it goes, for progress displays.
#[derive(Debug, Default)]
pub struct ImportProgress {
    /// Bytes read from the input files (compressed bytes for gzip inputs).
    pub bytes_read: Arc<AtomicU64>,
    /// Events accepted so far.
    pub events: AtomicU64,
    /// Data files written so far.
    pub files_written: AtomicU64,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// The table version the import committed.
    pub version: u64,
    /// Whether the import created the table.
    pub created: bool,
    /// Lines read, blank lines included.
    pub lines: u64,
    /// Events committed.
    pub events: u64,
    /// Events committed per type.
    pub events_by_type: BTreeMap<String, u64>,
    /// Lines rejected (at most `max_errors`).
    pub rejected: Vec<Rejection>,
    /// Data files committed.
    pub data_files: u64,
    /// Bytes of the data files.
    pub data_bytes: u64,
    /// Partitions (site, date) written to.
    pub partitions: u64,
}

/// Imports `inputs` (NDJSON files, plain or gzip; `-` for standard input) into the table at
/// `location`, creating it on first import.
pub async fn import(
    location: &TableLocation,
    inputs: &[PathBuf],
    options: &ImportOptions,
    progress: Arc<ImportProgress>,
) -> Result<ImportReport> {
    // Fail on an unreachable or unauthorised store before reading any input.
    let table = heatlake_table::open_if_exists(location).await?;
    // A local table's directory must exist before files are written into it; if this import
    // creates it and then fails, it removes it again.
    let created_directory = match location.local_path() {
        Some(path) if !path.exists() => {
            std::fs::create_dir_all(&path).map_err(|source| Error::CreateDirectory {
                path: path.clone(),
                source,
            })?;
            Some(path)
        }
        _ => None,
    };
    // A commit must not replace another writer's: refuse a store that would let it.
    if let Err(error) = heatlake_table::ensure_conditional_put(location).await {
        if let Some(path) = created_directory {
            let _ = std::fs::remove_dir_all(path);
        }
        return Err(error.into());
    }
    let writer = DataFileWriter::new(location.clone(), &options.layout())?;
    let (sender, mut receiver) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT_MAX);
    let parser = {
        let inputs = inputs.to_vec();
        let options = options.clone();
        let progress = Arc::clone(&progress);
        tokio::task::spawn_blocking(move || parse_inputs(&inputs, &options, &progress, &sender))
    };
    let mut adds: Vec<Add> = Vec::new();
    let mut write_error = None;
    while let Some(chunk) = receiver.recv().await {
        match writer
            .write(&chunk.site, chunk.date_days, chunk.batch)
            .await
        {
            Ok(files) => {
                progress
                    .files_written
                    .fetch_add(files.len() as u64, Ordering::Relaxed);
                adds.extend(files);
            }
            Err(error) => {
                write_error = Some(error);
                break;
            }
        }
    }
    // Closing the receiver stops the parser at its next chunk.
    drop(receiver);
    let parsed = parser.await.expect("the parser thread does not panic");
    let outcome = match (write_error, parsed) {
        (Some(error), _) | (None, Err(error)) => Err(error),
        (None, Ok(parsed)) if parsed.events == 0 => Err(Error::NoEvents),
        (None, Ok(parsed)) => commit(location, table, &adds, parsed).await,
    };
    // Files of a commit that may have landed stay; every other failure leaves no trace.
    if outcome
        .as_ref()
        .is_err_and(|error| !matches!(error, Error::CommitOutcomeUnknown { .. }))
    {
        delete_files(location, &adds).await;
        if let Some(path) = created_directory {
            let _ = std::fs::remove_dir_all(path);
        }
    }
    outcome
}

/// One partition's rows, ready to be sorted and written.
struct Chunk {
    site: String,
    date_days: i32,
    batch: RecordBatch,
}

/// What parsing found, before the commit.
struct Parsed {
    lines: u64,
    events: u64,
    events_by_type: BTreeMap<String, u64>,
    rejected: Vec<Rejection>,
    partitions: u64,
}

fn parse_inputs(
    inputs: &[PathBuf],
    options: &ImportOptions,
    progress: &ImportProgress,
    sender: &mpsc::Sender<Chunk>,
) -> Result<Parsed> {
    let received_at_ms = options
        .received_at_ms
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let mut context = IngestContext::new(
        options.id_secret.clone(),
        options.privacy.clone(),
        received_at_ms,
    );
    let mut partitions = PartitionBuffers::new(options, sender);
    let mut parsed = Parsed {
        lines: 0,
        events: 0,
        events_by_type: BTreeMap::new(),
        rejected: Vec::new(),
        partitions: 0,
    };
    let mut per_type = [0u64; heatlake_model::EventType::ALL.len()];
    for path in inputs {
        let mut reader = LineReader::open(
            path,
            options.line_bytes_max,
            Arc::clone(&progress.bytes_read),
        )
        .map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let gzip = reader.is_gzip();
        loop {
            let line = match reader.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(source) if gzip => {
                    return Err(Error::Gzip {
                        path: path.clone(),
                        line: reader.line_number(),
                        source,
                    });
                }
                Err(source) => {
                    return Err(Error::Read {
                        path: path.clone(),
                        source,
                    });
                }
            };
            parsed.lines += 1;
            let outcome = match line {
                Line::Complete(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Line::Complete(bytes) => decode_line(bytes)
                    .and_then(|wire| context.accept(wire))
                    .map_err(RejectionReason::from)
                    .map(|event| {
                        per_type[event.event_type as usize] += 1;
                        partitions.append(&event)
                    }),
                Line::TooLong { bytes } => Err(RejectionReason::TooLong {
                    bytes,
                    max: options.line_bytes_max,
                }),
            };
            match outcome {
                Ok(send) => {
                    parsed.events += 1;
                    if parsed.events.is_multiple_of(4096) {
                        progress.events.store(parsed.events, Ordering::Relaxed);
                    }
                    send?;
                }
                Err(reason) => {
                    let rejection = Rejection {
                        path: path.clone(),
                        line: reader.line_number(),
                        reason,
                    };
                    if parsed.rejected.len() as u64 >= options.max_errors {
                        let first = Box::new(parsed.rejected.first().unwrap_or(&rejection).clone());
                        return Err(Error::TooManyRejected {
                            rejected: parsed.rejected.len() as u64 + 1,
                            max_errors: options.max_errors,
                            first,
                        });
                    }
                    parsed.rejected.push(rejection);
                }
            }
        }
    }
    progress.events.store(parsed.events, Ordering::Relaxed);
    parsed.partitions = partitions.finish()?;
    for event_type in heatlake_model::EventType::ALL {
        let count = per_type[event_type as usize];
        if count > 0 {
            parsed.events_by_type.insert(event_type.to_string(), count);
        }
    }
    Ok(parsed)
}

/// Arrow builders per (site, date), bounded in rows per partition and in total.
struct PartitionBuffers<'a> {
    /// Builders by site, then by date; looked up by the event's borrowed site name, so that the
    /// common case allocates nothing.
    buffers: HashMap<String, HashMap<i32, EventBatchBuilder>>,
    buffered_rows: usize,
    file_rows_max: usize,
    buffered_rows_max: usize,
    partitions_seen: std::collections::HashSet<(String, i32)>,
    sender: &'a mpsc::Sender<Chunk>,
}

impl<'a> PartitionBuffers<'a> {
    fn new(options: &ImportOptions, sender: &'a mpsc::Sender<Chunk>) -> Self {
        Self {
            buffers: HashMap::new(),
            buffered_rows: 0,
            file_rows_max: options.file_rows_max.max(1),
            buffered_rows_max: options.buffered_rows_max.max(1),
            partitions_seen: Default::default(),
            sender,
        }
    }

    /// Appends an event; hands a partition to the writer when a bound is reached.
    fn append(&mut self, event: &heatlake_model::Event<'_>) -> Result<()> {
        let site = event.site.as_ref();
        if !self.buffers.contains_key(site) {
            self.buffers.insert(site.to_owned(), HashMap::new());
        }
        let dates = self.buffers.get_mut(site).expect("inserted above");
        let builder = dates.entry(event.date_days).or_insert_with(|| {
            self.partitions_seen
                .insert((site.to_owned(), event.date_days));
            EventBatchBuilder::with_capacity(8192)
        });
        builder.append(event);
        self.buffered_rows += 1;
        if builder.len() >= self.file_rows_max {
            self.send(site.to_owned(), event.date_days)?;
        } else if self.buffered_rows >= self.buffered_rows_max {
            let (site, date) = self
                .buffers
                .iter()
                .flat_map(|(site, dates)| {
                    dates
                        .iter()
                        .map(move |(date, builder)| (site, *date, builder.len()))
                })
                .max_by_key(|(_, _, rows)| *rows)
                .map(|(site, date, _)| (site.clone(), date))
                .expect("rows are buffered, so some partition holds them");
            self.send(site, date)?;
        }
        Ok(())
    }

    /// Hands one partition's rows to the writer.
    fn send(&mut self, site: String, date_days: i32) -> Result<()> {
        let Some(mut builder) = self
            .buffers
            .get_mut(&site)
            .and_then(|dates| dates.remove(&date_days))
        else {
            return Ok(());
        };
        self.buffered_rows -= builder.len();
        let chunk = Chunk {
            site,
            date_days,
            batch: builder.finish(),
        };
        // A closed channel means the writer stopped on an error, which it reports itself.
        self.sender
            .blocking_send(chunk)
            .map_err(|_| Error::WriterStopped)
    }

    /// Hands every partition still buffered to the writer; returns the number of partitions seen.
    fn finish(mut self) -> Result<u64> {
        let mut keys: Vec<(String, i32)> = self
            .buffers
            .iter()
            .flat_map(|(site, dates)| dates.keys().map(move |date| (site.clone(), *date)))
            .collect();
        keys.sort();
        for (site, date) in keys {
            self.send(site, date)?;
        }
        Ok(self.partitions_seen.len() as u64)
    }
}

async fn commit(
    location: &TableLocation,
    table: Option<deltalake::DeltaTable>,
    adds: &[Add],
    parsed: Parsed,
) -> Result<ImportReport> {
    let actions: Vec<Action> = adds.iter().cloned().map(Action::Add).collect();
    let read_version = table.as_ref().and_then(|table| table.version());
    let (version, created) = match commit_append(location, table.as_ref(), actions).await {
        Ok((version, created_table)) => (version, created_table.is_some()),
        // An error does not prove that nothing landed: the store may have taken the commit
        // and lost its answer, with every retry failing after it. Deleting the files then
        // would leave the table naming files that are gone.
        Err(error) => match landed_version(location, read_version, adds).await {
            Ok(Some(version)) => {
                tracing::warn!(
                    version,
                    "the commit reported an error but is in the table: {}",
                    crate::ErrorChain(&error)
                );
                (version, read_version.is_none() && version == 0)
            }
            Ok(None) => return Err(error),
            Err(check) => {
                tracing::warn!(
                    "checking whether the failed commit landed failed too: {}",
                    crate::ErrorChain(&check)
                );
                return Err(Error::CommitOutcomeUnknown {
                    location: location.to_string(),
                    files: adds.len(),
                    source: Box::new(error),
                });
            }
        },
    };
    Ok(ImportReport {
        version,
        created,
        lines: parsed.lines,
        events: parsed.events,
        events_by_type: parsed.events_by_type,
        rejected: parsed.rejected,
        data_files: adds.len() as u64,
        data_bytes: adds.iter().map(|add| add.size as u64).sum(),
        partitions: parsed.partitions,
    })
}

/// The version of the commit holding `adds`, if one after `read_version` (the version the
/// import read; `None`: there was no table) does: the log is read again, commit by commit.
async fn landed_version(
    location: &TableLocation,
    read_version: Option<u64>,
    adds: &[Add],
) -> Result<Option<u64>> {
    let Some(first) = adds.first() else {
        return Ok(None);
    };
    let Some(table) = heatlake_table::open_if_exists(location).await? else {
        return Ok(None);
    };
    let latest = table.version().unwrap_or_default();
    let log_store = table.log_store();
    for version in read_version.map_or(0, |read| read + 1)..=latest {
        let entry = log_store
            .read_commit_entry(version)
            .await
            .map_err(|source| heatlake_table::Error::delta(location, source))?;
        let names_first_file = entry.is_some_and(|bytes| {
            bytes.split(|byte| *byte == b'\n').any(|line| {
                serde_json::from_slice::<serde_json::Value>(line)
                    .is_ok_and(|action| action["add"]["path"] == first.path.as_str())
            })
        });
        if names_first_file {
            return Ok(Some(version));
        }
    }
    Ok(None)
}

/// Removes data files of an import or a rewrite that did not commit; they were never visible,
/// so a failure here leaves only unreferenced files for a later vacuum.
pub(crate) async fn delete_files(location: &TableLocation, adds: &[Add]) {
    let Ok(store) = heatlake_table::object_store(location) else {
        return;
    };
    for add in adds {
        if let Ok(path) = StorePath::from_url_path(&add.path) {
            let _ = store.delete(&path).await;
        }
    }
}
