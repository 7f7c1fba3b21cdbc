//! The normalised copy of a text that the detectors read, and the way back to the original.
//!
//! Writing a value slightly differently must not hide it, so before detection a copy of the text
//! is normalised:
//! 1. up to [`DECODE_ROUNDS_MAX`] rounds, each decoding `%XX` escapes and HTML character
//!    references (`&#64;`, `&#x40;`, `&#64` without `;`, and the named ones in [`NAMED_ENTITIES`])
//!    and JSON's `\uXXXX` escapes (a JSON text carried inside a string), so `%2540`,
//!    `%25%32%30`, `&amp;#64;` and `\u0040` decode fully;
//! 2. then, per character: zero-width characters and the soft hyphen are removed, Unicode spaces
//!    become a space, dashes a `-`, decimal digits of every script (general category Nd) the ASCII
//!    digit of the same value, and full-width ASCII (U+FF01..U+FF5E, NFKC) its ASCII form.
//!
//! Every byte of the copy remembers the byte range of the original text it came from; ranges start
//! and end on the original's character boundaries, so a match in the copy maps back to a range of
//! the original that can be replaced without splitting a character.

use std::borrow::Cow;

/// Rounds of percent, entity and JSON-escape decoding; four undo a value encoded four times
/// (`@` -> `%40` -> `%2540` -> `%252540` -> `%25252540`).
pub(super) const DECODE_ROUNDS_MAX: usize = 4;

/// Longest named character reference accepted, in bytes between `&` and `;`.
const ENTITY_NAME_BYTES_MAX: usize = 8;

/// Named HTML character references that matter to detection (or hide a separator).
const NAMED_ENTITIES: [(&str, char); 30] = [
    ("amp", '&'),
    ("commat", '@'),
    ("period", '.'),
    ("percnt", '%'),
    ("num", '#'),
    ("colon", ':'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("lowbar", '_'),
    ("hyphen", '-'),
    ("dash", '-'),
    ("equals", '='),
    ("quest", '?'),
    ("plus", '+'),
    ("comma", ','),
    ("semi", ';'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("thinsp", '\u{2009}'),
    ("ndash", '\u{2013}'),
    ("mdash", '\u{2014}'),
    ("shy", '\u{ad}'),
    ("zwj", '\u{200d}'),
    ("zwnj", '\u{200c}'),
    ("ZeroWidthSpace", '\u{200b}'),
];

/// The first code point (the zero) of every run of ten decimal digits (Unicode 15.1, category Nd).
const DECIMAL_DIGIT_ZEROS: [u32; 68] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60,
    0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0,
    0x1E950, 0x1FBF0,
];

/// The byte range of the original text one byte of the copy came from.
#[derive(Clone, Copy, Debug)]
struct Source {
    start: usize,
    end: usize,
}

impl Source {
    fn to(self, other: Source) -> Source {
        Source {
            start: self.start,
            end: other.end,
        }
    }
}

/// A normalised copy of a text and, for each of its bytes, where it came from.
pub(super) struct Normalized<'a> {
    /// The copy; not always valid UTF-8 (`%FF` decodes to a lone byte).
    pub(super) bytes: Cow<'a, [u8]>,
    /// `None` when the copy is the original.
    sources: Option<Vec<Source>>,
}

impl Normalized<'_> {
    /// Whether the copy differs from the original.
    pub(super) fn changed(&self) -> bool {
        self.sources.is_some()
    }

    /// The range of the original text that the copy's range `start..end` (non-empty) came from.
    pub(super) fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        debug_assert!(start < end);
        match &self.sources {
            None => (start, end),
            Some(sources) => (sources[start].start, sources[end - 1].end),
        }
    }
}

/// Whether normalising changes `text` in a way that can matter: it holds a `%XX` escape, a
/// character reference, or a non-ASCII character that reads as something else (a Unicode space or
/// dash counts only when `text` has an ASCII digit; other digits count anyway). Most text holds
/// none, and then normalising costs one scan and no allocation.
pub(super) fn may_change(text: &str, has_ascii_digit: bool) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes[from..]
        .iter()
        .position(|&byte| matches!(byte, b'%' | b'&' | b'\\'))
    {
        let pos = from + offset;
        let decodes = match bytes[pos] {
            b'%' => percent_escape(&bytes[pos..]).is_some(),
            b'&' => character_reference(&bytes[pos..]).is_some(),
            _ => json_escape(&bytes[pos..]).is_some(),
        };
        if decodes {
            return true;
        }
        from = pos + 1;
    }
    !text.is_ascii()
        && text.chars().any(|c| match ascii_equivalent(c) {
            // A space or dash only matters between digits (of a card number).
            Some(Equivalent::Ascii(b' ' | b'-')) => has_ascii_digit,
            Some(_) => true,
            None => false,
        })
}

impl<'a> Normalized<'a> {
    /// `text` itself, for text known to hold nothing that normalising changes.
    pub(super) fn unchanged(text: &'a str) -> Self {
        Self {
            bytes: Cow::Borrowed(text.as_bytes()),
            sources: None,
        }
    }
}

