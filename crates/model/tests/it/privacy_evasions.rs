//! Issue 11: personal data written slightly differently (other separators, encodings, scripts,
//! entities, invisible characters) must be scrubbed as surely as the plain form, and harmless URLs
//! must stay as they are.

use std::borrow::Cow;

use heatlake_model::privacy::scrub::scrub;
use heatlake_model::{IngestContext, ValidationError, decode_line};
use proptest::collection::vec;
use proptest::prelude::*;

fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let once = scrub(input);
        if once != *expected {
            failures.push(format!(
                "scrub({input:?}) = {once:?}, expected {expected:?}"
            ));
            continue;
        }
        let twice = scrub(&once);
        if !matches!(twice, Cow::Borrowed(_)) {
            failures.push(format!(
                "not idempotent: {input:?} -> {once:?} -> {twice:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn card_numbers_with_other_separators_are_replaced() {
    check(&[
        ("4111.1111.1111.1111", "[card]"),
        ("4111/1111/1111/1111", "[card]"),
        ("4111_1111_1111_1111", "[card]"),
        ("4111\t1111\t1111\t1111", "[card]"),
        ("card 4111   1111  1111 1111 ok", "card [card] ok"),
        ("4111\u{a0}1111\u{a0}1111\u{a0}1111", "[card]"),
        ("4111\u{2009}1111\u{2009}1111\u{2009}1111", "[card]"),
        ("4111\u{202f}1111\u{202f}1111\u{202f}1111", "[card]"),
        ("4111\u{2013}1111\u{2014}1111\u{2013}1111", "[card]"),
        ("4111&nbsp;1111&nbsp;1111&nbsp;1111", "[card]"),
    ]);
}

#[test]
fn card_numbers_in_other_scripts_and_encodings_are_replaced() {
    check(&[
        // Full-width digits.
        (
            "\u{ff14}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}",
            "[card]",
        ),
        // Arabic-Indic digits ٤١١١...
        (
            "pay \u{664}\u{661}\u{661}\u{661} \u{661}\u{661}\u{661}\u{661} \u{661}\u{661}\u{661}\u{661} \u{661}\u{661}\u{661}\u{661} now",
            "pay [card] now",
        ),
        // Devanagari digits.
        (
            "\u{96a}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}\u{967}",
            "[card]",
        ),
        // Zero-width characters between digits.
        ("4111\u{200b}1111\u{200c}1111\u{feff}11\u{ad}11", "[card]"),
        ("4111\u{2060}1111\u{2060}1111\u{2060}1111", "[card]"),
        ("?c=4111%25201111%25201111%25201111&x=1", "?c=[card]&x=1"),
        ("?c=4111%C2%A01111%C2%A01111%C2%A01111", "?c=[card]"),
        ("?c=4111%2E1111%2E1111%2E1111", "?c=[card]"),
        ("&#52;&#49;&#49;&#49;111111111111", "[card]"),
        ("%34%31%31%31 1111 1111 1111", "[card]"),
    ]);
}

#[test]
fn epoch_millisecond_timestamps_are_kept_and_their_luhn_rate_is_known() {
    // 13-digit epoch milliseconds (2001-09-09 to 2033-05-18) all start with `1`; one in ten passes
    // Luhn by chance, and they are too common in URLs and props to drop.
    let mut luhn_passing = 0;
    let mut total = 0;
    let mut ts: u64 = 1_700_000_000_000;
    while ts < 1_900_000_000_000 {
        let text = ts.to_string();
        total += 1;
        if luhn_valid(&text) {
            luhn_passing += 1;
            let url = format!("/api/track?ts={text}&page=2");
            assert_eq!(scrub(&url), url, "{text} is a timestamp");
        }
        ts += 1_000_000_007;
    }
    let rate = f64::from(luhn_passing) / f64::from(total);
    println!("{luhn_passing} of {total} epoch-ms timestamps pass Luhn ({rate:.3})");
    assert!((0.07..0.13).contains(&rate), "rate {rate}");
    // A 13-digit Visa is not a timestamp.
    check(&[("4222222222222", "[card]")]);
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 1 {
                if digit >= 5 { digit * 2 - 9 } else { digit * 2 }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[test]
fn secret_parameters_are_found_by_name_pattern() {
    check(&[
        ("?accessToken=abc&x=1", "?accessToken=[redacted]&x=1"),
        ("?authToken=abc", "?authToken=[redacted]"),
        ("?auth_token=abc", "?auth_token=[redacted]"),
        ("?jwt=abc", "?jwt=[redacted]"),
        ("?sig=abc&v=1", "?sig=[redacted]&v=1"),
        (
            "?X-Amz-Signature=abcdef&X-Amz-Date=20240101",
            "?X-Amz-Signature=[redacted]&X-Amz-Date=20240101",
        ),
        ("?ticket=ST-1234-abc", "?ticket=[redacted]"),
        ("?otp=123456", "?otp=[redacted]"),
        ("/reset?reset_token=abc", "/reset?reset_token=[redacted]"),
        ("?oauth_token=abc", "?oauth_token=[redacted]"),
        ("?pw=hunter2", "?pw=[redacted]"),
        ("?password[]=hunter2", "?password[]=[redacted]"),
        ("?X-Amz-Credential=AKIA/x", "?X-Amz-Credential=[redacted]"),
        ("?sessionToken=abc", "?sessionToken=[redacted]"),
        ("?accesstoken=abc", "?accesstoken=[redacted]"),
        (
            "/cb#access_token=abc&expires_in=3600",
            "/cb#access_token=[redacted]&expires_in=3600",
        ),
        ("/cb#id_token=abc", "/cb#id_token=[redacted]"),
        (
            "/login?next=%2Freset%3Ftoken%3Dabc",
            "/login?next=%2Freset%3Ftoken%3D[redacted]",
        ),
        (
            "/login?next=%252Freset%253Ftoken%253Dabc%2526x%253D1",
            "/login?next=%252Freset%253Ftoken%253D[redacted]%2526x%253D1",
        ),
        ("?code_verifier=abc", "?code_verifier=[redacted]"),
    ]);
}

/// Realistic URLs that hold nothing personal; every one must come back borrowed.
const HARMLESS_URLS: [&str; 52] = [
    "https://shop.example/products?page=2&sort=price",
    "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=black_friday_2025",
    "https://shop.example/search?q=mechanical+keyboard&keyboard=iso",
    "https://shop.example/c/shoes?size=42&color=blue&brand=acme",
    "https://blog.example/2025/11/30/how-we-ship-faster",
    "https://app.example/dashboard?tab=overview&range=30d",
    "https://app.example/api/track?ts=1764400000000&v=2",
    "https://app.example/api/track?ts=1764400000012",
    "https://www.example.com/en-gb/help/article/12345",
    "https://shop.example/cart?coupon_applied=1&qty=3",
    "https://docs.example/v1.2.3/getting-started#install",
    "https://docs.example/rust/std/collections/struct.HashMap.html#method.insert",
    "https://news.example/world/2025-11-29/live-updates?ref=homepage",
    "https://shop.example/p/monkey-plush-toy?monkey=1",
    "https://shop.example/p/turkey-roast?variant=large",
    "https://shop.example/checkout/step/2?shipping=express",
    "https://example.com/?gclid=Cj0KCQiA&fbclid=IwAR2x",
    "https://example.com/search?query=passport+renewal",
    "https://example.com/login",
    "https://example.com/signup?plan=pro&billing=yearly",
    "https://example.com/forum/topic/98765/page/4",
    "https://example.com/hotels?checkin=2025-12-24&checkout=2025-12-27&adults=2",
    "https://example.com/flights?from=LHR&to=JFK&date=2025-12-01",
    "https://example.com/video/watch?v=dQw4w9WgXcQ&t=43s",
    "https://example.com/map?lat=51.5074&lng=-0.1278&zoom=12",
    "https://example.com/orders/550e8400-e29b-41d4-a716-446655440000",
    "https://example.com/u/42/settings#notifications",
    "https://example.com/compare?ids=101,102,103",
    "https://example.com/?lang=de&currency=EUR",
    "https://example.com/recipes/chocolate-chip-cookies-2025-edition",
    "https://example.com/products/sku/AB-1234-XY",
    "https://example.com/jobs?category=engineering&remote=true",
    "https://example.com/events?month=2025-12&city=berlin",
    "https://example.com/static/app.3f2a9c1b.js",
    "https://example.com/?s=open+source&post_type=product",
    "https://example.com/tickets?event=concert&section=B",
    "https://example.com/?country_code=GB&postal_code=SW1A",
    "https://example.com/?token_type=bearer&expires_in=3600",
    "https://example.com/?authuser=0",
    "https://example.com/?session_count=3&key_count=2",
    "https://example.com/a/b/c/d/e/f?x=1&y=2&z=3",
    "https://example.com/?ref=abc123&aff=partner_42",
    "https://example.com/careers/12345-senior-engineer",
    "https://example.com/?version=10.0.19045&build=3693",
    "https://example.com/?price_min=10&price_max=200",
    "https://example.com/?phone_model=iphone-15-pro",
    "https://example.com/?sortKey=price",
    "https://example.com/?page=10&per_page=48",
    "https://example.com/?time=12:30:00&tz=Europe/Berlin",
    "https://example.com/?q=50%25+off&discount=50",
    "https://example.com/?q=caf%C3%A9&l=fr",
    "https://example.com/release/v2.1.0/notes",
];

/// Harmless URLs scrubbed anyway, by decision (documented in `scrub`'s doc comment).
const KNOWN_FALSE_POSITIVES: [(&str, &str); 2] = [
    // `key` is a secret name token, so a sort key is redacted too.
    (
        "https://example.com/?sortKey=price",
        "https://example.com/?sortKey=[redacted]",
    ),
    // A four-part dotted quad within 0-255 is taken as an IPv4 address.
    (
        "https://example.com/download/agent-1.2.3.4.zip",
        "https://example.com/download/agent-[ip].zip",
    ),
];

#[test]
fn harmless_urls_stay() {
    let changed: Vec<(&str, String)> = HARMLESS_URLS
        .iter()
        .filter_map(|url| match scrub(url) {
            Cow::Borrowed(_) => None,
            Cow::Owned(scrubbed) => Some((*url, scrubbed)),
        })
        .collect();
    println!(
        "false positives: {} of {} harmless URLs: {changed:#?}",
        changed.len(),
        HARMLESS_URLS.len()
    );
    let expected: Vec<(&str, String)> = KNOWN_FALSE_POSITIVES
        .iter()
        .filter(|(url, _)| HARMLESS_URLS.contains(url))
        .map(|(url, scrubbed)| (*url, (*scrubbed).to_owned()))
        .collect();
    assert_eq!(changed, expected);
    for (url, scrubbed) in KNOWN_FALSE_POSITIVES {
        assert_eq!(scrub(url), scrubbed);
    }
}

#[test]
fn jwts_and_long_opaque_tokens_are_replaced() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    check(&[
        (&format!("/verify/{jwt}"), "/verify/[token]"),
        (&format!("/app#{jwt}"), "/app#[token]"),
        (
            "/reset/Xk9f2LqP7vZ3mN8wR4tY6uB1cD5eG0hJ/confirm",
            "/reset/[token]/confirm",
        ),
        (
            "/invite#a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
            "/invite#[token]",
        ),
        (
            "/d/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "/d/[token]",
        ),
    ]);
}

#[test]
fn emails_written_differently_are_replaced() {
    check(&[
        ("?to=jane%2540example.com", "?to=[email]"),
        ("?to=jane%40example%2Ecom", "?to=[email]"),
        ("jane&#64;example.com", "[email]"),
        ("jane&#x40;example&period;com", "[email]"),
        ("jane&commat;example.com", "[email]"),
        ("jane\u{200b}@example.com", "[email]"),
        ("jane@\u{200d}example.com", "[email]"),
        ("jane\u{ff20}example.com", "[email]"),
        (
            "schreib an jöran@bücher.de bitte",
            "schreib an [email] bitte",
        ),
        ("用户@例子.广告", "[email]"),
    ]);
}

#[test]
fn credentials_in_scheme_relative_and_encoded_urls_are_replaced() {
    check(&[
        (
            "<a href=\"//user:pw@host.example/x\">",
            "<a href=\"//[credentials]@host.example/x\">",
        ),
        ("//user:pw@host.example", "//[credentials]@host.example"),
        (
            "?next=https%3A%2F%2Fuser%3Apw%40host.example%2Fx",
            "?next=https%3A%2F%2F[credentials]%40host.example%2Fx",
        ),
    ]);
}

#[test]
fn ip_addresses_in_free_text_are_replaced() {
    check(&[
        ("from 203.0.113.77 at noon", "from [ip] at noon"),
        ("?ip=203.0.113.77&x=1", "?ip=[ip]&x=1"),
        ("http://192.168.1.1:8080/admin", "http://[ip]:8080/admin"),
        (
            "client 2001:db8:85a3::8a2e:370:7334 said",
            "client [ip] said",
        ),
        ("[2001:db8::1]:443", "[[ip]]:443"),
        ("fe80::1ff:fe23:4567:890a", "[ip]"),
        ("::ffff:203.0.113.77", "[ip]"),
        ("last hop 203.0.113.77.", "last hop [ip]."),
    ]);
    // Version numbers and times stay.
    for text in [
        "version 1.2.3",
        "v10.0.19045",
        "1.2.3.4.5",
        "300.1.1.1",
        "at 12:30:45",
        "std::vec::Vec",
        "a::b",
        "::1",
    ] {
        assert!(
            matches!(scrub(text), Cow::Borrowed(_)),
            "{text:?} -> {:?}",
            scrub(text)
        );
    }
}

#[test]
fn secret_named_props_lose_their_values() {
    let mut context = IngestContext::for_tests(0);
    let line = r#"{"v":1,"site":"a","type":"custom","ts":1764400000000,"props":{"password":"x","user":{"authToken":{"a":[1,2]},"plan":"pro"},"list":[{"api_key":7}],"otp":123456,"keyboard":"de"}}"#;
    let event = context
        .accept(decode_line(line.as_bytes()).expect("valid line"))
        .expect("accepted");
    assert_eq!(
        event.props.as_deref(),
        Some(
            r#"{"keyboard":"de","list":[{"api_key":"[redacted]"}],"otp":"[redacted]","password":"[redacted]","user":{"authToken":"[redacted]","plan":"pro"}}"#
        )
    );
}

#[test]
fn field_errors_show_values_scrubbed() {
    let error = ValidationError::field(
        "url",
        "https://x.example/?card=4111 1111 1111 1111",
        "is bad",
    );
    assert_eq!(
        error.to_string(),
        "field `url`: value https://x.example/?card=[card] is bad"
    );
    let long = format!("{}jane@example.com", "a".repeat(50));
    let error = ValidationError::field("title", &long, "is bad");
    let ValidationError::Field { value, .. } = &error else {
        panic!("field error")
    };
    assert!(!value.contains("jane") && !value.contains('@'), "{value}");
}

#[test]
fn malformed_errors_show_messages_scrubbed() {
    let error = ValidationError::malformed(
        "invalid type: string \"4111 1111 1111 1111\", expected i64 at line 1 column 40",
    );
    assert_eq!(
        error.to_string(),
        "malformed event: invalid type: string \"[card]\", expected i64 at line 1 column 40"
    );
}

// ----- Property: generated card numbers with random separators and encodings never survive.

const ZEROS: [u32; 5] = [0x30, 0xff10, 0x660, 0x6f0, 0x966];

fn encode_digit(digit: u8, zero: u32, encoding: u8) -> String {
    let ascii = char::from(b'0' + digit);
    match encoding {
        0 => char::from_u32(zero + u32::from(digit))
            .expect("digit")
            .to_string(),
        1 => format!("%{:02X}", u32::from(ascii)),
        2 => format!("&#{};", u32::from(ascii)),
        3 => format!("%25{:02X}", u32::from(ascii)),
        _ => ascii.to_string(),
    }
}

const SEPARATORS: [&str; 17] = [
    "", "", "", " ", "-", ".", "/", "_", "\t", "  ", "\u{a0}", "\u{2009}", "\u{202f}", "\u{2013}",
    "%20", "%2520", "%C2%A0",
];

fn encoded_card() -> impl Strategy<Value = (String, String)> {
    (13usize..=19)
        .prop_flat_map(|len| {
            (
                prop_oneof![Just(3u8), Just(4), Just(5), Just(6)],
                vec(0u8..10, len - 2),
                vec(0usize..SEPARATORS.len(), len - 1),
                0usize..ZEROS.len(),
                vec(prop_oneof![6 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3), 3 => Just(4)], len),
                vec(prop_oneof![9 => Just(""), 1 => Just("\u{200b}")], len),
            )
        })
        .prop_map(|(first, body, separators, zero, encodings, invisible)| {
            let mut digits = vec![first];
            digits.extend(body);
            let check = (0..10)
                .find(|&check| {
                    let candidate: String = digits
                        .iter()
                        .chain([&check])
                        .map(|d| char::from(b'0' + d))
                        .collect();
                    luhn_valid(&candidate)
                })
                .expect("some check digit");
            digits.push(check);
            let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let mut text = String::new();
            for (index, &digit) in digits.iter().enumerate() {
                text.push_str(&encode_digit(digit, ZEROS[zero], encodings[index]));
                text.push_str(invisible[index]);
                if let Some(&separator) = separators.get(index) {
                    text.push_str(SEPARATORS[separator]);
                }
            }
            (plain, text)
        })
}

/// The digits of `text` in any of the generated scripts and encodings, in order, all else dropped.
fn digits_of(text: &str) -> String {
    let mut decoded = text.to_owned();
    for _ in 0..3 {
        decoded = percent_decode(&decoded);
    }
    let decoded = decoded.replace("&#", "");
    let mut digits = String::new();
    let mut rest = decoded.as_str();
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        for zero in ZEROS {
            if (zero..zero + 10).contains(&u32::from(c)) {
                digits.push(char::from(b'0' + (u32::from(c) - zero) as u8));
            }
        }
    }
    digits
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = bytes.get(index + 1..index + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_cards_in_text_do_not_survive(
        before in "[a-zA-Z ,.!?é日]{0,10}",
        (plain, card) in encoded_card(),
        after in "[a-zA-Z ,.!?é日]{0,10}",
    ) {
        // Text around the card has no digits, so any digits left in the output are the card's.
        let input = format!("{before} {card} {after}");
        let output = scrub(&input);
        let left = digits_of(&output);
        prop_assert!(left.is_empty(), "{:?} ({:?}) -> {:?} (digits {:?})", input, plain, output, left);
        let again = scrub(&output);
        prop_assert!(matches!(again, Cow::Borrowed(_)), "not idempotent: {:?} -> {:?}", output, again);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Text dense in what the normaliser decodes: escapes, entities, invisible characters, digits
    /// of other scripts. Scrubbing must not panic (every replaced range on a character boundary)
    /// and must be idempotent.
    #[test]
    fn scrubbing_normalisation_heavy_text_is_idempotent(
        input in "([a-fA-F0-9:/@%=?&#.;xX_ -]|%2[05]|%C2%A0|&#[0-9]{1,3};|&amp;|&nbsp;|\u{a0}|\u{200b}|\u{ff14}|\u{664}|eyJ|ü){0,40}"
    ) {
        let once = scrub(&input).into_owned();
        let twice = scrub(&once);
        prop_assert!(matches!(twice, Cow::Borrowed(_)), "{:?} -> {:?} -> {:?}", input, once, twice);
    }
}
