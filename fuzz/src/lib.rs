//! What the fuzz targets share: the ingest path every wire event takes, and the properties the
//! privacy scrubber promises, written independently of it.
//!
//! Each target in `fuzz_targets/` is a few lines over these functions, so that the collector's
//! path (decode, accept, append) is spelled out once.

use std::borrow::Cow;

use heatlake_model::privacy::ip::IpMode;
use heatlake_model::privacy::scrub::scrub;
use heatlake_model::{
    Event, EventBatchBuilder, IngestContext, PrivacyPolicy, WireEvent, decode_line,
};

/// `received_at` of every fuzzed event (2025-11-29), inside the range validation accepts for `ts`.
pub const RECEIVED_AT_MS: i64 = 1_764_400_001_000;

/// The site whose policy keeps everything a policy can keep, so that the seeds and what the fuzzer
/// grows from them also reach the scrubbing of `text` and `value` and the truncation of `ip`.
pub const KEEP_ALL_SITE: &str = "shop.example";

/// Input fields whose `value` [`KEEP_ALL_SITE`] keeps.
pub const KEPT_VALUE_FIELDS: [&str; 2] = ["q", "input[name=coupon]"];

/// Rows appended before a builder is finished and started again, so that a long input also
/// exercises `finish` on a builder that has been used before.
pub const BATCH_ROWS_MAX: usize = 64;

/// The test context with [`KEEP_ALL_SITE`]'s policy; every other site gets the default policy.
pub fn ingest_context() -> IngestContext {
    IngestContext::for_tests(RECEIVED_AT_MS).with_site_policy(
        KEEP_ALL_SITE,
        PrivacyPolicy {
            keep_text: true,
            value_fields: KEPT_VALUE_FIELDS.iter().map(|&f| f.to_owned()).collect(),
            ip: IpMode::Truncate,
        },
    )
}

/// Builds Arrow batches of accepted events and checks that each holds every row appended.
pub struct BatchSink {
    builder: EventBatchBuilder,
    appended: usize,
}

impl Default for BatchSink {
    fn default() -> Self {
        Self {
            builder: EventBatchBuilder::with_capacity(BATCH_ROWS_MAX),
            appended: 0,
        }
    }
}

impl BatchSink {
    /// Appends one event, finishing the batch when it is full.
    pub fn append(&mut self, event: &Event<'_>) {
        self.builder.append(event);
        self.appended += 1;
        if self.appended == BATCH_ROWS_MAX {
            self.finish();
        }
    }

    /// Finishes the batch under way and checks its row count.
    pub fn finish(&mut self) {
        let batch = self.builder.finish();
        assert_eq!(batch.num_rows(), self.appended, "rows lost by the builder");
        assert!(self.builder.is_empty(), "finish left rows in the builder");
        self.appended = 0;
    }
}

/// One NDJSON line through the collector's path: decode, accept, append. Returns whether the
/// line was stored. A refused line's message is rendered, as the import reports it.
pub fn ingest_line(context: &mut IngestContext, sink: &mut BatchSink, line: &[u8]) -> bool {
    match decode_line(line) {
        Ok(wire) => ingest_wire(context, sink, wire),
        Err(error) => {
            assert!(!error.to_string().is_empty());
            false
        }
    }
}

/// One decoded wire event through `accept` and the batch builder; returns whether it was stored.
pub fn ingest_wire(context: &mut IngestContext, sink: &mut BatchSink, wire: WireEvent<'_>) -> bool {
    match context.accept(wire) {
        Ok(event) => {
            assert_stored_text_is_scrubbed(&event);
            sink.append(&event);
            true
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
            false
        }
    }
}

/// The promise of "privacy at the door": every free-text column that is stored is already clean,
/// so scrubbing it again changes nothing.
///
/// `props` is checked string by string as a reader decodes it, which is what the scrubber cleaned:
/// its stored JSON text escapes control characters and quotes, so the text itself need not be a
/// fixpoint (`{"a":"token=\u0008c"}` stores `token=\bc`).
pub fn assert_stored_text_is_scrubbed(event: &Event<'_>) {
    let columns = [
        ("site", Some(&event.site)),
        ("url", event.url.as_ref()),
        ("path", event.path.as_ref()),
        ("referrer", event.referrer.as_ref()),
        ("title", event.title.as_ref()),
        ("target", event.target.as_ref()),
        ("link", event.link.as_ref()),
        ("text", event.text.as_ref()),
        ("field", event.field.as_ref()),
        ("value", event.value.as_ref()),
    ];
    for (column, text) in columns {
        if let Some(text) = text {
            assert_scrubbed(column, text);
        }
    }
    if let Some(props) = &event.props {
        let value: serde_json::Value =
            serde_json::from_str(props).expect("stored props are always JSON");
        assert_json_scrubbed(&value);
    }
}

