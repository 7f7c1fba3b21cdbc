//! Integration tests of heatlake-model: one module per area, linked into one test binary.

mod json_bounds;
mod privacy;
mod privacy_evasions;
mod wire_format_doc;
