//! A DataFusion session with the `events` table registered.

use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::provider_as_source;
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::{SessionConfig, col, lit};
use deltalake::DeltaTable;
use heatlake_table::TableLocation;
use heatlake_table::scan::{SnapshotTable, register_store};

use crate::Result;

/// The SQL name of the table.
pub const EVENTS_TABLE: &str = "events";

/// How queries run.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Parallel partitions of a plan. Default: the number of cores.
    pub target_partitions: usize,
    /// Rows per Arrow batch inside the engine. Default 8192.
    pub batch_size: usize,
    /// Push filters into the Parquet scan (late materialisation: columns are decoded only for
    /// rows that pass). Default on.
    pub parquet_pushdown_filters: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            target_partitions: std::thread::available_parallelism().map_or(2, usize::from),
            batch_size: 8192,
            parquet_pushdown_filters: true,
        }
    }
}

/// A query session over one version of the `events` table.
pub struct EventsSession {
    context: SessionContext,
    version: u64,
    location: TableLocation,
}

impl EventsSession {
    /// Opens the table at `location` (latest, or `version`) and registers it as `events`.
    pub async fn open(
        location: &TableLocation,
        version: Option<u64>,
        options: &QueryOptions,
    ) -> Result<Self> {
        Self::open_with(location, version, options, None, None).await
    }

    /// Opens the table; with `sites`, `events` is a view that only ever shows those sites' rows
    /// (the snapshot table itself gets no name), and `information_schema` is off. `runtime`
    /// replaces the default (unbounded) runtime, for a memory limit.
    pub(crate) async fn open_with(
        location: &TableLocation,
        version: Option<u64>,
        options: &QueryOptions,
        sites: Option<&[String]>,
        runtime: Option<Arc<RuntimeEnv>>,
    ) -> Result<Self> {
        let table = heatlake_table::open(location, version).await?;
        Self::from_table(&table, location, options, sites, runtime).await
    }

    /// Builds the session over an already loaded `table` (its loaded version), as
    /// [`Self::open_with`] does: cheap, no log is read.
    pub(crate) async fn from_table(
        table: &DeltaTable,
        location: &TableLocation,
        options: &QueryOptions,
        sites: Option<&[String]>,
        runtime: Option<Arc<RuntimeEnv>>,
    ) -> Result<Self> {
        let mut config = SessionConfig::new()
            .with_target_partitions(options.target_partitions.max(1))
            .with_batch_size(options.batch_size.max(1))
            .with_information_schema(sites.is_none());
        let parquet = &mut config.options_mut().execution.parquet;
        parquet.pushdown_filters = options.parquet_pushdown_filters;
        parquet.reorder_filters = options.parquet_pushdown_filters;
        parquet.enable_page_index = true;
        let context = match runtime {
            Some(runtime) => SessionContext::new_with_config_rt(config, runtime),
            None => SessionContext::new_with_config(config),
        };
        let store_url = register_store(&context.runtime_env(), table);
        let provider: Arc<dyn TableProvider> =
            Arc::new(SnapshotTable::try_new(location, table, store_url).await?);
        match sites {
            None => {
                context.register_table(EVENTS_TABLE, provider)?;
            }
            Some(sites) => {
                let allowed = sites.iter().map(|site| lit(site.as_str())).collect();
                let plan =
                    LogicalPlanBuilder::scan(EVENTS_TABLE, provider_as_source(provider), None)?
                        .filter(col("site").in_list(allowed, false))?
                        .build()?;
                context.register_table(EVENTS_TABLE, Arc::new(ViewTable::new(plan, None)))?;
            }
        }
        Ok(Self {
            context,
            version: table.version().unwrap_or_default(),
            location: location.clone(),
        })
    }

    /// The DataFusion session, for callers that build plans themselves.
    pub fn context(&self) -> &SessionContext {
        &self.context
    }

    /// The table version the session reads.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The table location the session reads.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// Plans `query`.
    pub async fn sql(&self, query: &str) -> Result<DataFrame> {
        Ok(self.context.sql(query).await?)
    }

    /// Runs `query` and collects its result.
    pub async fn collect(&self, query: &str) -> Result<Vec<RecordBatch>> {
        Ok(self.sql(query).await?.collect().await?)
    }
}
