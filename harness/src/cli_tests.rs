//! The harness end to end: every exit code, the JSON reports against their
//! schemas, output paths checked before work, signals, reproducibility from
//! the seed, replay-crash's three outcomes, and malformed arguments.
//!
//! How the binary under test is built. The harness needs unwinding panics
//! (the simulator turns a driver panic into a recorded machine stop), but the
//! root manifest's `[profile.dev]` says `panic = "abort"`, as the driver
//! must. Cargo builds a package's binaries for its `tests/` integration
//! tests with that profile's panic strategy, and the driver's cdylib+rlib
//! has no hash in its file names, so an abort build of `wdfkey-guard` would
//! overwrite the unwind build the other tests link in `target/debug/deps`.
//! Test targets, on the other hand, always unwind. So the binary's own test
//! build is the CLI under test: `harness = false` in Cargo.toml gives it the
//! binary's own `main`, which runs this suite (libtest-mimic: the usual
//! filters, `--list`, `--exact`, nextest) and which the suite starts again
//! as the CLI, with [`AS_CLI`] set. It is the same `main`, arguments and
//! code as the binary users run, compiled once in the ordinary test build:
//! no nested `cargo build`, no second build of the dependencies.
//! (`cargo run --profile harness` adds optimisation, nothing else.)
//!
//! Tests elsewhere in the crate are listed in [`TESTS`]; libtest's test
//! attribute would never run in this build (a test below keeps it out), and
//! a test function left out of the list is dead code, which clippy refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::Duration;

/// Set in the environment of the test build to run it as the CLI.
pub const AS_CLI: &str = "WDFKEY_HARNESS_AS_CLI";
/// Set as well to install the replay's raw driver variant (it ZwCloses its
/// WDFKEY's handle at unload) instead of wdfkey-guard: every subcommand that
/// runs a cycle then sees the defect (`cycle::vm`).
pub const RAW_DRIVER: &str = "WDFKEY_HARNESS_TEST_RAW_DRIVER";

/// Every test of the crate, by name.
const TESTS: &[(&str, fn())] = &[
    ("exit_0_stress_passes_and_writes_a_report_that_matches_the_schema", exit_0_stress_passes_and_writes_a_report),
    ("exit_0_faults_pass_and_the_report_matches_its_schema", exit_0_faults_pass_and_the_report_matches_its_schema),
    ("exit_0_replay_crash_shows_the_three_outcomes_and_regkey_clean", exit_0_replay_crash_shows_the_outcomes),
    ("exit_1_stress_stops_at_the_first_bug_check_with_a_report", exit_1_stress_stops_at_the_first_bug_check),
    ("exit_1_replay_crash_fails_when_regkey_is_not_there", exit_1_replay_crash_fails_when_regkey_is_not_there),
    ("exit_1_bench_fails_when_its_long_run_fails_even_without_check", exit_1_bench_fails_when_its_long_run_fails),
    ("exit_0_or_1_bench_marks_missed_targets_and_check_decides", exit_0_or_1_bench_marks_missed_targets),
    ("exit_2_malformed_arguments_are_refused_with_a_message", exit_2_malformed_arguments_are_refused),
    ("exit_2_cycles_0_is_refused_by_stress_and_bench_alike", exit_2_cycles_0_is_refused_by_stress_and_bench),
    ("exit_2_report_paths_are_checked_before_any_work", exit_2_report_paths_are_checked_before_any_work),
    ("exit_130_sigint_sigterm_sighup_stop_stress_with_a_partial_report", exit_130_signals_stop_stress_with_a_report),
    (
        "exit_codes_table_in_every_help_and_in_the_harness_readme",
        exit_codes_table_in_every_help_and_in_the_harness_readme,
    ),
    ("random_sequences_are_reproducible_from_the_seed", random_sequences_are_reproducible_from_the_seed),
    ("stress_jobs_1_and_2_report_the_same_counts", stress_jobs_1_and_2_report_the_same_counts),
    ("stress_jobs_every_cycle_makes_the_same_ddi_calls_whatever_n", stress_jobs_every_cycle_makes_the_same_calls),
    ("exit_1_stress_jobs_2_stops_at_the_first_failing_cycle", exit_1_stress_jobs_2_stops_at_the_first_failing_cycle),
    ("exit_2_bad_jobs_are_refused_before_any_work", exit_2_bad_jobs_are_refused_before_any_work),
    ("replay_timeline_lines_say_only_what_happened_at_each_event", replay_timeline_lines_say_only_their_event),
    ("replay_crash_prints_each_outcomes_handle_history_once", replay_crash_prints_each_handle_history_once),
    ("progress_rate_is_rounded_to_whole_cycles", progress_rate_is_rounded_to_whole_cycles),
    ("triage_reads_a_file_or_stdin_and_exits_2_on_garbage", triage_reads_a_file_or_stdin_and_exits_2_on_garbage),
    ("scan_exit_codes_json_and_explain", scan_exit_codes_json_and_explain),
    ("no_libtest_tests_in_the_sources", no_libtest_tests_in_the_sources),
    ("run_sys_exit_codes_on_c_driver_images", run_sys_exit_codes_on_c_driver_images),
    ("faults::a_failed_point_fails_the_report", crate::faults::tests::a_failed_point_fails_the_report),
    (
        "allocator::every_block_is_aligned_as_asked_and_keeps_its_bytes",
        crate::allocator::tests::every_block_is_aligned_as_asked_and_keeps_its_bytes,
    ),
    (
        "bench::a_missed_target_is_marked_and_fails_the_check",
        crate::bench::tests::a_missed_target_is_marked_and_fails_the_check,
    ),
    (
        "replay_fixtures::triage_fixtures_are_the_current_replay_renderings",
        crate::replay_fixtures::triage_fixtures_are_the_current_replay_renderings,
    ),
];

