//! In-process tests of the collector's router against an in-memory sink, and one over a real
//! TCP socket. The test through the real write-ahead-log collector is in `heatlake-cli`'s tests,
//! which run the built binary.

mod auth;
mod bodies;
mod config;
mod limits;
mod observe;
mod pixel_optout;
mod serve;
mod support;
mod tracker;
