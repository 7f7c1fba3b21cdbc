//! Payment card numbers: digit runs holding a Luhn-valid window of 13 to 19 digits.

use super::{CARD_DIGITS_MAX, CARD_DIGITS_MIN, CARD_SEPARATOR_BYTES_MAX, Kind, Span};

/// Finds digit runs that hold a Luhn-valid window of 13 to 19 digits and emits the whole run.
pub(super) fn find_cards(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(u8::is_ascii_digit) {
        let start = from + offset;
        let run = scan_digit_run(bytes, start);
        let is_timestamp = run.digits == CARD_DIGITS_MIN && !run.separated && bytes[start] == b'1';
        if run.holds_card && !is_timestamp {
            out.push(Span {
                start,
                end: run.end,
                kind: Kind::Card,
            });
        }
        from = run.end;
    }
}

/// What [`scan_digit_run`] found.
struct DigitRun {
    /// After the run's last digit.
    end: usize,
    digits: usize,
    /// Whether any separator joins two of its digits.
    separated: bool,
    holds_card: bool,
}

fn is_digit_separator(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b'\r' | b'-' | b'+' | b'.' | b'/' | b'_' | b','
    )
}

/// Scans the digit run starting at `start` (a digit).
fn scan_digit_run(bytes: &[u8], start: usize) -> DigitRun {
    let mut windows = LuhnWindows::default();
    let mut separated = false;
    let mut digits = 0;
    let mut pos = start;
    loop {
        digits += 1;
        if !windows.found {
            windows.push(bytes[pos] - b'0');
        }
        pos += 1;
        let separators = bytes[pos..]
            .iter()
            .take(CARD_SEPARATOR_BYTES_MAX + 1)
            .take_while(|&&byte| is_digit_separator(byte))
            .count();
        if separators <= CARD_SEPARATOR_BYTES_MAX
            && bytes.get(pos + separators).is_some_and(u8::is_ascii_digit)
        {
            separated |= separators > 0;
            pos += separators;
        } else {
            return DigitRun {
                end: pos,
                digits,
                separated,
                holds_card: windows.found,
            };
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
