//! Every question on the hand-built fixture (`fixture.rs`), answers worked out by hand.

use heatlake_query::analytics::ctr::{CtrParams, ElementKey, LinkParams, element_ctr, link_ctr};
use heatlake_query::analytics::frustration::{FrustrationLevel, FrustrationParams, frustration};
use heatlake_query::analytics::funnel::{FunnelParams, FunnelStep, funnel};
use heatlake_query::analytics::heatmap::{HeatmapKind, HeatmapMode, HeatmapParams, heatmap};
use heatlake_query::analytics::scroll::{ScrollParams, scroll_depth};
use heatlake_query::analytics::{Segment, collect};
use heatlake_query::{Error, EventsSession, QueryOptions};
use serde_json::json;

use crate::fixture::{P, SITE, fixture, import_events, rows};

async fn session() -> (tempfile::TempDir, EventsSession) {
    let directory = tempfile::tempdir().unwrap();
    let location = fixture(directory.path()).await;
    let session = EventsSession::open(&location, None, &QueryOptions::default())
        .await
        .unwrap();
    (directory, session)
}

fn clicks_on_p() -> HeatmapParams {
    HeatmapParams {
        site: SITE.into(),
        path: P.into(),
        ..HeatmapParams::default()
    }
}

async fn heatmap_rows(session: &EventsSession, params: &HeatmapParams) -> Vec<String> {
    rows(
        &collect(heatmap(session, params).await.unwrap())
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn click_heatmap_bins_by_floor_and_keeps_fixed_targets_apart() {
    let (_directory, session) = session().await;
    // fixed|cell_x|cell_y|events|visitors; (16,16) is cell (1,1), (15,15) cell (0,0).
    assert_eq!(
        heatmap_rows(&session, &clicks_on_p()).await,
        [
            "false|0|0|2|1",
            "false|1|1|1|1",
            "false|6|6|2|1",
            "false|7|7|1|1",
            "false|8|8|1|1",
            "false|18|56|1|1",
            "false|31|93|1|1",
            "false|32|94|1|1",
            "false|33|95|1|1",
            "false|33|96|1|1",
            "true|3|1|1|1",
        ]
    );
    let coarse = HeatmapParams {
        bin_px: 1000,
        ..clicks_on_p()
    };
    assert_eq!(
        heatmap_rows(&session, &coarse).await,
        ["false|0|0|8|2", "false|0|1|4|1", "true|0|0|1|1"]
    );
}

#[tokio::test]
async fn heatmap_modes_viewport_centred_element_and_moves() {
    let (_directory, session) = session().await;
    // x - viewport_w / 2: PV1 (1000 px) clicks at x 0, 16, 15 -> -500, -484, -485.
    let centred = HeatmapParams {
        mode: HeatmapMode::ViewportCentred,
        bin_px: 100,
        segment: Segment {
            browser: Some("Chrome".into()),
            ..Segment::default()
        },
        ..clicks_on_p()
    };
    assert_eq!(heatmap_rows(&session, &centred).await, ["false|-5|0|3|1"]);
    // Element mode: target_rx/ry 0, 0.5 and 1.0 (1.0 falls in the last of 10 cells).
    let element = HeatmapParams {
        mode: HeatmapMode::Element,
        ..clicks_on_p()
    };
    assert_eq!(
        heatmap_rows(&session, &element).await,
        [
            "a.cta|false|0|0|1|1",
            "a.cta|false|5|5|1|1",
            "a.cta|false|9|9|1|1"
        ]
    );
    let moves = HeatmapParams {
        kind: HeatmapKind::Move,
        ..clicks_on_p()
    };
    assert_eq!(
        heatmap_rows(&session, &moves).await,
        ["false|0|0|1|1", "false|1|1|1|1"]
    );
    let moves_by_element = HeatmapParams {
        mode: HeatmapMode::Element,
        ..moves
    };
    let error = heatmap(&session, &moves_by_element).await.err().unwrap();
    assert!(error.to_string().starts_with("invalid mode:"), "{error}");
}

#[tokio::test]
async fn segments_narrow_every_question() {
    let (_directory, session) = session().await;
    let with = |segment: Segment| HeatmapParams {
        bin_px: 4096,
        segment,
        ..clicks_on_p()
    };
    let cases = [
        (
            Segment {
                device: Some("mobile".into()),
                ..Segment::default()
            },
            vec!["false|0|0|5|1", "true|0|0|1|1"],
        ),
        (
            Segment {
                browser: Some("Firefox".into()),
                ..Segment::default()
            },
            vec!["false|0|0|4|1"],
        ),
        (
            Segment {
                os: Some("Windows".into()),
                ..Segment::default()
            },
            vec!["false|0|0|3|1"],
        ),
        (
            Segment {
                referrer_domain: Some("google.com".into()),
                ..Segment::default()
            },
            vec!["false|0|0|3|1"],
        ),
        (
            Segment {
                referrer_domain: Some("oogle.com".into()),
                ..Segment::default()
            },
            vec![],
        ),
        (
            Segment {
                viewport_w_min: Some(1000),
                viewport_w_max: Some(1000),
                ..Segment::default()
            },
            vec!["false|0|0|3|1"],
        ),
        (
            Segment {
                predicate: Some("x >= 500".into()),
                ..Segment::default()
            },
            vec!["false|0|0|4|1"],
        ),
        (
            Segment {
                from: Some("2026-11-02".into()),
                ..Segment::default()
            },
            vec!["false|0|0|4|1"],
        ),
        (
            Segment {
                to: Some("2026-11-01T23:59:06Z".into()),
                ..Segment::default()
            },
            vec!["false|0|0|6|2", "true|0|0|1|1"],
        ),
        (
            Segment {
                from: Some("2030-01-01".into()),
                ..Segment::default()
            },
            vec![],
        ),
    ];
    for (segment, expected) in cases {
        let description = format!("{segment:?}");
        assert_eq!(
            heatmap_rows(&session, &with(segment)).await,
            expected,
            "{description}"
        );
    }
}

#[tokio::test]
async fn bad_parameters_are_named() {
    let (_directory, session) = session().await;
    let cases = [
        (
            HeatmapParams {
                bin_px: 0,
                ..clicks_on_p()
            },
            "invalid bin_px:",
        ),
        (
            HeatmapParams {
                path: "fx.example/nope".into(),
                ..clicks_on_p()
            },
            "unknown page:",
        ),
        (
            HeatmapParams {
                site: String::new(),
                ..clicks_on_p()
            },
            "invalid site:",
        ),
        (
            HeatmapParams {
                segment: Segment {
                    predicate: Some("x > 1) OR (1 = 1".into()),
                    ..Segment::default()
                },
                ..clicks_on_p()
            },
            "invalid predicate:",
        ),
        (
            HeatmapParams {
                segment: Segment {
                    device: Some("watch".into()),
                    ..Segment::default()
                },
                ..clicks_on_p()
            },
            "invalid device:",
        ),
    ];
    for (params, expected) in cases {
        let error = heatmap(&session, &params).await.err().unwrap();
        assert!(error.to_string().starts_with(expected), "{error}");
    }
    let unknown_column = HeatmapParams {
        segment: Segment {
            predicate: Some("no_such_column = 1".into()),
            ..Segment::default()
        },
        ..clicks_on_p()
    };
    let error = heatmap(&session, &unknown_column).await.err().unwrap();
    assert!(error.to_string().contains("no_such_column"), "{error}");
}

#[tokio::test]
async fn scroll_depth_caps_short_pages_and_counts_unknown_height_apart() {
    let (_directory, session) = session().await;
    let params = ScrollParams {
        site: SITE.into(),
        path: P.into(),
        segment: Segment::default(),
    };
    let depth = scroll_depth(&session, &params).await.unwrap();
    // PV1 1400/2000 = 70 %; PV3 has no document height; PV5 3400/3000 capped at 100 %.
    // fold: median viewport_h of 800, 700, 900; median doc_h of 2000 and 3000.
    assert_eq!(
        rows(&collect(depth.summary).await.unwrap()),
        ["3|2|1|0.85|0.85|800.0|2500.0|0.32"]
    );
    let reach = rows(&collect(depth.reach).await.unwrap());
    assert_eq!(reach.len(), 101);
    assert_eq!(reach[0], "0|2|1.0");
    assert_eq!(reach[70], "70|2|1.0");
    assert_eq!(reach[71], "71|1|0.5");
    assert_eq!(reach[100], "100|1|0.5");

    // Page q: PV2's document (600 px) is shorter than its viewport (800 px): 100 %; PV6 50 %.
    let q = ScrollParams {
        path: "fx.example/q".into(),
        ..params.clone()
    };
    let depth = scroll_depth(&session, &q).await.unwrap();
    assert_eq!(
        rows(&collect(depth.summary).await.unwrap()),
        ["2|2|0|0.75|0.75|850.0|1200.0|0.7083333333333334"]
    );
    let reach = rows(&collect(depth.reach).await.unwrap());
    assert_eq!(
        (reach[50].as_str(), reach[51].as_str()),
        ("50|2|1.0", "51|1|0.5")
    );

    // No data in the segment: zero page views, no shares.
    let empty = ScrollParams {
        segment: Segment {
            from: Some("2030-01-01".into()),
            ..Segment::default()
        },
        ..params
    };
    let depth = scroll_depth(&session, &empty).await.unwrap();
    assert_eq!(rows(&collect(depth.summary).await.unwrap()), ["0|0|0|||||"]);
    assert_eq!(rows(&collect(depth.reach).await.unwrap())[0], "0|0|");
}

#[tokio::test]
async fn one_event_site() {
    let (_directory, session) = session().await;
    let params = ScrollParams {
        site: "one.example".into(),
        path: "one.example/".into(),
        segment: Segment::default(),
    };
    let depth = scroll_depth(&session, &params).await.unwrap();
    assert_eq!(
        rows(&collect(depth.summary).await.unwrap()),
        ["1|1|0|0.5|0.5|500.0|1000.0|0.5"]
    );
    let heat = HeatmapParams {
        site: "one.example".into(),
        path: "one.example/".into(),
        ..HeatmapParams::default()
    };
    assert!(heatmap_rows(&session, &heat).await.is_empty());
    let page = FrustrationParams {
        site: "one.example".into(),
        level: FrustrationLevel::Page,
        ..FrustrationParams::default()
    };
    assert_eq!(
        rows(
            &collect(frustration(&session, &page).await.unwrap())
                .await
                .unwrap()
        ),
        ["one.example/|1|0|0|0|0|0|0.0|"]
    );
}

#[tokio::test]
async fn click_through_per_element_with_exposure() {
    let (_directory, session) = session().await;
    let params = CtrParams {
        site: SITE.into(),
        path: P.into(),
        ..CtrParams::default()
    };
    // element|clicks|pageviews_clicked|pageviews|ctr|exposed|attractiveness. div.card's top
    // (y 1515) was reached by PV5 only (PV1's bottom 1400, PV3's 901).
    assert_eq!(
        rows(
            &collect(element_ctr(&session, &params).await.unwrap())
                .await
                .unwrap()
        ),
        [
            "a.cta|5|2|3|0.6666666666666666|3|0.6666666666666666",
            "button.buy|3|1|3|0.3333333333333333|3|0.3333333333333333",
            "div.card|2|1|3|0.3333333333333333|1|1.0",
            "div.x|1|1|3|0.3333333333333333|3|0.3333333333333333",
            "header > a|1|1|3|0.3333333333333333|3|0.3333333333333333",
            "img.hero|1|1|3|0.3333333333333333|3|0.3333333333333333",
        ]
    );
    let by_link = CtrParams {
        by: ElementKey::Link,
        ..params.clone()
    };
    assert!(
        rows(
            &collect(element_ctr(&session, &by_link).await.unwrap())
                .await
                .unwrap()
        )
        .is_empty()
    );
    let limited = CtrParams { limit: 1, ..params };
    assert_eq!(
        rows(
            &collect(element_ctr(&session, &limited).await.unwrap())
                .await
                .unwrap()
        )
        .len(),
        1
    );
}

#[tokio::test]
async fn click_through_per_link_follows_sessions_across_midnight() {
    let (_directory, session) = session().await;
    let params = LinkParams {
        site: SITE.into(),
        path: P.into(),
        ..LinkParams::default()
    };
    assert_eq!(
        rows(
            &collect(link_ctr(&session, &params).await.unwrap())
                .await
                .unwrap()
        ),
        [
            "fx.example/q|2|3|0.6666666666666666",
            "fx.example/cart|1|3|0.3333333333333333"
        ]
    );
}

#[tokio::test]
async fn rage_and_dead_clicks() {
    let (_directory, session) = session().await;
    let params = FrustrationParams {
        site: SITE.into(),
        path: Some(P.into()),
        ..FrustrationParams::default()
    };
    // path|target|clicks|rage_runs|rage_pageviews|dead_clicks|dead_pageviews|pageviews|rage_rate|dead_rate
    assert_eq!(
        rows(
            &collect(frustration(&session, &params).await.unwrap())
                .await
                .unwrap()
        ),
        [
            "fx.example/p|button.buy|3|1|1|0|0|3|0.3333333333333333|0.0",
            "fx.example/p|div.card|2|1|1|0|0|3|0.3333333333333333|0.0",
            "fx.example/p|img.hero|1|0|0|1|1|3|0.0|1.0",
            "fx.example/p|a.cta|5|0|0|0|0|3|0.0|0.0",
            "fx.example/p|div.x|1|0|0|0|0|3|0.0|0.0",
            "fx.example/p|header > a|1|0|0|0|0|3|0.0|0.0",
        ]
    );
    let pages = FrustrationParams {
        site: SITE.into(),
        level: FrustrationLevel::Page,
        ..FrustrationParams::default()
    };
    assert_eq!(
        rows(
            &collect(frustration(&session, &pages).await.unwrap())
                .await
                .unwrap()
        ),
        [
            "fx.example/p|3|13|2|2|1|1|0.6666666666666666|0.07692307692307693",
            "fx.example/cart|2|0|0|0|0|0|0.0|",
            "fx.example/q|2|0|0|0|0|0|0.0|",
        ]
    );
}

#[tokio::test]
async fn funnels_keep_order_and_window() {
    let (_directory, session) = session().await;
    let steps = vec![
        FunnelStep::Path(P.into()),
        FunnelStep::Path("fx.example/q".into()),
        FunnelStep::Predicate("type = 'submit'".into()),
    ];
    let params = FunnelParams {
        site: SITE.into(),
        steps: steps.clone(),
        ..FunnelParams::default()
    };
    // S1 reaches q 90 s after p (across midnight), S3 30 s after; S3 submits 40 s after q.
    assert_eq!(
        rows(
            &collect(funnel(&session, &params).await.unwrap())
                .await
                .unwrap()
        ),
        [
            "1|fx.example/p|3|1.0|||",
            "2|fx.example/q|2|0.6666666666666666|0.6666666666666666|60.0|60.0",
            "3|type = 'submit'|1|0.3333333333333333|0.5|40.0|40.0",
        ]
    );
    let short = FunnelParams {
        window_s: 60,
        ..params.clone()
    };
    assert_eq!(
        rows(
            &collect(funnel(&session, &short).await.unwrap())
                .await
                .unwrap()
        ),
        [
            "1|fx.example/p|3|1.0|||",
            "2|fx.example/q|1|0.3333333333333333|0.3333333333333333|30.0|30.0",
            "3|type = 'submit'|0|0.0|0.0||",
        ]
    );
    let reversed = FunnelParams {
        steps: vec![
            FunnelStep::Path("fx.example/q".into()),
            FunnelStep::Path(P.into()),
        ],
        ..params.clone()
    };
    assert_eq!(
        rows(
            &collect(funnel(&session, &reversed).await.unwrap())
                .await
                .unwrap()
        ),
        ["1|fx.example/q|2|1.0|||", "2|fx.example/p|0|0.0|0.0||"]
    );
    let none = FunnelParams {
        steps: vec![],
        ..params
    };
    assert!(
        funnel(&session, &none)
            .await
            .err()
            .unwrap()
            .to_string()
            .starts_with("invalid steps:")
    );
}

#[tokio::test]
async fn a_pinned_version_answers_as_it_did() {
    let directory = tempfile::tempdir().unwrap();
    let location = fixture(directory.path()).await;
    let extra = json!({
        "v": 1, "site": SITE, "type": "click", "ts": 1_793_613_600_000i64 + 5000, "visitor_id": "v9",
        "session_id": "s9", "pageview_id": "pv5", "seq": 99, "path": P, "x": 1, "y": 1,
        "target": "a.cta", "viewport_w": 1400,
    });
    import_events(directory.path(), "more.ndjson", &[extra]).await;
    let coarse = HeatmapParams {
        bin_px: 4096,
        ..clicks_on_p()
    };
    for (version, expected) in [(Some(0), "false|0|0|12|3"), (None, "false|0|0|13|4")] {
        let session = EventsSession::open(&location, version, &QueryOptions::default())
            .await
            .unwrap();
        assert_eq!(
            heatmap_rows(&session, &coarse).await[0],
            expected,
            "version {version:?}"
        );
    }
    let error = EventsSession::open(&location, Some(7), &QueryOptions::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::Table(_)), "{error}");
    assert!(error.to_string().contains("no version 7"), "{error}");
}
