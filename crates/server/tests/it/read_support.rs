//! A router whose table holds the hand-built fixture of `heatlake-query` (sites `fx.example` and
//! `one.example`), with read keys for each site, and helpers to read the answers.

use axum::body::Body;
use axum::http::Request;
use heatlake_server::{ReadKeyConfig, ReadsConfig};
use serde_json::Value;

pub use crate::fixture::{P, SITE};
use crate::support::{App, Reply, two_sites};

/// Reads `fx.example` only.
pub const READ_FX: &str = "hlr_test_fx_example_01";
/// Reads `one.example` only.
pub const READ_ONE: &str = "hlr_test_one_example_02";
/// Reads both sites.
pub const READ_BOTH: &str = "hlr_test_both_sites_003";

/// An app over a fresh fixture table, with `reads` as its read bounds.
pub struct ReadApp {
    pub app: App,
    pub directory: tempfile::TempDir,
    pub location: heatlake_table::TableLocation,
}

impl ReadApp {
    /// The fixture as version 0, snapshots refreshed on every request.
    pub async fn new() -> Self {
        Self::with_reads(ReadsConfig {
            snapshot_refresh_ms: 0,
            ..ReadsConfig::default()
        })
        .await
    }

    /// The fixture as version 0, with `reads`.
    pub async fn with_reads(reads: ReadsConfig) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let location = crate::fixture::fixture(directory.path()).await;
        let mut config = two_sites();
        config.table = Some(location.to_string());
        config.reads = reads;
        config.read_keys = vec![
            ReadKeyConfig {
                key: READ_FX.into(),
                sites: vec![SITE.into()],
            },
            ReadKeyConfig {
                key: READ_ONE.into(),
                sites: vec!["one.example".into()],
            },
            ReadKeyConfig {
                key: READ_BOTH.into(),
                sites: vec![SITE.into(), "one.example".into()],
            },
        ];
        Self {
            app: App::with_config(config),
            directory,
            location,
        }
    }

    /// `GET uri` with `key` as a bearer token.
    pub async fn get(&self, key: &str, uri: &str) -> Reply {
        self.get_accepting(key, uri, None).await
    }

    /// `GET uri` with `key` and an `Accept` header.
    pub async fn get_accepting(&self, key: &str, uri: &str, accept: Option<&str>) -> Reply {
        let mut request = Request::get(uri).header("authorization", format!("Bearer {key}"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        self.app.send(request.body(Body::empty()).unwrap()).await
    }

    /// `POST /v1/sql` with the SQL as plain text.
    pub async fn sql(&self, key: &str, sql: &str) -> Reply {
        self.app
            .send(
                Request::post("/v1/sql")
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", "text/plain")
                    .body(Body::from(sql.to_owned()))
                    .unwrap(),
            )
            .await
    }
}

/// The rows of a JSON answer (`{"columns", "rows"}` or one part of it), each cell displayed and
/// joined by `|` in column order (NULL as an empty cell), like the fixture's `rows`.
pub fn json_rows(part: &Value) -> Vec<String> {
    let columns: Vec<&str> = part["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("no columns in {part}"))
        .iter()
        .map(|column| column["name"].as_str().unwrap())
        .collect();
    part["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {part}"))
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|name| match &row[*name] {
                    Value::Null => String::new(),
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The batches of an Arrow IPC stream.
pub fn arrow_batches(bytes: &[u8]) -> Vec<arrow::array::RecordBatch> {
    arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes.to_vec()), None)
        .expect("an Arrow IPC stream")
        .collect::<Result<_, _>>()
        .expect("its batches decode")
}
