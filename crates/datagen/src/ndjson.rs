//! The NDJSON output: one wire-format v1 JSON object per line, written by hand for speed.
//!
//! Field order: `v`, `type`, `ts`, `seq`, then the page view's `site`, ids and `path`, then the
//! event's own fields. Strings are escaped as JSON requires; `decode_line` reads every line back
//! to the same [`WireEvent`](heatlake_model::WireEvent) a serde encoder would have produced.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use heatlake_model::EventType;

use crate::catalog::Catalog;
use crate::config::GenConfig;
use crate::record::{GenEvent, PageviewContext, Sink};
use crate::session::walk;
use crate::summary::Summary;
use crate::{Error, Result};

/// Bytes gathered before they are handed to the writer.
pub const NDJSON_BUFFER_BYTES: usize = 256 * 1024;

/// Writes `config.events` events to `out`, one JSON object per line (`\n`-terminated), and
/// returns what was written. `progress` is called with the number of events written so far,
/// every [`PROGRESS_EVENTS`](crate::PROGRESS_EVENTS) events and at the end. `out` is flushed but
/// not closed; wrap it in a `BufWriter` or not, the output is buffered here.
///
/// ```
/// let config = heatlake_datagen::GenConfig::with_events(50, 3);
/// let mut out = Vec::new();
/// let summary = heatlake_datagen::write_ndjson(&config, &mut out, |_| {})?;
/// assert_eq!(summary.events, 50);
/// assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 50);
/// # Ok::<(), heatlake_datagen::Error>(())
/// ```
pub fn write_ndjson<W: Write>(
    config: &GenConfig,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<Summary> {
    let catalog = Catalog::new(config)?;
    let sink = NdjsonSink {
        out,
        buffer: Vec::with_capacity(NDJSON_BUFFER_BYTES + 4096),
        shared: Vec::with_capacity(256),
    };
    let (summary, mut sink) = walk(config, &catalog, sink, &mut progress)?;
    sink.flush().map_err(|source| Error::Write { source })?;
    Ok(summary)
}

/// Writes `config.events` events as NDJSON to the file at `path`, gzip-compressed (level 1,
/// fast) when the name ends in `.gz`. Parent directories are created. See [`write_ndjson`].
pub fn write_ndjson_file(
    config: &GenConfig,
    path: &Path,
    progress: impl FnMut(u64),
) -> Result<Summary> {
    let file_error = |source| Error::File {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(file_error)?;
    }
    let file = File::create(path).map_err(file_error)?;
    let gzip = path.extension().is_some_and(|extension| extension == "gz");
    let in_file = |error: Error| match error {
        Error::Write { source } => file_error(source),
        other => other,
    };
    if gzip {
        let mut encoder = GzEncoder::new(BufWriter::new(file), Compression::fast());
        let summary = write_ndjson(config, &mut encoder, progress).map_err(in_file)?;
        let mut inner = encoder.finish().map_err(file_error)?;
        inner.flush().map_err(file_error)?;
        Ok(summary)
    } else {
        let mut file = file;
        write_ndjson(config, &mut file, progress).map_err(in_file)
    }
}

struct NdjsonSink<W> {
    out: W,
    buffer: Vec<u8>,
    /// `,"site":...,"path":"..."` of the current page view.
    shared: Vec<u8>,
}

impl<W: Write> NdjsonSink<W> {
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buffer)?;
        self.buffer.clear();
        self.out.flush()
    }
}

impl<W: Write> Sink for NdjsonSink<W> {
    fn begin_pageview(&mut self, context: &PageviewContext<'_>) -> Result<()> {
        let s = &mut self.shared;
        s.clear();
        string_field(s, "site", &context.site.name);
        string_field(s, "visitor_id", context.visitor_id.as_str());
        string_field(s, "session_id", context.session_id.as_str());
        string_field(s, "pageview_id", context.pageview_id.as_str());
        string_field(s, "path", &context.page.path);
        Ok(())
    }

    #[inline]
    fn event(&mut self, context: &PageviewContext<'_>, event: &GenEvent<'_>) -> Result<()> {
        let b = &mut self.buffer;
        b.extend_from_slice(b"{\"v\":1,\"type\":\"");
        b.extend_from_slice(event.event_type.as_str().as_bytes());
        b.extend_from_slice(b"\",\"ts\":");
        push_int(b, event.ts_ms);
        b.extend_from_slice(b",\"seq\":");
        push_int(b, i64::from(event.seq));
        b.extend_from_slice(&self.shared);
        if event.event_type == EventType::Pageview {
            string_field(b, "url", &context.url);
            if let Some(referrer) = context.referrer() {
                string_field(b, "referrer", referrer);
            }
            string_field(b, "title", &context.page.title);
        }
        push_event_fields(b, event);
        if event.event_type == EventType::Pageview {
            string_field(b, "ua", context.ua);
            if let Some(ip) = context.ip() {
                string_field(b, "ip", ip);
            }
        }
        b.extend_from_slice(b"}\n");
        if b.len() >= NDJSON_BUFFER_BYTES {
            self.out
                .write_all(&self.buffer)
                .map_err(|source| Error::Write { source })?;
            self.buffer.clear();
        }
        Ok(())
    }
}

