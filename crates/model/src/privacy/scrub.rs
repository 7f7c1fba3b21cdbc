//! Removes personal data from free text before anything is written.
//!
//! The collector promises (DESIGN.md, "Privacy at the door") that no stored URL, referrer, link, text,
//! value or props string holds an e-mail address, a payment card number, a credential, a secret or an
//! IP address. [`scrub`] is that promise in code. It runs on every string of every event, so it is a
//! hand-written byte scanner: one cheap classification pass decides which detectors can possibly
//! fire, a string with nothing to replace is returned borrowed, and every detector is linear in the
//! input (no regular expressions, no backtracking).
//!
//! Detectors read a normalised copy of the text (percent-decoding, HTML character
//! references, decimal digits of every script, Unicode spaces and dashes, zero-width characters
//! removed), so writing a value slightly differently does not hide it. Each byte of the copy knows
//! the range of the original it came from, on character boundaries, and matches are replaced in the
//! original text.
//!
//! Detectors err on the side of removing too much: a false positive costs a few characters of
//! analytics, a false negative stores someone's card number.

mod cards;
mod names;
mod normalize;
mod shapes;

use std::borrow::Cow;

pub use names::is_secret_name;
use normalize::{Normalized, normalize};

/// Replaces an e-mail address.
pub const EMAIL_MARKER: &str = "[email]";
/// Replaces a digit run that holds a payment card number.
pub const CARD_MARKER: &str = "[card]";
/// Replaces the user-info part (`user:password`) of a URL.
pub const CREDENTIALS_MARKER: &str = "[credentials]";
/// Replaces the value of a query or fragment parameter whose name marks it as secret.
pub const REDACTED_MARKER: &str = "[redacted]";
/// Replaces a JWT or a long opaque token.
pub const TOKEN_MARKER: &str = "[token]";
/// Replaces an IPv4 or IPv6 address.
pub const IP_MARKER: &str = "[ip]";

/// Every marker; none holds a digit, `@`, `%`, `&`, `=`, `:`, or a non-ASCII byte, so markers
/// never trigger a detector.
const MARKERS: [&str; 6] = [
    EMAIL_MARKER,
    CARD_MARKER,
    CREDENTIALS_MARKER,
    REDACTED_MARKER,
    TOKEN_MARKER,
    IP_MARKER,
];

/// Fewest digits in a payment card number (ISO/IEC 7812).
const CARD_DIGITS_MIN: usize = 13;
/// Most digits in a payment card number (ISO/IEC 7812).
const CARD_DIGITS_MAX: usize = 19;
/// Most separator bytes between two digits of one digit run (`4111 - 1111` has three).
const CARD_SEPARATOR_BYTES_MAX: usize = 4;
/// Most passes of [`scrub`]; one pass can expose a match that a neighbour hid, two are the most
/// seen in tests, and a bound keeps any input's cost linear.
const PASSES_MAX: usize = 4;

