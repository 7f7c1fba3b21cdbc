//! A minimal PNG codec: writes 8-bit RGBA, reads 8-bit grey, grey+alpha, RGB and RGBA
//! (non-interlaced), which is what browsers' and headless Chromium's screenshots are.
//!
//! Written here on top of `flate2` (already in the workspace) instead of adding an image crate:
//! the `png` crate changed the feature resolution of shared dependencies and forced a full
//! DataFusion rebuild.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::{Error, Result};

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
/// Largest side of a picture read or written, in px.
pub const SIDE_PX_MAX: u32 = 16_384;
/// Most pixels of a picture read or written (width × height): 32 Mi px, 128 MiB as RGBA, which
/// holds a 1920 px wide page 16 384 px long. Checked before any pixel buffer is allocated.
pub const PIXELS_MAX: usize = 32 * 1024 * 1024;

/// The CRC-32 a PNG chunk ends with: flate2's (the same IEEE polynomial as zlib's) over the chunk
/// type and data.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = flate2::Crc::new();
    for part in parts {
        crc.update(part);
    }
    crc.sum()
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// Encodes `pixels` (RGBA, row after row) as a PNG.
pub fn encode_rgba(width: usize, height: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    debug_assert_eq!(pixels.len(), width * height * 4);
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
    for row in pixels.chunks(width * 4) {
        encoder.write_all(&[0])?;
        encoder.write_all(row)?;
    }
    let data = encoder.finish()?;
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn unreadable(message: impl Into<String>) -> Error {
    Error::InvalidParameter {
        parameter: "screenshot",
        message: format!("not a readable PNG: {}", message.into()),
    }
}

/// Decodes a PNG into (width, height, RGBA pixels).
pub fn decode_rgba(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>)> {
    if bytes.len() < 8 || bytes[..8] != SIGNATURE {
        return Err(unreadable("no PNG signature"));
    }
    let mut at = 8;
    let mut header = None;
    let mut data = Vec::new();
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = &bytes[at + 4..at + 8];
        let body = bytes
            .get(at + 8..at + 8 + length)
            .ok_or_else(|| unreadable("a chunk runs past the end"))?;
        match kind {
            b"IHDR" if length == 13 => header = Some(body.to_vec()),
            b"IDAT" => data.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + length;
    }
    let header = header.ok_or_else(|| unreadable("no IHDR chunk"))?;
    let width = u32::from_be_bytes(header[0..4].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(header[4..8].try_into().expect("4 bytes"));
    let (depth, colour, interlace) = (header[8], header[9], header[12]);
    if width == 0 || height == 0 || width > SIDE_PX_MAX || height > SIDE_PX_MAX {
        return Err(unreadable(format!(
            "{width}×{height} px is outside 1..={SIDE_PX_MAX} per side"
        )));
    }
    if width as usize * height as usize > PIXELS_MAX {
        return Err(unreadable(format!(
            "{width}×{height} px is more than {PIXELS_MAX} pixels"
        )));
    }
    let channels = match colour {
        0 => 1,
        4 => 2,
        2 => 3,
        6 => 4,
        _ => {
            return Err(unreadable(
                "palette images are not supported: save it as RGB or RGBA",
            ));
        }
    };
    if depth != 8 || interlace != 0 {
        return Err(unreadable(
            "only 8-bit, non-interlaced images are supported",
        ));
    }
    let (width, height) = (width as usize, height as usize);
    let stride = width * channels;
    let mut raw = Vec::with_capacity((stride + 1) * height);
    ZlibDecoder::new(&data[..])
        .take(((stride + 1) * height) as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|error| unreadable(error.to_string()))?;
    if raw.len() < (stride + 1) * height {
        return Err(unreadable("the image data is short"));
    }
    let mut previous = vec![0u8; stride];
    let mut current = vec![0u8; stride];
    let mut rgba = Vec::with_capacity(width * height * 4);
    for row in 0..height {
        let line = &raw[row * (stride + 1)..(row + 1) * (stride + 1)];
        let filter = line[0];
        for i in 0..stride {
            let left = if i >= channels {
                current[i - channels]
            } else {
                0
            };
            let up = previous[i];
            let up_left = if i >= channels {
                previous[i - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => return Err(unreadable(format!("unknown row filter {filter}"))),
            };
            current[i] = line[1 + i].wrapping_add(predicted);
        }
        for pixel in current.chunks(channels) {
            match channels {
                1 => rgba.extend_from_slice(&[pixel[0], pixel[0], pixel[0], 255]),
                2 => rgba.extend_from_slice(&[pixel[0], pixel[0], pixel[0], pixel[1]]),
                3 => rgba.extend_from_slice(&[pixel[0], pixel[1], pixel[2], 255]),
                _ => rgba.extend_from_slice(pixel),
            }
        }
        std::mem::swap(&mut previous, &mut current);
    }
    Ok((width, height, rgba))
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_iend_is_the_standard_one() {
        assert_eq!(crc32(&[b"IEND"]), 0xae42_6082);
    }

    #[test]
    fn round_trip() {
        let pixels: Vec<u8> = (0..3 * 2 * 4).map(|n| (n * 11) as u8).collect();
        let bytes = encode_rgba(3, 2, &pixels).unwrap();
        assert_eq!(decode_rgba(&bytes).unwrap(), (3, 2, pixels));
        assert!(
            decode_rgba(b"GIF89a")
                .unwrap_err()
                .to_string()
                .starts_with("invalid screenshot:")
        );
    }
}
