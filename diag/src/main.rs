//! `wdfkey-diag`: the diagnosis tools on their own — `scan` for driver
//! sources, `triage` for crash text — without the simulator or the driver.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use wdfkey_diag::cli::{self, ScanArgs, TriageArgs};

/// Finds WDFKEY handle misuse in KMDF drivers: in their C, C++ and Rust
/// sources (`scan`), and in the `!analyze -v` text of a crash (`triage`).
#[derive(Parser, Debug)]
#[command(name = "wdfkey-diag", version, about, long_about, after_help = cli::EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Triage(TriageArgs),
    Scan(ScanArgs),
}

const PROGRAM: &str = "wdfkey-diag";

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Triage(args) => cli::run_triage(PROGRAM, &args),
        Command::Scan(args) => cli::run_scan(PROGRAM, &args),
    }
}
