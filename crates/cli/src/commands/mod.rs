//! One module per subcommand.

pub mod bench;
pub mod compact;
pub mod ctr;
pub mod frustration;
pub mod funnel;
pub mod generate;
pub mod heatmap;
pub mod import;
mod question;
pub mod report;
pub mod salvage_wal;
pub mod scroll;
pub mod serve;
pub mod sql;
pub mod vacuum;
