//! In-process tests of the collector's router against an in-memory sink (and, for the read
//! routes, a real Delta table holding `heatlake-query`'s hand-built fixture), and one over a
//! real TCP socket. The test through the real write-ahead-log collector is in `heatlake-cli`'s tests,
//! which run the built binary.

mod auth;
mod bodies;
mod config;
mod error_doc;
#[path = "../../../query/tests/it/fixture.rs"]
#[allow(
    dead_code,
    reason = "the query crate's fixture, of which these tests use a part"
)]
mod fixture;
mod held_sink;
mod hostile;
mod limits;
mod observe;
mod pixel_optout;
mod read;
mod read_limits;
mod read_support;
mod serve;
mod support;
mod timeouts;
mod tracker;
