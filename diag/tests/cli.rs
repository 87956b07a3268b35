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
fn triage_text_states_the_facts_it_cites() {
    let dump = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/replay-1.txt");
    let out = diag().arg("triage").arg(&dump).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, facts) = text.split_once("facts cited:\n").expect("the facts cited");
    assert!(facts.contains("  F67b: a slot reused by a protected handle. <https://"), "{text}");
    assert!(!text.contains("docs/facts.md"), "a path an installed user does not have:\n{text}");
}

#[test]
fn help_lists_the_exit_codes() {
    for args in [vec!["--help"], vec!["scan", "--help"]] {
        let out = diag().args(&args).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Exit codes:") && text.contains("1  scan: at least one finding"), "{args:?}:\n{text}");
    }
}

#[test]
fn findings_name_the_binary_that_runs_and_state_their_facts() {
    let out = diag().arg("scan").arg(corpus("c/direct.c")).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("= help: `wdfkey-diag scan --explain WKG001`"), "{text}");
    assert!(!text.contains("wdfkey-harness") && !text.contains("docs/facts.md"), "{text}");
    assert!(text.contains("facts cited:\n") && text.contains("  F6: "), "{text}");
    let out = diag().args(["scan", "--explain", "WKG003"]).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  F69: "), "{text}");
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::process::Stdio;
    for _ in 0..8 {
        for args in [vec!["scan", "--explain", "WKG001"], vec!["scan", "--format", "json", "scan-corpus"]] {
            let mut child = diag()
                .args(&args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("runs");
            // The reader goes away before reading anything, like `| head -0`.
            drop(child.stdout.take());
            let out = child.wait_with_output().expect("waits");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
            assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {:?} {err}", out.status);
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wdfkey-diag-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn scan_exit_2_when_nothing_is_scannable() {
    let empty = scratch("empty");
    std::fs::write(empty.join("notes.txt"), "not a source").expect("written");
    for args in [vec![empty.clone()], vec![empty.join("notes.txt")], vec![PathBuf::from("/nonexistent/a.c")]] {
        let out = diag().arg("scan").args(&args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to scan"), "{args:?}");
    }
    // An unreadable path next to a finding: still listed, the finding wins.
    let out = diag().arg("scan").arg(corpus("c/direct.c")).arg("/nonexistent/b.c").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/nonexistent/b.c: skipped: cannot read"));
}

#[test]
fn scan_says_what_it_did_not_read_and_strict_refuses_it() {
    let dir = scratch("partial");
    let file = dir.join("macro_soup.c");
    std::fs::write(
        &file,
        "VOID Good(VOID)\n{\n\tZwFlushKey(h);\n}\n\nBEGIN_TABLE(x) ))) {{ ;\n\nVOID Other(VOID) { }\n",
    )
    .expect("written");
    let out = diag().arg("scan").arg(&file).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("macro_soup.c: note: read in part"), "{text}");
    assert!(text.contains("= not read: line"), "{text}");
    assert!(text.contains("not everything was read"), "{text}");
    let out = diag().args(["scan", "--strict"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = diag().args(["scan", "--strict", "--format", "json"]).arg(&file).output().expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["files_in_part"], 1, "{report}");
    assert_eq!(report["files_in_full"], 0, "{report}");
    assert!(report["functions_in_full"].as_u64().is_some_and(|n| n >= 1), "{report}");
    let region = &report["partial"][0]["regions"][0];
    assert!(region["first_line"].as_u64().is_some_and(|l| (5..=8).contains(&l)), "{report}");
    // Read in full: 0 even with --strict.
    let out = diag().args(["scan", "--strict"]).arg(corpus("c/clean_loop_reopen.c")).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("read in full: 1 of 1 file(s)"));
}

#[test]
fn scan_reads_a_header_and_its_sources_as_one_program() {
    let out = diag().args(["scan", "--format", "json"]).arg(corpus("cpp/wrapper_setter")).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["files_scanned"], 3);
    let f = &report["findings"][0];
    assert!(f["file"].as_str().is_some_and(|p| p.ends_with("RegHandle.cpp")), "{report}");
    let notes = f["notes"][0].as_str().unwrap_or_default();
    assert!(notes.contains("WdfRegistryWdmGetHandle") && notes.contains("`Adopt`"), "{notes}");
    // The destructor alone: nothing to say.
    let out = diag().arg("scan").arg(corpus("cpp/wrapper_setter/RegHandle.cpp")).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn scan_help_describes_flows_paths_and_exit_codes() {
    let out = diag().args(["scan", "--help"]).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["--strict", "destructors", "__leave", "one program", "UTF-16", "Exit 0"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn the_scan_report_matches_its_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("../schemas/scan-report.schema.json")).expect("schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    // Findings of every rule, a file read in part, a path not read.
    let dir = scratch("schema");
    std::fs::write(dir.join("macro_soup.c"), "FOO(BAR) { ZwClose(WdfRegistryWdmGetHandle(k)); } ))) {{")
        .expect("written");
    let out = diag()
        .args(["scan", "--format", "json"])
        .arg(root.join("scan-corpus"))
        .arg(&dir)
        .arg("/nonexistent/c.c")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    for code in ["WKG001", "WKG002", "WKG003", "WKG004"] {
        assert!(report["findings"].as_array().expect("findings").iter().any(|f| f["code"] == code), "{code}");
    }
    assert!(
        !report["partial"].as_array().expect("partial").is_empty()
            && !report["skipped"].as_array().expect("skipped").is_empty()
    );
    // The schema is strict: an unknown rule or a missing count fails.
    let mut bad = report.clone();
    bad["findings"][0]["code"] = "WKG999".into();
    assert!(validator.iter_errors(&bad).next().is_some());
    let mut bad = report;
    bad.as_object_mut().expect("object").remove("functions_in_part");
    assert!(validator.iter_errors(&bad).next().is_some());
}
