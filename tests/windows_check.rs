//! The Windows-target check (`ci/windows-check.py`), from the Linux side: the
//! pre-generated wdk-sys bindings it ships are the ones for the crates
//! Cargo.lock pins (and equal `../shared/data`'s copy where that folder is
//! present), `.ci/run` runs it with its self-test after the tests, and it
//! rejects bad input before doing any work.

use std::path::{Path, PathBuf};
use std::process::Command;

const BINDINGS: &str = "ci/windows-check/wdk-sys-0.5.2-bindings";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    let full = root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The `name = "x" version = "y"` lines of a bindings MANIFEST.
fn manifest_versions(manifest: &str) -> Vec<(String, String)> {
    manifest
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("name = \"")?;
            let (name, rest) = rest.split_once("\" version = \"")?;
            Some((name.to_string(), rest.strip_suffix('"')?.to_string()))
        })
        .collect()
}

fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let lock: toml::Table = lock.parse().expect("Cargo.lock is TOML");
    lock["package"]
        .as_array()
        .expect("[[package]]")
        .iter()
        .filter(|p| p["name"].as_str() == Some(name))
        .filter_map(|p| p["version"].as_str().map(str::to_string))
        .collect()
}

/// What `check_bindings_versions` in the script refuses: bindings made for
/// other versions of the crates that produce them.
fn stale_versions(manifest: &str, lock: &str) -> Vec<String> {
    let pinned = manifest_versions(manifest);
    let mut stale = Vec::new();
    for name in ["bindgen", "wdk-build", "wdk-sys"] {
        let Some((_, made_with)) = pinned.iter().find(|(n, _)| n == name) else {
            stale.push(format!("MANIFEST names no {name} version"));
            continue;
        };
        let locked = locked_versions(lock, name);
        if locked != [made_with.clone()] {
            stale.push(format!("{name}: bindings made with {made_with}, Cargo.lock has {locked:?}"));
        }
    }
    stale
}

#[test]
fn the_shipped_bindings_are_for_the_locked_crates() {
    let stale = stale_versions(&read(&format!("{BINDINGS}.MANIFEST")), &read("Cargo.lock"));
    assert!(
        stale.is_empty(),
        "regenerate with ci/windows-check.py --wdf-git DIR --save-bindings ci/windows-check: {stale:#?}"
    );
    // A moved pin is caught.
    let moved = read("Cargo.lock")
        .replace("name = \"bindgen\"\nversion = \"0.73.2\"", "name = \"bindgen\"\nversion = \"0.74.0\"");
    assert_eq!(stale_versions(&read(&format!("{BINDINGS}.MANIFEST")), &moved).len(), 1);
}

#[test]
fn the_shipped_bindings_list_a_sha256_for_each_file() {
    let manifest = read(&format!("{BINDINGS}.MANIFEST"));
    for file in ["constants.rs", "types.rs", "ntddk.rs", "wdf.rs"] {
        let line = manifest.lines().find(|l| l.ends_with(&format!("  {file}"))).unwrap_or_else(|| panic!("{file}"));
        let hash = line.split_whitespace().next().unwrap_or_default();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
    }
}

/// `shared/data` in the nearest ancestor of the checkout that has one.
fn shared_data() -> Option<PathBuf> {
    root().ancestors().skip(1).map(|a| a.join("shared/data")).find(|d| d.is_dir())
}

#[test]
fn the_shipped_bindings_equal_shared_data_where_present() {
    let Some(shared) = shared_data() else {
        eprintln!("no shared/data beside the checkout; the copies cannot be compared here");
        return;
    };
    for ext in ["tar.xz", "MANIFEST"] {
        let ours = std::fs::read(root().join(format!("{BINDINGS}.{ext}"))).expect("shipped copy");
        let name = Path::new(BINDINGS).file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let theirs = std::fs::read(shared.join(format!("{name}.{ext}"))).expect("shared copy");
        assert!(ours == theirs, "{BINDINGS}.{ext} differs from {}", shared.display());
    }
}

