//! The HTML report: one self-contained file (pictures as data URIs, the scroll chart as inline
//! SVG, no scripts, no external resources) for batch jobs.

use std::fmt::Write as _;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::Result;

/// What a report shows.
pub struct ReportContent<'a> {
    /// Site.
    pub site: &'a str,
    /// Page.
    pub path: &'a str,
    /// Table location, as shown.
    pub table: &'a str,
    /// Table version the answers come from.
    pub version: u64,
    /// The query parameters (segment included), as `name = value` lines.
    pub parameters: Vec<(String, String)>,
    /// Click heat picture (PNG bytes).
    pub click_png: &'a [u8],
    /// Move heat picture (PNG bytes), if any moves were recorded.
    pub move_png: Option<&'a [u8]>,
    /// The scroll-depth summary row.
    pub scroll_summary: &'a [RecordBatch],
    /// The scroll-depth reach curve (`depth_pct`, `pageviews`, `share`).
    pub scroll_reach: &'a [RecordBatch],
    /// Click-through per element.
    pub ctr: &'a [RecordBatch],
    /// Frustration per element.
    pub frustration: &'a [RecordBatch],
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An HTML table of `batches` (header from the schema, NULL as an empty cell).
pub fn table(batches: &[RecordBatch]) -> Result<String> {
    let mut html = String::from("<table>");
    let Some(first) = batches.first() else {
        html.push_str("<tr><td>no rows</td></tr></table>");
        return Ok(html);
    };
    html.push_str("<thead><tr>");
    for field in first.schema().fields() {
        let _ = write!(html, "<th>{}</th>", escape(field.name()));
    }
    html.push_str("</tr></thead><tbody>");
    let options = FormatOptions::default();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            html.push_str("<tr>");
            for formatter in &formatters {
                let _ = write!(
                    html,
                    "<td>{}</td>",
                    escape(&formatter.value(row).to_string())
                );
            }
            html.push_str("</tr>");
        }
    }
    html.push_str("</tbody></table>");
    Ok(html)
}

/// The reach curve as an inline SVG: share of page views (y) reaching each depth (x).
pub fn scroll_svg(reach: &[RecordBatch], fold_share: Option<f64>) -> String {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 240.0;
    const MARGIN: f64 = 36.0;
    let mut points = String::new();
    for batch in reach {
        let (Some(depth), Some(share)) = (
            batch.column_by_name("depth_pct"),
            batch.column_by_name("share"),
        ) else {
            continue;
        };
        let (Some(depth), Some(share)) = (
            depth.as_primitive_opt::<Int64Type>(),
            share.as_primitive_opt::<Float64Type>(),
        ) else {
            continue;
        };
        for row in 0..batch.num_rows() {
            if share.is_valid(row) {
                let x = MARGIN + depth.value(row) as f64 / 100.0 * (WIDTH - 2.0 * MARGIN);
                let y = HEIGHT - MARGIN - share.value(row) * (HEIGHT - 2.0 * MARGIN);
                let _ = write!(points, "{x:.1},{y:.1} ");
            }
        }
    }
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"share of page views reaching each scroll depth\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <line x1=\"{MARGIN}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#333\"/>\
         <line x1=\"{MARGIN}\" y1=\"{MARGIN}\" x2=\"{MARGIN}\" y2=\"{bottom}\" stroke=\"#333\"/>\
         <text x=\"{MARGIN}\" y=\"{label_y}\" font-size=\"11\">0 %</text>\
         <text x=\"{right}\" y=\"{label_y}\" font-size=\"11\" text-anchor=\"end\">100 % depth</text>\
         <text x=\"4\" y=\"{MARGIN}\" font-size=\"11\">100 %</text>\
         <text x=\"4\" y=\"{bottom}\" font-size=\"11\">0 %</text>",
        bottom = HEIGHT - MARGIN,
        right = WIDTH - MARGIN,
        label_y = HEIGHT - MARGIN + 16.0,
    );
    if let Some(fold) = fold_share {
        let x = MARGIN + fold.clamp(0.0, 1.0) * (WIDTH - 2.0 * MARGIN);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{MARGIN}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#dc143c\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#dc143c\">fold</text>",
            HEIGHT - MARGIN,
            x + 4.0,
            MARGIN + 12.0
        );
    }
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#3b518b\" stroke-width=\"2\" points=\"{}\"/></svg>",
        points.trim_end()
    );
    svg
}

/// The first value of a Float64 column of the summary, if present and not NULL.
fn summary_value(summary: &[RecordBatch], name: &str) -> Option<f64> {
    let batch = summary.iter().find(|batch| batch.num_rows() > 0)?;
    let column = batch
        .column_by_name(name)?
        .as_primitive_opt::<Float64Type>()?;
    column.is_valid(0).then(|| column.value(0))
}

/// The whole report as one HTML document.
pub fn render_report(content: &ReportContent<'_>) -> Result<String> {
    let mut html = String::new();
    let title = format!("Heatlake report: {}", content.path);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;font-size:13px}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}\
         th{{background:#f2f2f2}} img{{max-width:100%;border:1px solid #ccc}}\
         .pictures{{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}}</style></head><body>",
        escape(&title)
    );
    let _ = write!(html, "<h1>{}</h1>", escape(&title));
    html.push_str("<h2>Query</h2><table>");
    let mut rows = vec![
        ("site".to_owned(), content.site.to_owned()),
        ("page".to_owned(), content.path.to_owned()),
        ("table".to_owned(), content.table.to_owned()),
        ("table version".to_owned(), content.version.to_string()),
    ];
    rows.extend(content.parameters.iter().cloned());
    for (name, value) in rows {
        let _ = write!(
            html,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&name),
            escape(&value)
        );
    }
    html.push_str("</table><h2>Heatmaps</h2><div class=\"pictures\">");
    let _ = write!(
        html,
        "<figure><img alt=\"click heatmap\" src=\"data:image/png;base64,{}\"><figcaption>Clicks</figcaption></figure>",
        base64(content.click_png)
    );
    if let Some(moves) = content.move_png {
        let _ = write!(
            html,
            "<figure><img alt=\"move heatmap\" src=\"data:image/png;base64,{}\"><figcaption>Mouse movement</figcaption></figure>",
            base64(moves)
        );
    }
    html.push_str("</div><h2>Scroll depth</h2>");
    html.push_str(&table(content.scroll_summary)?);
    html.push_str(&scroll_svg(
        content.scroll_reach,
        summary_value(content.scroll_summary, "fold_share"),
    ));
    html.push_str("<h2>Click-through per element</h2>");
    html.push_str(&table(content.ctr)?);
    html.push_str("<h2>Frustration per element</h2>");
    html.push_str(&table(content.frustration)?);
    html.push_str("</body></html>\n");
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