/// Returns `input` with personal data replaced by markers, borrowed when nothing was replaced.
///
/// Matching runs on a normalised copy: `%XX` escapes, HTML character references (`&#64;`,
/// `&#x40;`, `&commat;`, `&period;`, `&nbsp;`, `&amp;`...) and JSON `\uXXXX` escapes are decoded,
/// up to four rounds (`%2540`, `%2520`, `%C2%A0`, `%25252540`, `\u0040`); then zero-width characters (U+200B..U+200D, U+2060, U+FEFF) and
/// soft hyphens are removed, Unicode spaces (no-break, thin, narrow no-break, ideographic...) read as
/// a space, dashes (U+2010..U+2015, minus) as `-`, decimal digits of every script (full-width,
/// Arabic-Indic, Devanagari... all of category Nd) as ASCII digits, and full-width ASCII as ASCII.
/// What is found is replaced in the original text, whole characters or escapes at a time:
///
/// - **E-mail addresses** `local@domain.tld` become [`EMAIL_MARKER`]. The local part is ASCII
///   letters, digits, `._%+-` and non-ASCII characters (`jöran@`, `用户@`; a CJK text run directly
///   before an ASCII local part is not taken along: `请联系john@` loses `john@`). The domain needs at
///   least two labels and a top-level label starting with two letters (`a@b.com2` loses `a@b.com`)
///   or made of non-ASCII characters (`例子.广告`).
/// - **Payment card numbers** become [`CARD_MARKER`]. A *digit run* is a maximal sequence of digits
///   in which consecutive digits may be separated by up to four bytes of space, tab, line break,
///   `-`, `+`, `.`, `,`, `/` or `_` (after normalising, so also no-break and thin spaces, dashes, `%20`). A run of 13 or
///   more digits is replaced entirely when any contiguous window of 13 to 19 of its digits passes the
///   Luhn check (so a card glued to a quantity is still found). One exception, by decision: a run of
///   exactly 13 digits with no separator that starts with `1` is an epoch timestamp in milliseconds
///   (2001 to 2033), not a card: one such timestamp in ten passes Luhn by chance, they are common in
///   URLs and props, and no card network issues 13-digit numbers starting with 1.
/// - **Credentials in URLs**: `scheme://user:pass@host`, scheme-relative `//user:pass@host` and
///   `scheme://user@host` become `//[credentials]@host`, also when the URL is itself encoded
///   (`https%3A%2F%2Fuser%3Apw%40host`).
/// - **Secret parameters**: the value of `name=value` becomes [`REDACTED_MARKER`] when the name marks
///   a secret by pattern ([`is_secret_name`]: its last word, split at `_ - .` and camelCase, is
///   `token`, `secret`, `password`, `pass`, `pwd`, `pw`, `auth`, `sig`, `signature`, `key`,
///   `session`, `sid`, `otp`, `ticket`, `jwt`, `credential`... or an authorisation `code`). Query,
///   fragment and encoded redirect URLs alike (`next=%2Freset%3Ftoken%3Dabc`), bracketed form names
///   by their last part (`user[password]=`, `password[]=`). The value ends at `&`, `#`, `;`, a
///   quote, `<`, `>`, whitespace or the end of the text.
///   The same for `name: value` and `"name": "value"` (HTTP headers, JSON or YAML written into
///   a text), where an authorisation scheme (`Bearer`, `Basic`, `Digest`, `Token`) before the
///   value is kept and the credential after it redacted.
/// - **Tokens** become [`TOKEN_MARKER`]: JWTs (`eyJ...` and two more base64url segments, joined by
///   `.`) and opaque tokens of 32 or more base64url characters mixing letters and digits (UUIDs and
///   hyphenated slugs excepted).
/// - **IP addresses** become [`IP_MARKER`]: IPv4 `a.b.c.d` with four parts of at most 255 that are
///   not part of a longer dotted number or word (so versions `1.2.3`, `v1.2.3.4`, `1.2.3.4.5` stay,
///   but a four-part version `agent-1.2.3.4` is taken for an address), and IPv6 in any form
///   (compressed `::`, with an embedded IPv4) with at least two groups and four hex digits.
///
/// The result is idempotent: `scrub(&scrub(s)) == scrub(s)`, and the second call borrows. Text with
/// no digit of any script, no `@`, `%`, `&`, `=`, `:` and no non-ASCII character is returned
/// borrowed without allocating.
///
/// ```
/// use heatlake_model::privacy::scrub::scrub;
///
/// assert_eq!(
///     scrub("https://bob:hunter2@shop.example/pay?card=4111 1111 1111 1111&token=abc#top"),
///     "https://[credentials]@shop.example/pay?card=[card]&token=[redacted]#top",
/// );
/// assert_eq!(scrub("write to Ana.Lima@Example.COM today"), "write to [email] today");
/// assert_eq!(scrub("pay 4111\u{a0}1111\u{a0}1111\u{a0}1111"), "pay [card]");
/// assert_eq!(scrub("/cb?next=%2Freset%3FaccessToken%3Dabc"), "/cb?next=%2Freset%3FaccessToken%3D[redacted]");
/// assert!(matches!(scrub("/pricing"), std::borrow::Cow::Borrowed("/pricing")));
/// ```
pub fn scrub(input: &str) -> Cow<'_, str> {
    let Some(mut scrubbed) = scrub_once(input) else {
        return Cow::Borrowed(input);
    };
    // One pass can expose a match that a neighbouring match hid (`a@b.ü4111111111111111` reads as
    // an address only once the card is gone), so passes repeat until nothing changes, at most
    // [`PASSES_MAX`] times. In practice the second pass finds nothing; a text that still changes
    // after the last pass (seen only in fuzzed input) is replaced whole, so the result is always
    // a fixed point: scrubbing it again changes nothing.
    for _ in 1..PASSES_MAX {
        match scrub_once(&scrubbed) {
            Some(again) => scrubbed = again,
            None => return Cow::Owned(scrubbed),
        }
    }
    if scrub_once(&scrubbed).is_some() {
        scrubbed = REDACTED_MARKER.to_owned();
    }
    Cow::Owned(scrubbed)
}

