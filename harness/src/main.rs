//! `wdfkey-harness`: runs the wdfkey-guard driver's own code under the KMDF
//! simulator — the VM script's stress cycle, an exhaustive fault sweep, the
//! original crash replayed next to its absence with RegKey, and benchmarks.

mod allocator;
mod bench;
#[cfg(test)]
mod cli_tests;
mod cycle;
mod faults;
mod output;
mod p1_sequences;
mod replay;
#[cfg(test)]
mod replay_fixtures;
mod report;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod run_sys;
mod stress;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The binary's name in messages.
const PROGRAM: &str = "wdfkey-harness";

#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator;

/// Exit status of a run that passed (every subcommand).
const EXIT_PASS: u8 = 0;
/// Exit status of a run that found something.
const EXIT_FOUND: u8 = 1;
/// Exit status of a run refused before any work: bad arguments, an
/// unreadable input, an output path that cannot be written.
const EXIT_USAGE: u8 = 2;
/// Exit status of a stress run ended by SIGINT, SIGTERM or SIGHUP.
const EXIT_INTERRUPTED: u8 = 130;

/// The exit codes of every subcommand, shown by every `--help` (harness/README.md
/// carries the same table; a test keeps them equal).
const EXIT_CODES: &str = "\
Exit codes (all subcommands):
  0    stress: every cycle passed. faults: every point passed. replay-crash: every outcome as
       expected. bench: figures printed (with --check: and every target met). scan: no finding (a file
       read only in part is listed with its unread lines; --strict makes that 2). triage: the
       text or dump was read, whatever the verdict.
  1    stress: a bug check, ownership violation, leak, finding or failed step (the run stops there).
       faults: a point failed. replay-crash: an outcome was not reproduced. bench: its long run
       failed, or with --check a target was MISSED. scan: any finding (unreadable paths still
       listed). triage: never.
  2    refused before any work: bad arguments, --cycles 0, a --report path that cannot be written.
       scan: nothing scannable (no source file under the paths, every path unreadable), no paths,
       an unknown --explain code, or with --strict a file read only in part. triage: an unreadable
       file, no bug check in the text, a truncated or corrupt dump.
  130  stress only: stopped by Ctrl-C, SIGTERM or SIGHUP; the current cycle is finished and the
       partial report written (result \"interrupted\"). Other subcommands end at once on a signal.";

/// Runs the wdfkey-guard KMDF driver under the KMDF simulator.
///
/// The simulator models the parts of KMDF and the NT kernel the driver
/// touches — the kernel handle table, framework objects, the registry, PnP,
/// Driver Verifier and the KMDF verifier — so the driver's own source runs
/// here exactly as it would on a test VM, thousands of cycles a second.
#[derive(Parser, Debug)]
#[command(
    name = "wdfkey-harness",
    bin_name = "wdfkey-harness",
    version,
    about,
    long_about,
    after_long_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--cycles`: a whole number, at least 1 (the same rule for every subcommand).
/// An IOCTL code: `0x…` hexadecimal or decimal.
fn ioctl_code(s: &str) -> Result<u32, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("{s:?} is not a 32-bit control code (0x… or decimal): {e}"))
}

fn cycles_arg(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("must be at least 1 (0 cycles would test nothing)".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; give a whole number of cycles, at least 1")),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the VM script's cycle N times: load, add device, IOCTLs, disable,
    /// enable, unload — with every verifier on. Stops at the first bug check,
    /// ownership violation, leak or finding, prints the `!analyze -v` view and
    /// the command that reproduces it, and exits 1. Ctrl-C, SIGTERM or SIGHUP
    /// finish the current cycle and stop with a partial report (exit 130).
    ///
    /// Every cycle starts from the driver's service key as the INF
    /// provisioned it (Parameters as provisioned; values written since, such
    /// as what IOCTLs stored and LoadCount, removed), so what a cycle does
    /// depends on its number and the seed only.
    ///
    /// With --jobs N, N simulated machines run at once, one per thread:
    /// machine k runs cycles k, k+N, k+2N, ..., so the cycles and their DDI
    /// calls are the same whatever N (handle values and slot reuse follow
    /// each machine's own history). One progress bar and one report cover
    /// all machines; on a failure the machines stop at the first failing
    /// cycle, and the reproduce command names N.
    #[command(after_long_help = EXIT_CODES)]
    Stress {
        /// How many cycles (at least 1).
        #[arg(long, default_value_t = 1000, value_parser = cycles_arg)]
        cycles: u64,
        /// How many machines (threads) run the cycles, 1 to 256.
        #[arg(long, default_value_t = 1, value_parser = stress::jobs_arg)]
        jobs: usize,
        /// Seed of the random sequences (with --random); recorded in the report.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Draw each cycle's PnP and I/O sequence from the seed (reproducible).
        #[arg(long)]
        random: bool,
        /// Write the JSON report (schemas/stress-report.schema.json) to this
        /// file; checked before the run starts.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Fails every status-returning DDI call of one full cycle in turn, with
    /// the statuses the DDI documents, runs on to unload, and checks that
    /// nothing stopped, leaked or broke ownership. Exits 1 if any point fails.
    #[command(after_long_help = EXIT_CODES)]
    Faults {
        /// Write the JSON report (schemas/faults-report.schema.json) to this
        /// file; checked before the sweep starts.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Replays the original crash with a raw variant of the driver that
    /// ZwCloses its WDFKEY's handle at unload: the three outcomes (protected
    /// reuse → 0x93 {h,0,0,0}; free slot → silent or 0x93 {h,1,0,0}; unprotected
    /// reuse → a victim's handle closed), each with its handle timeline — then
    /// the same cycle with RegKey, clean. Exits 1 if any outcome differs.
    #[command(after_long_help = EXIT_CODES)]
    ReplayCrash,
    /// Prints the speed figures: RegKey vs raw calls (P1), cycles per second
    /// and flat time/memory over a long run (P2), one fault sweep (P3). A
    /// figure that misses its target is marked MISSED; the run is a
    /// measurement and exits 0 unless --check is given.
    #[command(after_long_help = EXIT_CODES)]
    Bench {
        /// Cycles for P2 (at least 1).
        #[arg(long, default_value_t = 100_000, value_parser = cycles_arg)]
        cycles: u64,
        /// Exit 1 if any figure misses its target.
        #[arg(long)]
        check: bool,
    },
    /// Runs the stress cycle on a KMDF driver image (.sys, x64 PE) loaded
    /// natively by the simulator (Linux x86_64 only): the package installed,
    /// then per cycle a root-enumerated devnode added (first cycle) or
    /// enabled — which loads the driver —, disabled, enabled and disabled —
    /// which unloads it — with every verifier on. Stops at the first bug
    /// check, ownership violation, leak or finding, prints the `!analyze -v`
    /// view, and exits 1. An image that cannot be loaded (not an x64 PE, a
    /// malformed table) exits 2 before any cycle. Build a C driver with
    /// scripts/cdriver/build (scripts/cdriver/README.md).
    #[command(name = "run-sys", after_long_help = EXIT_CODES)]
    RunSys {
        /// The driver image.
        #[arg(value_name = "DRIVER.sys")]
        driver: PathBuf,
        /// How many cycles (at least 1).
        #[arg(long, default_value_t = 100, value_parser = cycles_arg)]
        cycles: u64,
        /// The driver's service name (default: the image's file stem).
        #[arg(long)]
        service: Option<String>,
        /// The devnode's hardware ID (default: Root\<service>).
        #[arg(long, value_name = "ID")]
        hardware_id: Option<String>,
        /// After each start, an application opens the device's interface
        /// and ROUNDS times writes a pattern, reads as many bytes and sends
        /// an IOCTL, each synchronously (simulated time runs until it
        /// completes; one still pending after 10 s of it fails the cycle).
        /// The I/O summary line says what was served.
        #[arg(long, value_name = "ROUNDS", default_value_t = 0)]
        io: u64,
        /// The IOCTL code the application sends with --io (hex with 0x, or decimal).
        #[arg(long, value_name = "CODE", default_value = "0x222003", value_parser = ioctl_code)]
        ioctl: u32,
        /// With --io: a read that does not return the bytes just written
        /// fails the cycle (an echo device's contract).
        #[arg(long)]
        expect_echo: bool,
        /// Write the JSON report (schemas/stress-report.schema.json) to this
        /// file; checked before the run starts.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    #[command(after_long_help = EXIT_CODES)]
    Triage(wdfkey_diag::cli::TriageArgs),
    #[command(after_long_help = EXIT_CODES)]
    Scan(wdfkey_diag::cli::ScanArgs),
}

/// Checks an output path before any work, and says what is wrong with it.
fn check_report_path(path: Option<&Path>) -> Result<(), ExitCode> {
    match path.map(output::check_writable).transpose() {
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("{PROGRAM}: --report: {e}");
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// Writes a report to a path `check_report_path` accepted.
fn write_report(path: Option<&Path>, value: &impl serde::Serialize) -> Result<(), ExitCode> {
    match path.map(|p| output::write_json(p, value)).transpose() {
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("{PROGRAM}: {e}");
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// The progress bar's rate: whole cycles per second (`2323 cycles/s`).
fn rate_text(per_sec: f64) -> String {
    if per_sec.is_finite() { format!("{per_sec:.0} cycles/s") } else { "- cycles/s".into() }
}

/// The progress bar's template; `{rate}` is `rate_text`.
const PROGRESS_TEMPLATE: &str = "{bar:40} {pos}/{len} cycles  {rate}  eta {eta}";

fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template(PROGRESS_TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_bar()).with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&rate_text(state.per_sec()));
        },
    )
}

fn stress(options: &stress::Options, report_path: Option<&Path>) -> ExitCode {
    // The handler first: a signal from here on ends the run cleanly.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    // SIGINT, SIGTERM and SIGHUP (ctrlc's `termination` feature). It fails
    // only if a handler is already installed, which this process never does.
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        eprintln!(
            "{PROGRAM}: warning: cannot catch Ctrl-C/SIGTERM/SIGHUP ({e}); a signal will end the run without a report"
        );
    }
    if let Err(code) = check_report_path(report_path) {
        return code;
    }
    let bar = ProgressBar::new(options.cycles);
    bar.set_style(progress_style());
    let report = stress::run(options, &interrupted, &bar);
    bar.finish_and_clear();
    finish_stress_report(&report, report_path)
}

/// Prints a stress-shaped report (each bug check's `!analyze -v` view, then
/// the summary), writes it, and gives its exit code.
fn finish_stress_report(report: &report::StressReport, report_path: Option<&Path>) -> ExitCode {
    for b in &report.bug_checks {
        println!("{}", b.analysis);
    }
    print!("{}", report.summary());
    if let Err(code) = write_report(report_path, report) {
        return code;
    }
    match report.result.as_str() {
        "pass" => ExitCode::from(EXIT_PASS),
        "interrupted" => ExitCode::from(EXIT_INTERRUPTED),
        _ => ExitCode::from(EXIT_FOUND),
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn run_sys(options: &run_sys::Options, report_path: Option<&Path>) -> ExitCode {
    if let Err(code) = check_report_path(report_path) {
        return code;
    }
    let bar = ProgressBar::new(options.cycles);
    bar.set_style(progress_style());
    let report = match run_sys::run(options, &bar) {
        Ok((r, io)) => {
            if options.io_rounds > 0 {
                println!("{}", io.summary());
            }
            r
        }
        Err(e) => {
            bar.finish_and_clear();
            eprintln!("{PROGRAM}: run-sys: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    bar.finish_and_clear();
    finish_stress_report(&report, report_path)
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn run_sys(_options: &(), _report_path: Option<&Path>) -> ExitCode {
    eprintln!("{PROGRAM}: run-sys loads a driver image natively and needs Linux on x86_64");
    ExitCode::from(EXIT_USAGE)
}

fn faults(report_path: Option<&Path>) -> ExitCode {
    if let Err(code) = check_report_path(report_path) {
        return code;
    }
    let report = faults::sweep_report();
    print!("{}", report.render());
    if let Err(code) = write_report(report_path, &report) {
        return code;
    }
    if report.result == "pass" { ExitCode::from(EXIT_PASS) } else { ExitCode::from(EXIT_FOUND) }
}

fn replay_crash() -> ExitCode {
    let outcomes = replay::replay();
    let mut all = true;
    for o in &outcomes {
        println!("==== {} [{}]\n{}", o.title, if o.caught { "as expected" } else { "NOT REPRODUCED" }, o.text);
        all &= o.caught;
    }
    if all { ExitCode::from(EXIT_PASS) } else { ExitCode::from(EXIT_FOUND) }
}

fn bench(cycles: u64, check: bool) -> ExitCode {
    let result = bench::run(cycles);
    print!("{}", result.render());
    if result.failed || (check && !result.all_met()) { ExitCode::from(EXIT_FOUND) } else { ExitCode::from(EXIT_PASS) }
}

/// The command line, run; `main` of the binary users run.
fn run_cli() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Stress { cycles, jobs, seed, random, report } => {
            stress(&stress::Options { cycles, seed, random, jobs }, report.as_deref())
        }
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        Command::RunSys { driver, cycles, service, hardware_id, io, ioctl, expect_echo, report } => run_sys(
            &run_sys::Options { driver, cycles, service, hardware_id, io_rounds: io, ioctl, expect_echo },
            report.as_deref(),
        ),
        #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
        Command::RunSys { report, .. } => run_sys(&(), report.as_deref()),
        Command::Faults { report } => faults(report.as_deref()),
        Command::ReplayCrash => replay_crash(),
        Command::Triage(args) => wdfkey_diag::cli::run_triage(PROGRAM, &args),
        Command::Scan(args) => wdfkey_diag::cli::run_scan(PROGRAM, &args),
        Command::Bench { cycles, check } => bench(cycles, check),
    }
}

/// The binary. Its test build (`cargo test`, `harness = false` in
/// Cargo.toml) runs the test suite instead, unless started by that suite as
/// the CLI under test (`cli_tests::AS_CLI`).
fn main() -> ExitCode {
    #[cfg(test)]
    if std::env::var_os(cli_tests::AS_CLI).is_none() {
        return cli_tests::run_suite();
    }
    run_cli()
}
