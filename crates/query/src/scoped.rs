//! A read-only session limited to some sites, with a time and a memory limit per query: what a
//! read key gets over HTTP.
//!
//! The site filter lives in the plan, not in the caller: `events` is registered as a view
//! `SELECT * FROM <snapshot table> WHERE site IN (...)` and the snapshot table itself has no
//! name, so every way SQL can name rows (subqueries, joins, `UNION`, CTEs, qualified names,
//! views) goes through the filter. Nothing else is registered: no `information_schema`, no
//! URL tables, no file-reading table functions. Statements that are not queries (DDL, DML
//! including `COPY`, `SET` and other statements) are refused before planning ends.
//!
//! What a query may use outside its memory pool is bounded too: spill files
//! ([`ScopeLimits::spill_bytes_max`]) and the values of functions that build large values
//! ([`crate::bounded`], [`ScopeLimits::functions`]).

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use deltalake::DeltaTable;
use heatlake_table::TableLocation;

use crate::answer::{Answer, Part};
use crate::bounded::FunctionLimits;
use crate::output::collect_rows_max;
use crate::{Error, EventsSession, QueryOptions, Result};

/// What DataFusion 55's disk manager says when a spill passes the temp directory bound (it
/// returns an `io::Error` with this text, no variant to match).
const SPILL_LIMIT_MESSAGE: &str = "disk space during the spilling process has exceeded";

/// Limits of one scoped query.
#[derive(Debug, Clone)]
pub struct ScopeLimits {
    /// Longest a query may plan and run. Default 30 s.
    pub query_time_max: Duration,
    /// Memory the session's operators may hold at once; sorts and aggregations spill to disk
    /// past it, other operators fail. Default 512 MiB.
    pub memory_bytes_max: usize,
    /// Bytes the session's operators may spill to disk at once; past it the query fails with
    /// [`Error::SpillLimit`]. Default 1 GiB (DataFusion's own default is 100 GiB per session).
    pub spill_bytes_max: u64,
    /// Bounds of the functions that build values outside the memory pool.
    pub functions: FunctionLimits,
}

impl Default for ScopeLimits {
    fn default() -> Self {
        Self {
            query_time_max: Duration::from_secs(30),
            memory_bytes_max: 512 * 1024 * 1024,
            spill_bytes_max: 1024 * 1024 * 1024,
            functions: FunctionLimits::default(),
        }
    }
}

/// A read-only session that sees only the rows of some sites.
pub struct ScopedSession {
    events: EventsSession,
    sites: Vec<String>,
    limits: ScopeLimits,
}

impl ScopedSession {
    /// Opens the table at `location` (latest, or `version`) showing only `sites`.
    pub async fn open(
        location: &TableLocation,
        version: Option<u64>,
        sites: &[String],
        options: &QueryOptions,
        limits: ScopeLimits,
    ) -> Result<Self> {
        check_sites(sites)?;
        let table = heatlake_table::open(location, version).await?;
        Self::from_table(&table, location, sites, options, limits).await
    }