/// What a match is replaced with; the order decides which marker a merged overlap gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Credentials,
    Redacted,
    Email,
    Card,
    Token,
    Ip,
}

impl Kind {
    fn marker(self) -> &'static str {
        match self {
            Kind::Credentials => CREDENTIALS_MARKER,
            Kind::Redacted => REDACTED_MARKER,
            Kind::Email => EMAIL_MARKER,
            Kind::Card => CARD_MARKER,
            Kind::Token => TOKEN_MARKER,
            Kind::Ip => IP_MARKER,
        }
    }
}

/// A byte range to replace; `start < end`. In the normalised copy while detecting, then in the
/// original text (on character boundaries) when replacing.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Runs every detector once; `None` when nothing matched.
///
/// Detectors run on the normalised copy and, when normalising changed the text, on the text as it
/// is too: decoding can also hide digits (`&#4111 1111 1111 1111` decodes its first four digits
/// into one character), so what either reading shows is removed.
fn scrub_once(text: &str) -> Option<String> {
    let triggers = Triggers::of(text.as_bytes());
    if !triggers.is_any() {
        return None;
    }
    let copy = if triggers.has(TRIGGER_NORMALIZE) {
        normalize(text, triggers.digits > 0)
    } else {
        Normalized::unchanged(text)
    };
    let mut spans;
    if copy.changed() {
        spans = detect(&copy.bytes, Triggers::of(&copy.bytes));
        for span in &mut spans {
            (span.start, span.end) = copy.original_range(span.start, span.end);
        }
        spans.append(&mut detect(text.as_bytes(), triggers));
    } else {
        spans = detect(text.as_bytes(), triggers);
    }
    if spans.is_empty() {
        return None;
    }
    Some(replace_spans(text, spans))
}

/// Every match in `bytes`, whose triggers are `triggers`.
fn detect(bytes: &[u8], triggers: Triggers) -> Vec<Span> {
    let mut credentials = Vec::new();
    if triggers.has(TRIGGER_AT) {
        find_credentials(bytes, &mut credentials);
    }
    let mut spans = Vec::new();
    if triggers.has(TRIGGER_AT) {
        find_emails(bytes, &credentials, &mut spans);
    }
    if triggers.has(TRIGGER_EQUALS) {
        find_secret_params(bytes, &mut spans);
    }
    if triggers.has(TRIGGER_COLON) {
        find_secret_pairs(bytes, &mut spans);
    }
    if triggers.digits >= CARD_DIGITS_MIN {
        cards::find_cards(bytes, &mut spans);
    }
    let emit = |kind| move |start, end| Span { start, end, kind };
    if triggers.digits > 0 {
        let token = emit(Kind::Token);
        shapes::find_tokens(bytes, |start, end| spans.push(token(start, end)));
    }
    let ip = emit(Kind::Ip);
    if triggers.digits >= 4 && count_bytes(bytes, b'.') >= 3 {
        shapes::find_ipv4(bytes, |start, end| spans.push(ip(start, end)));
    }
    if triggers.has(TRIGGER_COLON) && count_bytes(bytes, b':') >= 2 {
        shapes::find_ipv6(bytes, |start, end| spans.push(ip(start, end)));
    }
    spans.append(&mut credentials);
    spans
}

