//! The heat picture: a smoothed density of a page-mode heatmap's cells, coloured with the
//! viridis ramp, over a white page or a screenshot, with the fold line, a px scale and a legend.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, UInt64Type};

use super::codec::{PIXELS_MAX, SIDE_PX_MAX, decode_rgba as decode, encode_rgba};
use super::font::{draw_text, text_width};
use crate::{Error, Result};

/// Largest accepted screenshot, in bytes.
pub const SCREENSHOT_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most pixels of a heat picture (scale and legend included) or of a screenshot: a larger one
/// is refused with [`Error::PictureTooLarge`] before anything is allocated.
pub const PICTURE_PIXELS_MAX: usize = PIXELS_MAX;
/// Most cells of the density grid a picture is smoothed on. Past it the grid is coarsened by a
/// whole factor (cells of `bin_px × factor` px), so a small `bin_px` over a long page still
/// draws, with less detail.
pub const GRID_CELLS_MAX: usize = 1024 * 1024;
/// Height of the legend strip under the map, in px.
const LEGEND_PX: u32 = 44;
/// Width of the px scale left of the map, in px.
const SCALE_PX: u32 = 40;
/// Standard deviation of the smoothing kernel, in cells.
const KERNEL_SIGMA_CELLS: f64 = 1.0;

/// How a heat picture is drawn.
#[derive(Debug, Clone, Default)]
pub struct PngOptions {
    /// Cell size the heatmap was computed with, in CSS px.
    pub bin_px: u32,
    /// Width of the map in px; default the screenshot's width, else the widest cell.
    pub width_px: Option<u32>,
    /// Where to draw the fold line (page px from the top), for example the median viewport height.
    pub fold_px: Option<f64>,
    /// A PNG screenshot of the page to draw the heat over (its top-left is page px 0, 0).
    pub screenshot: Option<Vec<u8>>,
}

/// An RGBA picture.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize, background: [u8; 4]) -> Self {
        Self {
            width,
            height,
            pixels: background.repeat(width * height),
        }
    }

    fn set(&mut self, x: usize, y: usize, colour: [u8; 4]) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 4;
            self.pixels[at..at + 4].copy_from_slice(&colour);
        }
    }

    fn blend(&mut self, x: usize, y: usize, colour: [u8; 3], alpha: f64) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 4;
            for (pixel, &target) in self.pixels[at..at + 3].iter_mut().zip(&colour) {
                let below = f64::from(*pixel);
                let mixed = below + (f64::from(target) - below) * alpha;
                *pixel = mixed.round().clamp(0.0, 255.0) as u8;
            }
            self.pixels[at + 3] = 255;
        }
    }

    fn encode(&self) -> Result<Vec<u8>> {
        encode_rgba(self.width, self.height, &self.pixels)
    }
}

/// Viridis, 9 stops (matplotlib's, perceptually uniform and readable in grey and by most colour-blind readers).
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

/// The ramp's colour at `t` in 0..=1.
pub fn viridis(t: f64) -> [u8; 3] {
    let position = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let index = (position.floor() as usize).min(VIRIDIS.len() - 2);
    let fraction = position - index as f64;
    let (low, high) = (VIRIDIS[index], VIRIDIS[index + 1]);
    std::array::from_fn(|channel| {
        (f64::from(low[channel]) + (f64::from(high[channel]) - f64::from(low[channel])) * fraction)
            .round() as u8
    })
}

/// `(cell_x, cell_y, events)` of the non-fixed cells of a page-mode heatmap answer.
pub fn page_cells(batches: &[RecordBatch]) -> Result<Vec<(i64, i64, f64)>> {
    let mut cells = Vec::new();
    for batch in batches {
        let column = |name: &str| {
            batch.column_by_name(name).ok_or_else(|| Error::Render {
                message: format!("the heatmap has no column {name} (page mode expected)"),
            })
        };
        let fixed = column("fixed")?.as_boolean();
        let x = column("cell_x")?.as_primitive::<Int64Type>();
        let y = column("cell_y")?.as_primitive::<Int64Type>();
        let events = column("events")?;
        let events: Vec<f64> = match events.as_primitive_opt::<Int64Type>() {
            Some(counts) => counts.values().iter().map(|&n| n as f64).collect(),
            None => events
                .as_primitive::<UInt64Type>()
                .values()
                .iter()
                .map(|&n| n as f64)
                .collect(),
        };
        for (row, &count) in events.iter().enumerate() {
            if !fixed.value(row)
                && !x.is_null(row)
                && !y.is_null(row)
                && x.value(row) >= 0
                && y.value(row) >= 0
            {
                cells.push((x.value(row), y.value(row), count));
            }
        }
    }
    Ok(cells)
}

