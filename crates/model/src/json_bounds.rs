//! The shape of a JSON text, measured before it is decoded.
//!
//! `serde_json` builds a [`serde_json::Value`] tree of whatever it is given: a small gzip body
//! inflates to megabytes of `[0,0,0,...]`, and every two bytes of that become one `Value` of
//! [`VALUE_BYTES_WORST`] bytes or so. [`check_json`] counts the values and the nesting depth of a
//! JSON text in one pass over its bytes, allocating nothing, and refuses a text past its
//! [`JsonBounds`] before any decoder runs. The counts it returns ([`JsonShape`]) let a caller
//! reserve memory for the decode.
//!
//! The scan does not check the syntax: it counts what a decoder would build if the text were
//! valid, and leaves errors to the decoder that runs next.
//!
//! ```
//! use heatlake_model::json_bounds::{JsonBounds, check_json};
//!
//! let shape = check_json(br#"{"a":[1,2,{"b":"x"}]}"#, &JsonBounds::default()).unwrap();
//! assert_eq!((shape.values, shape.depth), (6, 3));
//!
//! let bounds = JsonBounds { values_max: 3, ..JsonBounds::default() };
//! let error = check_json(b"[0,0,0,0]", &bounds).unwrap_err();
//! assert!(error.to_string().contains("json_values_max (3)"), "{error}");
//! ```

use crate::ValidationError;

/// Deepest nesting `serde_json` decodes (its recursion limit): deeper texts fail to decode anyway,
/// so [`JsonBounds::default`] refuses them here, with a message that names the bound.
pub const SERDE_JSON_DEPTH_MAX: usize = 127;

/// Bytes one decoded JSON value may hold at most, measured (`tests/it/json_bounds.rs`) on the
/// shapes that cost the most per value: its slot in the parent (`size_of::<Value>()`, 32 bytes on
/// 64-bit targets), its share of a growing array's unused capacity (up to as much again) and, in an
/// object, its key and its share of a B-tree node. Allocator overhead comes on top.
///
/// A budget of `N` values therefore costs at most `N * VALUE_BYTES_WORST` bytes once decoded. The
/// worst ratio to the input is the array of single digits: two input bytes per value, so an 8 MiB
/// body of `[0,0,...]` is 4.2 million values and up to 268 MiB of `Value` without a bound.
pub const VALUE_BYTES_WORST: usize = 160;

/// Bounds of one JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonBounds {
    /// Most values (scalars, arrays and objects; object keys are not counted apart, their cost is
    /// in [`VALUE_BYTES_WORST`]). Default 1,000,000: at most 160 MB decoded, room for the
    /// FullSnapshot of a page of 50,000 nodes (the mapper's `nodes_per_page_max`), which takes
    /// some 6 values per node (5.5 in `datasets/rrweb`).
    pub values_max: usize,
    /// Deepest nesting of arrays and objects. Default [`SERDE_JSON_DEPTH_MAX`], what the decoder
    /// accepts: a FullSnapshot takes two levels per element, so pages 60 elements deep pass.
    pub depth_max: usize,
}

impl Default for JsonBounds {
    fn default() -> Self {
        Self {
            values_max: 1_000_000,
            depth_max: SERDE_JSON_DEPTH_MAX,
        }
    }
}

/// What [`check_json`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonShape {
    /// Values: scalars, arrays and objects.
    pub values: usize,
    /// Deepest nesting of arrays and objects (0 for a lone scalar).
    pub depth: usize,
}

impl JsonShape {
    /// The most bytes the decoded `Value` tree may take ([`VALUE_BYTES_WORST`] per value).
    pub fn decoded_bytes_worst(&self) -> usize {
        self.values.saturating_mul(VALUE_BYTES_WORST)
    }
}

/// Counts the values and the nesting depth of the JSON text `bytes` in one pass, refusing it as
/// soon as it holds more than `bounds.values_max` values or nests deeper than `bounds.depth_max`.
///
/// The error names the bound (`json_values_max`, `json_depth_max`) and the byte offset where it
/// was passed.
pub fn check_json(bytes: &[u8], bounds: &JsonBounds) -> Result<JsonShape, ValidationError> {
    let mut scan = Scan {
        bounds,
        shape: JsonShape::default(),
        depth: 0,
        in_scalar: false,
        string_pending: false,
    };
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
                // A value, unless a `:` follows and makes it an object's key.
                scan.string_pending = true;
            }
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => scan.in_scalar = false,
            b':' => {
                scan.string_pending = false;
                scan.in_scalar = false;
            }
            b'"' => {
                scan.settle(offset)?;
                scan.in_scalar = false;
                in_string = true;
            }
            b'[' | b'{' => {
                scan.settle(offset)?;
                scan.in_scalar = false;
                scan.value(offset)?;
                scan.depth += 1;
                if scan.depth > bounds.depth_max {
                    return Err(ValidationError::Malformed {
                        message: format!(
                            "the JSON text nests deeper than json_depth_max ({}) (at byte {offset})",
                            bounds.depth_max
                        ),
                    });
                }
                scan.shape.depth = scan.shape.depth.max(scan.depth);
            }
            b']' | b'}' | b',' => {
                scan.settle(offset)?;
                scan.in_scalar = false;
                if byte != b',' {
                    scan.depth = scan.depth.saturating_sub(1);
                }
            }
            // A number, `true`, `false` or `null` (or garbage the decoder will refuse).
            _ => {
                scan.settle(offset)?;
                if !scan.in_scalar {
                    scan.in_scalar = true;
                    scan.value(offset)?;
                }
            }
        }
    }
    scan.settle(bytes.len())?;
    Ok(scan.shape)
}

/// The counting part of [`check_json`]'s state.
struct Scan<'b> {
    bounds: &'b JsonBounds,
    shape: JsonShape,
    depth: usize,
    /// Inside a number or literal: its further bytes are not new values.
    in_scalar: bool,
    /// A string ended and what follows has not yet said whether it was a key.
    string_pending: bool,
}

impl Scan<'_> {
    fn value(&mut self, offset: usize) -> Result<(), ValidationError> {
        self.shape.values += 1;
        if self.shape.values > self.bounds.values_max {
            return Err(ValidationError::Malformed {
                message: format!(
                    "the JSON text holds more than json_values_max ({}) values (at byte {offset})",
                    self.bounds.values_max
                ),
            });
        }
        Ok(())
    }

    /// Counts the string that ended before `offset`, now known not to be a key.
    fn settle(&mut self, offset: usize) -> Result<(), ValidationError> {
        if self.string_pending {
            self.string_pending = false;
            self.value(offset)?;
        }
        Ok(())
    }
}