fn assert_scrubbed(column: &str, text: &str) {
    let again = scrub(text);
    assert!(
        matches!(again, Cow::Borrowed(_)),
        "stored {column} {text:?} still holds personal data: scrubbed again it is {again:?}"
    );
}

fn assert_json_scrubbed(value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => assert_scrubbed("props string", text),
        Value::Number(number) => assert_scrubbed("props number", &number.to_string()),
        Value::Array(items) => items.iter().for_each(assert_json_scrubbed),
        Value::Object(entries) => {
            for (key, item) in entries {
                assert_scrubbed("props key", key);
                assert_json_scrubbed(item);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// The lines of an NDJSON body as the import reads them: split on `\n`, one trailing `\r`
/// removed, lines of only ASCII whitespace skipped.
pub fn ndjson_lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

/// Fewest digits in a payment card number (ISO/IEC 7812).
pub const CARD_DIGITS_MIN: usize = 13;
/// Most digits in a payment card number (ISO/IEC 7812).
pub const CARD_DIGITS_MAX: usize = 19;

/// Bytes of the longest replacement marker (`[credentials]`): each marker stands for at least one
/// byte of the input that it replaced, so no output is longer than this many times its input.
pub const SCRUB_GROWTH_MAX: usize = "[credentials]".len();

/// Whether `digits` (values 0..=9) pass the Luhn check.
pub fn passes_luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let digit = u32::from(digit);
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum % 10 == 0
}

/// Most separator bytes between two digits of one card number (the scrubber's documented rule,
/// `crates/model/src/privacy/scrub.rs`): spaces, tabs, line breaks and `- + . , / _`.
const SEPARATOR_BYTES_MAX: usize = 4;

/// The first run of 13 to 19 ASCII digits in `text` that passes the Luhn check, digits joined
/// across at most [`SEPARATOR_BYTES_MAX`] separator bytes, as `(byte offset of the run, digits)`.
///
/// A longer run is checked window by window, since `4111 1111 1111 1111 2` holds a card. The
/// scrubber's one documented exception is kept: exactly 13 digits with no separator, starting
/// with `1`, are a millisecond timestamp. Written from the rule, quadratic in the run length, and
/// independent of the scrubber.
pub fn luhn_valid_card_run(text: &str) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let mut run: Vec<u8> = Vec::new();
    let mut run_start = 0;
    let mut separated = false;
    // Separator bytes since the last digit of the run; `None` once the run cannot go on.
    let mut gap: Option<usize> = None;
    let check = |run: &[u8], run_start: usize, separated: bool| {
        let timestamp = !separated && run.len() == 13 && run[0] == 1;
        if timestamp {
            None
        } else {
            luhn_valid_window(run, run_start)
        }
    };
    for (offset, &byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                match gap {
                    Some(0) => {}
                    Some(separators) if separators <= SEPARATOR_BYTES_MAX => separated = true,
                    _ => {
                        if let Some(found) = check(&run, run_start, separated) {
                            return Some(found);
                        }
                        run.clear();
                        run_start = offset;
                        separated = false;
                    }
                }
                run.push(byte - b'0');
                gap = Some(0);
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'-' | b'+' | b'.' | b',' | b'/' | b'_' => {
                gap = gap.map(|gap| gap + 1)
            }
            _ => gap = None,
        }
    }
    check(&run, run_start, separated)
}

/// Checks the scrubber's properties on one input, panicking with the broken one:
/// idempotent, bounded growth, and no Luhn-valid card number left in ASCII digits.
pub fn check_scrub(input: &str) {
    let once = scrub(input);
    let twice = scrub(&once);
    assert_eq!(
        twice, once,
        "not idempotent: scrub({input:?}) = {once:?}, scrubbed again {twice:?}"
    );
    assert!(
        matches!(twice, Cow::Borrowed(_)),
        "scrubbing clean text allocated"
    );
    assert!(
        once.len() <= input.len() * SCRUB_GROWTH_MAX,
        "grew more than {SCRUB_GROWTH_MAX} times: {} bytes from {}",
        once.len(),
        input.len()
    );
    if let Some((offset, digits)) = luhn_valid_card_run(&once) {
        panic!("card number {digits} survives at byte {offset} of scrub({input:?}) = {once:?}");
    }
}

/// The first window of 13 to 19 digits of `run` that passes the Luhn check.
fn luhn_valid_window(run: &[u8], run_start: usize) -> Option<(usize, String)> {
    for start in 0..run.len() {
        for len in CARD_DIGITS_MIN..=CARD_DIGITS_MAX {
            if let Some(window) = run.get(start..start + len)
                && passes_luhn(window)
            {
                let digits = window.iter().map(|&d| char::from(b'0' + d)).collect();
                return Some((run_start, digits));
            }
        }
    }
    None
}
