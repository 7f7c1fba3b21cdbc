//! `heatlake bench`: the Rust side of the peer comparison (`benches/compare.sh`).
//!
//! Runs the benchmark question set in this process, each question cold once (the first run after
//! the table is opened) and then hot N times, on one of two engines over the same table:
//! - `heatlake`: the `events` Delta table through [`EventsSession`] and the library's ready-made
//!   questions (`heatlake_query::analytics`), SQL where no ready-made question exists;
//! - `datafusion`: plain DataFusion as its users start it, a default `SessionContext` with the
//!   table's Parquet files registered as a listing table with hive partitions (`site`, `date`),
//!   running the same SQL statements the library builds.
//!
//! Writes each answer as Parquet (`OUT/ENGINE/QUESTION.parquet`) for the harness to compare with
//! the peers' answers, and the timings as JSON (`OUT/ENGINE.json`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use clap::{Args, ValueEnum};
use datafusion::dataframe::DataFrame;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use heatlake_query::analytics::Segment;
use heatlake_query::analytics::ctr::{CtrParams, ElementKey, element_ctr};
use heatlake_query::analytics::frustration::{FrustrationLevel, FrustrationParams, frustration};
use heatlake_query::analytics::funnel::{FunnelParams, FunnelStep, funnel};
use heatlake_query::analytics::heatmap::{HeatmapParams, heatmap};
use heatlake_query::analytics::scroll::{ScrollParams, scroll_depth};
use heatlake_query::{EventsSession, QueryOptions};
use heatlake_table::TableLocation;
use serde_json::json;

/// Most hot runs of a question.
const HOT_RUNS_MAX: u32 = 1000;

/// Which engine answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Heatlake: the Delta table through its tuned session and analytics library.
    Heatlake,
    /// A default DataFusion session over the table's Parquet files (hive partitions).
    Datafusion,
}

/// Arguments of `heatlake bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The Delta table directory (an import's output).
    #[arg(long, value_name = "DIR")]
    table: PathBuf,
    /// Engine that answers.
    #[arg(long, value_enum, default_value = "heatlake")]
    engine: Engine,
    /// Hot runs per question after the cold one (the harness reports their median).
    #[arg(long, default_value_t = 5, value_name = "N")]
    hot: u32,
    /// Directory for the answers (ENGINE/QUESTION.parquet) and the timings (ENGINE.json).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Run only the questions whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Heatlake engine: do not push filters into the Parquet scan (to measure what the
    /// session's late materialisation costs or saves).
    #[arg(long)]
    no_pushdown_filters: bool,
}

/// How a question is answered: a ready-made question of the library, or plain SQL.
enum Question {
    Heatmap(HeatmapParams),
    ScrollReach(ScrollParams),
    Ctr(CtrParams),
    Frustration(FrustrationParams),
    Funnel(FunnelParams),
    Sql(&'static str),
}

impl Question {
    /// The statement that plain DataFusion runs: the one the library builds.
    fn sql(&self) -> Result<String> {
        Ok(match self {
            Self::Heatmap(params) => params.sql()?,
            Self::ScrollReach(params) => params.reach_sql()?,
            Self::Ctr(params) => params.sql()?,
            Self::Frustration(params) => params.sql()?,
            Self::Funnel(params) => params.sql()?,
            Self::Sql(text) => (*text).to_owned(),
        })
    }

