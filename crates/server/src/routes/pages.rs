//! `GET /pages/{*path}`: the files of `pages_dir`, when the configuration sets one. It exists for
//! the browser tests (`tests/browser/pages/`), whose fixture pages must come from the collector's
//! origin like a site's own pages; it is off by default and not meant for production sites.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Largest file served, in bytes.
pub const PAGE_BYTES_MAX: u64 = 4 << 20;

/// Handles `GET /pages/{*path}`: 404 unless `pages_dir` is set and holds the file.
pub async fn get_page(State(state): State<AppState>, UrlPath(path): UrlPath<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such page\n").into_response();
    let Some(dir) = &state.config().pages_dir else {
        return not_found();
    };
    let Some(file) = resolve(dir, &path) else {
        return not_found();
    };
    match tokio::fs::metadata(&file).await {
        Ok(metadata) if metadata.is_file() && metadata.len() <= PAGE_BYTES_MAX => {}
        _ => return not_found(),
    }
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return not_found();
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `path` inside `dir`, or `None` when it would leave it (`..`, absolute paths).
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path);
    relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)))
        .then(|| dir.join(relative))
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_inside_the_pages_directory() {
        let dir = Path::new("/srv/pages");
        assert_eq!(
            resolve(dir, "spa/second.html"),
            Some(PathBuf::from("/srv/pages/spa/second.html"))
        );
        assert_eq!(resolve(dir, "../secret"), None);
        assert_eq!(resolve(dir, "a/../../b"), None);
        assert_eq!(resolve(dir, "/etc/passwd"), None);
    }
}
