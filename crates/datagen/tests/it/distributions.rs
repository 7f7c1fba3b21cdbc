//! The generated behaviour has the shapes `datasets/README.md` promises.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use heatlake_datagen::catalog::{ElementKind, PageKind};
use heatlake_datagen::{Catalog, GenConfig, Summary};
use heatlake_model::privacy::scrub::scrub;
use heatlake_model::useragent::device_class;
use heatlake_model::{WireEvent, decode_line};

use crate::{config, ndjson};

/// One run shared by the tests of this module.
struct Run {
    config: GenConfig,
    text: String,
    summary: Summary,
}

static RUN: LazyLock<Run> = LazyLock::new(|| {
    let config = config(150_000, 1);
    let (text, summary) = ndjson(&config);
    Run {
        config,
        text,
        summary,
    }
});

fn events() -> Vec<WireEvent<'static>> {
    RUN.text
        .lines()
        .map(|line| decode_line(line.as_bytes()).unwrap())
        .collect()
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

#[test]
fn scroll_depth_decays_down_the_page() {
    let leaves: Vec<f64> = events()
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("leave"))
        .map(|e| ((e.scroll_y.unwrap() + e.viewport_h.unwrap()) / e.doc_h.unwrap()).min(1.0))
        .collect();
    let reaching = |percent: f64| {
        share(
            leaves
                .iter()
                .filter(|d| (*d * 100.0).floor() >= percent)
                .count(),
            leaves.len(),
        )
    };
    let (reach10, reach50, reach100) = (reaching(10.0), reaching(50.0), reaching(100.0));
    assert!(leaves.len() > 2_000, "{}", leaves.len());
    assert!(
        reach10 > 0.9,
        "nearly every page view sees the top 10 %: {reach10}"
    );
    assert!(
        reach50 < reach10 && reach100 < reach50,
        "{reach10} {reach50} {reach100}"
    );
    assert!(
        reach100 < 0.5 * reach10,
        "few reach the bottom: {reach100} vs {reach10}"
    );
    assert!(
        (0.04..0.3).contains(&reach100),
        "short pages and readers to the end: {reach100}"
    );
    let shorter_than_viewport = events()
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("pageview") && e.doc_h < e.viewport_h)
        .count();
    assert!(
        shorter_than_viewport > 50,
        "some pages are shorter than the viewport: {shorter_than_viewport}"
    );
}

#[test]
fn clicks_land_inside_their_elements() {
    let catalog = Catalog::new(&RUN.config).unwrap();
    let mut clicks = 0;
    let mut fixed = 0;
    let mut kinds = BTreeMap::<String, usize>::new();
    for event in events()
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("click"))
    {
        let site = catalog.site(event.site.as_deref().unwrap()).unwrap();
        let rank = site.page_rank(event.path.as_deref().unwrap()).unwrap();
        let viewport_w = event.viewport_w.unwrap() as i32;
        let template = site.template_of(rank);
        let layout = site.layout(rank, viewport_w);
        let target = event.target.as_deref().unwrap();
        let b = layout
            .boxes
            .iter()
            .find(|b| template.elements[b.element].selector == target)
            .unwrap_or_else(|| {
                panic!(
                    "{target} is shown on {} at {viewport_w} px",
                    event.path.as_deref().unwrap()
                )
            });
        *kinds
            .entry(format!("{:?}", template.elements[b.element].kind))
            .or_default() += 1;
        let (x, y) = (event.x.unwrap() as i32, event.y.unwrap() as i32);
        let (rx, ry) = (event.target_rx.unwrap(), event.target_ry.unwrap());
        assert_eq!(event.target_fixed.unwrap_or(false), b.fixed, "{target}");
        assert!(
            (b.x - 2..=b.x + b.w + 2).contains(&x),
            "x {x} outside {b:?} of {target}"
        );
        assert!(
            (b.y - 2..=b.y + b.h + 2).contains(&y),
            "y {y} outside {b:?} of {target}"
        );
        let tolerance = 2.0 + f64::from(b.w.max(b.h)) / 1000.0;
        assert!(
            (f64::from(b.x) + rx * f64::from(b.w) - f64::from(x)).abs() <= tolerance,
            "rx {rx} vs x {x} in {b:?}"
        );
        assert!(
            (f64::from(b.y) + ry * f64::from(b.h) - f64::from(y)).abs() <= tolerance,
            "ry {ry} vs y {y} in {b:?}"
        );
        if b.fixed {
            fixed += 1;
            assert!(
                y < event.viewport_h.unwrap() as i32,
                "fixed targets have viewport y"
            );
        }
        if event.link.is_some() {
            assert_eq!(
                template.elements[b.element].kind,
                ElementKind::Link,
                "{target}"
            );
        }
        clicks += 1;
    }
    assert!(clicks > 1_000, "{clicks}");
    assert!(
        fixed > 50,
        "some clicks hit fixed header or sidebar elements: {fixed}"
    );
    for kind in ["Link", "Button", "Image", "Text", "Field", "Submit"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no click on a {kind}: {kinds:?}"
        );
    }
}

