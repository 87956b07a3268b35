//! `kmdf-sim/scripts/peer_workspace.py`, the manifest edits the peer scripts
//! make to someone's driver (the patch block, "rlib"), on fixtures: each
//! edit changes only what it says (the rest of the file, comments included,
//! stays byte for byte), and the
//! helpers that decide what Cargo is told (the pinned crates to unpin, the
//! rustflags to keep, the names a build lacked) read what they claim to.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/peer_workspace.py")
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("peer-workspace").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn py(args: &[&str], cargo_home: Option<&Path>) -> Output {
    let mut c = Command::new("python3");
    c.arg(script()).args(args);
    if let Some(home) = cargo_home {
        c.env("CARGO_HOME", home);
    }
    let out = c.output().expect("python3 runs (CI needs python3 >= 3.11, as ci/windows-check.py does)");
    assert!(out.status.success(), "peer_workspace.py {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

/// `after` is `before` with `old` replaced by `new`, once.
fn assert_only_change(before: &str, after: &str, old: &str, new: &str) {
    assert_eq!(before.matches(old).count(), 1, "{old:?} is not once in the fixture");
    assert_eq!(after, before.replacen(old, new, 1), "the edit changed more than {old:?}");
}

const DRIVER: &str = r#"[package]
name = "echo-2"
version = "0.1.0"

[package.metadata.wdk]
# Using workspace wdk config

[lib]
crate-type = ["cdylib"] # the .sys

[dependencies]
wdk.workspace = true
"#;

#[test]
fn rlib_is_added_to_the_crate_type_and_nothing_else_changes() {
    let d = dir("rlib");
    let manifest = d.join("Cargo.toml");
    std::fs::write(&manifest, DRIVER).unwrap();
    py(&["rlib", manifest.to_str().unwrap()], None);
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert_only_change(DRIVER, &after, r#"crate-type = ["cdylib"]"#, r#"crate-type = ["cdylib", "rlib"]"#);
    // A second run leaves it as it is.
    py(&["rlib", manifest.to_str().unwrap()], None);
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), after);
}

const WORKSPACE: &str = r#"[workspace]
members = [
  "general/echo/kmdf/driver/*",
  "tools/dv/kmdf/fail_driver_pool_leak",
]
resolver = "2"

[workspace.dependencies]
wdk = "0.4.1"
"#;

#[test]
fn the_patch_is_appended_and_nothing_before_it_changes() {
    let d = dir("workspace");
    let manifest = d.join("Cargo.toml");
    std::fs::write(&manifest, WORKSPACE).unwrap();
    let block = d.join("patch.toml");
    let entries = "wdk-0_4 = { package = \"wdk\", path = \"/x/lines/wdk-0.4\" } # wdk 0.4.1\n";
    std::fs::write(&block, format!("# printed by patch.sh\n[patch.crates-io]\n{entries}")).unwrap();
    py(&["patch", manifest.to_str().unwrap(), block.to_str().unwrap()], None);
    let patched = std::fs::read_to_string(&manifest).unwrap();
    assert!(patched.starts_with(WORKSPACE), "the manifest before the block changed");
    assert!(patched.ends_with(&format!("[patch.crates-io]\n{entries}")), "{patched}");
}

#[test]
fn a_patch_table_the_driver_has_gets_the_entries_merged_into_it() {
    let d = dir("merge");
    let manifest = d.join("Cargo.toml");
    let own = format!("{WORKSPACE}\n[patch.crates-io]\nfoo = {{ path = \"../foo\" }}\n");
    std::fs::write(&manifest, &own).unwrap();
    let block = d.join("patch.toml");
    let entry = "wdk-0_4 = { package = \"wdk\", path = \"/x/lines/wdk-0.4\" } # wdk 0.4.1";
    std::fs::write(&block, format!("[patch.crates-io]\n{entry}\n")).unwrap();
    py(&["patch", manifest.to_str().unwrap(), block.to_str().unwrap()], None);
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert_only_change(&own, &after, "[patch.crates-io]\n", &format!("[patch.crates-io]\n{entry}\n"));
}

#[test]
fn only_the_registry_pins_of_windows_drivers_rs_crates_are_unpinned() {
    let d = dir("locked");
    std::fs::write(
        d.join("Cargo.lock"),
        r#"version = 4

[[package]]
name = "wdk-sys"
version = "0.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "wdk-macros"
version = "0.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "wdk"
version = "0.4.1"

[[package]]
name = "anyhow"
version = "1.0.89"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#,
    )
    .unwrap();
    assert_eq!(stdout(&py(&["locked", d.to_str().unwrap()], None)), "wdk-sys@0.3.0\n");
}

#[test]
fn the_drivers_rustflags_are_kept_without_crt_static() {
    let d = dir("rustflags");
    let home = dir("rustflags-home");
    std::fs::create_dir_all(d.join(".cargo")).unwrap();
    std::fs::write(
        d.join(".cargo/config.toml"),
        "[build]\nrustflags = [\"-C\", \"target-feature=+crt-static\", \"--cfg\", 'driver_model__driver_type=\"WDM\"']\n",
    )
    .unwrap();
    let inner = d.join("driver");
    std::fs::create_dir_all(&inner).unwrap();
    let out = stdout(&py(&["rustflags", inner.to_str().unwrap()], Some(&home)));
    assert_eq!(out, "--cfg\u{1f}driver_model__driver_type=\"WDM\"");
}

#[test]
fn the_names_a_build_lacked_are_counted_from_rustc_errors() {
    let d = dir("missing");
    let log = d.join("drv.build.log");
    std::fs::write(
        &log,
        "error[E0432]: unresolved import `wdk_sys::ntddk::DbgPrint`\n\
         error[E0432]: unresolved imports `wdk_sys::KMUTEX`, `wdk_sys::ntddk::KeWaitForSingleObject`\n\
         error[E0425]: cannot find function, tuple struct or tuple variant `IoCreateDevice` in this scope\n\
         error[E0425]: cannot find function, tuple struct or tuple variant `IoCreateDevice` in this scope\n\
         error[E0412]: cannot find type `IRP` in crate `wdk_sys`\n\
         error[E0308]: mismatched types\n",
    )
    .unwrap();
    let out = stdout(&py(&["missing", log.to_str().unwrap()], None));
    assert_eq!(
        out,
        "   2 IoCreateDevice\n   1 wdk_sys::IRP\n   1 wdk_sys::KMUTEX\n   1 wdk_sys::ntddk::DbgPrint\n   1 wdk_sys::ntddk::KeWaitForSingleObject\n"
    );
}
