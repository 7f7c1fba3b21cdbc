//! Removes personal data from free text before anything is written.
//!
//! The collector promises (DESIGN.md, "Privacy at the door") that no stored URL, referrer, link, text,
//! value or props string holds an e-mail address, a payment card number or a credential. [`scrub`] is
//! that promise in code. It runs on every string of every event, so it is a hand-written byte scanner:
//! one cheap classification pass decides which detectors can possibly fire, a string with nothing to
//! replace is returned borrowed without allocating, and every detector is linear in the input.
//!
//! All detectors look only at ASCII bytes to decide where a match starts and ends, so every replaced
//! range lies on UTF-8 character boundaries whatever the surrounding text is.
//!
//! Detectors err on the side of removing too much: a false positive costs a few characters of
//! analytics, a false negative stores someone's card number.

use std::borrow::Cow;

/// Replaces an e-mail address.
pub const EMAIL_MARKER: &str = "[email]";
/// Replaces a digit run that holds a payment card number.
pub const CARD_MARKER: &str = "[card]";
/// Replaces the user-info part (`user:password`) of a URL.
pub const CREDENTIALS_MARKER: &str = "[credentials]";
/// Replaces the value of a query or fragment parameter whose name marks it as secret.
pub const REDACTED_MARKER: &str = "[redacted]";

/// Every marker; none holds a digit, `@`, `%`, `=` or `:`, so markers never trigger a detector.
const MARKERS: [&str; 4] = [
    EMAIL_MARKER,
    CARD_MARKER,
    CREDENTIALS_MARKER,
    REDACTED_MARKER,
];

/// Fewest digits in a payment card number (ISO/IEC 7812).
const CARD_DIGITS_MIN: usize = 13;
/// Most digits in a payment card number (ISO/IEC 7812).
const CARD_DIGITS_MAX: usize = 19;

/// Parameter names whose values are secrets, lowercase, `_` standing for `_` or `-`.
const SECRET_PARAM_NAMES: [&str; 19] = [
    "password",
    "passwd",
    "pwd",
    "pass",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "auth",
    "authorization",
    "session",
    "sessionid",
    "sid",
    "code",
];
/// Length of the longest name in [`SECRET_PARAM_NAMES`]; bounds the backward scan for a name.
const SECRET_PARAM_NAME_BYTES_MAX: usize = 13;

/// Returns `input` with personal data replaced by markers, borrowed when nothing was replaced.
///
/// - **E-mail addresses** `local@domain.tld`, also with the `@` URL-encoded as `%40`, become
///   [`EMAIL_MARKER`]. The local part is ASCII letters, digits and `._%+-`; the domain needs at least
///   two labels and a top-level label starting with two letters (`a@b.com2` loses `a@b.com`).
/// - **Payment card numbers** become [`CARD_MARKER`]. A *digit run* is a maximal sequence of ASCII
///   digits in which consecutive digits may be separated by one space, dash or plus, or their URL
///   encodings `%20` and `%2D`
///   (`4111 1111-1111 1111`). A run of 13 or more digits is replaced entirely when any contiguous
///   window of 13 to 19 of its digits passes the Luhn check. Requiring the whole run to pass would
///   let `4111 1111 1111 1111 2` (a card and a quantity) through, so windows are checked for runs of
///   every length. Separators outside the run are kept.
/// - **Credentials in URLs**: `scheme://user:pass@host` and `scheme://user@host` become
///   `scheme://[credentials]@host`.
/// - **Secret parameters**: the value of `name=value` becomes [`REDACTED_MARKER`] when the name,
///   compared case-insensitively with `-` and `_` alike, is one of `password passwd pwd pass token
///   access_token refresh_token id_token api_key apikey key secret client_secret auth authorization
///   session sessionid sid code`. Bracketed form names count by their last part
///   (`user[password]=`, `user%5Bpassword%5D=`). The value ends at `&`, `#`, `;`, a quote, `<`, `>`,
///   whitespace or the end of the text.
///
/// The result is idempotent: `scrub(&scrub(s)) == scrub(s)`, and the second call borrows. Text with
/// no ASCII digit, `@`, `%`, `=` and `://` is always returned unchanged.
///
/// ```
/// use heatlake_model::privacy::scrub::scrub;
///
/// assert_eq!(
///     scrub("https://bob:hunter2@shop.example/pay?card=4111 1111 1111 1111&token=abc#top"),
///     "https://[credentials]@shop.example/pay?card=[card]&token=[redacted]#top",
/// );
/// assert_eq!(scrub("write to Ana.Lima@Example.COM today"), "write to [email] today");
/// assert!(matches!(scrub("/pricing"), std::borrow::Cow::Borrowed("/pricing")));
/// ```
pub fn scrub(input: &str) -> Cow<'_, str> {
    let Some(mut scrubbed) = scrub_once(input) else {
        return Cow::Borrowed(input);
    };
    // One pass can expose a match that a neighbouring match hid (`a@b.ü4111111111111111` reads as
    // an address only once the card is gone), so passes repeat until nothing changes.
    // This ends: every replaced range is non-empty and holds no marker byte, so each pass strictly
    // shrinks the number of bytes outside markers. In practice the second pass finds nothing.
    while let Some(again) = scrub_once(&scrubbed) {
        scrubbed = again;
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
}

