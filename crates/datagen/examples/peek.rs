//! Prints the events of a configuration as NDJSON, and its summary to stderr:
//! `cargo run -p heatlake-datagen --example peek -- [events] [seed]` (default 40 events, seed 42).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(40), |arg| arg.parse())?;
    let seed: u64 = args.next().map_or(Ok(42), |arg| arg.parse())?;
    let config = heatlake_datagen::GenConfig::with_events(events, seed);
    let summary = heatlake_datagen::write_ndjson(&config, std::io::stdout().lock(), |_| {})?;
    eprintln!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
