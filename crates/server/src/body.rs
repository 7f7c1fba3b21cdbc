//! Request bodies: read within `body_bytes_max`, decompress within `body_decoded_bytes_max`, and
//! cut into one JSON object per event (a JSON array or NDJSON).

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use http_body_util::{BodyExt, Limited};

use crate::budget::{Reservation, run_cpu};
use crate::error::{ApiError, Reason};
use crate::state::AppState;

/// Media types accepted for event bodies. `text/plain` is what `navigator.sendBeacon` sends for a
/// string, and it needs no CORS preflight; `application/x-www-form-urlencoded` is what
/// `curl --data-binary` sends unless told otherwise. The body is read as JSON or NDJSON whatever
/// the type says.
const ACCEPTED_CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "text/plain",
    "application/x-www-form-urlencoded",
];

/// Checks the `Content-Type` (absent is taken as JSON).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if ACCEPTED_CONTENT_TYPES.contains(&media.as_str()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::UnsupportedMediaType,
            format!(
                "Content-Type {media:?} is not accepted; send one of {}",
                ACCEPTED_CONTENT_TYPES.join(", ")
            ),
        ))
    }
}

/// Decompressed bytes read at a time.
const DECODE_CHUNK_BYTES: usize = 64 << 10;

/// Reads the body, refusing more than `limits.body_bytes_max` bytes, then decodes its
/// `Content-Encoding` (gzip, deflate or none), refusing more than
/// `limits.body_decoded_bytes_max` decoded bytes. Gives the received size and the decoded body.
///
/// What the body holds is reserved in `reservation` before it is read or decoded: the
/// received size (the declared `Content-Length`, else `body_bytes_max`) and the decoded bytes
/// as they grow; a spent budget refuses the request before the work.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    state: &AppState,
    reservation: &mut Reservation,
) -> Result<(usize, Bytes), ApiError> {
    let limits = &state.config().limits;
    let too_large = || {
        ApiError::limit(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_bytes_max",
            format!(
                "the request body is larger than body_bytes_max ({} bytes); send fewer events per request",
                limits.body_bytes_max
            ),
            None,
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.body_bytes_max as u64) {
        return Err(too_large());
    }
    reservation.grow(declared.map_or(limits.body_bytes_max, |length| length as usize))?;
    let raw = match Limited::new(body, limits.body_bytes_max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(error) => {
            return Err(ApiError::bad_request(format!(
                "cannot read the request body: {error}"
            )));
        }
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let encoding = match encoding.as_str() {
        "" | "identity" => return Ok((raw.len(), raw)),
        "gzip" | "x-gzip" => Encoding::Gzip,
        // HTTP's "deflate" is zlib-wrapped, but many clients send raw deflate: accept both.
        "deflate" if looks_like_zlib(&raw) => Encoding::Zlib,
        "deflate" => Encoding::Deflate,
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Reason::UnsupportedMediaType,
                format!("Content-Encoding {other:?} is not accepted; send gzip, deflate or none"),
            ));
        }
    };
    let received = raw.len();
    let limit = limits.body_decoded_bytes_max;
    // A few hundred compressed bytes can decode to megabytes: never on a serving thread.
    let mut moved = reservation.take();
    let (decoded, moved) = run_cpu(state.cpu_permits(), move || {
        (decode(&raw, encoding, limit, &mut moved), moved)
    })
    .await;
    *reservation = moved;
    decoded.map(|decoded| (received, decoded))
}

/// A `Content-Encoding` the collector decodes.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Gzip,
    Zlib,
    Deflate,
}

/// Whether `bytes` start with a zlib header (RFC 1950: method 8, check bits).
fn looks_like_zlib(bytes: &[u8]) -> bool {
    bytes.len() >= 2
        && bytes[0] & 0x0f == 8
        && (u16::from(bytes[0]) << 8 | u16::from(bytes[1])) % 31 == 0
}

/// Decompresses at most `limit` bytes (one byte more is a 413), reserving the memory of the
/// output from the in-flight budget before it is allocated.
fn decode(
    raw: &[u8],
    encoding: Encoding,
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, ApiError> {
    let (name, mut reader): (&str, Box<dyn Read + '_>) = match encoding {
        Encoding::Gzip => ("gzip", Box::new(MultiGzDecoder::new(raw))),
        Encoding::Zlib => ("deflate", Box::new(ZlibDecoder::new(raw))),
        Encoding::Deflate => ("deflate", Box::new(DeflateDecoder::new(raw))),
    };
    let mut chunk = vec![0u8; DECODE_CHUNK_BYTES];
    reservation.grow(DECODE_CHUNK_BYTES)?;
    let mut decoded: Vec<u8> = Vec::new();
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(Bytes::from(decoded)),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(ApiError::bad_request(format!(
                    "invalid {name} body: {error}"
                )));
            }
        };
        if decoded.len() + read > limit {
            return Err(ApiError::limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_decoded_bytes_max",
                format!(
                    "the decompressed request body is larger than body_decoded_bytes_max ({limit} bytes)"
                ),
                None,
            ));
        }
        if decoded.capacity() < decoded.len() + read {
            // Doubling keeps the copies linear; the budget holds the capacity, not the length.
            let capacity = (decoded.capacity() * 2)
                .max(DECODE_CHUNK_BYTES)
                .min(limit)
                .max(decoded.len() + read);
            reservation.grow(capacity - decoded.capacity())?;
            decoded.reserve_exact(capacity - decoded.len());
        }
        decoded.extend_from_slice(&chunk[..read]);
    }
}

