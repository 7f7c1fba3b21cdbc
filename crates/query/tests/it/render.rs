//! The heat picture decodes, has the size its cells call for, and is hottest where the clicks
//! are; the HTML report holds every part, self-contained.

use heatlake_query::analytics::collect;
use heatlake_query::analytics::ctr::{CtrParams, element_ctr};
use heatlake_query::analytics::heatmap::{HeatmapParams, heatmap};
use heatlake_query::analytics::scroll::{ScrollParams, scroll_depth};
use heatlake_query::render::html::{ReportContent, render_report};
use heatlake_query::render::png::{
    PngOptions, decode_rgba, page_cells, render_heatmap_png, viridis,
};
use heatlake_query::{EventsSession, QueryOptions};

use crate::fixture::{P, SITE, fixture};

/// Left scale and bottom legend around the map, in px.
const SCALE_PX: usize = 40;
const LEGEND_PX: usize = 44;

fn hottest(width: usize, height: usize, pixels: &[u8]) -> (usize, usize) {
    let top = viridis(1.0);
    let mut best = (usize::MAX, (0, 0));
    for y in 0..height - LEGEND_PX {
        for x in SCALE_PX..width {
            let at = (y * width + x) * 4;
            let distance: usize = (0..3)
                .map(|c| pixels[at + c].abs_diff(top[c]) as usize)
                .sum();
            if distance < best.0 {
                best = (distance, (x, y));
            }
        }
    }
    best.1
}

#[test]
fn the_hottest_pixel_is_in_the_busiest_cell() {
    let cells = [(10, 5, 50.0), (2, 2, 1.0), (3, 1, 2.0)];
    let options = PngOptions {
        bin_px: 16,
        fold_px: Some(60.0),
        ..PngOptions::default()
    };
    let bytes = render_heatmap_png(&cells, &options).unwrap();
    let (width, height, pixels) = decode_rgba(&bytes).unwrap();
    assert_eq!((width, height), (SCALE_PX + 11 * 16, 6 * 16 + LEGEND_PX));
    let (x, y) = hottest(width, height, &pixels);
    assert!(
        (SCALE_PX + 160..SCALE_PX + 176).contains(&x) && (80..96).contains(&y),
        "hottest at {x},{y}"
    );
    // The fold line is drawn in crimson at y 60.
    let at = (60 * width + SCALE_PX + 1) * 4;
    assert_eq!(&pixels[at..at + 3], &[220, 20, 60]);
}

#[test]
fn heat_is_drawn_over_a_screenshot() {
    let (shot_w, shot_h) = (300, 200);
    let blue = [10u8, 20, 200, 255].repeat(shot_w * shot_h);
    let screenshot = render_plain(shot_w, shot_h, &blue);
    let options = PngOptions {
        bin_px: 16,
        screenshot: Some(screenshot),
        ..PngOptions::default()
    };
    let bytes = render_heatmap_png(&[(1, 1, 5.0)], &options).unwrap();
    let (width, height, pixels) = decode_rgba(&bytes).unwrap();
    assert_eq!((width, height), (SCALE_PX + shot_w, shot_h + LEGEND_PX));
    let far = (150 * width + SCALE_PX + 250) * 4;
    assert_eq!(&pixels[far..far + 4], &[10, 20, 200, 255]);
    let (x, y) = hottest(width, height, &pixels);
    assert!(
        (SCALE_PX + 16..SCALE_PX + 32).contains(&x) && (16..32).contains(&y),
        "hottest at {x},{y}"
    );
    let bad = PngOptions {
        bin_px: 16,
        screenshot: Some(b"not a png".to_vec()),
        ..PngOptions::default()
    };
    let error = render_heatmap_png(&[], &bad).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid screenshot:"),
        "{error}"
    );
}

/// A plain picture, through the heat renderer's own encoder (no cells: only the frame is added).
fn render_plain(width: usize, height: usize, rgba: &[u8]) -> Vec<u8> {
    heatlake_query::render::png::encode_rgba_png(width, height, rgba).unwrap()
}

#[tokio::test]
async fn the_fixture_page_and_its_report() {
    let directory = tempfile::tempdir().unwrap();
    let location = fixture(directory.path()).await;
    let session = EventsSession::open(&location, None, &QueryOptions::default())
        .await
        .unwrap();
    let params = HeatmapParams {
        site: SITE.into(),
        path: P.into(),
        ..HeatmapParams::default()
    };
    let cells = page_cells(
        &collect(heatmap(&session, &params).await.unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    // The fixed click is left out of the page picture.
    assert_eq!(cells.len(), 10);
    let bytes = render_heatmap_png(
        &cells,
        &PngOptions {
            bin_px: 16,
            ..PngOptions::default()
        },
    )
    .unwrap();
    let (width, height, _) = decode_rgba(&bytes).unwrap();
    // Widest cell x 33, deepest cell y 96.
    assert_eq!((width, height), (SCALE_PX + 34 * 16, 97 * 16 + LEGEND_PX));

    let scroll = scroll_depth(
        &session,
        &ScrollParams {
            site: SITE.into(),
            path: P.into(),
            ..ScrollParams::default()
        },
    )
    .await
    .unwrap();
    let summary = collect(scroll.summary).await.unwrap();
    let reach = collect(scroll.reach).await.unwrap();
    let ctr = collect(
        element_ctr(
            &session,
            &CtrParams {
                site: SITE.into(),
                path: P.into(),
                ..CtrParams::default()
            },
        )
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    let html = render_report(&ReportContent {
        site: SITE,
        path: P,
        table: "fixture",
        version: session.version(),
        parameters: vec![("device".into(), "<mobile>".into())],
        click_png: &bytes,
        move_png: None,
        scroll_summary: &summary,
        scroll_reach: &reach,
        ctr: &ctr,
        frustration: &[],
    })
    .unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<tr><th>table version</th><td>0</td></tr>"));
    assert!(html.contains("<tr><th>device</th><td>&lt;mobile&gt;</td></tr>"));
    assert!(
        html.contains("data:image/png;base64,iVBORw0KGgo"),
        "the PNG is inline"
    );
    assert!(
        html.contains("<svg") && html.contains("<polyline"),
        "the scroll chart is inline SVG"
    );
    assert!(
        html.contains("<td>a.cta</td><td>5</td><td>2</td><td>3</td>"),
        "the CTR table"
    );
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no external resources"
    );
    assert_eq!(html.matches("<polyline").count(), 1);
}