/// Which detectors can fire on a text, found in one pass of one table load and one `or` a byte.
#[derive(Clone, Copy)]
struct Triggers {
    /// Bits of [`TRIGGER_TABLE`] seen.
    bits: u8,
    /// ASCII digits in the text: fewer than [`CARD_DIGITS_MIN`] cannot hold a card number.
    digits: usize,
}

/// How often `byte` occurs in `bytes`; a loop the compiler vectorises, run only when needed.
fn count_bytes(bytes: &[u8], byte: u8) -> usize {
    bytes.iter().filter(|&&candidate| candidate == byte).count()
}

const TRIGGER_DIGIT: u8 = 1;
const TRIGGER_AT: u8 = 2;
const TRIGGER_COLON: u8 = 4;
const TRIGGER_EQUALS: u8 = 8;
/// `%`, `&`, `\` (a JSON escape) or a non-ASCII byte: normalising may reveal anything.
const TRIGGER_NORMALIZE: u8 = 16;

/// The trigger bit of each byte value.
const TRIGGER_TABLE: [u8; 256] = {
    let mut table = [0; 256];
    let mut digit = b'0';
    while digit <= b'9' {
        table[digit as usize] = TRIGGER_DIGIT;
        digit += 1;
    }
    table[b'@' as usize] = TRIGGER_AT;
    table[b':' as usize] = TRIGGER_COLON;
    table[b'=' as usize] = TRIGGER_EQUALS;
    table[b'%' as usize] = TRIGGER_NORMALIZE;
    table[b'&' as usize] = TRIGGER_NORMALIZE;
    table[b'\\' as usize] = TRIGGER_NORMALIZE;
    let mut byte = 0x80;
    while byte <= 0xff {
        table[byte] = TRIGGER_NORMALIZE;
        byte += 1;
    }
    table
};

impl Triggers {
    fn of(bytes: &[u8]) -> Self {
        let mut bits = 0;
        let mut digits = 0;
        for &byte in bytes {
            let trigger = TRIGGER_TABLE[usize::from(byte)];
            bits |= trigger;
            digits += usize::from(trigger & TRIGGER_DIGIT);
        }
        Self { bits, digits }
    }

    fn is_any(self) -> bool {
        self.bits != 0
    }

    fn has(self, trigger: u8) -> bool {
        self.bits & trigger != 0
    }
}

/// Replaces spans of `text` by their markers; overlapping spans merge and keep the first one's
/// marker.
fn replace_spans(text: &str, mut spans: Vec<Span>) -> String {
    spans.sort_unstable_by_key(|span| (span.start, span.kind));
    let mut out = String::with_capacity(text.len() + CREDENTIALS_MARKER.len());
    let mut copied = 0;
    let mut pending: Option<Span> = None;
    for span in spans {
        match &mut pending {
            Some(merged) if span.start < merged.end => merged.end = merged.end.max(span.end),
            _ => {
                if let Some(done) = pending.replace(span) {
                    out.push_str(&text[copied..done.start]);
                    out.push_str(done.kind.marker());
                    copied = done.end;
                }
            }
        }
    }
    if let Some(done) = pending {
        out.push_str(&text[copied..done.start]);
        out.push_str(done.kind.marker());
        copied = done.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Finds `//user:pass@` (after a scheme or scheme-relative) and emits the user-info range.
///
/// The user info runs from `//` to the last `@` before a byte that cannot be in an authority
/// (`/ ? #`, whitespace, `"`, `<`, `[`...), which is how browsers split `a@b@host`.
fn find_credentials(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(slashes) = find_double_slash(bytes, from) {
        let start = slashes + 2;
        let mut end = start;
        let mut last_at = None;
        while end < bytes.len() {
            match bytes[end] {
                b'@' => last_at = Some(end),
                byte if is_userinfo_byte(byte) => {}
                _ => break,
            }
            end += 1;
        }
        if let Some(at) = last_at
            && at > start
        {
            out.push(Span {
                start,
                end: at,
                kind: Kind::Credentials,
            });
        }
        // The scan may have stopped on the first `/` of a following `//`, so look again from there.
        from = end.max(start);
    }
}

/// Position of the next `//` at or after `from`.
fn find_double_slash(bytes: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while let Some(offset) = bytes.get(pos..)?.iter().position(|&byte| byte == b'/') {
        let slash = pos + offset;
        if bytes.get(slash + 1) == Some(&b'/') {
            return Some(slash);
        }
        pos = slash + 1;
    }
    None
}

/// RFC 3986 user-info bytes (unreserved, `%`, sub-delims, `:`) plus any non-ASCII byte.
fn is_userinfo_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
        )
        || !byte.is_ascii()
}