/// `main` of the test build: runs [`TESTS`] like libtest would.
pub fn run_suite() -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let trials = TESTS
        .iter()
        .map(|&(name, test)| {
            libtest_mimic::Trial::test(name, move || {
                test();
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// The CLI under test: this executable, started as the binary.
fn harness() -> Command {
    let mut c = Command::new(std::env::current_exe().expect("the test executable has a path"));
    c.env(AS_CLI, "1").env_remove(RAW_DRIVER);
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(args: &[&str]) -> Output {
    harness().args(args).output().expect("the CLI runs")
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wdfkey-harness-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn validate(schema: &str, value: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file(schema)).unwrap_or_else(|e| panic!("{schema}: {e}")))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}\n{value:#}");
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written")).expect("report is JSON")
}

/// Runs `stress` with `--report`; returns its exit code, stdout and the
/// report, checked against the schema.
fn stress_report(cmd: &mut Command, args: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let dir = scratch(&args.join("_").replace(['-', ' '], ""));
    let path = dir.join("report.json");
    let out = cmd.arg("stress").args(args).arg("--report").arg(&path).output().expect("runs");
    let report = read_json(&path);
    validate("schemas/stress-report.schema.json", &report);
    (out.status.code(), text(&out.stdout), report)
}

fn exit_0_stress_passes_and_writes_a_report() {
    let (code, stdout, r) = stress_report(&mut harness(), &["--cycles", "50"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");
    assert_eq!(r["result"], "pass");
    assert_eq!(r["cycles_done"], 50);
    assert_eq!(r["verifier"]["special_pool"], true);
    assert!(r["ddi_calls"]["WdfDeviceCreate"].as_u64() == Some(100), "two starts per cycle");
}

fn random_sequences_are_reproducible_from_the_seed() {
    let a = stress_report(&mut harness(), &["--cycles", "40", "--random", "--seed", "11"]).2;
    let b = stress_report(&mut harness(), &["--cycles", "40", "--random", "--seed", "11"]).2;
    let c = stress_report(&mut harness(), &["--cycles", "40", "--random", "--seed", "12"]).2;
    assert_eq!(a["result"], "pass");
    assert_eq!(a["ddi_calls"], b["ddi_calls"], "same seed, same sequence");
    assert_ne!(a["ddi_calls"], c["ddi_calls"], "another seed, another sequence");
}

fn stress_jobs_1_and_2_report_the_same_counts() {
    for args in [&["--cycles", "41", "--random", "--seed", "20261124"][..], &["--cycles", "13"][..]] {
        let one = stress_report(&mut harness(), &[args, &["--jobs", "1"]].concat()).2;
        let two = stress_report(&mut harness(), &[args, &["--jobs", "2"]].concat()).2;
        assert_eq!(one["result"], "pass", "{one:#}");
        assert_eq!(two["result"], "pass", "{two:#}");
        assert_eq!((one["jobs"].as_u64(), two["jobs"].as_u64()), (Some(1), Some(2)));
        assert_eq!(one["cycles_done"], two["cycles_done"], "{args:?}");
        assert_eq!(one["ddi_calls"], two["ddi_calls"], "{args:?}: the machines' counts add up to one machine's");
        assert!(one["ddi_calls"].as_object().is_some_and(|m| m.len() > 10), "{one:#}");
    }
}

fn stress_jobs_every_cycle_makes_the_same_calls() {
    for random in [true, false] {
        let options = |jobs| crate::stress::Options { cycles: 37, seed: 7, random, jobs };
        let one = crate::stress::per_cycle_calls(&options(1));
        assert_eq!(one.len(), 37);
        assert_eq!(one.iter().map(|(c, _)| *c).collect::<Vec<_>>(), (0..37).collect::<Vec<_>>());
        for jobs in [2, 3] {
            assert_eq!(crate::stress::per_cycle_calls(&options(jobs)), one, "random {random}, --jobs {jobs}");
        }
        if random {
            // The sequences differ from cycle to cycle, so equal lists say something.
            let distinct: std::collections::BTreeSet<u64> = one.iter().map(|(_, n)| *n).collect();
            assert!(distinct.len() > 3, "{one:?}");
        }
    }
}

fn exit_1_stress_jobs_2_stops_at_the_first_failing_cycle() {
    let (code, stdout, r) = stress_report(harness().env(RAW_DRIVER, "1"), &["--cycles", "20", "--jobs", "2"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("reproduce: wdfkey-harness stress --cycles 1 --seed 1 --jobs 2"), "{stdout}");
    assert_eq!(r["result"], "fail");
    assert_eq!(r["jobs"], 2);
    assert!(r["cycles_done"].as_u64().is_some_and(|n| (1..=2).contains(&n)), "{r:#}");
    assert_eq!(r["bug_checks"].as_array().map(Vec::len), Some(1), "the first failing cycle's: {r:#}");
    assert_eq!(r["bug_checks"][0]["cycle"], 0);
    assert_eq!(r["bug_checks"][0]["code"], "0x93");
}

fn exit_2_bad_jobs_are_refused_before_any_work() {
    let dir = scratch("bad-jobs");
    for (jobs, says) in [("0", "at least 1"), ("two", "whole number"), ("257", "at most 256"), ("-1", "whole number")] {
        let path = dir.join("report.json");
        let out =
            harness().args(["stress", "--cycles", "5", "--report"]).arg(&path).arg(format!("--jobs={jobs}")).output();
        let out = out.expect("runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--jobs {jobs}: {stderr}");
        assert!(stderr.contains("--jobs") && stderr.contains(says), "--jobs {jobs}: {stderr}");
        assert!(!path.exists(), "refused before any work: no report");
    }
}

fn exit_0_faults_pass_and_the_report_matches_its_schema() {
    let path = scratch("faults").join("faults.json");
    let out = harness().arg("faults").arg("--report").arg(&path).output().expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with("0 failed") && !last.starts_with("0 points"), "{last}");
    assert!(stdout.contains("WdfDriverCreate") && stdout.contains("WdfRegistryQueryULong"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()[2..]
            == ["STATUS_INSUFFICIENT_RESOURCES", "0xC000009A", "pass"]),
        "{stdout}"
    );
    let r = read_json(&path);
    validate("schemas/faults-report.schema.json", &r);
    assert_eq!(r["result"], "pass");
    assert_eq!(r["points_failed"], 0);
    let points = r["points"].as_array().expect("points");
    assert_eq!(r["points_total"].as_u64(), Some(points.len() as u64));
    assert!(
        points
            .iter()
            .any(|p| p["status"] == serde_json::json!({"name": "STATUS_INSUFFICIENT_RESOURCES", "hex": "0xC000009A"})),
        "{r:#}"
    );
    assert!(
        points
            .iter()
            .any(|p| p["status"] == serde_json::json!({"name": "STATUS_OBJECT_NAME_NOT_FOUND", "hex": "0xC0000034"})),
        "{r:#}"
    );
}

fn exit_0_replay_crash_shows_the_outcomes() {
    let out = run(&["replay-crash"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "Arg1: 0000000000000304, The handle that NtClose was called with.",
        "Arg2: 0000000000000000, means a protected handle was closed.",
        "Arg2: 0000000000000001, means an invalid handle was closed.",
        "STATUS_INVALID_HANDLE returned",
        "closed stale handle 0xffffffff80000304; its slot was reused by other.sys",
        "closed by rawclient.sys  (from rawclient!EvtDriverUnload)",
        "HANDLE TIMELINE",
        "4. the same cycle with RegKey (wdfkey-guard) -> clean [as expected]",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    assert!(!stdout.contains("NOT REPRODUCED"), "{stdout}");
}

fn replay_timeline_lines_say_only_their_event() {
    let out = run(&["replay-crash"]);
    let stdout = text(&out.stdout);
    let events: Vec<&str> =
        stdout.lines().filter(|l| l.trim_start().starts_with('#') && l.contains("0xffffffff80000304")).collect();
    assert!(events.len() >= 6, "{stdout}");
    for line in &events {
        let opens = line.contains("opened by") || line.contains("OPEN ");
        assert!(!(opens && line.contains("closed")), "an open event that speaks of a close: {line}");
    }
    // The framework's open and its (second) close, each said as what it did.
    assert!(
        stdout.contains(
            "opened by Wdf01000.sys for WDFKEY 0xffffb00000000030 of rawclient.sys -> \
             \\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Services\\wdfkey_guard\\Parameters"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("closed AGAIN by Wdf01000.sys for WDFKEY 0xffffb00000000030 of rawclient.sys:"),
        "{stdout}"
    );
    assert!(stdout.contains("OPEN  by Wdf01000.sys for WDFKEY 0xffffb00000000030 of rawclient.sys ->"), "{stdout}");
}

fn replay_crash_prints_each_handle_history_once() {
    let stdout = text(&run(&["replay-crash"]).stdout);
    let outcomes: Vec<&str> = stdout.split("==== ").skip(1).collect();
    assert_eq!(outcomes.len(), 5, "{stdout}");
    for outcome in &outcomes[..4] {
        let title = outcome.lines().next().unwrap_or_default();
        let histories = outcome.matches("HANDLE_HISTORY").count() + outcome.matches("HANDLE TIMELINE").count();
        assert_eq!(histories, 1, "outcome {title}: one history, not {histories}\n{outcome}");
        // The driver's own ZwClose, the event every history has, said once.
        let closes = outcome
            .lines()
            .filter(|l| l.trim_start().starts_with('#') && l.ends_with("(from rawclient!EvtDriverUnload)"))
            .count();
        assert_eq!(closes, 1, "outcome {title}: the driver's close listed {closes} times\n{outcome}");
        let with_stop = outcome.contains("Bugcheck Analysis");
        assert_eq!(outcome.contains("OWNERSHIP (simulator):"), with_stop, "{outcome}");
        assert!(outcome.contains("  ownership: rawclient.sys closed handle"), "{outcome}");
    }
}

fn exit_1_stress_stops_at_the_first_bug_check() {
    let (code, stdout, r) = stress_report(harness().env(RAW_DRIVER, "1"), &["--cycles", "20"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("INVALID_KERNEL_HANDLE (93)"), "the !analyze view: {stdout}");
    assert!(stdout.contains("reproduce: wdfkey-harness stress --cycles 1 --seed 1"), "{stdout}");
    assert_eq!(r["result"], "fail");
    assert_eq!(r["cycles_done"], 1, "stops at the first failing cycle");
    assert_eq!(r["bug_checks"][0]["code"], "0x93");
}

fn exit_1_replay_crash_fails_when_regkey_is_not_there() {
    let out = harness().env(RAW_DRIVER, "1").arg("replay-crash").output().expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("4. the same cycle with RegKey (wdfkey-guard) -> clean [NOT REPRODUCED]"), "{stdout}");
}

fn exit_1_bench_fails_when_its_long_run_fails() {
    let out = harness().env(RAW_DRIVER, "1").args(["bench", "--cycles", "5"]).output().expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a failed cycle is a finding, not a measurement: {stdout}");
    assert!(stdout.contains("P2  FAILED at cycle 0"), "{stdout}");
}

fn exit_0_or_1_bench_marks_missed_targets() {
    // Both runs at once: each is a few seconds of measuring.
    let spawn = |args: &[&str]| {
        harness()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns")
    };
    let measure = spawn(&["bench", "--cycles", "300"]);
    let check = spawn(&["bench", "--cycles", "300", "--check"]);
    let out = measure.wait_with_output().expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "a measurement without --check: {stdout}");
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.starts_with("targets: "), "{stdout}");
    let missed = stdout.lines().filter(|l| l.ends_with("  MISSED")).count();
    assert_eq!(missed > 0, summary.contains("MISSED"), "{stdout}");
    for line in stdout.lines().filter(|l| l.ends_with("  MISSED")) {
        assert!(line.contains("(target "), "MISSED only next to a figure with a target: {line}");
    }
    let out = check.wait_with_output().expect("runs");
    let stdout = text(&out.stdout);
    let missed = stdout.lines().any(|l| l.ends_with("  MISSED"));
    assert_eq!(out.status.code(), Some(if missed { 1 } else { 0 }), "--check exits 1 exactly on a miss: {stdout}");
}

fn exit_2_malformed_arguments_are_refused() {
    let out = run(&["stress", "--cycles", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid value 'many'"), "{}", text(&out.stderr));
    let out = run(&["explode"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage: wdfkey-harness"), "{}", text(&out.stderr));
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for sub in ["stress", "faults", "replay-crash", "bench", "run-sys", "triage", "scan"] {
        assert!(help.contains(sub), "{help}");
    }
}

fn exit_2_cycles_0_is_refused_by_stress_and_bench() {
    for sub in ["stress", "bench"] {
        let out = run(&[sub, "--cycles", "0"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sub}: {stderr}");
        assert!(stderr.contains("invalid value '0' for '--cycles <CYCLES>': must be at least 1"), "{sub}: {stderr}");
        assert!(out.stdout.is_empty(), "{sub} did work: {}", text(&out.stdout));
    }
}

fn exit_2_report_paths_are_checked_before_any_work() {
    let dir = scratch("paths");
    let missing = dir.join("no-such-dir/report.json");
    let file = dir.join("a-file");
    std::fs::write(&file, "keep").expect("written");
    let under_file = file.join("report.json");
    let cases: [(&Path, String); 3] = [
        (&dir, format!("{} is a directory; give a file path", dir.display())),
        (&missing, format!("directory {} does not exist", dir.join("no-such-dir").display())),
        (&under_file, format!("{} is not a directory", file.display())),
    ];
    for sub in ["stress", "faults"] {
        for (path, message) in &cases {
            // A million cycles: refused at once, or this test would take minutes.
            let mut cmd = harness();
            cmd.arg(sub);
            if sub == "stress" {
                cmd.args(["--cycles", "1000000"]);
            }
            let out = cmd.arg("--report").arg(path).output().expect("runs");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{sub} {}: {stderr}", path.display());
            assert!(stderr.contains(message.as_str()), "{sub}: {message:?} not in {stderr}");
            assert!(out.stdout.is_empty(), "{sub} did work before refusing: {}", text(&out.stdout));
        }
    }
    assert_eq!(std::fs::read_to_string(&file).expect("still there"), "keep");
    // An existing report is kept until the run replaces it.
    let existing = dir.join("old.json");
    std::fs::write(&existing, "old").expect("written");
    let out = harness().args(["stress", "--cycles", "1", "--report"]).arg(&existing).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read_json(&existing)["cycles_done"], 1);
}

/// Whether process `pid` has a handler for signal number `signal` (Linux
/// `/proc/PID/status`, `SigCgt`: a hex mask, bit `signal - 1`).
fn catches(pid: u32, signal: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

fn exit_130_signals_stop_stress_with_a_report() {
    // All three at once; each signal is sent once the run catches it.
    let runs: Vec<_> = [("INT", 2), ("TERM", 15), ("HUP", 1)]
        .into_iter()
        .map(|(signal, number)| {
            let path = scratch(&format!("signal-{signal}")).join("report.json");
            let child = harness()
                .args(["stress", "--cycles", "100000000", "--report"])
                .arg(&path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawns");
            (signal, number, path, child)
        })
        .collect();
    for (signal, number, _, child) in &runs {
        let started = std::time::Instant::now();
        while !catches(child.id(), *number) {
            assert!(started.elapsed() < Duration::from_secs(60), "SIG{signal} never caught");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // Some cycles in, so a cycle is under way when the signal comes.
    std::thread::sleep(Duration::from_millis(300));
    for (signal, _, _, child) in &runs {
        let kill = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
        assert!(kill.is_ok_and(|s| s.success()), "kill -{signal}");
    }
    for (signal, _, path, child) in runs {
        let out = child.wait_with_output().expect("ends");
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(130), "SIG{signal}: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains("INTERRUPTED"), "SIG{signal}: {stdout}");
        let r = read_json(&path);
        validate("schemas/stress-report.schema.json", &r);
        assert_eq!(r["result"], "interrupted", "SIG{signal}");
        let done = r["cycles_done"].as_u64().expect("cycles_done");
        assert!(done < 100_000_000, "SIG{signal}: {done}");
        assert_eq!(r["bug_checks"], serde_json::json!([]), "each cycle finished cleanly");
        assert_eq!(r["errors"], serde_json::json!([]), "SIG{signal}: no cycle cut in the middle");
    }
}

/// The exit-code table of `--help`, as printed.
fn help_table(help: &str) -> String {
    let start = help.find("Exit codes (all subcommands):").unwrap_or_else(|| panic!("no exit codes in\n{help}"));
    help[start..].trim_end().to_string()
}

fn exit_codes_table_in_every_help_and_in_the_harness_readme() {
    let top = help_table(&text(&run(&["--help"]).stdout));
    for sub in ["stress", "faults", "replay-crash", "bench", "triage", "scan"] {
        let out = run(&[sub, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(help_table(&text(&out.stdout)), top, "{sub} --help");
    }
    let readme = std::fs::read_to_string(repo_file("harness/README.md")).expect("harness/README.md");
    assert!(readme.contains(&format!("```text\n{top}\n```")), "harness/README.md must show, verbatim:\n{top}");
}

/// Builds scripts/cdriver/test-drivers/regkey.c with `defines` into `out`;
/// `None` when clang/lld-link are missing (not allowed when CI requires them).
fn build_c_driver(out: &Path, source: &str, defines: &[&str]) -> Option<()> {
    let mut cmd = Command::new("python3");
    cmd.arg(repo_file("scripts/cdriver/build"))
        .args(["--sdk", "none", "--headers"])
        .arg(repo_file("scripts/cdriver/include"))
        .arg("-o")
        .arg(out);
    for d in defines {
        cmd.args(["-D", d]);
    }
    let r = cmd.arg(repo_file("scripts/cdriver/test-drivers").join(source)).output().expect("python3 runs");
    if r.status.code() == Some(2) && text(&r.stderr).contains("not found") {
        assert!(
            std::env::var_os("KMDF_SIM_REQUIRE_CDRIVER_TOOLS").is_none(),
            "clang/lld-link missing: {}",
            text(&r.stderr)
        );
        eprintln!("SKIPPED run_sys_exit_codes_on_c_driver_images (C drivers): {}", text(&r.stderr).trim());
        return None;
    }
    assert!(r.status.success(), "{}{}", text(&r.stdout), text(&r.stderr));
    Some(())
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn run_sys_exit_codes_on_c_driver_images() {
    let dir = scratch("run-sys");
    let junk = dir.join("junk.sys");
    std::fs::write(&junk, b"MZ not an image").expect("written");
    let out = run(&["run-sys", junk.to_str().expect("UTF-8 path")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("junk.sys"), "{}", text(&out.stderr));

    let (twin, bug) = (dir.join("regkey.sys"), dir.join("regkey-bug.sys"));
    if build_c_driver(&twin, "regkey.c", &[]).is_none() {
        return;
    }
    build_c_driver(&bug, "regkey.c", &["REGKEY_CLOSE_RAW_HANDLE"]).expect("tools present");
    let path = dir.join("report.json");
    let out =
        harness().arg("run-sys").arg(&twin).args(["--cycles", "50", "--report"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report = read_json(&path);
    validate("schemas/stress-report.schema.json", &report);
    assert_eq!(report["cycles_done"], 50);
    assert_eq!(report["tool"], "wdfkey-harness run-sys");

    let out =
        harness().arg("run-sys").arg(&bug).args(["--cycles", "50", "--report"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("INVALID_KERNEL_HANDLE (93)"), "{stdout}");
    assert!(stdout.contains("(from regkey-bug!RegkeyEvtDriverUnload+0x"), "{stdout}");
    let report = read_json(&path);
    validate("schemas/stress-report.schema.json", &report);
    assert_eq!(report["cycles_done"], 1, "the first cycle's unload stops");
    assert_eq!(report["result"], "fail");

    // --io: after each start an application writes, reads back (queue.c
    // completes the read from its timer) and sends an IOCTL.
    let (queue, queue_bug) = (dir.join("queue.sys"), dir.join("queue-bug.sys"));
    build_c_driver(&queue, "queue.c", &[]).expect("tools present");
    build_c_driver(&queue_bug, "queue.c", &["QUEUE_COMPLETE_TWICE"]).expect("tools present");
    let out = harness()
        .arg("run-sys")
        .arg(&queue)
        .args(["--cycles", "5", "--io", "3", "--expect-echo"])
        .output()
        .expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "90 requests completed (30 writes, 30 reads, 30 IOCTLs); 30 of 30 reads returned the bytes just written"
        ),
        "{stdout}"
    );
    let out = harness().arg("run-sys").arg(&queue_bug).args(["--cycles", "5", "--io", "3"]).output().expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("queue-bug!QueueEvtIoWrite+0x"), "the stop names the callback: {stdout}");
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn run_sys_exit_codes_on_c_driver_images() {
    let out = run(&["run-sys", "any.sys"]);
    assert_eq!(out.status.code(), Some(2));
}

fn progress_rate_is_rounded_to_whole_cycles() {
    assert_eq!(crate::rate_text(2322.9903), "2323 cycles/s");
    assert_eq!(crate::rate_text(0.4), "0 cycles/s");
    assert_eq!(crate::rate_text(f64::INFINITY), "- cycles/s");
    assert!(crate::PROGRESS_TEMPLATE.contains("{rate}") && !crate::PROGRESS_TEMPLATE.contains("{per_sec}"));
}

fn triage_reads_a_file_or_stdin_and_exits_2_on_garbage() {
    use std::io::Write as _;
    let dir = scratch("triage");
    let dump = dir.join("dump.txt");
    let analysis = crate::replay::replay().into_iter().next().expect("outcome").text;
    std::fs::write(&dump, analysis.replace('\n', "<br>")).expect("written");
    let out = harness().args(["triage", "--format", "json"]).arg(&dump).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["verdict"]["kind"], "wdfkey_double_close");
    assert_eq!(report["parsed"]["args"], serde_json::json!([0x304, 0, 0, 0]));

    let mut child = harness()
        .args(["triage", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    child.stdin.take().expect("stdin").write_all(b"it crashed again, any idea?\n").expect("written");
    let out = child.wait_with_output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no bug check found"));

    let out = run(&["triage", "/nonexistent/dump.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/dump.txt"));
}

fn scan_exit_codes_json_and_explain() {
    let corpus = repo_file("diag/scan-corpus");
    let out = harness().args(["scan", "--format", "json"]).arg(corpus.join("c/direct.c")).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["findings"][0]["code"], "WKG001");
    assert_eq!(report["findings"][0]["line"], 7);
    assert_eq!(report["files_scanned"], 1);

    let out = harness()
        .arg("scan")
        .arg(corpus.join("c/clean_close_once.c"))
        .arg(corpus.join("rust/clean_regkey.rs"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("2 file(s) scanned: 0 error(s), 0 warning(s), 0 skipped"));

    let out = run(&["scan", "/nonexistent/driver"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("/nonexistent/driver: skipped: cannot read"));

    let out = run(&["scan", "--explain", "WKG001"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("WdfRegistryWdmGetHandle returns the key object's own handle"));
    let out = run(&["scan", "--explain", "WKG9"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["scan"]);
    assert_eq!(out.status.code(), Some(2), "no paths is a usage error");
}

fn no_libtest_tests_in_the_sources() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&dir).expect("src/") {
        let path = entry.expect("entry").path();
        let source = std::fs::read_to_string(&path).expect("readable");
        let attribute = ["#[", "test]"].concat();
        assert!(
            !source.lines().any(|l| l.trim_start().starts_with(&attribute)),
            "{}: {attribute} never runs in this crate's test build; add the function to cli_tests::TESTS",
            path.display()
        );
    }
}