/// Rage runs by the rule of DESIGN.md: 3 or more clicks in one page view, each at most 1 s after
/// the previous one and within 30 px of it (|dx| + |dy|).
fn rage_runs(events: &[WireEvent<'_>]) -> Vec<Vec<usize>> {
    let mut runs = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if event.event_type.as_deref() != Some("click") {
            continue;
        }
        let continues = current.last().is_some_and(|&previous| {
            let p = &events[previous];
            p.pageview_id == event.pageview_id
                && event.ts.unwrap() - p.ts.unwrap() <= 1_000
                && (event.x.unwrap() - p.x.unwrap()).abs() + (event.y.unwrap() - p.y.unwrap()).abs()
                    <= 30.0
        });
        if !continues {
            if current.len() >= 3 {
                runs.push(std::mem::take(&mut current));
            }
            current.clear();
        }
        current.push(index);
    }
    if current.len() >= 3 {
        runs.push(current);
    }
    runs
}

#[test]
fn dead_and_rage_clicks_happen_at_plausible_rates() {
    let events = events();
    let clicks: Vec<&WireEvent<'_>> = events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("click"))
        .collect();
    let dead = clicks.iter().filter(|e| e.dead == Some(true)).count();
    let dead_share = share(dead, clicks.len());
    assert!(
        (0.05..0.35).contains(&dead_share),
        "dead clicks: {dead_share}"
    );

    let runs = rage_runs(&events);
    assert!(runs.len() >= 10, "rage bursts exist: {}", runs.len());
    for run in &runs {
        assert!(
            (3..=6).contains(&run.len()),
            "bursts are 3 to 6 clicks: {run:?}"
        );
        assert!(
            run.iter().all(|&i| events[i].dead == Some(true)),
            "bursts are dead clicks"
        );
        let target = &events[run[0]].target;
        assert!(
            run.iter().all(|&i| events[i].target == *target),
            "a burst stays on its element"
        );
    }
    let pageviews_with_clicks: HashSet<&str> = clicks
        .iter()
        .map(|e| e.pageview_id.as_deref().unwrap())
        .collect();
    let rage_share = share(runs.len(), pageviews_with_clicks.len());
    assert!(
        (0.005..0.1).contains(&rage_share),
        "rage bursts per page view with clicks: {rage_share}"
    );
    let magnet = runs
        .iter()
        .filter(|run| {
            events[run[0]].target.as_deref() == Some("form#checkout > button.apply-coupon")
        })
        .count();
    assert!(
        magnet > 0,
        "the checkout's broken coupon button draws rage clicks"
    );
}

#[test]
fn devices_sites_and_pages_are_skewed_as_documented() {
    let events = events();
    let mut visitor_device = HashMap::new();
    let mut visitors_per_site = BTreeMap::<String, usize>::new();
    let mut views = HashMap::<(String, String), usize>::new();
    for event in events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("pageview"))
    {
        let visitor = (
            event.site.clone().unwrap(),
            event.visitor_id.clone().unwrap(),
        );
        if visitor_device
            .insert(visitor, device_class(event.viewport_w.unwrap() as i32))
            .is_none()
        {
            *visitors_per_site
                .entry(event.site.clone().unwrap().into_owned())
                .or_default() += 1;
        }
        *views
            .entry((
                event.site.clone().unwrap().into_owned(),
                event.path.clone().unwrap().into_owned(),
            ))
            .or_default() += 1;
    }
    let visitors = visitor_device.len();
    assert_eq!(visitors as u64, RUN.summary.visitors);
    let device_share = |class: &str| {
        share(
            visitor_device.values().filter(|c| **c == class).count(),
            visitors,
        )
    };
    let (desktop, tablet, mobile) = (
        device_share("desktop"),
        device_share("tablet"),
        device_share("mobile"),
    );
    assert!((desktop - 0.55).abs() < 0.04, "desktop {desktop}");
    assert!((tablet - 0.10).abs() < 0.03, "tablet {tablet}");
    assert!((mobile - 0.35).abs() < 0.04, "mobile {mobile}");

    let site_share = |name: &str| share(visitors_per_site[name], visitors);
    let shop = site_share("shop.example");
    assert!(
        (shop - 0.438).abs() < 0.04,
        "shop.example gets 1/H(5) of visitors: {shop}"
    );
    assert!(
        shop > site_share("news.example")
            && site_share("news.example") > site_share("docs.example")
    );
    assert!(site_share("app.example") > 0.05);

    let catalog = Catalog::new(&RUN.config).unwrap();
    for site in catalog.sites() {
        let count = |rank: usize| {
            views
                .get(&(site.name.clone(), site.pages()[rank].path.clone()))
                .copied()
                .unwrap_or(0)
        };
        let home = count(0);
        let top = (1..site.pages().len()).map(count).max().unwrap();
        assert!(
            home > top,
            "{}: the home page is the most viewed ({home} vs {top})",
            site.name
        );
        let head: usize = (0..20).map(count).sum();
        let tail: usize = (100..200).map(count).sum();
        assert!(
            head > 2 * tail,
            "{}: Zipf-like popularity ({head} vs {tail})",
            site.name
        );
    }
}

