//! The same configuration gives the same bytes; another seed gives other data.

use heatlake_datagen::{Error, GenConfig, write_ndjson};

use crate::{config, ndjson};

#[test]
fn same_seed_same_bytes() {
    let (first, first_summary) = ndjson(&config(20_000, 7));
    let (second, second_summary) = ndjson(&config(20_000, 7));
    assert_eq!(first.len(), second.len());
    assert!(first == second, "two runs with seed 7 differ");
    assert_eq!(first_summary, second_summary);
}

#[test]
fn different_seed_different_data() {
    let (seven, _) = ndjson(&config(5_000, 7));
    let (eight, _) = ndjson(&config(5_000, 8));
    assert_ne!(seven.lines().next(), eight.lines().next());
    let common = seven
        .lines()
        .zip(eight.lines())
        .filter(|(a, b)| a == b)
        .count();
    assert_eq!(common, 0, "no line should coincide between seeds");
}

#[test]
fn a_smaller_run_is_a_prefix_of_a_larger_one() {
    // Generation does not depend on the event count: it only decides where the output stops.
    let (small, small_summary) = ndjson(&config(3_001, 11));
    let (large, _) = ndjson(&config(9_000, 11));
    assert!(large.starts_with(&small));
    assert_eq!(small.lines().count(), 3_001);
    assert_eq!(small_summary.events, 3_001);
}

#[test]
fn zero_events_write_nothing() {
    let (text, summary) = ndjson(&config(0, 1));
    assert_eq!(text, "");
    assert_eq!(summary.events, 0);
    assert_eq!(summary.visitors, 0);
    assert_eq!(summary.ts_min_ms, None);
}

#[test]
fn bad_configurations_name_the_field() {
    let cases = [
        (
            GenConfig {
                sites: 0,
                ..config(10, 1)
            },
            "invalid generator configuration: `sites` = 0 is outside 1..=1000",
        ),
        (
            GenConfig {
                pages_per_site: 100_000,
                sites: 20,
                ..config(10, 1)
            },
            "invalid generator configuration: `pages_per_site` = 100000 gives 2000000 pages over 20 sites, more than the 1000000 allowed",
        ),
        (
            GenConfig {
                days: 0,
                ..config(10, 1)
            },
            "invalid generator configuration: `days` = 0 is outside 1..=3660",
        ),
        (
            GenConfig {
                start_ms: 1_793_491_200_001,
                ..config(10, 1)
            },
            "invalid generator configuration: `start_ms` = 1793491200001 must be a midnight UTC such that every day lies within 2000-01-01..2100-01-01",
        ),
    ];
    for (bad, message) in cases {
        let error = write_ndjson(&bad, Vec::new(), |_| {}).unwrap_err();
        assert!(matches!(error, Error::Config { .. }));
        assert_eq!(error.to_string(), message);
    }
    let error = config(1, 1)
        .with_start_date("2026-13-01")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("invalid generator configuration: `start_date` = \"2026-13-01\" is not a YYYY-MM-DD date"), "{error}");
    assert_eq!(
        config(1, 1).with_start_date("2026-11-01").unwrap().start_ms,
        heatlake_datagen::DEFAULT_START_MS
    );
}

#[test]
fn progress_is_reported_in_steps_and_at_the_end() {
    let mut reported = Vec::new();
    write_ndjson(&config(140_000, 3), std::io::sink(), |written| {
        reported.push(written)
    })
    .unwrap();
    assert_eq!(reported, [65_536, 131_072, 140_000]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any configuration within range generates exactly its events, all valid, in its days.
    #[test]
    fn any_configuration_generates_valid_events(
        seed in proptest::prelude::any::<u64>(),
        events in 1u64..1_500,
        sites in 1u32..16,
        pages_per_site in 1u32..300,
        days in 1u32..10,
        page_popularity_exponent in 0.0f64..2.5,
    ) {
        let config = GenConfig {
            events,
            seed,
            sites,
            pages_per_site,
            days,
            page_popularity_exponent,
            ..GenConfig::default()
        };
        let (text, summary) = ndjson(&config);
        proptest::prop_assert_eq!(text.lines().count() as u64, events);
        proptest::prop_assert_eq!(summary.events, events);
        proptest::prop_assert!(summary.sites <= u64::from(sites) && summary.days <= u64::from(days));
        for line in text.lines() {
            let wire = heatlake_model::decode_line(line.as_bytes()).unwrap();
            heatlake_model::validate::validate(&wire).unwrap();
            let ts = wire.ts.unwrap();
            proptest::prop_assert!(ts >= config.start_ms && ts < config.end_ms(), "{}", line);
        }
    }
}

#[test]
fn standard_scales_are_pinned() {
    use heatlake_datagen::StandardScale;
    let scales: Vec<(u64, u64, &str, &str)> = StandardScale::ALL
        .iter()
        .map(|s| (s.events(), s.seed(), s.name(), s.file_name()))
        .collect();
    assert_eq!(
        scales,
        [
            (1_000_000, 1, "1m", "events-1m.ndjson.gz"),
            (10_000_000, 10, "10m", "events-10m.ndjson.gz"),
            (100_000_000, 100, "100m", "events-100m.ndjson.gz"),
        ]
    );
    assert_eq!(
        StandardScale::from_name("10m"),
        Some(StandardScale::TenMillion)
    );
    assert_eq!(StandardScale::from_name("5m"), None);
    let config = GenConfig::standard(StandardScale::HundredMillion);
    assert_eq!(
        (config.events, config.seed, config.sites, config.days),
        (100_000_000, 100, 5, 7)
    );
}
