//! Integration tests of heatlake-query: one module per area, linked into one test binary.

mod analytics;
mod fixture;
mod pruning;
mod render;
mod scoped;
mod support;
