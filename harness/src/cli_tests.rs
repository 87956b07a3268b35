//! The harness end to end: exit codes, the JSON report against its schema,
//! reproducibility from the seed, replay-crash's three outcomes, and
//! malformed arguments.
//!
//! These run the binary users run: `--profile harness` (unwinding panics),
//! built once by a nested `cargo build`. They live in the binary's unit tests,
//! not in `tests/`, because integration tests make Cargo also build the binary
//! under `[profile.dev]` (`panic = "abort"`, mandatory for the driver), and the
//! driver's cdylib+rlib has no hash in its file names, so the abort and unwind
//! builds of `wdfkey-guard` would overwrite each other in `target/debug/deps`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `--profile harness` binary, built on first use.
fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "-p", "wdfkey-harness", "--profile", "harness", "--message-format", "json"])
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo build --profile harness failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["target"]["name"] == "wdfkey-harness")
            .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
            .next_back()
            .expect("cargo reported the wdfkey-harness executable")
    })
}

fn harness() -> Command {
    Command::new(binary())
}

fn schema() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/stress-report.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema readable")).expect("schema is JSON")
}

fn stress_report(args: &[&str]) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!(
        "wdfkey-harness-test-{}-{}",
        std::process::id(),
        args.join("_").replace(['-', ' '], "")
    ));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("report.json");
    let out = harness().arg("stress").args(args).arg("--report").arg(&path).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PASS"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("report written")).expect("JSON");
    let validator = jsonschema::validator_for(&schema()).expect("valid schema");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    report
}

#[test]
fn stress_passes_and_writes_a_report_that_matches_the_schema() {
    let r = stress_report(&["--cycles", "50"]);
    assert_eq!(r["result"], "pass");
    assert_eq!(r["cycles_done"], 50);
    assert_eq!(r["verifier"]["special_pool"], true);
    assert!(r["ddi_calls"]["WdfDeviceCreate"].as_u64() == Some(100), "two starts per cycle");
}

#[test]
fn random_sequences_are_reproducible_from_the_seed() {
    let a = stress_report(&["--cycles", "40", "--random", "--seed", "11"]);
    let b = stress_report(&["--cycles", "40", "--random", "--seed", "11"]);
    let c = stress_report(&["--cycles", "40", "--random", "--seed", "12"]);
    assert_eq!(a["ddi_calls"], b["ddi_calls"], "same seed, same sequence");
    assert_ne!(a["ddi_calls"], c["ddi_calls"], "another seed, another sequence");
}

#[test]
fn faults_pass_at_every_point() {
    let out = harness().arg("faults").output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with("0 failed") && !last.starts_with("0 points"), "{last}");
    assert!(stdout.contains("WdfDriverCreate") && stdout.contains("WdfRegistryQueryULong"), "{stdout}");
}

#[test]
fn replay_crash_shows_the_three_outcomes_and_regkey_clean() {
    let out = harness().arg("replay-crash").output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
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

#[test]
fn malformed_arguments_are_refused_with_a_message() {
    let out = harness().args(["stress", "--cycles", "many"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'many'"));
    let out = harness().arg("explode").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = harness().args(["bench", "--cycles", "0"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
    let out = harness()
        .args(["stress", "--cycles", "1", "--report", "/nonexistent-dir/x/report.json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = harness().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["stress", "faults", "replay-crash", "bench", "triage", "scan"] {
        assert!(help.contains(sub), "{help}");
    }
}

#[test]
fn triage_reads_a_file_or_stdin_and_exits_2_on_garbage() {
    use std::io::Write as _;
    let dir = std::env::temp_dir().join(format!("wdfkey-harness-triage-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let dump = dir.join("dump.txt");
    let analysis = crate::replay::replay().into_iter().next().expect("outcome").text;
    std::fs::write(&dump, analysis.replace('\n', "<br>")).expect("written");
    let out = harness().args(["triage", "--format", "json"]).arg(&dump).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bug check found"));

    let out = harness().args(["triage", "/nonexistent/dump.txt"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/dump.txt"));
}

#[test]
fn scan_exit_codes_json_and_explain() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../diag/scan-corpus");
    let out = harness().args(["scan", "--format", "json"]).arg(corpus.join("c/direct.c")).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
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
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 file(s) scanned: 0 error(s), 0 warning(s), 0 skipped"));

    let out = harness().args(["scan", "/nonexistent/driver"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/nonexistent/driver: skipped: cannot read"));

    let out = harness().args(["scan", "--explain", "WKG001"]).output().expect("runs");
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("WdfRegistryWdmGetHandle returns the key object's own handle")
    );
    let out = harness().args(["scan", "--explain", "WKG9"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = harness().arg("scan").output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "no paths is a usage error");
}
