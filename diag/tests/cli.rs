//! The `wdfkey-diag` binary end to end: both subcommands, their exit codes.

use std::path::PathBuf;
use std::process::Command;

fn diag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wdfkey-diag"))
}

fn corpus(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scan-corpus").join(file)
}

#[test]
fn help_lists_both_tools() {
    let out = diag().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("scan") && text.contains("triage"), "{text}");
}

#[test]
fn scan_exits_1_on_a_finding_0_for_an_explanation_2_on_unreadable_input() {
    let out = diag().arg("scan").arg(corpus("c/direct.c")).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[WKG001]"));
    let out = diag().args(["scan", "--explain", "WKG002"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let out = diag().args(["scan", "/nonexistent/driver.c"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn triage_reads_a_file_and_refuses_garbage() {
    let dump = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/replay-1.txt");
    let out = diag().args(["triage", "--format", "json"]).arg(&dump).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["verdict"]["kind"], "wdfkey_double_close", "{report}");
    let out = diag().args(["triage", "/nonexistent/crash.txt"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("wdfkey-diag triage: cannot read"));
}

#[test]
fn triage_text_points_to_the_facts_page_instead_of_bare_ids() {
    let dump = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/replay-1.txt");
    let out = diag().arg("triage").arg(&dump).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("docs/facts.md#f67b"), "{text}");
    assert!(!text.contains("F67b"), "{text}");
}