/// Appends the fields of `event` beyond the page view's context, in wire-format order.
#[inline]
fn push_event_fields(b: &mut Vec<u8>, event: &GenEvent<'_>) {
    int_field(b, "viewport_w", event.viewport_w.into());
    int_field(b, "viewport_h", event.viewport_h.into());
    if let Some(doc_w) = event.doc_w {
        int_field(b, "doc_w", doc_w.into());
    }
    if let Some(doc_h) = event.doc_h {
        int_field(b, "doc_h", doc_h.into());
    }
    if let Some(scroll_y) = event.scroll_y {
        int_field(b, "scroll_y", scroll_y.into());
    }
    if let Some(x) = event.x {
        int_field(b, "x", x.into());
    }
    if let Some(y) = event.y {
        int_field(b, "y", y.into());
    }
    if let Some(target) = event.target {
        string_field(b, "target", target.raw);
    }
    if let Some(rx) = event.target_rx_milli {
        b.extend_from_slice(b",\"target_rx\":");
        push_milli(b, rx);
    }
    if let Some(ry) = event.target_ry_milli {
        b.extend_from_slice(b",\"target_ry\":");
        push_milli(b, ry);
    }
    if event.target_fixed {
        b.extend_from_slice(b",\"target_fixed\":true");
    }
    if let Some(button) = event.button {
        int_field(b, "button", button.into());
    }
    if event.dead {
        b.extend_from_slice(b",\"dead\":true");
    }
    if let Some(link) = event.link {
        string_field(b, "link", link.raw);
    }
    if let Some(text) = event.text {
        string_field(b, "text", text);
    }
    if let Some(field) = event.field {
        string_field(b, "field", field.raw);
    }
    if let Some(input_len) = event.input_len {
        int_field(b, "input_len", input_len.into());
    }
    if let Some(duration_ms) = event.duration_ms {
        int_field(b, "duration_ms", duration_ms);
    }
    if let Some(props) = event.props {
        b.extend_from_slice(b",\"props\":");
        b.extend_from_slice(props.as_bytes());
    }
}

#[inline]
fn int_field(b: &mut Vec<u8>, name: &str, value: i64) {
    b.extend_from_slice(b",\"");
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(b"\":");
    push_int(b, value);
}

#[inline]
fn string_field(b: &mut Vec<u8>, name: &str, value: &str) {
    b.extend_from_slice(b",\"");
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(b"\":");
    push_string(b, value);
}

/// Appends `value` as a JSON string literal.
pub(crate) fn push_string(b: &mut Vec<u8>, value: &str) {
    b.push(b'"');
    let bytes = value.as_bytes();
    if !bytes.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20) {
        b.extend_from_slice(bytes);
    } else {
        for &c in bytes {
            match c {
                b'"' => b.extend_from_slice(b"\\\""),
                b'\\' => b.extend_from_slice(b"\\\\"),
                b'\n' => b.extend_from_slice(b"\\n"),
                b'\r' => b.extend_from_slice(b"\\r"),
                b'\t' => b.extend_from_slice(b"\\t"),
                0..0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    b.extend_from_slice(b"\\u00");
                    b.push(HEX[usize::from(c >> 4)]);
                    b.push(HEX[usize::from(c & 0xf)]);
                }
                _ => b.push(c),
            }
        }
    }
    b.push(b'"');
}

/// Appends the decimal digits of `value`.
#[inline]
pub(crate) fn push_int(b: &mut Vec<u8>, value: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        b.push(b'-');
    }
    b.extend_from_slice(&digits[at..]);
}

/// Appends thousandths as a decimal number in 0..=1: `0`, `0.05`, `0.412`, `1`.
#[inline]
pub(crate) fn push_milli(b: &mut Vec<u8>, milli: u16) {
    match milli {
        0 => b.push(b'0'),
        1000.. => b.push(b'1'),
        _ => {
            let digits = [
                b'0' + (milli / 100) as u8,
                b'0' + (milli / 10 % 10) as u8,
                b'0' + (milli % 10) as u8,
            ];
            let mut end = 3;
            while digits[end - 1] == b'0' {
                end -= 1;
            }
            b.extend_from_slice(b"0.");
            b.extend_from_slice(&digits[..end]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings() {
        let mut b = Vec::new();
        for value in [0, 7, -12, 1_793_491_200_000, i64::MIN, i64::MAX] {
            b.clear();
            push_int(&mut b, value);
            assert_eq!(String::from_utf8(b.clone()).unwrap(), value.to_string());
        }
        for (milli, text) in [
            (0, "0"),
            (5, "0.005"),
            (50, "0.05"),
            (412, "0.412"),
            (999, "0.999"),
            (1000, "1"),
        ] {
            b.clear();
            push_milli(&mut b, milli);
            assert_eq!(String::from_utf8(b.clone()).unwrap(), text);
        }
        b.clear();
        push_string(&mut b, "a \"q\" \\ \n\u{1}–");
        let text = String::from_utf8(b.clone()).unwrap();
        assert_eq!(text, r#""a \"q\" \\ \n\u0001–""#);
        assert_eq!(
            serde_json::from_str::<String>(&text).unwrap(),
            "a \"q\" \\ \n\u{1}–"
        );
    }

    proptest::proptest! {
        #[test]
        fn strings_read_back_equal(text in ".*") {
            let mut b = Vec::new();
            push_string(&mut b, &text);
            proptest::prop_assert_eq!(serde_json::from_slice::<String>(&b).unwrap(), text);
        }

        #[test]
        fn integers_read_back_equal(value: i64) {
            let mut b = Vec::new();
            push_int(&mut b, value);
            proptest::prop_assert_eq!(serde_json::from_slice::<i64>(&b).unwrap(), value);
        }

        #[test]
        fn thousandths_read_back_as_their_quotient(milli in 0u16..=1000) {
            let mut b = Vec::new();
            push_milli(&mut b, milli);
            let read: f64 = serde_json::from_slice(&b).unwrap();
            proptest::prop_assert_eq!(read, f64::from(milli) / 1000.0);
        }
    }
}