    /// The same over a `table` already loaded (for example by a [`crate::LatestTable`]):
    /// no log is read, the session reads the table's loaded version.
    pub async fn from_table(
        table: &DeltaTable,
        location: &TableLocation,
        sites: &[String],
        options: &QueryOptions,
        limits: ScopeLimits,
    ) -> Result<Self> {
        check_sites(sites)?;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(limits.memory_bytes_max)))
            .with_max_temp_directory_size(limits.spill_bytes_max)
            .build_arc()?;
        let events =
            EventsSession::from_table(table, location, options, Some(sites), Some(runtime)).await?;
        crate::bounded::register(events.context(), limits.functions)?;
        Ok(Self {
            events,
            sites: sites.to_vec(),
            limits,
        })
    }

    /// The sites this session can see.
    pub fn sites(&self) -> &[String] {
        &self.sites
    }

    /// The underlying session, for the ready-made questions ([`crate::analytics`]): they see
    /// the same filtered `events`. Run them through [`Self::run_limited`] to apply the limits.
    pub fn events(&self) -> &EventsSession {
        &self.events
    }

    /// Plans and runs one read-only `query` within the limits.
    pub async fn collect(&self, query: &str) -> Result<Vec<RecordBatch>> {
        self.run_limited(async { Ok(self.plan(query).await?.collect().await?) })
            .await
    }

    /// Plans one read-only `query`: anything but a query is [`Error::NotReadOnly`]. Run the
    /// frame through [`Self::run_limited`] (planning included) to apply the limits.
    pub async fn plan(&self, query: &str) -> Result<DataFrame> {
        let state = self.events.context().state();
        let plan = state.create_logical_plan(query).await?;
        let read_only = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        read_only
            .verify_plan(&plan)
            .map_err(|error| Error::NotReadOnly {
                message: error.strip_backtrace(),
            })?;
        Ok(self.events.context().execute_logical_plan(plan).await?)
    }

    /// Plans the frames of a question with `plan` and collects their rows as the parts named
    /// `names`, all within the limits; [`Error::RowLimit`] as soon as a part has more than
    /// `rows_max` rows (the query stops there).
    pub async fn answer<F>(
        &self,
        names: &[&'static str],
        rows_max: usize,
        plan: F,
    ) -> Result<Answer>
    where
        F: AsyncFnOnce(&Self) -> Result<Vec<DataFrame>>,
    {
        self.run_limited(async {
            let frames = plan(self).await?;
            let mut parts = Vec::with_capacity(frames.len());
            for (frame, name) in frames.into_iter().zip(names) {
                let (schema, batches) = collect_rows_max(frame, rows_max).await?;
                parts.push(Part::new(name, schema, batches));
            }
            Ok(Answer::new(self.events.version(), parts))
        })
        .await
    }

    /// Runs `work` under the time limit, turning an exhausted memory pool into
    /// [`Error::MemoryLimit`] and an elapsed time into [`Error::TimeLimit`].
    pub async fn run_limited<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.limits.query_time_max, work).await {
            Err(_) => Err(Error::TimeLimit {
                limit: self.limits.query_time_max,
            }),
            Ok(Err(Error::DataFusion(error))) => Err(self.classify(error)),
            Ok(outcome) => outcome,
        }
    }

    fn classify(&self, error: DataFusionError) -> Error {
        match error.find_root() {
            DataFusionError::ResourcesExhausted(message) => {
                return Error::MemoryLimit {
                    bytes: self.limits.memory_bytes_max,
                    message: message.clone(),
                };
            }
            DataFusionError::External(inner) => {
                if let Some(Error::FunctionLimit {
                    function,
                    amount,
                    unit,
                    limit,
                    amount_max,
                }) = inner.downcast_ref::<Error>()
                {
                    return Error::FunctionLimit {
                        function: function.clone(),
                        amount: *amount,
                        unit,
                        limit,
                        amount_max: *amount_max,
                    };
                }
            }
            _ => {}
        }
        // Errors raised inside the Parquet reader's row filter reach here as text only.
        if let Some(limit) = function_limit_in_text(&error.to_string()) {
            return limit;
        }
        if error.to_string().contains(SPILL_LIMIT_MESSAGE) {
            return Error::SpillLimit {
                bytes: self.limits.spill_bytes_max,
            };
        }
        Error::DataFusion(error)
    }
}

/// A [`Error::FunctionLimit`] whose text (`function `f` would produce N unit, more than
/// bound (max)`) is inside `text`, for errors that lost their type on the way.
fn function_limit_in_text(text: &str) -> Option<Error> {
    function_limit_displayed(text).or_else(|| function_limit_debugged(text))
}

/// [`Error::FunctionLimit`] as its `Debug` form (`FunctionLimit { function: "repeat", ... }`),
/// which the Parquet reader's row filter prints.
fn function_limit_debugged(text: &str) -> Option<Error> {
    let fields = &text[text.find("FunctionLimit {")? + "FunctionLimit {".len()..];
    let fields = &fields[..fields.find('}')?];
    let field = |name: &str| {
        fields.split(", ").find_map(|pair| {
            let (key, value) = pair.trim().split_once(": ")?;
            (key == name).then(|| value.trim_matches('"'))
        })
    };
    let function = field("function")?;
    let amount = field("amount")?;
    let unit = field("unit")?;
    let limit = field("limit")?;
    let amount_max = field("amount_max")?;
    function_limit_displayed(&format!(
        "function `{function}` would produce {amount} {unit}, more than {limit} ({amount_max})"
    ))
}

/// [`Error::FunctionLimit`] as its message.
fn function_limit_displayed(text: &str) -> Option<Error> {
    let rest = &text[text.find("function `")? + "function `".len()..];
    let (function, rest) = rest.split_once("` would produce ")?;
    let (amount, rest) = rest.split_once(' ')?;
    let (unit, rest) = rest.split_once(", more than ")?;
    let (limit, rest) = rest.split_once(" (")?;
    let amount_max = rest.split(')').next()?.parse().ok()?;
    let unit = ["bytes", "elements", "rows"]
        .into_iter()
        .find(|known| *known == unit)?;
    let limit = ["function_output_bytes_max", "series_rows_max"]
        .into_iter()
        .find(|known| *known == limit)?;
    Some(Error::FunctionLimit {
        function: function.to_owned(),
        amount: amount.parse().ok()?,
        unit,
        limit,
        amount_max,
    })
}

fn check_sites(sites: &[String]) -> Result<()> {
    if sites.is_empty() || sites.iter().any(|site| site.trim().is_empty()) {
        return Err(Error::InvalidParameter {
            parameter: "sites",
            message: "at least one site, none empty".into(),
        });
    }
    Ok(())
}
