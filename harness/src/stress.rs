//! `stress`: the VM script's cycle N times, on one machine or on `--jobs`
//! machines at once, and the one report of the run.
//!
//! With `--jobs N` machine `k` (its own thread: the simulator's state is per
//! thread) runs cycles `k, k + N, k + 2N, ...` in order. A cycle's steps come
//! from its index (and the seed), and every cycle starts from the registry
//! the machine was provisioned with, so what a cycle does — its DDI calls
//! included — is the same whatever N; the machines' counts add up to what
//! one machine counts. A run stops at its first failing cycle: the machine
//! that finds it stops there, the others finish the cycles below it that
//! they have not run yet and stop too.

use crate::cycle;
use crate::report::{BugCheckRecord, LeakRecord, StressReport, ViolationRecord};
use indicatif::ProgressBar;
use kmdf_sim::control::{Machine, Settings};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// The most machines `--jobs` runs at once.
pub const MAX_JOBS: usize = 256;

/// `--jobs`: how many machines (threads), 1 to [`MAX_JOBS`].
pub fn jobs_arg(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (one machine per thread)".into()),
        Ok(n) if n > MAX_JOBS => Err(format!(
            "{n} is more than {MAX_JOBS}; give at most {MAX_JOBS} (this machine has {} cores)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; give a whole number of machines, 1 to {MAX_JOBS}")),
    }
}

/// What a stress run is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub cycles: u64,
    pub seed: u64,
    pub random: bool,
    pub jobs: usize,
}

/// A failure found in one cycle, as the report records it.
#[derive(Debug, Default)]
struct Failure {
    bug_checks: Vec<BugCheckRecord>,
    violations: Vec<ViolationRecord>,
    leaks: Vec<LeakRecord>,
    findings: Vec<String>,
    errors: Vec<String>,
}

/// What one machine did.
#[derive(Debug, Default)]
struct MachineRun {
    cycles_done: u64,
    ddi_calls: BTreeMap<&'static str, u64>,
    /// The failing cycle and what was found in it.
    failure: Option<(u64, Failure)>,
    interrupted: bool,
    /// (cycle, DDI calls it made), when asked for.
    per_cycle: Vec<(u64, u64)>,
}

/// Cycles a run has to stop before: set to the first failing cycle found.
struct Stop {
    first_failure: AtomicU64,
}

/// Runs cycle `c` on `m` and collects what went wrong in it, if anything.
fn run_cycle(m: &Machine, device: &mut Option<kmdf_sim::control::DeviceId>, o: &Options, c: u64) -> Option<Failure> {
    let ops = if o.random { cycle::random_cycle(o.seed, c) } else { cycle::fixed_cycle(c) };
    let result = cycle::run_ops(m, device, &ops);
    let mut f = Failure::default();
    let mut failed = false;
    if let Some(stop) = m.stop() {
        if let Some(b) = stop.bug_check() {
            f.bug_checks.push(BugCheckRecord::new(c, b));
        }
        f.errors.push(format!("cycle {c}: {stop}").lines().next().unwrap_or_default().to_string());
        failed = true;
    } else if let Err(e) = result {
        f.errors.push(format!("cycle {c}: {e}"));
        failed = true;
    }
    let violations = m.violations();
    if !violations.is_empty() {
        f.violations.extend(violations.iter().map(|v| ViolationRecord::new(c, v)));
        failed = true;
    }
    let findings = m.findings();
    if !findings.is_empty() {
        f.findings.extend(findings.into_iter().map(|x| format!("cycle {c}: {x}")));
        failed = true;
    }
    for r in m.take_unload_reports() {
        if let Some(leak) = LeakRecord::from_unload(c, &r) {
            f.leaks.push(leak);
            failed = true;
        }
    }
    failed.then_some(f)
}