/// The normalised copy of `text`, whose ASCII digits `has_ascii_digit` says whether there are
/// any; borrowed when normalising changes nothing that matters ([`may_change`]).
pub(super) fn normalize(text: &str, has_ascii_digit: bool) -> Normalized<'_> {
    if !may_change(text, has_ascii_digit) {
        return Normalized::unchanged(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    let mut sources = Vec::with_capacity(bytes.len());
    for (start, c) in text.char_indices() {
        let source = Source {
            start,
            end: start + c.len_utf8(),
        };
        sources.extend(std::iter::repeat_n(source, c.len_utf8()));
    }
    for _ in 0..DECODE_ROUNDS_MAX {
        match decode_round(&bytes, &sources) {
            Some((decoded, decoded_sources)) => {
                bytes = decoded;
                sources = decoded_sources;
            }
            None => break,
        }
    }
    if !bytes.is_ascii() {
        (bytes, sources) = normalize_characters(&bytes, &sources);
    }
    Normalized {
        bytes: Cow::Owned(bytes),
        sources: Some(sources),
    }
}

/// One round of percent and character-reference decoding; `None` when nothing was decoded.
fn decode_round(bytes: &[u8], sources: &[Source]) -> Option<(Vec<u8>, Vec<Source>)> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut out_sources = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut pos = 0;
    while pos < bytes.len() {
        let decoded = match bytes[pos] {
            b'%' => percent_escape(&bytes[pos..]).map(|byte| (Decoded::Byte(byte), 3)),
            b'&' => character_reference(&bytes[pos..]).map(|(c, len)| (Decoded::Char(c), len)),
            b'\\' => json_escape(&bytes[pos..]).map(|(c, len)| (Decoded::Char(c), len)),
            _ => None,
        };
        let Some((decoded, len)) = decoded else {
            out.push(bytes[pos]);
            out_sources.push(sources[pos]);
            pos += 1;
            continue;
        };
        changed = true;
        let source = sources[pos].to(sources[pos + len - 1]);
        match decoded {
            Decoded::Byte(byte) => {
                out.push(byte);
                out_sources.push(source);
            }
            Decoded::Char(c) => {
                let mut buffer = [0; 4];
                let encoded = c.encode_utf8(&mut buffer);
                out.extend_from_slice(encoded.as_bytes());
                out_sources.extend(std::iter::repeat_n(source, encoded.len()));
            }
        }
        pos += len;
    }
    changed.then_some((out, out_sources))
}

enum Decoded {
    Byte(u8),
    Char(char),
}

/// The byte of `%XX` at the start of `bytes`.
fn percent_escape(bytes: &[u8]) -> Option<u8> {
    let high = hex_value(*bytes.get(1)?)?;
    let low = hex_value(*bytes.get(2)?)?;
    Some(high << 4 | low)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The character of the reference at the start of `bytes` (which starts with `&`) and its length.
///
/// Numeric references (`&#64;`, `&#x40;`) may lack the `;`, as browsers accept; named ones need it.
/// The character of a JSON `\uXXXX` escape at the start of `bytes` (not a surrogate), and
/// its length.
fn json_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let hex = bytes.strip_prefix(b"\\u")?.get(..4)?;
    let hex = std::str::from_utf8(hex).ok()?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, 6))
}

fn character_reference(bytes: &[u8]) -> Option<(char, usize)> {
    if bytes.get(1) == Some(&b'#') {
        let (radix, digits_start) = match bytes.get(2) {
            Some(b'x' | b'X') => (16, 3),
            _ => (10, 2),
        };
        let digits = bytes[digits_start..]
            .iter()
            .take(8)
            .take_while(|byte| hex_value(**byte).is_some_and(|value| u32::from(value) < radix))
            .count();
        if digits == 0 || digits > 7 {
            return None;
        }
        let end = digits_start + digits;
        let value = bytes[digits_start..end].iter().fold(0u32, |value, &byte| {
            value * radix + u32::from(hex_value(byte).unwrap_or_default())
        });
        let c = char::from_u32(value)?;
        let len = if bytes.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        };
        return Some((c, len));
    }
    let name_len = bytes[1..]
        .iter()
        .take(ENTITY_NAME_BYTES_MAX + 6)
        .take_while(|byte| byte.is_ascii_alphabetic())
        .count();
    if bytes.get(1 + name_len) != Some(&b';') {
        return None;
    }
    let name = &bytes[1..1 + name_len];
    NAMED_ENTITIES
        .iter()
        .find(|(known, _)| known.as_bytes() == name)
        .map(|&(_, c)| (c, name_len + 2))
}

