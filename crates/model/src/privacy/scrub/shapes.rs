//! Detectors by shape: JWTs, long opaque tokens and IP addresses.

use std::net::Ipv6Addr;

/// Fewest characters of an opaque token.
pub(super) const TOKEN_CHARS_MIN: usize = 32;
/// Fewest characters of a JWT's header segment (`eyJhbGciOi...`).
const JWT_HEADER_CHARS_MIN: usize = 10;
/// Longest text form of an IPv6 address (`ffff:...:255.255.255.255`).
const IPV6_CHARS_MAX: usize = 45;

/// Base64url bytes: ASCII letters, digits, `-` and `_`.
const TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        byte += 1;
    }
    table
};

fn is_token_byte(byte: u8) -> bool {
    TOKEN_BYTES[usize::from(byte)]
}

/// Calls `emit(start, end)` for every JWT (`eyJ...`, three base64url segments joined by `.`) and
/// every opaque token: a run of 32 or more base64url characters holding both letters and digits,
/// with at most one `-` or `_` per ten characters (so slugs like `best-shoes-for-2025-...` stay),
/// and not a UUID (`8-4-4-4-12` hex digits: ids, not secrets).
pub(super) fn find_tokens(bytes: &[u8], mut emit: impl FnMut(usize, usize)) {
    // Most texts are short URLs and selectors: too short for an opaque token, and no JWT header.
    if bytes.len() < TOKEN_CHARS_MIN && !bytes.windows(3).any(|window| window == b"eyJ") {
        return;
    }
    let mut pos = 0;
    while pos < bytes.len() {
        if !is_token_byte(bytes[pos]) {
            pos += 1;
            continue;
        }
        let start = pos;
        let end = run_end(bytes, start);
        if end - start < JWT_HEADER_CHARS_MIN {
            pos = end;
            continue;
        }
        if let Some(jwt_end) = jwt_end(bytes, start, end) {
            emit(start, jwt_end);
            pos = jwt_end;
            continue;
        }
        if is_opaque_token(&bytes[start..end]) {
            emit(start, end);
        }
        pos = end;
    }
}

fn run_end(bytes: &[u8], start: usize) -> usize {
    start
        + bytes[start..]
            .iter()
            .take_while(|&&byte| is_token_byte(byte))
            .count()
}

/// End of the JWT whose header is the run `start..end`, if it is one.
fn jwt_end(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    if !bytes[start..end].starts_with(b"eyJ") || end - start < JWT_HEADER_CHARS_MIN {
        return None;
    }
    if bytes.get(end) != Some(&b'.') {
        return None;
    }
    let payload_end = run_end(bytes, end + 1);
    if payload_end - (end + 1) < 2 || bytes.get(payload_end) != Some(&b'.') {
        return None;
    }
    // The signature is empty for unsigned tokens (`alg: none`).
    Some(run_end(bytes, payload_end + 1))
}

fn is_opaque_token(run: &[u8]) -> bool {
    if run.len() < TOKEN_CHARS_MIN {
        return false;
    }
    let digits = run.iter().filter(|byte| byte.is_ascii_digit()).count();
    let letters = run.iter().filter(|byte| byte.is_ascii_alphabetic()).count();
    let separators = run.len() - digits - letters;
    digits > 0 && letters > 0 && separators * 10 <= run.len() && !is_uuid(run)
}

