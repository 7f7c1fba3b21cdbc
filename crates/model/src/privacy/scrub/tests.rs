//! Unit tests of the scrubber: exact outputs for each kind of secret, and what stays.
use super::*;

/// Scrubs and checks the result and that scrubbing it again changes nothing.
fn check(input: &str, expected: &str) {
    let once = scrub(input);
    assert_eq!(once, expected, "scrub({input:?})");
    assert!(
        matches!(scrub(&once), Cow::Borrowed(_)),
        "scrub(scrub({input:?})) must borrow"
    );
}

fn check_all(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn clean_text_is_borrowed_unchanged() {
    for input in [
        "",
        "/pricing",
        "https://example.com/a/b?q=shoes&page=2#reviews",
        "Order 1234 shipped on 2024-05-01 at 10:30",
        "Ünïcödé ☃ 日本語 text",
        "50% off: {\"k\":\"v\"}",
        "token=",
        "@home and @work",
    ] {
        let out = scrub(input);
        assert!(
            matches!(out, Cow::Borrowed(s) if s == input),
            "{input:?} -> {out:?}"
        );
    }
}

#[test]
fn emails_are_replaced() {
    check_all(&[
        ("john@example.com", "[email]"),
        (
            "Mail JOHN.Doe+news@Mail.Example.CO.UK now",
            "Mail [email] now",
        ),
        (
            "<a href=\"mailto:ana_lima@example.org\">",
            "<a href=\"mailto:[email]\">",
        ),
        ("?email=john%40example.com&x=1", "?email=[email]&x=1"),
        ("?email=JOHN%40EXAMPLE.COM", "?email=[email]"),
        ("(a-b@c-d.io), x@y.de.", "([email]), [email]."),
        ("john@münchen.de", "[email]"),
        ("请联系john@example.com谢谢", "请联系[email]谢谢"),
        ("a@b.com2", "[email]2"),
        ("a@b.co-op", "[email]-op"),
        ("{\"email\":\"x.y@z.travel\"}", "{\"email\":\"[email]\"}"),
    ]);
}

#[test]
fn things_that_are_not_emails_stay() {
    for input in [
        "@handle",
        "user@localhost",
        "a@b.c",
        "a@1.23",
        "x @ y.com",
        "a@.com",
        "100%40",
    ] {
        assert!(matches!(scrub(input), Cow::Borrowed(_)), "{input:?}");
    }
}

#[test]
fn card_numbers_are_replaced() {
    check_all(&[
        ("4111111111111111", "[card]"),
        ("card 4111 1111 1111 1111 ok", "card [card] ok"),
        ("4111-1111-1111-1111-", "[card]-"),
        ("4111 1111-1111 1111", "[card]"),
        ("abc4111111111111111def", "abc[card]def"),
        ("€4111111111111111€", "€[card]€"),
        // Amex (15 digits), Visa 13, a 19-digit card.
        ("3782 822463 10005", "[card]"),
        ("4222222222222", "[card]"),
        ("6011111111111111117", "[card]"),
        // A card glued to a quantity or to more digits is still a card.
        ("4111 1111 1111 1111 2 items", "[card] items"),
        ("0004111111111111111000", "[card]"),
        ("ref=99 4111111111111111", "ref=[card]"),
        // A comma joins digits of one card (`4000,3154,...`), so two cards glued by one are one run.
        ("4111111111111111,4012888888881881", "[card]"),
        // Separators as URLs and forms encode them.
        (
            "pay?card=4111%201111%201111%201111&x=1",
            "pay?card=[card]&x=1",
        ),
        ("q=4111+1111+1111+1111", "q=[card]"),
        ("4111%2D1111%2d1111%2D1111", "[card]"),
        // Up to four separator bytes join digits (people and forms repeat them).
        ("41111111  11111111", "[card]"),
        ("41111111--11111111", "[card]"),
        ("41111111 -11111111", "[card]"),
        ("4111 - 1111 - 1111 - 1111", "[card]"),
    ]);
}

#[test]
fn digit_runs_without_a_card_stay() {
    for input in [
        // 12 digits, Luhn-valid or not.
        "411111111111",
        "4111 1111 1111",
        // 16 digits with no Luhn-valid window of 13 to 19 digits.
        "1234567812345678",
        // Five separator bytes end a run: two runs of 8 digits.
        "41111111     11111111",
        "41111111 - - 11111111",
        // Phone numbers and dates.
        "+44 20 7946 0958",
        "2024-05-01 12:30:00",
    ] {
        assert!(matches!(scrub(input), Cow::Borrowed(_)), "{input:?}");
    }
}

#[test]
fn every_luhn_window_length_is_found() {
    // Each Luhn-valid number of 13..=19 digits, padded by non-Luhn digits on both sides.
    for len in CARD_DIGITS_MIN..=CARD_DIGITS_MAX {
        let body: String = "4".repeat(len - 1);
        let check_digit = (0..10)
            .find(|d| luhn_valid(&format!("{body}{d}")))
            .expect("some check digit works");
        let card = format!("{body}{check_digit}");
        assert_eq!(scrub(&card), "[card]", "{card}");
        assert_eq!(scrub(&format!("x{card}y")), "x[card]y", "{card}");
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d >= 5 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[test]
fn url_credentials_are_replaced() {
    check_all(&[
        (
            "https://bob:hunter2@example.com/x",
            "https://[credentials]@example.com/x",
        ),
        (
            "ftp://bob@files.example.com",
            "ftp://[credentials]@files.example.com",
        ),
        ("https://a@b:c@host/", "https://[credentials]@host/"),
        (
            "https://bob:p%40ss@[::1]:8080/",
            "https://[credentials]@[::1]:8080/",
        ),
        (
            "go to https://bob:pw@example.com.",
            "go to https://[credentials]@example.com.",
        ),
        ("https://4111111111111111:x@h", "https://[credentials]@h"),
    ]);
    for input in [
        "https://example.com/a@b",
        "https://@host",
        "https://x.com?u=a@b",
    ] {
        assert!(matches!(scrub(input), Cow::Borrowed(_)), "{input:?}");
    }
}

#[test]
fn secret_parameters_are_redacted() {
    check_all(&[
        ("/cb?code=abc123&state=xyz", "/cb?code=[redacted]&state=xyz"),
        (
            "/cb#access_token=eyJ.a.b&token_type=bearer",
            "/cb#access_token=[redacted]&token_type=bearer",
        ),
        (
            "?Password=x&PWD=y;sid=z",
            "?Password=[redacted]&PWD=[redacted];sid=[redacted]",
        ),
        (
            "?api-key=k1&apikey=k2&Client_Secret=k3",
            "?api-key=[redacted]&apikey=[redacted]&Client_Secret=[redacted]",
        ),
        (
            "?user[password]=p&user%5Bpassword%5D=q",
            "?user[password]=[redacted]&user%5Bpassword%5D=[redacted]",
        ),
        (
            "{\"u\":\"/x?token=abc\"}",
            "{\"u\":\"/x?token=[redacted]\"}",
        ),
        ("?token=a=b==&x=1", "?token=[redacted]&x=1"),
        ("?token=key=key=v", "?token=[redacted]"),
        ("?token=[redacted]x", "?token=[redacted][redacted]"),
        ("?x[code=1", "?x[code=[redacted]"),
        ("?code=4111 1111 1111 1111 rest", "?code=[redacted] rest"),
        ("?token=john@example.com", "?token=[redacted]"),
    ]);
    for input in [
        "?monkey=1&passport=2&tokens=3&q=token",
        "?token=&code=",
        "?user[]=x",
    ] {
        assert!(matches!(scrub(input), Cow::Borrowed(_)), "{input:?}");
    }
}

#[test]
fn matches_hidden_by_neighbours_are_found_on_a_later_pass() {
    check_all(&[
        ("a@b.ü4111111111111111", "[email][card]"),
        ("a@b.com4111111111111111", "[email][card]"),
        ("4111111111111111@example.com", "[email]"),
        ("b@c@example.com", "b@[email]"),
    ]);
}

#[test]
fn markers_in_the_input_are_stable() {
    for input in [
        "[email] [card] [credentials] [redacted] [token] [ip]",
        "?password=[redacted]&ip=[ip]#[token]",
        "https://[credentials]@host/?token=[redacted]",
    ] {
        assert!(matches!(scrub(input), Cow::Borrowed(_)), "{input:?}");
    }
}

#[test]
fn multi_byte_text_next_to_triggers_never_panics() {
    check_all(&[
        // Local parts may be non-ASCII (`jöran@bücher.de`, `用户@例子.广告`).
        ("é@é.é", "[email]"),
        ("ü4111111111111111ü@ü.de", "[email]"),
        ("日本@例え.テスト", "[email]"),
        ("x@例え.テスト", "[email]"),
        ("https://ü:ö@ä/", "https://[credentials]@ä/"),
        ("?token=日本語&a=1", "?token=[redacted]&a=1"),
        ("%4", "%4"),
        ("%", "%"),
        ("=", "="),
        ("://", "://"),
    ]);
}

#[test]
fn long_adversarial_inputs_finish() {
    // Each would be quadratic with naive rescanning; they only need to finish and be right.
    let inputs = [
        "a%40".repeat(20_000),
        "key=".repeat(20_000),
        "://a".repeat(20_000),
        "4 ".repeat(20_000),
        "a@".repeat(20_000),
    ];
    assert_eq!(scrub(&inputs[0]), inputs[0]);
    assert_eq!(scrub(&inputs[1]), "key=[redacted]");
    assert_eq!(scrub(&inputs[2]), inputs[2]);
    assert_eq!(scrub(&inputs[3]), "[card] ");
    assert_eq!(scrub(&inputs[4]), inputs[4]);
}

#[test]
fn decoding_that_hides_digits_does_not_hide_a_card() {
    // Decoded, `&#4111` is one character and `%41` an `A`; the text as written still shows the card.
    check_all(&[
        ("&#4111 1111 1111 1111", "&#[card]"),
        ("%4111 1111 1111 1111", "%[card]"),
    ]);
}

#[test]
fn what_normalising_reveals_is_replaced_in_the_original() {
    check_all(&[
        ("a\u{200b}b@example\u{ff0e}com!", "[email]!"),
        ("x=%34%31%31%31%20%31111111111111&y", "x=[card]&y"),
        ("é 4111\u{a0}1111\u{a0}1111\u{a0}1111 é", "é [card] é"),
        ("?pw=%E2%82%AC&x=1", "?pw=[redacted]&x=1"),
    ]);
}

#[test]
fn long_adversarial_inputs_for_the_normaliser_and_shapes_finish() {
    // Each only needs to finish (linear time) and come back stable.
    let inputs = [
        "%25".repeat(20_000),
        "&amp;".repeat(20_000),
        "&#".repeat(20_000),
        "1.1.1.1.".repeat(20_000),
        "a:".repeat(20_000),
        "1:".repeat(20_000),
        "eyJ.".repeat(20_000),
        "a1".repeat(20_000),
        "//a".repeat(20_000),
        "x_token=".repeat(20_000),
        "\u{200b}4".repeat(20_000),
    ];
    for input in &inputs {
        let once = scrub(input).into_owned();
        assert!(
            matches!(scrub(&once), Cow::Borrowed(_)),
            "{:?}",
            &input[..12]
        );
    }
    assert_eq!(scrub(&inputs[7]), "[token]");
    assert_eq!(scrub(&inputs[10]), "\u{200b}[card]");
}

#[test]
fn secrets_after_a_name_and_colon_are_redacted() {
    check_all(&[
        ("key: value", "key: [redacted]"),
        (
            "password: hunter2 and more",
            "password: [redacted] and more",
        ),
        (
            "Authorization: Bearer abc.def-123",
            "Authorization: Bearer [redacted]",
        ),
        (
            r#"{"token":"abc","page":"2"}"#,
            r#"{"token":"[redacted]","page":"2"}"#,
        ),
        (
            r#"{"accessToken": "abc"}"#,
            r#"{"accessToken": "[redacted]"}"#,
        ),
        ("https://shop.example/a:b", "https://shop.example/a:b"),
        ("Order shipped at 10:30", "Order shipped at 10:30"),
    ]);
}