/// Finds `local@domain.tld`, skipping the `@` that ends URL credentials.
fn find_emails(bytes: &[u8], credentials: &[Span], out: &mut Vec<Span>) {
    let mut credential_ats = credentials.iter().map(|span| span.end).peekable();
    // Start of the run of local-part bytes that ends just before `i`, if that run is non-empty,
    // and the start of its last stretch of ASCII bytes.
    let mut local_start: Option<usize> = None;
    let mut ascii_start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'@' {
            while credential_ats.next_if(|&at| at < i).is_some() {}
            let ends_credentials = credential_ats.peek() == Some(&i);
            if !ends_credentials
                && let Some(start) = local_start
                && let Some(end) = email_domain_end(bytes, i + 1)
            {
                out.push(Span {
                    start: local_start_of(bytes, start, ascii_start),
                    end,
                    kind: Kind::Email,
                });
                i = end;
            } else {
                i += 1;
            }
            local_start = None;
            ascii_start = None;
            continue;
        }
        if is_local_part_byte(byte) {
            local_start.get_or_insert(i);
            if byte.is_ascii() {
                ascii_start.get_or_insert(i);
            } else {
                ascii_start = None;
            }
        } else {
            local_start = None;
            ascii_start = None;
        }
        i += 1;
    }
}

/// Where a local part starts: at `start`, unless CJK text runs into an ASCII local part
/// (`请联系john@`), where the address is the ASCII part.
fn local_start_of(bytes: &[u8], start: usize, ascii_start: Option<usize>) -> usize {
    let Some(ascii_start) = ascii_start.filter(|&ascii| ascii > start) else {
        return start;
    };
    match std::str::from_utf8(&bytes[start..ascii_start]) {
        Ok(text) if text.chars().all(|c| c >= '\u{2e80}') => ascii_start,
        _ => start,
    }
}

fn is_local_part_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
        || !byte.is_ascii()
}

/// Domain labels are ASCII letters, digits and `-`, or non-ASCII (internationalised names).
fn is_domain_label_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || !byte.is_ascii()
}

/// End of the longest `label(.label)+` at `start` whose last label can be a top-level domain.
fn email_domain_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut best_end = None;
    let mut labels = 0;
    let mut pos = start;
    loop {
        let label_start = pos;
        while pos < bytes.len() && is_domain_label_byte(bytes[pos]) {
            pos += 1;
        }
        if pos == label_start {
            break;
        }
        labels += 1;
        if labels >= 2
            && let Some(end) = top_level_label_end(&bytes[label_start..pos])
        {
            best_end = Some(label_start + end);
        }
        if bytes.get(pos) == Some(&b'.')
            && bytes.get(pos + 1).is_some_and(|&b| is_domain_label_byte(b))
        {
            pos += 1;
        } else {
            break;
        }
    }
    best_end
}

/// How much of `label` is a top-level domain: its leading ASCII letters when there are at least two
/// (`com` of `com2`, so text glued to an address does not save it), or all of an all-non-ASCII label.
fn top_level_label_end(label: &[u8]) -> Option<usize> {
    let letters = label.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters >= 2 {
        Some(letters)
    } else if label.iter().all(|b| !b.is_ascii()) {
        Some(label.len())
    } else {
        None
    }
}

