//! `wdfkey-harness`: runs the wdfkey-guard driver's own code under the KMDF
//! simulator — the VM script's stress cycle, an exhaustive fault sweep, the
//! original crash replayed next to its absence with RegKey, and benchmarks.

mod bench;
#[cfg(test)]
mod cli_tests;
mod cycle;
mod faults;
mod replay;
#[cfg(test)]
mod replay_fixtures;
mod report;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kmdf_sim::control::Settings;
use report::{BugCheckRecord, LeakRecord, StressReport, ViolationRecord};
use std::process::ExitCode;

/// The binary's name in messages.
const PROGRAM: &str = "wdfkey-harness";

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Runs the wdfkey-guard KMDF driver under the KMDF simulator.
///
/// The simulator models the parts of KMDF and the NT kernel the driver
/// touches — the kernel handle table, framework objects, the registry, PnP,
/// Driver Verifier and the KMDF verifier — so the driver's own source runs
/// here exactly as it would on a test VM, thousands of cycles a second.
#[derive(Parser, Debug)]
#[command(name = "wdfkey-harness", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the VM script's cycle N times: load, add device, IOCTLs, disable,
    /// enable, unload — with every verifier on. Stops at the first bug check,
    /// ownership violation, leak or finding, prints the `!analyze -v` view and
    /// the command that reproduces it, and exits 1. Ctrl-C stops cleanly with
    /// a partial report (exit 130).
    Stress {
        /// How many cycles.
        #[arg(long, default_value_t = 1000)]
        cycles: u64,
        /// Seed of the random sequences (with --random); recorded in the report.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Draw each cycle's PnP and I/O sequence from the seed (reproducible).
        #[arg(long)]
        random: bool,
        /// Write the JSON report (schemas/stress-report.schema.json) here.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
    },
    /// Fails every status-returning DDI call of one full cycle in turn, with
    /// the statuses the DDI documents, runs on to unload, and checks that
    /// nothing stopped, leaked or broke ownership. Exits 1 if any point fails.
    Faults {
        /// Write the JSON list of points here.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
    },
    /// Replays the original crash with a raw variant of the driver that
    /// ZwCloses its WDFKEY's handle at unload: the three outcomes (protected
    /// reuse → 0x93 {h,0,0,0}; free slot → silent or 0x93 {h,1,0,0}; unprotected
    /// reuse → a victim's handle closed), each with its handle timeline — then
    /// the same cycle with RegKey, clean. Exits 1 if any outcome differs.
    ReplayCrash,
    /// Prints the speed figures: RegKey vs raw calls (P1), cycles per second
    /// and flat time/memory over a long run (P2), one fault sweep (P3).
    Bench {
        /// Cycles for P2.
        #[arg(long, default_value_t = 100_000)]
        cycles: u64,
    },
    Triage(wdfkey_diag::cli::TriageArgs),
    Scan(wdfkey_diag::cli::ScanArgs),
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("cannot encode the report: {e}"))?;
    std::fs::write(path, text)
        .map_err(|e| format!("cannot write {}: {e} (check the directory exists and is writable)", path.display()))
}

