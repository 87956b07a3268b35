//! A driver outside this repository adopting wdfkey, as its README says:
//! the template copied to a fresh directory builds, passes its tests and
//! clippy offline against this checkout; the shipped clippy configuration
//! flags each of the three closes of a lent handle; the README's manifest,
//! clippy.toml and Rust code are the template's, verbatim.
//!
//! The copies live in the system's temporary directory; their builds share
//! one target directory, `<this checkout's target>/adopt`, so a re-run is
//! incremental. `--offline`, with this checkout's Cargo.lock copied in: the
//! versions are the ones CI pins, and nothing is fetched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("wdfkey/ is in the checkout").to_path_buf()
}

fn template() -> PathBuf {
    checkout().join("examples/regkey-driver")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh directory for one copy.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wdfkey-adopt-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Copies `from` into `to`, without build output and lock files.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())).flatten() {
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
    }
}

/// Runs cargo in `dir`, offline, with the shared target directory; returns
/// (success, stdout, stderr). The environment of the outer `cargo test`
/// (flags, toolchain override, target) is not passed on: the copy is built as
/// a user would build it.
fn cargo(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| checkout().join("target"))
        .join("adopt");
    let output = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTDOCFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .output()
        .expect("cargo runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (output.status.success(), text(output.stdout), text(output.stderr))
}

/// The template's `path = "../../…"` dependencies pointed at this checkout —
/// the one edit the README asks of a copy.
fn point_at_checkout(manifest: &str) -> String {
    let rewritten = manifest.replace(r#"path = "../../"#, &format!(r#"path = "{}/"#, checkout().display()));
    assert_ne!(rewritten, manifest, "the template's manifest has `path = \"../../…\"` dependencies");
    rewritten
}

#[test]
fn the_template_copied_out_passes_its_tests_and_clippy_offline() {
    let dir = fresh_dir("template");
    copy_tree(&template(), &dir);
    let manifest = dir.join("Cargo.toml");
    fs::write(&manifest, point_at_checkout(&read(&manifest))).expect("write the manifest");
    fs::copy(checkout().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");

    let (ok, stdout, stderr) = cargo(&dir, &["test", "--offline"]);
    assert!(ok, "cargo test in a copy of the template failed:\n{stderr}\n{stdout}");
    // The template's own tests ran (not an empty run): its driver tests.
    assert!(stdout.contains("each_device_keeps_its_hardware_key_until_its_cleanup ... ok"), "{stdout}");
    assert!(!stderr.contains("warning:"), "warnings in the copy's build:\n{stderr}");

    let (ok, stdout, stderr) = cargo(&dir, &["clippy", "--offline", "--all-targets", "--", "-D", "warnings"]);
    assert!(ok, "clippy in a copy of the template failed:\n{stderr}\n{stdout}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_shipped_clippy_configuration_flags_each_close_of_a_lent_handle() {
    let dir = fresh_dir("escape");
    let manifest = "[package]\nname = \"escape-fixture\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
                    [dependencies]\nkmdf-sim = { path = \"../../kmdf-sim\" }\nwdfkey = { path = \"../../wdfkey\" }\n\n\
                    [workspace]\n";
    fs::write(dir.join("Cargo.toml"), point_at_checkout(manifest)).expect("write the manifest");
    fs::create_dir_all(dir.join("src")).expect("src/");
    let fixture = read(&checkout().join("wdfkey/tests/adopt/escape.rs"));
    fs::write(dir.join("src/lib.rs"), &fixture).expect("write src/lib.rs");
    // The configuration a driver copies: the template's.
    fs::copy(template().join("clippy.toml"), dir.join("clippy.toml")).expect("copy clippy.toml");
    fs::copy(checkout().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");

    // Without the configuration the escape compiles cleanly: it is the unsafe
    // escape, not a compile error.
    let (ok, _, stderr) = cargo(&dir, &["build", "--offline"]);
    assert!(ok, "the escape fixture must compile:\n{stderr}");

    let (ok, stdout, stderr) = cargo(&dir, &["clippy", "--offline", "--message-format=json"]);
    assert!(ok, "clippy did not run:\n{stderr}");
    let flagged: Vec<(String, usize, String)> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-message")
        .map(|m| m["message"].clone())
        .filter(|d| d["code"]["code"] == "clippy::disallowed_methods")
        .map(|d| {
            let span = &d["spans"][0];
            let notes: Vec<String> = d["children"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["message"].as_str().map(String::from))
                .collect();
            (
                d["message"].as_str().unwrap_or_default().to_string(),
                span["line_start"].as_u64().unwrap_or(0) as usize,
                notes.join("\n"),
            )
        })
        .collect();
    for close in ["ZwClose", "NtClose", "ObCloseHandle"] {
        let line = fixture.lines().position(|l| l.contains(&format!("// ESCAPE: {close}"))).expect("marked line") + 1;
        let hit = flagged.iter().find(|(_, l, _)| *l == line);
        let Some((message, _, notes)) = hit else {
            panic!("clippy did not flag {close} at src/lib.rs:{line}; it flagged {flagged:?}\n{stderr}");
        };
        assert!(message.contains(&format!("kmdf_sim::ntddk::{close}")), "{message}");
        assert!(notes.contains("a WDFKEY's handle is closed by the framework; drop the RegKey instead"), "{notes}");
    }
    assert_eq!(flagged.len(), 3, "{flagged:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_repository_bans_the_same_closes_as_the_template() {
    let root = read(&checkout().join("clippy.toml"));
    for line in read(&template().join("clippy.toml")).lines().filter(|l| l.trim_start().starts_with("{ path")) {
        let path = line.split('"').nth(1).expect("a quoted path");
        assert!(root.contains(&format!("path = \"{path}\"")), "clippy.toml lacks {path}");
    }
}
