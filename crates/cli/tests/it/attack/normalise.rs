//! The test's own normalisation of stored text, independent of the scrubber under test.

use std::net::Ipv4Addr;

use super::corpus::{DECODE_ROUNDS_MAX, Kind, cases};
use super::search::keeps_ipv4;

/// `text` as a reader who wants the secret back would read it: `\u{..}`/`\uXXXX` escapes, HTML
/// entities and percent-encoding decoded until nothing changes (at most [`DECODE_ROUNDS_MAX`]
/// rounds), lower-cased, zero-width characters dropped, full-width forms and other decimal
/// digits mapped to ASCII, Unicode spaces to a space, `@`-like signs to `@`.
pub(super) fn normalise(text: &str) -> String {
    let mut current = fold_characters(text);
    for _ in 0..DECODE_ROUNDS_MAX {
        let next = fold_characters(&percent_decode(&decode_entities(&unescape(&current))));
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// `normalise(text)` with every character that is not a letter or digit dropped: a card number
/// written with any separators becomes its digits.
pub(super) fn compact(normalised: &str) -> String {
    normalised.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Zeros of the Unicode decimal digit blocks an attacker is likely to use.
pub(super) const DIGIT_ZEROS: [u32; 27] = [
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0xFF10, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E950,
];

pub(super) fn fold_characters(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        let code = u32::from(c);
        if let Some(zero) = DIGIT_ZEROS
            .iter()
            .find(|zero| (**zero..**zero + 10).contains(&code))
        {
            folded.push(char::from(b'0' + (code - zero) as u8));
            continue;
        }
        match code {
            0x200B..=0x200F | 0x2060..=0x2064 | 0xFEFF | 0x00AD | 0x180E | 0x034F => {}
            0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 => folded.push(' '),
            0xFE6B | 0xFF20 => folded.push('@'),
            0x3002 | 0xFF61 | 0xFE52 => folded.push('.'),
            0x2010..=0x2015 | 0x2212 | 0xFE58 | 0xFE63 => folded.push('-'),
            0xFF01..=0xFF5E => {
                let ascii = char::from_u32(code - 0xFEE0).expect("full-width forms map to ASCII");
                folded.extend(ascii.to_lowercase());
            }
            _ => folded.extend(c.to_lowercase()),
        }
    }
    folded
}

/// Decodes `\u{HEX}` (Rust's `{:?}`), `\uXXXX` (JSON, with surrogate pairs), `\t`, `\n`, `\r`.
pub(super) fn unescape(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let hex_at = |start: usize, len: usize| -> Option<u32> {
        let digits: String = chars.get(start..start + len)?.iter().collect();
        u32::from_str_radix(&digits, 16).ok()
    };
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            match chars[i + 1] {
                'u' if chars.get(i + 2) == Some(&'{') => {
                    if let Some(close) = chars[i + 3..].iter().position(|c| *c == '}')
                        && let Some(code) = hex_at(i + 3, close)
                        && let Some(decoded) = char::from_u32(code)
                    {
                        out.push(decoded);
                        i += 4 + close;
                        continue;
                    }
                }
                'u' => {
                    if let Some(high) = hex_at(i + 2, 4) {
                        if (0xD800..0xDC00).contains(&high)
                            && chars.get(i + 6) == Some(&'\\')
                            && chars.get(i + 7) == Some(&'u')
                            && let Some(low) = hex_at(i + 8, 4)
                            && (0xDC00..0xE000).contains(&low)
                        {
                            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            if let Some(decoded) = char::from_u32(code) {
                                out.push(decoded);
                                i += 12;
                                continue;
                            }
                        }
                        if let Some(decoded) = char::from_u32(high) {
                            out.push(decoded);
                            i += 6;
                            continue;
                        }
                    }
                }
                't' => {
                    out.push('\t');
                    i += 2;
                    continue;
                }
                'n' => {
                    out.push('\n');
                    i += 2;
                    continue;
                }
                'r' => {
                    out.push('\r');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Named entities worth decoding: what hides an `@`, a `.`, a separator or a digit.
pub(super) const NAMED_ENTITIES: [(&str, &str); 22] = [
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("commat", "@"),
    ("period", "."),
    ("colon", ":"),
    ("sol", "/"),
    ("bsol", "\\"),
    ("num", "#"),
    ("percnt", "%"),
    ("equals", "="),
    ("quest", "?"),
    ("plus", "+"),
    ("lowbar", "_"),
    ("hyphen", "-"),
    ("dash", "-"),
    ("ndash", "\u{2013}"),
    ("mdash", "\u{2014}"),
    ("thinsp", "\u{2009}"),
];

/// Decodes `&#NNN;`, `&#xHH;` (the `;` optional, as browsers read them) and [`NAMED_ENTITIES`].
pub(super) fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let decoded = if let Some(number) = after.strip_prefix('#') {
            let (radix, digits_start) = match number.strip_prefix(['x', 'X']) {
                Some(hex) => (16, hex),
                None => (10, number),
            };
            let digits_len = digits_start
                .find(|c: char| !c.is_digit(radix))
                .unwrap_or(digits_start.len());
            let consumed_before_digits = number.len() - digits_start.len();
            u32::from_str_radix(&digits_start[..digits_len], radix)
                .ok()
                .and_then(char::from_u32)
                .filter(|_| digits_len > 0)
                .map(|c| {
                    let mut used = 1 + consumed_before_digits + digits_len;
                    if digits_start[digits_len..].starts_with(';') {
                        used += 1;
                    }
                    (c.to_string(), used)
                })
        } else {
            NAMED_ENTITIES.iter().find_map(|(name, value)| {
                after
                    .strip_prefix(name)
                    .and_then(|tail| tail.strip_prefix(';'))
                    .map(|_| ((*value).to_owned(), name.len() + 1))
            })
        };
        match decoded {
            Some((value, used)) => {
                out.push_str(&value);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `%HH` once (invalid UTF-8 after decoding is replaced, not kept as bytes).
pub(super) fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (
                (bytes[i + 1] as char).to_digit(16),
                (bytes[i + 2] as char).to_digit(16),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but the URL-unreserved characters (`encodeURIComponent`).
pub(super) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A place the secrets are looked for, normalised once.
pub(super) struct Haystack {
    /// Where it is: "row (case, way) column url", "server log line 12", ...
    pub(super) place: String,
    /// The probe it belongs to, when known.
    pub(super) probe: Option<u64>,
    pub(super) normalised: String,
    pub(super) compacted: String,
    /// The text as found, for the report (shortened).
    pub(super) original: String,
}

impl Haystack {
    pub(super) fn new(place: String, probe: Option<u64>, text: &str) -> Self {
        let normalised = normalise(text);
        let compacted = compact(&normalised);
        Self {
            place,
            probe,
            normalised,
            compacted,
            original: shorten(text, 300),
        }
    }

    pub(super) fn holds(&self, kind: Kind, canary: &str) -> bool {
        match kind {
            Kind::Card => self.compacted.contains(canary),
            Kind::Email | Kind::Secret | Kind::Ip => self.normalised.contains(canary),
        }
    }
}

pub(super) fn shorten(text: &str, bytes: usize) -> String {
    if text.len() <= bytes {
        return text.to_owned();
    }
    format!("{}...", &text[..text.floor_char_boundary(bytes)])
}

#[test]
fn normalisation_finds_each_canary_in_its_own_text() {
    // The search is only as good as the normaliser: each case's text, unscrubbed, must be
    // found by it. A case it cannot find would pass whatever the scrubber does.
    for case in cases() {
        let text = match (&case.text, &case.props) {
            (Some(text), _) => text.clone(),
            (None, Some(props)) => props.to_string(),
            (None, None) => unreachable!(),
        };
        let haystack = Haystack::new(case.name.clone(), None, &text);
        assert!(
            haystack.holds(case.kind, &case.canary),
            "{}: the canary {:?} is not found in its own text {:?} (normalised {:?})",
            case.name,
            case.canary,
            text,
            haystack.normalised
        );
    }
    assert!(keeps_ipv4(
        "2002:cb00:7107::/48",
        Ipv4Addr::new(203, 0, 113, 7)
    ));
    assert!(keeps_ipv4(
        "2001:0:4136:e378:8000:63bf:34ff:8ef8/128",
        Ipv4Addr::new(203, 0, 113, 7)
    ));
    assert!(!keeps_ipv4(
        "2001:0:4136::/48",
        Ipv4Addr::new(203, 0, 113, 7)
    ));
    assert!(!keeps_ipv4("203.0.113.0/24", Ipv4Addr::new(203, 0, 113, 7)));
    assert!(keeps_ipv4("203.0.113.7/32", Ipv4Addr::new(203, 0, 113, 7)));
    assert_eq!(normalise("a%2540b&#46;c"), "a@b.c");
    assert_eq!(
        compact(&normalise("4111\u{2009}1111–1111 1111")),
        "4111111111111111"
    );
}