fn stress(cycles: u64, seed: u64, random: bool, report_path: Option<&std::path::Path>) -> ExitCode {
    let settings = Settings::default();
    let m = cycle::vm(settings.clone());
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    // A second Ctrl-C handler cannot be installed in the same process; that
    // only matters to tests, which do not send signals.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let bar = ProgressBar::new(cycles);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cycles  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let mut report = StressReport {
        tool: "wdfkey-harness stress".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        result: "pass".into(),
        seed,
        random,
        cycles_requested: cycles,
        cycles_done: 0,
        duration_ms: 0,
        cycles_per_second: 0.0,
        verifier: (&settings).into(),
        bug_checks: Vec::new(),
        violations: Vec::new(),
        leaks: Vec::new(),
        findings: Vec::new(),
        errors: Vec::new(),
        ddi_calls: Default::default(),
        reproduce: None,
    };
    let mut device = None;
    for c in 0..cycles {
        if interrupted.load(Ordering::SeqCst) {
            report.result = "interrupted".into();
            break;
        }
        let ops = if random { cycle::random_cycle(seed, c) } else { cycle::fixed_cycle(c) };
        let result = cycle::run_ops(&m, &mut device, &ops);
        let mut failed = false;
        if let Some(stop) = m.stop() {
            if let Some(b) = stop.bug_check() {
                report.bug_checks.push(BugCheckRecord::new(c, b));
            }
            report.errors.push(format!("cycle {c}: {stop}").lines().next().unwrap_or_default().to_string());
            failed = true;
        } else if let Err(e) = result {
            report.errors.push(format!("cycle {c}: {e}"));
            failed = true;
        }
        let violations = m.violations();
        if !violations.is_empty() {
            report.violations.extend(violations.iter().map(|v| ViolationRecord::new(c, v)));
            failed = true;
        }
        let findings = m.findings();
        if !findings.is_empty() {
            report.findings.extend(findings.into_iter().map(|f| format!("cycle {c}: {f}")));
            failed = true;
        }
        for r in m.take_unload_reports() {
            if let Some(leak) = LeakRecord::from_unload(c, &r) {
                report.leaks.push(leak);
                failed = true;
            }
        }
        report.cycles_done = c + 1;
        bar.inc(1);
        if failed {
            report.result = "fail".into();
            report.reproduce = Some(format!(
                "wdfkey-harness stress --cycles {} --seed {seed}{}",
                c + 1,
                if random { " --random" } else { "" }
            ));
            break;
        }
    }
    bar.finish_and_clear();
    let elapsed = start.elapsed();
    report.duration_ms = elapsed.as_millis() as u64;
    report.cycles_per_second = report.cycles_done as f64 / elapsed.as_secs_f64().max(1e-9);
    report.ddi_calls = m.ddi_calls().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for b in &report.bug_checks {
        println!("{}", b.analysis);
    }
    print!("{}", report.summary());
    if let Some(path) = report_path
        && let Err(e) = write_json(path, &report)
    {
        eprintln!("wdfkey-harness: {e}");
        return ExitCode::from(2);
    }
    match report.result.as_str() {
        "pass" => ExitCode::SUCCESS,
        "interrupted" => ExitCode::from(130),
        _ => ExitCode::from(1),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Stress { cycles, seed, random, report } => stress(cycles, seed, random, report.as_deref()),
        Command::Faults { report } => {
            let points = faults::sweep();
            println!("{:<42} {:>5}  {:<10}  outcome", "DDI", "call", "status");
            for p in &points {
                println!("{:<42} {:>5}  {:<10}  {}", p.ddi, p.call, p.status, p.outcome);
            }
            let failed = points.iter().filter(|p| p.outcome != "pass").count();
            println!("{} points, {} passed, {} failed", points.len(), points.len() - failed, failed);
            if let Some(path) = report
                && let Err(e) = write_json(&path, &points)
            {
                eprintln!("wdfkey-harness: {e}");
                return ExitCode::from(2);
            }
            if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Command::ReplayCrash => {
            let outcomes = replay::replay();
            let mut all = true;
            for o in &outcomes {
                println!("==== {} [{}]\n{}", o.title, if o.caught { "as expected" } else { "NOT REPRODUCED" }, o.text);
                all &= o.caught;
            }
            if all { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Command::Triage(args) => wdfkey_diag::cli::run_triage(PROGRAM, &args),
        Command::Scan(args) => wdfkey_diag::cli::run_scan(PROGRAM, &args),
        Command::Bench { cycles } => {
            if cycles == 0 {
                eprintln!("wdfkey-harness: --cycles must be at least 1");
                return ExitCode::from(2);
            }
            print!("{}", bench::run(cycles));
            ExitCode::SUCCESS
        }
    }
}
