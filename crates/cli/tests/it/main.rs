//! End-to-end tests of the `heatlake` binary: each runs the built binary in a fresh temporary
//! directory (its working directory and `HEATLAKE_HOME`), against local tables and a real
//! S3-compatible server (moto; `scripts/test` starts one and names it in
//! `HEATLAKE_TEST_S3_ENDPOINT`, else the tests start their own).

mod analytics;
mod attack;
mod bad_input;
mod collector;
mod collector_crash;
mod collector_disk_full;
mod collector_faults;
mod collector_load;
mod end_to_end;
#[path = "../../../ingest/tests/it/faulty_disk.rs"]
#[expect(
    dead_code,
    reason = "shared with the ingest tests, which use all of it; a tmpfs is enough here"
)]
mod faulty_disk;
mod many_writers;
mod privacy;
mod s3;
mod store_proxy;
mod support;
