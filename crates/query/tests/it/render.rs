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

/// Regression: one click far down and right at `bin_px=1` made the picture 16 424×16 428 px,
/// allocated (about 1 GiB of canvas and 4 GiB of grid) before anything was checked.
#[test]
fn a_far_click_is_refused_before_the_canvas_is_allocated() {
    let options = PngOptions {
        bin_px: 1,
        ..PngOptions::default()
    };
    let error = render_heatmap_png(&[(10, 10, 3.0), (999_999, 999_999, 1.0)], &options)
        .expect_err("a 16 424×16 428 px picture is past the bound");
    assert_eq!(
        error.to_string(),
        "the picture would be 16424×16428 px, more than 33554432 pixels: narrow the question \
         to the page's area (for example predicate=x < 4000 AND y < 8000)"
    );
}

/// A small `bin_px` over a long page still draws, on a grid coarsened to `GRID_CELLS_MAX`.
#[test]
fn a_long_page_at_bin_1_draws_on_a_coarser_grid() {
    let cells = [(1_900, 15_990, 40.0), (10, 10, 1.0)];
    let options = PngOptions {
        bin_px: 1,
        ..PngOptions::default()
    };
    let bytes = render_heatmap_png(&cells, &options).unwrap();
    let (width, height, pixels) = decode_rgba(&bytes).unwrap();
    assert_eq!((width, height), (SCALE_PX + 1_901, 15_991 + LEGEND_PX));
    let (x, y) = hottest(width, height, &pixels);
    assert!(
        x + 20 >= SCALE_PX + 1_900 && y + 20 >= 15_990,
        "hottest at {x},{y}"
    );
}

/// A PNG whose header declares `width` × `height` px and whose data is a few zero bytes.
fn declared_png(width: u32, height: u32) -> Vec<u8> {
    use std::io::Write;
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&[0; 4]);
    };
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &header);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&[0; 64]).unwrap();
    chunk(b"IDAT", &encoder.finish().unwrap());
    chunk(b"IEND", &[]);
    png
}

/// Regression: the decoder sized its buffers from the declared width × height (up to
/// 16 384 × 16 384 px, 1 GiB raw and 1 GiB RGBA) before checking the pixel count.
#[test]
fn a_screenshot_declaring_too_many_pixels_is_refused_from_its_header() {
    let error = decode_rgba(&declared_png(16_384, 16_384)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid screenshot: not a readable PNG: 16384×16384 px is more than 33554432 pixels"
    );
    let error = decode_rgba(&declared_png(4, 4)).unwrap_err();
    assert!(
        error.to_string().ends_with("the image data is short"),
        "{error}"
    );
}