fn is_uuid(run: &[u8]) -> bool {
    run.len() == 36
        && run.iter().enumerate().all(|(index, &byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// Calls `emit(start, end)` for every IPv4 address: four dot-separated decimal numbers of one to
/// three digits, each at most 255, not glued to a letter, digit or further `.number` (so `1.2.3`,
/// `v1.2.3.4`, `1.2.3.4.5` and `10.0.19045` stay; `agent-1.2.3.4.zip` does not).
pub(super) fn find_ipv4(bytes: &[u8], mut emit: impl FnMut(usize, usize)) {
    let mut pos = 0;
    while pos < bytes.len() {
        if !bytes[pos].is_ascii_digit() {
            pos += 1;
            continue;
        }
        let glued_before =
            pos > 0 && (bytes[pos - 1].is_ascii_alphanumeric() || bytes[pos - 1] == b'.');
        let (end, parts) = dotted_numbers_end(bytes, pos);
        let glued_after = bytes.get(end).is_some_and(|&byte| {
            byte.is_ascii_alphanumeric()
                || (byte == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit))
        });
        if !glued_before && !glued_after && parts == 4 {
            emit(pos, end);
        }
        // Skip the whole digit run so the scan stays linear.
        pos = end.max(pos + 1);
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
    }
}

/// End of the `n.n.n.n` at `start` and how many parts of at most 255 it has (0 if it is not one).
fn dotted_numbers_end(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut pos = start;
    let mut parts = 0;
    loop {
        let digits = bytes[pos..]
            .iter()
            .take(4)
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 || digits > 3 {
            return (pos, 0);
        }
        let value = bytes[pos..pos + digits]
            .iter()
            .fold(0u32, |value, &byte| value * 10 + u32::from(byte - b'0'));
        if value > 255 {
            return (pos, 0);
        }
        parts += 1;
        pos += digits;
        if parts == 4
            || bytes.get(pos) != Some(&b'.')
            || !bytes.get(pos + 1).is_some_and(u8::is_ascii_digit)
        {
            return (pos, parts);
        }
        pos += 1;
    }
}

fn is_ipv6_byte(byte: u8) -> bool {
    byte.is_ascii_hexdigit() || byte == b':' || byte == b'.'
}

/// Calls `emit(start, end)` for every IPv6 address: a run of hex digits, `:` and `.` with two or
/// more `:`, not glued to a letter, digit or `_`, that parses as an IPv6 address and has at least
/// two non-empty groups and four hex digits (so `::1`, `a::b` and `12:30:45` stay).
pub(super) fn find_ipv6(bytes: &[u8], mut emit: impl FnMut(usize, usize)) {
    let mut pos = 0;
    while pos < bytes.len() {
        if !is_ipv6_byte(bytes[pos]) {
            pos += 1;
            continue;
        }
        let start = pos;
        while pos < bytes.len() && is_ipv6_byte(bytes[pos]) {
            pos += 1;
        }
        let glued = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
        if (start > 0 && glued(bytes[start - 1])) || bytes.get(pos).is_some_and(|&byte| glued(byte))
        {
            continue;
        }
        let mut end = pos;
        while end > start && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let run = &bytes[start..end];
        if run.len() <= IPV6_CHARS_MAX && is_ipv6_address(run) {
            emit(start, end);
        }
    }
}

fn is_ipv6_address(run: &[u8]) -> bool {
    let colons = run.iter().filter(|&&byte| byte == b':').count();
    let hex_digits = run.iter().filter(|byte| byte.is_ascii_hexdigit()).count();
    let groups = run
        .split(|&byte| byte == b':')
        .filter(|group| !group.is_empty())
        .count();
    colons >= 2
        && groups >= 2
        && hex_digits >= 4
        && std::str::from_utf8(run).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(find: fn(&[u8], &mut dyn FnMut(usize, usize)), text: &str) -> Vec<&str> {
        let mut spans = Vec::new();
        find(text.as_bytes(), &mut |start, end| {
            spans.push(&text[start..end])
        });
        spans
    }

    fn tokens(bytes: &[u8], emit: &mut dyn FnMut(usize, usize)) {
        find_tokens(bytes, emit);
    }
    fn ipv4(bytes: &[u8], emit: &mut dyn FnMut(usize, usize)) {
        find_ipv4(bytes, emit);
    }
    fn ipv6(bytes: &[u8], emit: &mut dyn FnMut(usize, usize)) {
        find_ipv6(bytes, emit);
    }

    #[test]
    fn shapes() {
        assert_eq!(
            found(tokens, "a eyJhbGciOiJ.eyJ.x b"),
            ["eyJhbGciOiJ.eyJ.x"]
        );
        assert_eq!(found(tokens, "eyJhbGciOiJ.e"), Vec::<&str>::new());
        assert_eq!(
            found(
                tokens,
                "/x/550e8400-e29b-41d4-a716-446655440000/the-best-running-shoes-of-2025"
            ),
            Vec::<&str>::new()
        );
        assert_eq!(
            found(
                ipv4,
                "1.2.3.4 1.2.3 01.2.3.4.5 v1.2.3.4 9.9.9.256 (10.0.0.1)."
            ),
            ["1.2.3.4", "10.0.0.1"]
        );
        assert_eq!(
            found(
                ipv6,
                "[2001:db8::1]:443 ::1 a::b 12:30:45 fe80::1. ::ffff:1.2.3.4"
            ),
            ["2001:db8::1", "fe80::1", "::ffff:1.2.3.4"]
        );
    }
}