    /// The question planned through Heatlake's library (its checks included).
    async fn heatlake(&self, session: &EventsSession) -> Result<DataFrame> {
        Ok(match self {
            Self::Heatmap(params) => heatmap(session, params).await?,
            Self::ScrollReach(params) => scroll_depth(session, params).await?.reach,
            Self::Ctr(params) => element_ctr(session, params).await?,
            Self::Frustration(params) => frustration(session, params).await?,
            Self::Funnel(params) => funnel(session, params).await?,
            Self::Sql(text) => session.sql(text).await?,
        })
    }
}

/// The question set of the peer comparison; `benches/compare_questions.py` holds the same questions
/// in each peer's dialect under the same names.
fn questions() -> Vec<(&'static str, Question)> {
    let week = Segment {
        from: Some("2026-11-01".into()),
        to: Some("2026-11-08".into()),
        ..Segment::default()
    };
    vec![
        (
            "heatmap",
            Question::Heatmap(HeatmapParams {
                site: "news.example".into(),
                path: "news.example/".into(),
                segment: week,
                ..HeatmapParams::default()
            }),
        ),
        (
            "scroll_depth",
            Question::ScrollReach(ScrollParams {
                site: "news.example".into(),
                path: "news.example/".into(),
                segment: Segment::default(),
            }),
        ),
        (
            "ctr_top_elements",
            Question::Ctr(CtrParams {
                site: "news.example".into(),
                path: "news.example/".into(),
                by: ElementKey::Target,
                limit: 20,
                segment: Segment::default(),
            }),
        ),
        (
            "rage_clicks_per_page",
            Question::Frustration(FrustrationParams {
                site: "news.example".into(),
                path: None,
                level: FrustrationLevel::Page,
                limit: 100_000,
                segment: Segment::default(),
            }),
        ),
        (
            "funnel_3_steps",
            Question::Funnel(FunnelParams {
                site: "shop.example".into(),
                steps: vec![
                    FunnelStep::Path("shop.example/".into()),
                    FunnelStep::Path("shop.example/cart".into()),
                    FunnelStep::Predicate("type = 'submit'".into()),
                ],
                window_s: 1800,
                segment: Segment::default(),
            }),
        ),
        (
            "pageviews_per_device_day",
            Question::Sql(
                "SELECT date, device, count(*) AS pageviews FROM events \
                 WHERE type = 'pageview' GROUP BY date, device ORDER BY date, device",
            ),
        ),
        (
            "count_by_type",
            Question::Sql(
                "SELECT type, count(*) AS events FROM events GROUP BY type ORDER BY type",
            ),
        ),
        (
            "drill_down_10_min",
            Question::Sql(
                "SELECT ts, pageview_id, seq, type, path, x, y FROM events \
                 WHERE site = 'shop.example' AND date = DATE '2026-11-04' \
                   AND ts >= TIMESTAMP '2026-11-04T18:00:00Z' AND ts < TIMESTAMP '2026-11-04T18:10:00Z' \
                 ORDER BY ts, pageview_id, seq",
            ),
        ),
    ]
}

/// Where the questions run.
enum Runner {
    Heatlake(EventsSession),
    Datafusion(SessionContext),
}

impl Runner {
    async fn open(engine: Engine, table: &Path, pushdown_filters: bool) -> Result<Self> {
        Ok(match engine {
            Engine::Heatlake => {
                let location = TableLocation::resolve(Some(&table.to_string_lossy()))?;
                let options = QueryOptions {
                    parquet_pushdown_filters: pushdown_filters,
                    ..QueryOptions::default()
                };
                let session = EventsSession::open(&location, None, &options)
                    .await
                    .with_context(|| format!("while opening {location}"))?;
                Self::Heatlake(session)
            }
            Engine::Datafusion => {
                let context = SessionContext::new();
                // Files outside `site=*/date=*/` (the Delta log) do not parse as partitions and
                // are left out.
                let files = format!("{}/", table.display());
                let options = ParquetReadOptions::default().table_partition_cols(vec![
                    ("site".to_owned(), DataType::Utf8),
                    ("date".to_owned(), DataType::Date32),
                ]);
                context
                    .register_parquet("events", &files, options)
                    .await
                    .with_context(|| format!("while registering {files}"))?;
                Self::Datafusion(context)
            }
        })
    }

    /// Plans and runs `question`; returns its schema and batches.
    async fn run(&self, question: &Question) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let frame = match self {
            Self::Heatlake(session) => question.heatlake(session).await?,
            Self::Datafusion(context) => context.sql(&question.sql()?).await?,
        };
        let schema = Arc::new(frame.schema().as_arrow().clone());
        Ok((schema, frame.collect().await?))
    }
}

fn milliseconds(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// Runs the question set and writes answers and timings.
pub async fn run(args: BenchArgs) -> Result<()> {
    if args.hot > HOT_RUNS_MAX {
        bail!("--hot must be at most {HOT_RUNS_MAX}, got {}", args.hot);
    }
    let engine_name = match args.engine {
        Engine::Heatlake => "heatlake",
        Engine::Datafusion => "datafusion",
    };
    let answers = args.out.join(engine_name);
    std::fs::create_dir_all(&answers)
        .with_context(|| format!("while creating {}", answers.display()))?;
    let started = Instant::now();
    let runner = Runner::open(args.engine, &args.table, !args.no_pushdown_filters).await?;
    let open_ms = milliseconds(started);
    let mut results = Vec::new();
    for (name, question) in questions() {
        if args
            .only
            .as_deref()
            .is_some_and(|only| !name.contains(only))
        {
            continue;
        }
        let started = Instant::now();
        let (schema, mut batches) = runner
            .run(&question)
            .await
            .with_context(|| format!("{engine_name}: question {name}"))?;
        let cold_ms = milliseconds(started);
        let mut hot_ms = Vec::new();
        for _ in 0..args.hot {
            let started = Instant::now();
            batches = runner.run(&question).await?.1;
            hot_ms.push(milliseconds(started));
        }
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        write_answer(&answers.join(format!("{name}.parquet")), schema, &batches)?;
        eprintln!("{engine_name} {name}: {rows} rows, cold {cold_ms:.1} ms");
        results.push(json!({"question": name, "cold_ms": cold_ms, "hot_ms": hot_ms, "rows": rows}));
    }
    let report = json!({
        "engine": engine_name,
        "version": match args.engine {
            Engine::Heatlake => format!("heatlake {} (DataFusion {})", env!("CARGO_PKG_VERSION"), datafusion::DATAFUSION_VERSION),
            Engine::Datafusion => format!("DataFusion {}", datafusion::DATAFUSION_VERSION),
        },
        "open_ms": open_ms,
        "parquet_pushdown_filters": args.engine == Engine::Heatlake && !args.no_pushdown_filters,
        "questions": results,
    });
    let path = args.out.join(format!("{engine_name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("while writing {}", path.display()))?;
    Ok(())
}

/// Writes `batches` as one Parquet file (an empty answer keeps its schema).
fn write_answer(path: &Path, schema: SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let file = File::create(path).with_context(|| format!("while creating {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema, None)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}