#[test]
fn ci_runs_the_windows_check_with_its_self_test_after_the_tests() {
    let run = read(".ci/run");
    let tests = run.find("cargo test --workspace --locked").expect("the test step");
    let check = run.find("python3 ci/windows-check.py --install --self-test").expect("the Windows check step");
    assert!(check > tests, "the Windows check runs after the Linux tests");
}

fn script(args: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(root().join("ci/windows-check.py"))
        .args(args)
        .env_remove("WDF_GIT")
        .env_remove("WINCHECK_WORK")
        .output()
        .expect("python3 runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_script_explains_its_modes_and_exit_codes() {
    let (code, help) = script(&["--help"]);
    assert_eq!(code, 0, "{help}");
    for needle in ["bindings", "headers", "--wdf-git", "--self-test", "--install", "Exit status", "file:line"] {
        assert!(help.contains(needle), "--help lacks {needle}: {help}");
    }
}

#[test]
fn the_script_rejects_bad_input_before_any_work() {
    let inside = root().join("target/windows-check-test-work");
    let missing = std::env::temp_dir().join("windows-check-test-no-such-bindings.tar.xz");
    let missing_work = std::env::temp_dir().join("windows-check-test-unused-work");
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--work", inside.to_str().unwrap_or_default()], "inside the checkout"),
        (
            vec![
                "--bindings",
                missing.to_str().unwrap_or_default(),
                "--work",
                missing_work.to_str().unwrap_or_default(),
            ],
            "not found",
        ),
        (vec!["--mode", "headers", "--work", missing_work.to_str().unwrap_or_default()], "needs --wdf-git"),
        (vec!["--kmdf", "/nonexistent", "--work", missing_work.to_str().unwrap_or_default()], "has no wdf.h"),
    ];
    for (args, what) in cases {
        let (code, text) = script(&args);
        assert_eq!(code, 2, "{args:?}: {text}");
        assert!(text.contains(what), "{args:?}: expected {what:?} in {text}");
    }
    assert!(!inside.exists(), "nothing was written inside the checkout");
    assert!(!missing_work.exists(), "no work directory was made for rejected input");
}

/// The `dll!symbol` entries of the link smoke test's import list.
fn expected_imports() -> Vec<(String, String)> {
    read("ci/windows-check/expected-imports.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next()?.split_once('!').map(|(d, s)| (d.to_string(), s.to_string())))
        .collect()
}

#[test]
fn the_link_import_list_holds_only_routines_the_sources_call() {
    let imports = expected_imports();
    assert!(imports.len() >= 5, "{imports:?}");
    // ntoskrnl.exe, and the loader's two exports the WdfDriverEntry.lib stand-in binds through.
    let loader: Vec<_> = imports.iter().filter(|(dll, _)| dll == "WDFLDR.SYS").map(|(_, s)| s.as_str()).collect();
    assert_eq!(loader, ["WdfVersionBind", "WdfVersionUnbind"], "{imports:?}");
    assert!(imports.iter().all(|(dll, _)| dll == "ntoskrnl.exe" || dll == "WDFLDR.SYS"), "{imports:?}");
    let stand_in = read("ci/windows-check/wdf-driver-entry-stand-in.c");
    for sym in loader {
        // declared dllimport, and called
        assert!(stand_in.matches(&format!("{sym}(")).count() >= 2, "the stand-in does not call {sym}");
    }
    // The driver never closes a WDFKEY's WDM handle itself.
    assert!(!imports.iter().any(|(_, s)| s == "ZwClose"), "ZwClose must not be imported");
    // Every Zw routine listed is called by the project's own sources.
    let sources: String = ["wdfkey/src", "src"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root().join(d)).expect("source dir"))
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    for (_, sym) in imports.iter().filter(|(_, s)| s.starts_with("Zw")) {
        assert!(sources.contains(&format!("{sym}(")), "{sym} is listed but no source calls it");
    }
}
