//! `wdfkey-harness`: the host harness of wdfkey-guard.
//!
//! Its commands (stress, fault sweep, crash replay, triage, scan) arrive with
//! their issues. Until then it only explains itself, so that scripts and
//! README can already name the binary.

use clap::Parser;

/// Runs the wdfkey-guard driver under the KMDF simulator.
///
/// The stress, replay, bench, triage and scan commands are not part of this
/// build yet. Today, the simulator and its negative controls run with
/// `cargo test --workspace`.
#[derive(Parser, Debug)]
#[command(name = "wdfkey-harness", version, about, long_about)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "wdfkey-harness: no commands are available in this build yet.\n\
         Run the simulator's tests instead: cargo test --workspace"
    );
    std::process::ExitCode::from(2)
}