impl Kind {
    fn marker(self) -> &'static str {
        match self {
            Kind::Credentials => CREDENTIALS_MARKER,
            Kind::Redacted => REDACTED_MARKER,
            Kind::Email => EMAIL_MARKER,
            Kind::Card => CARD_MARKER,
        }
    }
}

/// A byte range of the text to replace; `start < end`, both on character boundaries.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Runs every detector once; `None` when nothing matched.
fn scrub_once(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let triggers = Triggers::of(bytes);
    if triggers.is_empty() {
        return None;
    }
    let mut credentials = Vec::new();
    if triggers.has(TRIGGER_COLON) {
        find_credentials(bytes, &mut credentials);
    }
    let mut spans = Vec::new();
    if triggers.has(TRIGGER_AT_OR_PERCENT) {
        find_emails(bytes, &credentials, &mut spans);
    }
    if triggers.has(TRIGGER_EQUALS) {
        find_secret_params(bytes, &mut spans);
    }
    if triggers.may_hold_card() {
        find_cards(bytes, &mut spans);
    }
    spans.append(&mut credentials);
    if spans.is_empty() {
        return None;
    }
    Some(replace_spans(text, spans))
}

/// Which detectors can fire on a text, found in one pass of one table load and one `or` a byte.
#[derive(Clone, Copy)]
struct Triggers {
    /// Bits of [`TRIGGER_TABLE`] seen.
    bits: u8,
    /// ASCII digits in the text: fewer than [`CARD_DIGITS_MIN`] cannot hold a card number.
    digits: usize,
}

const TRIGGER_DIGIT: u8 = 1;
const TRIGGER_AT_OR_PERCENT: u8 = 2;
const TRIGGER_COLON: u8 = 4;
const TRIGGER_EQUALS: u8 = 8;

/// The trigger bit of each byte value.
const TRIGGER_TABLE: [u8; 256] = {
    let mut table = [0; 256];
    let mut digit = b'0';
    while digit <= b'9' {
        table[digit as usize] = TRIGGER_DIGIT;
        digit += 1;
    }
    table[b'@' as usize] = TRIGGER_AT_OR_PERCENT;
    table[b'%' as usize] = TRIGGER_AT_OR_PERCENT;
    table[b':' as usize] = TRIGGER_COLON;
    table[b'=' as usize] = TRIGGER_EQUALS;
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

    fn is_empty(self) -> bool {
        self.bits == 0
    }

    fn has(self, trigger: u8) -> bool {
        self.bits & trigger != 0
    }

    fn may_hold_card(self) -> bool {
        self.digits >= CARD_DIGITS_MIN
    }
}

/// Replaces spans by their markers; overlapping spans merge and keep the first one's marker.
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

/// Finds `://user:pass@` and emits the user-info range.
///
/// The user info runs from `://` to the last `@` before a byte that cannot be in an authority
/// (`/ ? #`, whitespace, `"`, `<`, `[`...), which is how browsers split `a@b@host`.
fn find_credentials(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(colon) = find_scheme_separator(bytes, from) {
        let start = colon + 3;
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
        // The scan may have eaten the `:` of a following `://`, so look again from one byte back.
        from = (end - 1).max(start);
    }
}

/// Position of the next `://` at or after `from`.
fn find_scheme_separator(bytes: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while let Some(offset) = bytes[pos..].iter().position(|&byte| byte == b':') {
        let colon = pos + offset;
        if bytes[colon + 1..].starts_with(b"//") {
            return Some(colon);
        }
        pos = colon + 1;
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

/// Finds `local@domain.tld` and `local%40domain.tld`, skipping the `@` that ends URL credentials.
fn find_emails(bytes: &[u8], credentials: &[Span], out: &mut Vec<Span>) {
    let mut credential_ats = credentials.iter().map(|span| span.end).peekable();
    // Start of the run of local-part bytes that ends just before `i`, if that run is non-empty.
    let mut local_start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let at_len = match byte {
            b'@' => 1,
            b'%' if bytes[i + 1..].starts_with(b"40") => 3,
            _ => 0,
        };
        if at_len > 0 {
            while credential_ats.next_if(|&at| at < i).is_some() {}
            let ends_credentials = credential_ats.peek() == Some(&i);
            if !ends_credentials
                && let Some(start) = local_start
                && let Some(end) = email_domain_end(bytes, i + at_len)
            {
                out.push(Span {
                    start,
                    end,
                    kind: Kind::Email,
                });
                local_start = None;
                i = end;
                continue;
            }
            if byte == b'@' {
                local_start = None;
                i += 1;
                continue;
            }
            // An unmatched `%40` is ordinary local-part text.
        }
        if is_local_part_byte(byte) {
            local_start.get_or_insert(i);
        } else {
            local_start = None;
        }
        i += 1;
    }
}

fn is_local_part_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
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
        if !is_secret_param_name(param_name_before(bytes, equals)) {
            from = equals + 1;
            continue;
        }
        let start = skip_markers(bytes, equals + 1);
        let end = param_value_end(bytes, start);
        if end > start {
            out.push(Span {
                start,
                end,
                kind: Kind::Redacted,
            });
        }
        // Any `name=` inside the value is covered already; skipping it keeps the scan linear.
        from = end;
    }
}