/// Machine `job` of `o.jobs`: its own simulated machine on this thread,
/// cycles `job, job + jobs, ...` below `o.cycles`.
fn run_machine(
    job: usize,
    o: &Options,
    settings: &Settings,
    stop: &Stop,
    interrupted: &AtomicBool,
    bar: &ProgressBar,
    per_cycle: bool,
) -> MachineRun {
    let m = cycle::vm(settings.clone());
    // Every cycle starts from the driver's registry as provisioned: what a
    // cycle does must not depend on which cycles ran before it on this
    // machine (the values the IOCTLs store, LoadCount).
    let provisioned = m.registry_checkpoint(&cycle::service_key());
    let mut run = MachineRun::default();
    let mut device = None;
    let mut c = job as u64;
    // Cycles not yet shown on the bar: it is advanced every BAR_STEP cycles
    // (and at the end), not on each one.
    let mut unshown = 0;
    while c < o.cycles {
        if interrupted.load(Ordering::SeqCst) {
            run.interrupted = true;
            break;
        }
        if c > stop.first_failure.load(Ordering::SeqCst) {
            break;
        }
        if let Some(checkpoint) = &provisioned {
            m.registry_restore(checkpoint);
        }
        let before = if per_cycle { m.ddi_call_total() } else { 0 };
        let failure = run_cycle(&m, &mut device, o, c);
        if per_cycle {
            run.per_cycle.push((c, m.ddi_call_total() - before));
        }
        run.cycles_done += 1;
        unshown += 1;
        if unshown == BAR_STEP {
            bar.inc(unshown);
            unshown = 0;
        }
        if let Some(f) = failure {
            stop.first_failure.fetch_min(c, Ordering::SeqCst);
            run.failure = Some((c, f));
            break;
        }
        c += o.jobs as u64;
    }
    bar.inc(unshown);
    run.ddi_calls = m.ddi_calls();
    run
}

/// How many cycles a machine runs between two updates of the progress bar.
const BAR_STEP: u64 = 16;

/// Runs the machines, one thread each (the calling thread's for one job).
fn run_machines(o: &Options, interrupted: &AtomicBool, bar: &ProgressBar, per_cycle: bool) -> Vec<MachineRun> {
    let settings = Settings::default();
    let stop = Stop { first_failure: AtomicU64::new(u64::MAX) };
    if o.jobs == 1 {
        return vec![run_machine(0, o, &settings, &stop, interrupted, bar, per_cycle)];
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..o.jobs)
            .map(|job| {
                let (settings, stop) = (&settings, &stop);
                std::thread::Builder::new()
                    .name(format!("machine-{job}"))
                    .spawn_scoped(scope, move || run_machine(job, o, settings, stop, interrupted, bar, per_cycle))
                    .expect("a thread for each machine")
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload))).collect()
    })
}

/// The DDI calls each cycle made, in cycle order (for tests: the same for
/// every `jobs`).
#[cfg(test)]
pub fn per_cycle_calls(o: &Options) -> Vec<(u64, u64)> {
    let bar = ProgressBar::hidden();
    let mut all: Vec<(u64, u64)> =
        run_machines(o, &AtomicBool::new(false), &bar, true).into_iter().flat_map(|r| r.per_cycle).collect();
    all.sort_unstable();
    all
}

/// Runs the stress cycles and merges what the machines found into one report.
pub fn run(o: &Options, interrupted: &AtomicBool, bar: &ProgressBar) -> StressReport {
    let settings = Settings::default();
    let start = Instant::now();
    let runs = run_machines(o, interrupted, bar, false);
    let elapsed = start.elapsed();
    let mut report = StressReport::new("wdfkey-harness stress", &settings, o.cycles, o.seed, o.random, o.jobs as u64);
    report.cycles_done = runs.iter().map(|r| r.cycles_done).sum();
    report.duration_ms = elapsed.as_millis() as u64;
    report.cycles_per_second = report.cycles_done as f64 / elapsed.as_secs_f64().max(1e-9);
    for r in &runs {
        for (name, n) in &r.ddi_calls {
            *report.ddi_calls.entry((*name).to_string()).or_default() += n;
        }
    }
    let mut failures: Vec<&(u64, Failure)> = runs.iter().filter_map(|r| r.failure.as_ref()).collect();
    failures.sort_by_key(|(c, _)| *c);
    // The report is the first failing cycle's, as one machine reports it;
    // other machines may have been in a later cycle that failed too.
    if let Some((_, f)) = failures.first() {
        report.bug_checks.extend(f.bug_checks.iter().cloned());
        report.violations.extend(f.violations.iter().cloned());
        report.leaks.extend(f.leaks.iter().cloned());
        report.findings.extend(f.findings.iter().cloned());
        report.errors.extend(f.errors.iter().cloned());
    }
    if failures.len() > 1 {
        let later: Vec<String> = failures[1..].iter().map(|(c, _)| c.to_string()).collect();
        report.errors.push(format!(
            "later cycles that other machines were running failed too: {} (rerun one with --cycles <cycle + 1> --jobs {})",
            later.join(", "),
            o.jobs
        ));
    }
    if let Some((first, _)) = failures.first() {
        report.result = "fail".into();
        report.reproduce = Some(format!(
            "wdfkey-harness stress --cycles {} --seed {}{}{}",
            first + 1,
            o.seed,
            if o.random { " --random" } else { "" },
            if o.jobs > 1 { format!(" --jobs {}", o.jobs) } else { String::new() }
        ));
    } else if runs.iter().any(|r| r.interrupted) {
        report.result = "interrupted".into();
    }
    report
}
