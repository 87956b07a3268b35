//! The drop-in crates of `compat/` (wdk-sys, wdk, wdk-alloc, wdk-panic,
//! wdk-build) live in a workspace of their own, so packages with those names
//! never share a Cargo.lock with the real crates.io ones. This test builds
//! and tests that workspace — the sample driver, written the
//! windows-drivers-rs way and pointed at the simulator only by
//! `[patch.crates-io]`, loaded, served, restarted and unloaded under every
//! verifier — and checks it is formatted, so `cargo test --workspace` covers it.

use std::path::PathBuf;
use std::process::Command;

fn compat_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat").join("Cargo.toml")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // A target directory of its own: the outer build's stays untouched.
    c.env("CARGO_TARGET_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compat"));
    c
}

fn run(mut command: Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: cannot run cargo: {e}"));
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    text
}

#[test]
fn the_compat_workspace_builds_and_its_driver_tests_pass() {
    let mut test = cargo();
    test.args(["test", "--locked", "--workspace", "--manifest-path"]).arg(compat_manifest());
    let text = run(test, "cargo test of kmdf-sim/compat");
    // The lifecycle tests ran (a build that ran no test would pass too).
    for name in [
        "serves_io_survives_100_restarts_and_unloads_clean_with_every_verifier",
        "a_held_request_is_cancelled_through_its_cancel_routine",
        "a_leak_is_driver_verifiers_0xc4_0x62_at_unload",
        "without_pool_tracking_the_leak_is_only_in_the_unload_report",
    ] {
        assert!(text.contains(&format!("test {name} ... ok")), "{name} did not pass:\n{text}");
    }
}

#[test]
fn the_compat_workspace_is_formatted() {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check", "--manifest-path"]).arg(compat_manifest());
    run(fmt, "cargo fmt --check of kmdf-sim/compat (run `cargo fmt --all --manifest-path kmdf-sim/compat/Cargo.toml`)");
}