/// The parameter name before the `=` at `equals`: the last bracketed part of `user[password]` or
/// `user%5Bpassword%5D`, else the run of name bytes. Longer than any secret name means no match.
fn param_name_before(bytes: &[u8], equals: usize) -> &[u8] {
    let head = &bytes[..equals];
    let (head, opening): (&[u8], &[u8]) = if head.ends_with(b"]") {
        (&head[..head.len() - 1], b"[")
    } else if ends_with_ignore_ascii_case(head, b"%5D") {
        (&head[..head.len() - 3], b"%5B")
    } else {
        (head, b"")
    };
    let mut start = head.len();
    loop {
        if !opening.is_empty() && ends_with_ignore_ascii_case(&head[..start], opening) {
            return &head[start..];
        }
        if start == 0
            || head.len() - start > SECRET_PARAM_NAME_BYTES_MAX
            || !is_param_name_byte(head[start - 1])
        {
            break;
        }
        start -= 1;
    }
    if opening.is_empty() {
        &head[start..]
    } else {
        &[]
    }
}

fn ends_with_ignore_ascii_case(bytes: &[u8], suffix: &[u8]) -> bool {
    bytes.len() >= suffix.len() && bytes[bytes.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn is_param_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

fn is_secret_param_name(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > SECRET_PARAM_NAME_BYTES_MAX {
        return false;
    }
    SECRET_PARAM_NAMES.iter().any(|secret| {
        secret.len() == name.len()
            && secret.bytes().zip(name).all(|(secret_byte, &byte)| {
                let byte = if byte == b'-' { b'_' } else { byte };
                secret_byte == byte.to_ascii_lowercase()
            })
    })
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

/// Finds digit runs that hold a Luhn-valid window of 13 to 19 digits and emits the whole run.
fn find_cards(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(u8::is_ascii_digit) {
        let start = from + offset;
        let (end, holds_card) = scan_digit_run(bytes, start);
        if holds_card {
            out.push(Span {
                start,
                end,
                kind: Kind::Card,
            });
        }
        from = end;
    }
}

/// Scans the digit run starting at `start` (a digit); returns its end (after its last digit) and
/// whether it holds a card number.
fn scan_digit_run(bytes: &[u8], start: usize) -> (usize, bool) {
    let mut windows = LuhnWindows::default();
    let mut pos = start;
    loop {
        if !windows.found {
            windows.push(bytes[pos] - b'0');
        }
        pos += 1;
        match bytes.get(pos) {
            Some(byte) if byte.is_ascii_digit() => {}
            Some(b' ' | b'-' | b'+') if bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) => {
                pos += 1;
            }
            // URL-encoded space or dash (`%20`, `%2D`), as forms and browsers send them.
            Some(b'%')
                if matches!(bytes.get(pos + 1..pos + 3), Some(b"20" | b"2D" | b"2d"))
                    && bytes.get(pos + 3).is_some_and(u8::is_ascii_digit) =>
            {
                pos += 3;
            }
            _ => return (pos, windows.found),
        }
    }
}

/// Checks every window of 13 to 19 digits ending at each new digit, in constant time and memory.
///
/// Two running Luhn sums (mod 10) are kept: `sums[0]` doubles digits at odd positions (from 0),
/// `sums[1]` at even positions. A window whose last digit is at an even position doubles its odd
/// positions, so its Luhn sum is the difference of two `sums[0]` prefixes; likewise for odd with
/// `sums[1]`. The last 20 prefixes are enough for windows of up to 19 digits.
#[derive(Default)]
struct LuhnWindows {
    digits: usize,
    /// `sums[parity][k % 20]`: Luhn sum mod 10 of the first `k` digits.
    sums: [[u8; CARD_DIGITS_MAX + 1]; 2],
    found: bool,
}

impl LuhnWindows {
    fn push(&mut self, digit: u8) {
        let doubled = if digit >= 5 { digit * 2 - 9 } else { digit * 2 };
        let index = self.digits;
        let (even_term, odd_term) = if index.is_multiple_of(2) {
            (digit, doubled)
        } else {
            (doubled, digit)
        };
        let ring = CARD_DIGITS_MAX + 1;
        let end = index + 1;
        self.sums[0][end % ring] = (self.sums[0][index % ring] + even_term) % 10;
        self.sums[1][end % ring] = (self.sums[1][index % ring] + odd_term) % 10;
        self.digits = end;
        let prefixes = &self.sums[index % 2];
        for len in CARD_DIGITS_MIN..=CARD_DIGITS_MAX.min(end) {
            // Both prefixes are sums mod 10, so the window's sum is 0 mod 10 exactly when they match.
            if prefixes[end % ring] == prefixes[(end - len) % ring] {
                self.found = true;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