/// Replaces characters by what they stand for in detection (see the module docs).
fn normalize_characters(bytes: &[u8], sources: &[Source]) -> (Vec<u8>, Vec<Source>) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut out_sources = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        let len = utf8_len(byte);
        let c = (len > 1)
            .then(|| bytes.get(pos..pos + len))
            .flatten()
            .and_then(|sequence| std::str::from_utf8(sequence).ok())
            .and_then(|sequence| sequence.chars().next());
        let Some(c) = c else {
            out.push(byte);
            out_sources.push(sources[pos]);
            pos += 1;
            continue;
        };
        let source = sources[pos].to(sources[pos + len - 1]);
        match ascii_equivalent(c) {
            Some(Equivalent::Removed) => {}
            Some(Equivalent::Ascii(ascii)) => {
                out.push(ascii);
                out_sources.push(source);
            }
            None => {
                out.extend_from_slice(&bytes[pos..pos + len]);
                out_sources.extend(std::iter::repeat_n(source, len));
            }
        }
        pos += len;
    }
    (out, out_sources)
}

/// Length of the UTF-8 sequence a leading byte announces (1 for ASCII and stray bytes).
fn utf8_len(byte: u8) -> usize {
    match byte {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

enum Equivalent {
    Removed,
    Ascii(u8),
}

/// What a non-ASCII character counts as in detection, `None` for itself.
fn ascii_equivalent(c: char) -> Option<Equivalent> {
    let code = u32::from(c);
    match c {
        '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => Some(Equivalent::Removed),
        '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => {
            Some(Equivalent::Ascii(b' '))
        }
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' => {
            Some(Equivalent::Ascii(b'-'))
        }
        '\u{fe6b}' => Some(Equivalent::Ascii(b'@')),
        '\u{2024}' | '\u{3002}' | '\u{fe52}' | '\u{ff61}' => Some(Equivalent::Ascii(b'.')),
        // Full-width ASCII; NFKC maps each to its ASCII form.
        '\u{ff01}'..='\u{ff5e}' => Some(Equivalent::Ascii((code - 0xfee0) as u8)),
        _ => decimal_digit_value(c).map(|digit| Equivalent::Ascii(b'0' + digit)),
    }
}

/// The value of a decimal digit of any script (general category Nd).
pub(super) fn decimal_digit_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    // Latin, Greek, Cyrillic, Hebrew and CJK have no decimal digits besides ASCII: skip the search.
    if code < 0x660 || (0x1C5A..0xA620).contains(&code) {
        return (code < 0x80 && c.is_ascii_digit()).then(|| (code - 0x30) as u8);
    }
    let index = DECIMAL_DIGIT_ZEROS.partition_point(|&zero| zero <= code);
    let zero = DECIMAL_DIGIT_ZEROS[index.checked_sub(1)?];
    (code - zero < 10).then(|| (code - zero) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(text: &str) -> String {
        String::from_utf8_lossy(&normalize(text, true).bytes).into_owned()
    }

    #[test]
    fn decodes_and_maps_characters() {
        assert_eq!(normalized("a%2540b"), "a@b");
        assert_eq!(normalized("1%C2%A02"), "1 2");
        assert_eq!(normalized("&amp;#64;&#x40;&#64&commat;"), "@@@@");
        assert_eq!(normalized("\u{ff14}\u{664}\u{6f4}\u{96a}"), "4444");
        assert_eq!(normalized("a\u{200b}\u{ad}b\u{2009}c\u{2014}d"), "ab c-d");
        assert_eq!(
            normalized("%%4&x;&#;&#99999999;%FF"),
            "%%4&x;&#;&#99999999;\u{fffd}"
        );
        assert_eq!(normalized("%252525"), "%");
    }

    #[test]
    fn text_that_normalising_cannot_change_is_borrowed() {
        for text in [
            "?a=1&b=2",
            "50% off",
            "Ünïcödé ☃ 日本語",
            "&x; &#;",
            "Checkout – Shop",
        ] {
            let copy = normalize(text, false);
            assert!(!copy.changed(), "{text:?}");
            assert!(matches!(copy.bytes, Cow::Borrowed(_)), "{text:?}");
        }
        assert!(normalize("&amp;", false).changed());
        assert!(normalize("a\u{200b}b", false).changed());
        assert!(normalize("1\u{a0}2", true).changed());
    }

    #[test]
    fn offsets_map_back_to_character_boundaries() {
        let text = "é%2540\u{200b}x\u{ff11}";
        let copy = normalize(text, false);
        assert_eq!(&*copy.bytes, "é@x1".as_bytes());
        assert_eq!(copy.original_range(0, 2), (0, 2));
        assert_eq!(copy.original_range(2, 3), (2, 7));
        assert_eq!(copy.original_range(3, 4), (10, 11));
        assert_eq!(copy.original_range(4, 5), (11, 14));
    }

    #[test]
    fn decimal_digit_table_holds_only_decimal_digits() {
        for zero in DECIMAL_DIGIT_ZEROS {
            for value in 0..10 {
                let c = char::from_u32(zero + value).expect("assigned");
                assert!(c.is_numeric(), "{c:?}");
                assert_eq!(decimal_digit_value(c), Some(value as u8), "{c:?}");
            }
        }
        for c in ['a', '\u{b2}', '\u{2155}', '\u{65e5}', '\u{2f}', '\u{3a}'] {
            assert_eq!(decimal_digit_value(c), None, "{c:?}");
        }
        assert!(DECIMAL_DIGIT_ZEROS.is_sorted());
    }
}