#[test]
fn moves_come_from_desktop_page_views_and_stay_in_the_viewport() {
    let events = events();
    let mut desktop_pageviews = HashSet::new();
    let mut moves = 0;
    for event in &events {
        let id = event.pageview_id.as_deref().unwrap();
        match event.event_type.as_deref().unwrap() {
            "pageview" if event.viewport_w.unwrap() >= 1024.0 => {
                desktop_pageviews.insert(id);
            }
            "move" => {
                moves += 1;
                assert!(
                    desktop_pageviews.contains(id),
                    "touch devices send no moves"
                );
                let x = event.x.unwrap();
                assert!(
                    (0.0..event.viewport_w.unwrap()).contains(&x),
                    "x {x} in the viewport"
                );
            }
            _ => {}
        }
    }
    let move_share = share(moves, events.len());
    assert!(
        (0.3..0.65).contains(&move_share),
        "moves are the most common event: {move_share}"
    );
}

#[test]
fn sessions_follow_a_daily_cycle() {
    let mut hours = [0usize; 24];
    for event in events()
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("pageview"))
    {
        hours[(event.ts.unwrap().rem_euclid(86_400_000) / 3_600_000) as usize] += 1;
    }
    let evening: usize = hours[17..21].iter().sum();
    let night: usize = hours[2..6].iter().sum();
    assert!(
        evening > 4 * night,
        "evenings are busier than nights: {hours:?}"
    );
}

#[test]
fn privacy_scrubbers_have_work() {
    let mut changed = BTreeMap::<&str, usize>::new();
    let mut markers = BTreeMap::<&str, usize>::new();
    for event in events() {
        for (name, value) in [
            ("url", &event.url),
            ("referrer", &event.referrer),
            ("link", &event.link),
        ] {
            if let Some(value) = value.as_deref() {
                let scrubbed = scrub(value);
                if scrubbed != value {
                    *changed.entry(name).or_default() += 1;
                    for marker in ["[email]", "[card]", "[credentials]"] {
                        if scrubbed.contains(marker) {
                            *markers.entry(marker).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(changed.get("url").copied().unwrap_or(0) >= 3, "{changed:?}");
    assert!(
        changed.get("referrer").copied().unwrap_or(0) >= 3,
        "{changed:?}"
    );
    assert!(
        markers.get("[email]").copied().unwrap_or(0) >= 2,
        "{markers:?}"
    );
    assert!(
        markers.get("[card]").copied().unwrap_or(0) >= 2,
        "{markers:?}"
    );
    let summary = &RUN.summary;
    assert!(
        summary.events_by_type.get("input").copied().unwrap_or(0) > 100,
        "{summary:?}"
    );
}

#[test]
fn forms_are_filled_on_form_pages() {
    let catalog = Catalog::new(&RUN.config).unwrap();
    let events = events();
    let mut submits = BTreeMap::<String, usize>::new();
    for event in events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("submit"))
    {
        let site = catalog.site(event.site.as_deref().unwrap()).unwrap();
        let rank = site.page_rank(event.path.as_deref().unwrap()).unwrap();
        *submits
            .entry(format!("{:?}", site.pages()[rank].kind))
            .or_default() += 1;
    }
    for kind in [PageKind::Search, PageKind::Checkout, PageKind::Login] {
        assert!(
            submits.get(&format!("{kind:?}")).copied().unwrap_or(0) > 0,
            "{kind:?}: {submits:?}"
        );
    }
    for event in events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("input"))
    {
        let field = event.field.as_deref().unwrap();
        assert!(
            field.contains("input") || field.contains("textarea"),
            "{field}"
        );
        assert!(event.input_len.unwrap() <= 600);
    }
}

#[test]
fn layouts_have_ten_to_thirty_five_elements() {
    let catalog = Catalog::new(&GenConfig::default()).unwrap();
    let mut counts = BTreeMap::<String, (usize, usize)>::new();
    for site in catalog.sites() {
        for rank in 0..site.pages().len() {
            let wide = site.layout(rank, 1920).boxes.len();
            let narrow = site.layout(rank, 390).boxes.len();
            let key = format!("{} {:?}", site.name, site.pages()[rank].kind);
            counts.insert(key, (wide, narrow));
            assert!(
                (10..=35).contains(&wide) && (10..=35).contains(&narrow),
                "{counts:?}"
            );
            assert!(
                site.layout(rank, 390).doc_h > site.layout(rank, 1920).doc_h,
                "narrow layouts are taller"
            );
        }
    }
    assert!(counts.len() > 25, "{counts:?}");
}
