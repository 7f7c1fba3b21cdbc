//! The flusher: WAL records → sorted Parquet per (site, date) → one idempotent Delta commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use arrow::array::{Array, Date32Array, RecordBatch};
use arrow::compute::kernels::cmp::eq;
use arrow::compute::{concat_batches, filter_record_batch};
use deltalake::DeltaTable;
use deltalake::kernel::{Action, Add, Transaction};
use heatlake_model::event_schema;
use heatlake_table::TableLocation;
use tokio::sync::watch;

use super::{CollectorOptions, CommitReport, FlushCounters};
use crate::wal::record::decode_events;
use crate::wal::{Wal, WalReader};
use crate::writer::{DataFileWriter, commit_append};
use crate::{Error, ErrorChain, Result};

/// The last WAL record that `app_id` committed to the table, 0 if none.
pub(super) async fn committed_seq(
    location: &TableLocation,
    table: &DeltaTable,
    app_id: &str,
) -> Result<u64> {
    let delta = |source| Error::from(heatlake_table::Error::delta(location, source));
    let snapshot = table.snapshot().map_err(delta)?;
    let version = snapshot
        .transaction_version(table.log_store().as_ref(), app_id)
        .await
        .map_err(delta)?;
    Ok(version.map_or(0, |version| version.max(0) as u64))
}

/// Events read from the WAL, waiting to be flushed.
#[derive(Default)]
struct Pending {
    /// Batches per site, in WAL order.
    by_site: BTreeMap<String, Vec<RecordBatch>>,
    rows: usize,
    bytes: usize,
    /// When the oldest pending event was read.
    since: Option<Instant>,
    /// The last WAL record read into it.
    last_seq: u64,
}

pub(super) struct Flusher {
    location: TableLocation,
    options: CollectorOptions,
    app_id: String,
    table: Option<DeltaTable>,
    wal: Arc<Wal>,
    reader: WalReader,
    writer: DataFileWriter,
    counters: Arc<FlushCounters>,
    closing: watch::Receiver<bool>,
    pending: Pending,
    /// Whether the store was found to refuse creating an object that exists, which every
    /// commit relies on; checked before the first.
    store_checked: bool,
}

impl Flusher {
    /// A flusher of the WAL whose last record at start-up was `wal_seq`.
    pub(super) fn new(
        location: TableLocation,
        options: CollectorOptions,
        app_id: String,
        wal: Arc<Wal>,
        counters: Arc<FlushCounters>,
        wal_seq: u64,
        closing: watch::Receiver<bool>,
    ) -> Result<Self> {
        let writer = DataFileWriter::new(location.clone(), &options.layout)?;
        Ok(Self {
            reader: wal.reader(1),
            location,
            options,
            app_id,
            table: None,
            wal,
            writer,
            counters,
            closing,
            pending: Pending {
                last_seq: wal_seq,
                ..Pending::default()
            },
            store_checked: false,
        })
    }

