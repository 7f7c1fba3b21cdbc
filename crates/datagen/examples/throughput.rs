//! Measures generation speed (events per second on one core):
//! `cargo run --release -p heatlake-datagen --example throughput -- [events] [ndjson|gz|parquet|both]`
//! (default 5,000,000 events, `both`: NDJSON and Parquet).
//!
//! `ndjson` goes to a sink that discards it (the cost is the generator's alone); `gz` and `parquet`
//! go to temporary files that are removed afterwards.

use std::time::Instant;

use heatlake_datagen::{GenConfig, write_ndjson, write_ndjson_file, write_parquet};
use heatlake_model::privacy::ids::IdSecret;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args
        .next()
        .map_or(Ok(5_000_000), |arg| arg.replace('_', "").parse())?;
    let which = args.next().unwrap_or_else(|| "both".to_owned());
    let config = GenConfig::with_events(events, 1);

    if which == "ndjson" || which == "both" {
        let mut bytes = CountingSink::default();
        let started = Instant::now();
        let summary = write_ndjson(&config, &mut bytes, |_| {})?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "ndjson:  {} events in {seconds:.2} s = {:.2} M events/s, {:.0} bytes/event",
            summary.events,
            summary.events as f64 / seconds / 1e6,
            bytes.0 as f64 / summary.events as f64
        );
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    if which == "gz" {
        let path = std::env::temp_dir().join(format!(
            "heatlake-throughput-{}.ndjson.gz",
            std::process::id()
        ));
        let started = Instant::now();
        let summary = write_ndjson_file(&config, &path, |_| {})?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "gz:      {} events in {seconds:.2} s = {:.2} M events/s, {:.1} bytes/event",
            summary.events,
            summary.events as f64 / seconds / 1e6,
            std::fs::metadata(&path)?.len() as f64 / summary.events as f64
        );
        std::fs::remove_file(&path)?;
    }
    if which == "parquet" || which == "both" {
        let dir = std::env::temp_dir().join(format!("heatlake-throughput-{}", std::process::id()));
        let secret = IdSecret::generate_from([3; 32]);
        let started = Instant::now();
        let summary = write_parquet(&config, &dir, &secret, 1_800_000_000_000, |_| {})?;
        let seconds = started.elapsed().as_secs_f64();
        let bytes: u64 = std::fs::read_dir(&dir)?
            .map(|entry| entry.map(|e| e.metadata().map(|m| m.len()).unwrap_or(0)))
            .sum::<Result<u64, _>>()?;
        println!(
            "parquet: {} events in {seconds:.2} s = {:.2} M events/s, {:.1} bytes/event",
            summary.events,
            summary.events as f64 / seconds / 1e6,
            bytes as f64 / summary.events as f64
        );
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// Counts bytes and discards them.
#[derive(Default)]
struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