fn decode_screenshot(bytes: &[u8]) -> Result<Canvas> {
    if bytes.len() > SCREENSHOT_BYTES_MAX {
        return Err(Error::InvalidParameter {
            parameter: "screenshot",
            message: format!("larger than {SCREENSHOT_BYTES_MAX} bytes"),
        });
    }
    let (width, height, pixels) = decode(bytes)?;
    Ok(Canvas {
        width,
        height,
        pixels,
    })
}

/// Gaussian blur of a `width` × `height` grid, separable, in place.
fn blur(grid: &mut [f64], width: usize, height: usize) {
    let radius = (3.0 * KERNEL_SIGMA_CELLS).ceil() as isize;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|d| (-(d * d) as f64 / (2.0 * KERNEL_SIGMA_CELLS * KERNEL_SIGMA_CELLS)).exp())
        .collect();
    let pass = |grid: &mut [f64], along_x: bool| {
        let source = grid.to_vec();
        for y in 0..height as isize {
            for x in 0..width as isize {
                let mut sum = 0.0;
                for (offset, weight) in (-radius..=radius).zip(&kernel) {
                    let (sx, sy) = if along_x {
                        (x + offset, y)
                    } else {
                        (x, y + offset)
                    };
                    if sx >= 0 && sy >= 0 && (sx as usize) < width && (sy as usize) < height {
                        sum += weight * source[sy as usize * width + sx as usize];
                    }
                }
                grid[y as usize * width + x as usize] = sum;
            }
        }
    };
    pass(grid, true);
    pass(grid, false);
}

/// Draws the heat picture of `cells` (see [`page_cells`]) as PNG bytes.
///
/// Layout: a px scale on the left (a tick every 100 px, labelled every 500 px), the map (the
/// screenshot or white, the heat over it, the fold as a dashed red line), and under it a legend
/// (the colour ramp from 0 to the densest cell's event count after smoothing).
pub fn render_heatmap_png(cells: &[(i64, i64, f64)], options: &PngOptions) -> Result<Vec<u8>> {
    if options.bin_px == 0 {
        return Err(Error::InvalidParameter {
            parameter: "bin_px",
            message: "must be at least 1".into(),
        });
    }
    let bin = options.bin_px as usize;
    let screenshot = options
        .screenshot
        .as_deref()
        .map(decode_screenshot)
        .transpose()?;
    let cells_wide = cells
        .iter()
        .map(|&(x, _, _)| x as usize + 1)
        .max()
        .unwrap_or(1);
    let cells_high = cells
        .iter()
        .map(|&(_, y, _)| y as usize + 1)
        .max()
        .unwrap_or(1);
    let map_width = options
        .width_px
        .map(|w| w as usize)
        .or(screenshot.as_ref().map(|s| s.width))
        .unwrap_or(cells_wide.saturating_mul(bin))
        .clamp(1, SIDE_PX_MAX as usize);
    let map_height = screenshot
        .as_ref()
        .map_or(cells_high.saturating_mul(bin), |s| {
            s.height.max(cells_high.saturating_mul(bin))
        })
        .clamp(1, SIDE_PX_MAX as usize);
    let (width, height) = (
        SCALE_PX as usize + map_width,
        map_height + LEGEND_PX as usize,
    );
    if width * height > PICTURE_PIXELS_MAX {
        return Err(Error::PictureTooLarge {
            width_px: width,
            height_px: height,
            pixels_max: PICTURE_PIXELS_MAX,
        });
    }
    // Cells of `bin × factor` px keep the grid (and its blurred copy) within GRID_CELLS_MAX.
    let factor = (1..)
        .find(|factor| {
            map_width.div_ceil(bin * factor) * map_height.div_ceil(bin * factor) <= GRID_CELLS_MAX
        })
        .expect("a factor of map_width × map_height cells fits");
    let bin = bin * factor;
    let (grid_w, grid_h) = (map_width.div_ceil(bin), map_height.div_ceil(bin));
    let mut grid = vec![0.0; grid_w * grid_h];
    for &(x, y, events) in cells {
        let (x, y) = (x as usize / factor, y as usize / factor);
        if x < grid_w && y < grid_h {
            grid[y * grid_w + x] += events;
        }
    }
    blur(&mut grid, grid_w, grid_h);
    let peak = grid.iter().copied().fold(0.0, f64::max);

    let left = SCALE_PX as usize;
    let mut canvas = Canvas::new(width, height, [255, 255, 255, 255]);
    if let Some(shot) = &screenshot {
        for y in 0..shot.height.min(map_height) {
            let row = y * shot.width * 4;
            for x in 0..shot.width.min(map_width) {
                let at = row + x * 4;
                let pixel = shot.pixels[at..at + 4].try_into().expect("4 channels");
                canvas.set(left + x, y, pixel);
            }
        }
    }
    if peak > 0.0 {
        for y in 0..map_height {
            for x in 0..map_width {
                let density = sample(
                    &grid,
                    grid_w,
                    grid_h,
                    (x as f64 + 0.5) / bin as f64 - 0.5,
                    (y as f64 + 0.5) / bin as f64 - 0.5,
                ) / peak;
                if density > 0.01 {
                    // Faint heat fades into the page instead of ending in a hard edge.
                    canvas.blend(
                        left + x,
                        y,
                        viridis(density),
                        (density * 4.0).min(1.0) * 0.8,
                    );
                }
            }
        }
    }
    if let Some(fold) = options.fold_px {
        let y = fold.round() as usize;
        for x in (0..map_width).filter(|x| x % 12 < 8) {
            for dy in 0..2 {
                canvas.set(left + x, y + dy, [220, 20, 60, 255]);
            }
        }
        draw_text("fold", left + 4, y.saturating_sub(14), 2, |px, py| {
            canvas.set(px, py, [220, 20, 60, 255])
        });
    }
    draw_scale(&mut canvas, map_height);
    draw_legend(&mut canvas, map_height, peak);
    canvas.encode()
}