    /// Learns from the table how far this collector committed (retrying while the store
    /// cannot be reached) and starts reading the WAL after that record.
    async fn start(&mut self) -> Result<()> {
        let wal_seq = self.pending.last_seq;
        let mut delay = self.options.retry_delay_min;
        let committed_seq = loop {
            let attempt = async {
                self.reload_table().await?;
                match &self.table {
                    Some(table) => committed_seq(&self.location, table, &self.app_id).await,
                    None => Ok(0),
                }
            };
            match attempt.await {
                Ok(seq) => break seq,
                Err(error) if *self.closing.borrow() => return Err(error),
                Err(error) => {
                    self.counters.flush_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        retry_in_ms = delay.as_millis() as u64,
                        "cannot read the table's commits yet: {}",
                        ErrorChain(&error)
                    );
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = self.closing.changed() => {}
                    }
                    delay = (delay * 2).min(self.options.retry_delay_max);
                }
            }
        };
        if committed_seq > wal_seq {
            return Err(Error::WalBehindTable {
                dir: self.options.wal.dir.clone(),
                wal_seq,
                committed_seq,
                app_id: self.app_id.clone(),
            });
        }
        self.counters
            .committed_seq
            .store(committed_seq, Ordering::Relaxed);
        self.reader = self.wal.reader(committed_seq + 1);
        self.pending.last_seq = committed_seq;
        Ok(())
    }

    /// Flushes until the collector closes and everything is committed, or a failure that
    /// retrying cannot mend (a damaged WAL, another collector's WAL directory).
    pub(super) async fn run(mut self) -> Result<()> {
        let outcome = self.flush_until_closed().await;
        if let Err(error) = &outcome {
            tracing::error!("the collector's flusher stopped: {}", ErrorChain(error));
        }
        outcome
    }

    async fn flush_until_closed(&mut self) -> Result<()> {
        self.start().await?;
        loop {
            self.read_available()?;
            let closing = *self.closing.borrow();
            let caught_up = self.reader.next_seq() > self.wal.durable_seq();
            let full = self.pending.rows >= self.options.flush_rows_max
                || self.pending.bytes >= self.options.flush_bytes_max;
            let aged = self
                .pending
                .since
                .is_some_and(|since| since.elapsed() >= self.options.flush_age_max);
            if self.pending.rows > 0 && (full || aged || (closing && caught_up)) {
                self.flush_with_retry(closing).await?;
                continue;
            }
            if closing && caught_up {
                return Ok(());
            }
            let wait = self
                .pending
                .since
                .map_or(self.options.flush_age_max, |since| {
                    self.options.flush_age_max.saturating_sub(since.elapsed())
                });
            let seen = self.reader.next_seq() - 1;
            tokio::select! {
                () = self.wal.wait_past(seen) => {}
                () = tokio::time::sleep(wait) => {}
                _ = self.closing.changed() => {}
            }
        }
    }

    /// Reads durable records into `pending` until it is full or the WAL has no more.
    fn read_available(&mut self) -> Result<()> {
        while self.pending.rows < self.options.flush_rows_max
            && self.pending.bytes < self.options.flush_bytes_max
        {
            let Some(record) = self.reader.next_record()? else {
                break;
            };
            if record.is_placeholder() {
                // Holds the place of records a salvage dropped: nothing to commit.
                continue;
            }
            let batch = decode_events(&record.ipc).map_err(|error| Error::WalDamaged {
                path: self.options.wal.dir.clone(),
                offset: 0,
                reason: format!("record {} holds unreadable events: {error}", record.seq),
            })?;
            self.pending.rows += batch.num_rows();
            // The record's encoded size, not the batch's memory size: decoded batches share one
            // buffer, which `get_array_memory_size` counts once per column; on the 10 M
            // benchmark that cut flushes at about 6,000 events.
            self.pending.bytes += record.ipc.len();
            self.pending.since.get_or_insert_with(Instant::now);
            self.pending.last_seq = record.seq;
            self.pending
                .by_site
                .entry(record.site)
                .or_default()
                .push(batch);
        }
        self.counters
            .events_pending
            .store(self.pending.rows as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Flushes `pending`, retrying with backoff until it commits. While closing, gives up after
    /// `shutdown_commit_timeout`, leaving the events in the WAL.
    async fn flush_with_retry(&mut self, closing: bool) -> Result<()> {
        let started = Instant::now();
        let mut delay = self.options.retry_delay_min;
        let mut files: Option<Vec<Add>> = None;
        let mut uncertain = false;
        loop {
            let attempt = self.flush_once(&mut files, uncertain, started).await;
            let error = match attempt {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            self.counters.flush_failures.fetch_add(1, Ordering::Relaxed);
            // The commit may have landed even though it reported an error: check before the
            // next attempt rather than commit twice.
            uncertain = true;
            let closing = closing || *self.closing.borrow();
            if closing && started.elapsed() >= self.options.shutdown_commit_timeout {
                return Err(Error::FlushAbandoned {
                    events: self.pending.rows as u64,
                    source: Box::new(error),
                });
            }
            tracing::warn!(
                retry_in_ms = delay.as_millis() as u64,
                events = self.pending.rows,
                "flush failed, will retry: {}",
                ErrorChain(&error)
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.options.retry_delay_max);
        }
    }

    async fn flush_once(
        &mut self,
        files: &mut Option<Vec<Add>>,
        uncertain: bool,
        started: Instant,
    ) -> Result<()> {
        let last_seq = self.pending.last_seq;
        if uncertain {
            self.reload_table().await?;
            if let Some(table) = &self.table
                && committed_seq(&self.location, table, &self.app_id).await? >= last_seq
            {
                let version = table.version().unwrap_or_default();
                let adds = files.take().unwrap_or_default();
                self.committed(&adds, version, started);
                return Ok(());
            }
        }
        if !self.store_checked {
            // Another writer's commit must not be replaced by this one: a store that would
            // let it gets no commit (the events wait in the WAL, the error is logged).
            heatlake_table::ensure_conditional_put(&self.location).await?;
            self.store_checked = true;
        }
        if files.is_none() {
            *files = Some(self.write_files().await?);
        }
        let adds = files.as_ref().expect("written above");
        let mut actions: Vec<Action> = adds.iter().cloned().map(Action::Add).collect();
        actions.push(Action::Txn(Transaction::new_with_last_update(
            &self.app_id,
            last_seq as i64,
            Some(chrono::Utc::now().timestamp_millis()),
        )));
        let version = match self.commit(actions).await {
            Ok(version) => version,
            Err(error) => {
                // Start the next attempt from a fresh read of the log rather than a snapshot
                // the failed commit may have left behind.
                self.table = None;
                return Err(error);
            }
        };
        let adds = files.take().expect("written above");
        self.committed(&adds, version, started);
        Ok(())
    }

    /// Sorts and writes one data file per (site, date) of `pending`.
    async fn write_files(&self) -> Result<Vec<Add>> {
        let mut adds = Vec::new();
        let schema = event_schema();
        for (site, batches) in &self.pending.by_site {
            let batch = concat_batches(&schema, batches)?;
            for (date_days, rows) in split_by_date(&batch)? {
                adds.extend(self.writer.write(site, date_days, rows).await?);
            }
        }
        Ok(adds)
    }

    async fn commit(&mut self, actions: Vec<Action>) -> Result<u64> {
        if self.table.is_none() {
            self.reload_table().await?;
        }
        let (version, created) =
            commit_append(&self.location, self.table.as_ref(), actions).await?;
        match (created, &mut self.table) {
            (Some(created), _) => self.table = Some(created),
            (None, Some(table)) => table
                .update_state()
                .await
                .map_err(|source| heatlake_table::Error::delta(&self.location, source))?,
            (None, None) => unreachable!("an append commits to an existing table"),
        }
        Ok(version)
    }

    async fn reload_table(&mut self) -> Result<()> {
        if let Some(table) = &mut self.table {
            table
                .update_state()
                .await
                .map_err(|source| heatlake_table::Error::delta(&self.location, source))?;
        } else {
            self.table = heatlake_table::open_if_exists(&self.location).await?;
        }
        Ok(())
    }

    /// Records a commit: counters, the observer, the WAL segments it frees, an empty `pending`.
    fn committed(&mut self, adds: &[Add], version: u64, started: Instant) {
        let report = CommitReport {
            events: self.pending.rows as u64,
            files: adds.len() as u64,
            bytes: adds.iter().map(|add| add.size.max(0) as u64).sum(),
            duration: started.elapsed(),
            version,
            wal_seq: self.pending.last_seq,
        };
        let counters = &self.counters;
        counters
            .committed_seq
            .store(report.wal_seq, Ordering::Relaxed);
        counters
            .events_committed
            .fetch_add(report.events, Ordering::Relaxed);
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters
            .files_written
            .fetch_add(report.files, Ordering::Relaxed);
        counters.events_pending.store(0, Ordering::Relaxed);
        if let Some(observer) = &self.options.on_commit {
            observer(&report);
        }
        let last_seq = self.pending.last_seq;
        self.pending = Pending {
            last_seq,
            ..Pending::default()
        };
        // Releasing is housekeeping: a failure leaves segments that the next release retries.
        let _ = self
            .wal
            .release_through(last_seq, chrono::Utc::now().timestamp_millis());
    }
}

/// The rows of `batch` per UTC date.
fn split_by_date(batch: &RecordBatch) -> Result<Vec<(i32, RecordBatch)>> {
    let dates = batch
        .column_by_name("date")
        .and_then(|column| column.as_any().downcast_ref::<Date32Array>())
        .expect("event_schema has a Date32 date column");
    let mut distinct: Vec<i32> = dates.values().to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() == 1 {
        return Ok(vec![(distinct[0], batch.clone())]);
    }
    distinct
        .into_iter()
        .map(|date| {
            let mask = eq(dates, &Date32Array::new_scalar(date))?;
            Ok((date, filter_record_batch(batch, &mask)?))
        })
        .collect()
}