/// Finds `name=value` with a secret name and emits the value range.
fn find_secret_params(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|&byte| byte == b'=') {
        let equals = from + offset;
        if !is_secret_name(param_name_before(bytes, equals)) {
            from = equals + 1;
            continue;
        }
        let end = redact_value(bytes, equals + 1, out);
        // Any `name=` inside the value is covered already; skipping it keeps the scan linear.
        from = end.max(equals + 1);
    }
}

/// Authorisation schemes written before a credential (`Authorization: Bearer <token>`): the word
/// is kept and the credential after it is taken as the value.
const AUTH_SCHEMES: [&str; 4] = ["bearer", "basic", "digest", "token"];

/// Finds `name: value` and `"name": "value"` with a secret name (HTTP headers, JSON or YAML
/// pasted into text) and emits the value range.
fn find_secret_pairs(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|&byte| byte == b':') {
        let colon = from + offset;
        let name_end = match colon.checked_sub(1).map(|before| bytes[before]) {
            Some(b'"' | b'\'') => colon - 1,
            _ => colon,
        };
        if !is_secret_name(param_name_before(bytes, name_end)) {
            from = colon + 1;
            continue;
        }
        let skip_blanks = |mut pos: usize, quotes: bool| {
            while pos < bytes.len()
                && (matches!(bytes[pos], b' ' | b'\t')
                    || (quotes && matches!(bytes[pos], b'"' | b'\'')))
            {
                pos += 1;
            }
            pos
        };
        let mut start = skip_blanks(colon + 1, true);
        let word_end = param_value_end(bytes, start);
        if AUTH_SCHEMES
            .iter()
            .any(|scheme| bytes[start..word_end].eq_ignore_ascii_case(scheme.as_bytes()))
        {
            start = skip_blanks(word_end, false);
        }
        let end = redact_value(bytes, start, out);
        from = end.max(colon + 1);
    }
}

/// Emits the secret value that starts at `start` (after any markers already there) and gives
/// where it ends.
fn redact_value(bytes: &[u8], start: usize, out: &mut Vec<Span>) -> usize {
    let start = skip_markers(bytes, start);
    let end = param_value_end(bytes, start);
    if end > start {
        out.push(Span {
            start,
            end,
            kind: Kind::Redacted,
        });
    }
    end
}

/// The parameter name before the `=` at `equals`: the last bracketed part of `user[password]`, the
/// part before `[]` of `password[]`, else the run of name bytes (at most [`names::NAME_BYTES_MAX`]).
fn param_name_before(bytes: &[u8], equals: usize) -> &[u8] {
    let mut head = &bytes[..equals];
    if let Some(rest) = head.strip_suffix(b"[]") {
        head = rest;
    } else if let Some(rest) = head.strip_suffix(b"]") {
        head = rest;
    }
    let mut start = head.len();
    while start > 0
        && head.len() - start < names::NAME_BYTES_MAX
        && is_param_name_byte(head[start - 1])
    {
        start -= 1;
    }
    &head[start..]
}

fn is_param_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// End of a parameter value: a separator, a quote, an angle bracket, whitespace, or a marker
/// (so a value is never partly a marker and `token=[redacted]` stays as it is).
fn param_value_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() {
        let byte = bytes[end];
        let is_separator = matches!(byte, b'&' | b'#' | b';' | b'"' | b'\'' | b'<' | b'>' | b'`')
            || byte.is_ascii_whitespace()
            || byte.is_ascii_control();
        if is_separator || (byte == b'[' && starts_with_marker(&bytes[end..])) {
            break;
        }
        end += 1;
    }
    end
}

fn starts_with_marker(bytes: &[u8]) -> bool {
    MARKERS
        .iter()
        .any(|marker| bytes.starts_with(marker.as_bytes()))
}

/// Moves past markers at `pos`, so `token=[redacted]rest` still redacts `rest`.
fn skip_markers(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(marker) = MARKERS
        .iter()
        .find(|marker| bytes[pos..].starts_with(marker.as_bytes()))
    {
        pos += marker.len();
    }
    pos
}

#[cfg(test)]
mod tests;