/// Bilinear sample of the grid at fractional cell coordinates.
fn sample(grid: &[f64], width: usize, height: usize, x: f64, y: f64) -> f64 {
    let x = x.clamp(0.0, (width - 1) as f64);
    let y = y.clamp(0.0, (height - 1) as f64);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let at = |x: usize, y: usize| grid[y * width + x];
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

fn draw_scale(canvas: &mut Canvas, map_height: usize) {
    let black = [40, 40, 40, 255];
    let right = SCALE_PX as usize - 1;
    for y in 0..map_height {
        canvas.set(right, y, black);
    }
    for y in (0..map_height).step_by(100) {
        let length = if y % 500 == 0 { 10 } else { 5 };
        for x in right - length..right {
            canvas.set(x, y, black);
        }
        if y % 500 == 0 {
            let label = y.to_string();
            let x = right.saturating_sub(12 + text_width(&label, 1));
            draw_text(&label, x, y + 2, 1, |px, py| canvas.set(px, py, black));
        }
    }
    draw_text("px", 2, 2, 1, |px, py| canvas.set(px, py, black));
}

fn draw_legend(canvas: &mut Canvas, map_height: usize, peak: f64) {
    let black = [40, 40, 40, 255];
    let top = map_height + 8;
    let left = SCALE_PX as usize;
    let ramp_width = 256.min(canvas.width.saturating_sub(left + 60)).max(16);
    for x in 0..ramp_width {
        let colour = viridis(x as f64 / (ramp_width - 1) as f64);
        for y in top..top + 14 {
            canvas.set(left + x, y, [colour[0], colour[1], colour[2], 255]);
        }
    }
    draw_text("0", left, top + 18, 2, |px, py| canvas.set(px, py, black));
    let peak_label = format!("{peak:.1}");
    let x = (left + ramp_width).saturating_sub(text_width(&peak_label, 2));
    draw_text(&peak_label, x, top + 18, 2, |px, py| {
        canvas.set(px, py, black)
    });
}

/// Encodes RGBA pixels (row after row) as PNG bytes.
pub fn encode_rgba_png(width: usize, height: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    encode_rgba(width, height, pixels)
}

/// Decodes PNG bytes into (width, height, RGBA pixels): for tests and for callers that check a
/// picture.
pub fn decode_rgba(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>)> {
    decode(bytes)
}