/// Cuts a body into one slice per event: the elements of a JSON array, or the non-blank lines
/// of NDJSON. Refuses more than `events_max` events with 413, and an empty body with 400.
pub fn split_events(body: &[u8], events_max: usize) -> Result<Vec<&[u8]>, ApiError> {
    let start = body
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(body.len());
    let events = if body.get(start) == Some(&b'[') {
        split_array(&body[start..], events_max)?
    } else {
        let mut lines = Vec::new();
        for line in body.split(|byte| *byte == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if lines.len() == events_max {
                return Err(too_many_events(events_max));
            }
            lines.push(line);
        }
        lines
    };
    if events.is_empty() {
        return Err(ApiError::bad_request(
            "the request body holds no events: send a JSON array or one JSON object per line",
        ));
    }
    Ok(events)
}

fn too_many_events(events_max: usize) -> ApiError {
    ApiError::limit(
        StatusCode::PAYLOAD_TOO_LARGE,
        "events_per_request_max",
        format!("more than events_per_request_max ({events_max}) events in one request"),
        None,
    )
}

/// The top-level elements of a JSON array, found by tracking strings and nesting; each element
/// is decoded (and its syntax checked) later, one by one.
fn split_array(array: &[u8], events_max: usize) -> Result<Vec<&[u8]>, ApiError> {
    let unterminated =
        || ApiError::bad_request("the JSON array of events is not terminated by `]`");
    let mut elements = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut element_start = 1;
    for (index, &byte) in array.iter().enumerate().skip(1) {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b']' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => {
                let element = trim(&array[element_start..index]);
                if element.is_empty() {
                    if byte == b',' || !elements.is_empty() {
                        return Err(ApiError::bad_request(format!(
                            "empty element in the JSON array of events at byte {index}"
                        )));
                    }
                } else {
                    if elements.len() == events_max {
                        return Err(too_many_events(events_max));
                    }
                    elements.push(element);
                }
                if byte == b']' {
                    if !trim(&array[index + 1..]).is_empty() {
                        return Err(ApiError::bad_request(
                            "unexpected characters after the JSON array of events",
                        ));
                    }
                    return Ok(elements);
                }
                element_start = index + 1;
            }
            _ => {}
        }
    }
    Err(unterminated())
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|byte| !byte.is_ascii_whitespace())
        .map_or(start, |end| end + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arrays_with_nesting_and_strings() {
        let body = br#" [ {"a":"x,]}","b":[1,2]} , {"c":{"d":"\"]"}} ] "#;
        let events = split_events(body, 10).unwrap();
        assert_eq!(
            events,
            vec![
                &br#"{"a":"x,]}","b":[1,2]}"#[..],
                &br#"{"c":{"d":"\"]"}}"#[..]
            ]
        );
    }

    #[test]
    fn splits_ndjson_and_skips_blank_lines() {
        let events = split_events(b"{\"a\":1}\n\n  \n{\"b\":2}\r\n", 10).unwrap();
        assert_eq!(events, vec![&b"{\"a\":1}"[..], &b"{\"b\":2}\r"[..]]);
    }

    #[test]
    fn refuses_bad_arrays_and_too_many_events() {
        assert_eq!(split_events(b"[{},", 10).unwrap_err().status, 400);
        assert_eq!(split_events(b"[{},,{}]", 10).unwrap_err().status, 400);
        assert_eq!(split_events(b"[] x", 10).unwrap_err().status, 400);
        assert_eq!(split_events(b"[]", 10).unwrap_err().status, 400);
        let error = split_events(b"[{},{},{}]", 2).unwrap_err();
        assert_eq!(
            (error.status, error.body.limit.as_deref()),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("events_per_request_max")
            )
        );
        assert_eq!(split_events(b"{}\n{}\n{}", 2).unwrap_err().status, 413);
    }

    #[test]
    fn recognises_zlib_headers() {
        assert!(looks_like_zlib(&[0x78, 0x9c]));
        assert!(!looks_like_zlib(&[0x4b, 0x4c]));
    }
}
