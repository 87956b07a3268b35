//! `patch.sh`'s `[patch.crates-io]` block, used the way a driver's test
//! workspace uses it: a scratch package asks for every released
//! windows-drivers-rs line by the version a driver writes, with every
//! feature the real release declares, and the block alone must resolve each
//! to its stand-in; its build script calls every wdk-build line, which must
//! set `driver_model__driver_type` from `metadata.wdk` as wdk-build does.
//! Offline: the stand-ins are paths, the rest comes pinned from the compat
//! workspace's Cargo.lock (already fetched for this build).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A released line: crate, the version a driver asks for (the line's first
/// release), the stand-in's version (the line's last release), and the
/// features that release declares (crates.io index,
/// `https://index.crates.io/{wd/k-/wdk-sys,3/w/wdk,...}`).
struct Line {
    krate: &'static str,
    asked: &'static str,
    latest: &'static str,
    features: &'static [&'static str],
}

const SYS_FEATURES: &[&str] =
    &["default", "gpio", "hid", "nightly", "parallel-ports", "spb", "storage", "test-stubs", "usb"];

const LINES: &[Line] = &[
    Line { krate: "wdk-sys", asked: "0.3.0", latest: "0.3.0", features: &["default", "nightly", "test-stubs"] },
    Line { krate: "wdk-sys", asked: "0.4.0", latest: "0.4.0", features: SYS_FEATURES },
    Line {
        krate: "wdk-sys",
        asked: "0.5.0",
        latest: "0.5.2",
        features: &[
            "default",
            "gpio",
            "hid",
            "nightly",
            "parallel-ports",
            "spb",
            "storage",
            "suppress-wdk-linking",
            "test-stubs",
            "usb",
        ],
    },
    Line { krate: "wdk", asked: "0.3.0", latest: "0.3.1", features: &["alloc", "default", "nightly"] },
    Line { krate: "wdk", asked: "0.4.0", latest: "0.4.1", features: &["alloc", "default", "nightly"] },
    Line { krate: "wdk", asked: "0.5.0", latest: "0.5.0", features: &["alloc", "nightly"] },
    Line { krate: "wdk-build", asked: "0.3.0", latest: "0.3.0", features: &[] },
    Line { krate: "wdk-build", asked: "0.4.0", latest: "0.4.0", features: &["nightly"] },
    Line { krate: "wdk-build", asked: "0.5.0", latest: "0.5.1", features: &["nightly"] },
    Line { krate: "wdk-build", asked: "0.6.0", latest: "0.6.0", features: &["nightly"] },
    Line { krate: "wdk-alloc", asked: "0.3.0", latest: "0.3.1", features: &[] },
    Line { krate: "wdk-alloc", asked: "0.4.0", latest: "0.4.2", features: &[] },
    Line { krate: "wdk-panic", asked: "0.3.0", latest: "0.3.1", features: &[] },
    Line { krate: "wdk-panic", asked: "0.4.0", latest: "0.4.1", features: &[] },
    Line { krate: "wdk-panic", asked: "0.5.0", latest: "0.5.0", features: &[] },
];

impl Line {
    /// `0.5`.
    fn line(&self) -> &'static str {
        &self.asked[..self.asked.rfind('.').expect("x.y.z")]
    }

    /// The probe's dependency name: `wdk-sys-0_5`.
    fn key(&self) -> String {
        format!("{}-{}", self.krate, self.line().replace('.', "_"))
    }

    /// The requirement with every feature but `default` (a manifest cannot name it).
    fn requirement(&self) -> String {
        let features: Vec<String> =
            self.features.iter().filter(|f| **f != "default").map(|f| format!("{f:?}")).collect();
        format!(
            "{} = {{ package = {:?}, version = {:?}, features = [{}] }}\n",
            self.key(),
            self.krate,
            self.asked,
            features.join(", ")
        )
    }
}

fn compat() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("patch-check sits in compat/").to_path_buf()
}

fn output(mut command: Command, what: &str) -> Output {
    command.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn patch_block() -> String {
    let mut sh = Command::new("bash");
    sh.arg(compat().join("patch.sh"));
    let out = output(sh, "patch.sh");
    assert!(out.status.success(), "patch.sh failed:\n{}", text(&out));
    String::from_utf8(out.stdout).expect("patch.sh prints UTF-8")
}

/// The scratch package's build script and library: every wdk-build line
/// configures the build; the library compiles only under the expected
/// driver-model cfg and uses every line, each the same shared type.
const BUILD_RS: &str = "fn main() -> Result<(), wdk_build_0_6::ConfigError> {
    wdk_build_0_3::configure_wdk_binary_build()?;
    wdk_build_0_4::configure_wdk_binary_build()?;
    wdk_build_0_5::configure_wdk_binary_build()?;
    wdk_build_0_6::configure_wdk_binary_build()
}
";

fn lib_rs(model: &str) -> String {
    format!(
        "#![no_std]
#[cfg(not(driver_model__driver_type = \"{model}\"))]
compile_error!(\"wdk-build did not set driver_model__driver_type = {model}\");
use wdk_panic_0_3 as _;
use wdk_panic_0_4 as _;
use wdk_panic_0_5 as _;
pub const fn same(s: wdk_sys_0_3::NTSTATUS) -> (wdk_sys_0_4::NTSTATUS, wdk_sys_0_5::NTSTATUS) {{ (s, s) }}
pub fn success(s: wdk_sys_0_5::NTSTATUS) -> bool {{
    wdk_0_3::nt_success(s) && wdk_0_4::nt_success(s) && wdk_0_5::nt_success(s)
}}
pub static ALLOCATORS: [wdk_alloc_0_3::WdkAllocator; 2] = [wdk_alloc_0_3::WdkAllocator, wdk_alloc_0_4::WdkAllocator];
"
    )
}

/// Writes a scratch package at `dir` that asks for every line; `metadata`
/// is its `metadata.wdk` table, if any; the library expects `model`.
fn probe(dir: &Path, metadata: &str, model: &str) {
    std::fs::create_dir_all(dir).expect("scratch dir");
    let mut manifest = String::from(
        "[package]\nname = \"lines-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\nbuild = \"build.rs\"\n\n[lib]\npath = \"lib.rs\"\n\n",
    );
    manifest.push_str(metadata);
    manifest.push_str("\n[dependencies]\n");
    for line in LINES.iter().filter(|l| l.krate != "wdk-build") {
        manifest.push_str(&line.requirement());
    }
    manifest.push_str("\n[build-dependencies]\n");
    for line in LINES.iter().filter(|l| l.krate == "wdk-build") {
        manifest.push_str(&line.requirement());
    }
    // A workspace of its own (the scratch dir is under another workspace's target/).
    manifest.push_str("\n[workspace]\n\n");
    manifest.push_str(&patch_block());
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::write(dir.join("build.rs"), BUILD_RS).expect("write build.rs");
    std::fs::write(dir.join("lib.rs"), lib_rs(model)).expect("write lib.rs");
    // Pins the stand-ins' own dependencies (kmdf-sim's libc, serde_json) to
    // what this build already fetched, so the probe resolves offline.
    std::fs::copy(compat().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
}

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("patch-check").join(name)
}

fn cargo(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.args(args).arg("--offline").current_dir(dir);
    // One target directory for every probe: kmdf-sim is checked once.
    c.env("CARGO_TARGET_DIR", scratch("target"));
    output(c, "cargo")
}

#[test]
fn the_block_names_every_line_once_by_an_absolute_path() {
    let block = patch_block();
    let entries: Vec<&str> = block.lines().filter(|l| l.contains("package = ")).collect();
    assert_eq!(entries.len(), LINES.len(), "{block}");
    assert_eq!(block.lines().filter(|l| l.trim() == "[patch.crates-io]").count(), 1, "{block}");
    for line in LINES {
        let entry = entries
            .iter()
            .find(|e| e.starts_with(&format!("{} = ", line.key())))
            .unwrap_or_else(|| panic!("no entry {} in\n{block}", line.key()));
        let path = entry.split("path = \"").nth(1).and_then(|p| p.split('"').next()).expect("a path");
        assert!(Path::new(path).is_absolute(), "{entry}");
        assert!(Path::new(path).join("Cargo.toml").is_file(), "{entry}: no manifest there");
    }
    // Every stand-in line is in the table above (a new one gets checked too).
    let on_disk = std::fs::read_dir(compat().join("lines")).expect("lines/").count();
    assert_eq!(on_disk, LINES.len(), "lines/ and LINES disagree");
}

#[test]
fn every_line_resolves_to_its_stand_in_with_the_real_features() {
    let dir = scratch("resolve");
    probe(&dir, "[package.metadata.wdk.driver-model]\ndriver-type = \"WDM\"\n", "WDM");
    let out = cargo(&dir, &["metadata", "--format-version", "1"]);
    assert!(out.status.success(), "cargo metadata of the probe failed:\n{}", text(&out));
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let lines_dir = compat().join("lines");
    for line in LINES {
        let found: Vec<&Value> =
            packages.iter().filter(|p| p["name"] == line.krate && p["version"] == line.latest).collect();
        assert_eq!(found.len(), 1, "{} {} is not in the graph once", line.krate, line.latest);
        let package = found[0];
        assert!(package["source"].is_null(), "{} {} came from {}", line.krate, line.latest, package["source"]);
        let manifest = package["manifest_path"].as_str().expect("manifest_path");
        assert!(Path::new(manifest).starts_with(&lines_dir), "{manifest} is not a stand-in");
        let features: BTreeSet<&str> =
            package["features"].as_object().expect("features").keys().map(String::as_str).collect();
        let real: BTreeSet<&str> = line.features.iter().copied().collect();
        assert_eq!(features, real, "{} {}: the stand-in's features are not the real ones", line.krate, line.latest);
    }
    // Nothing of windows-drivers-rs fell through to crates.io.
    let from_registry: Vec<&Value> = packages
        .iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("wdk")))
        .filter(|p| !p["source"].is_null())
        .collect();
    assert!(from_registry.is_empty(), "{from_registry:?}");
}

#[test]
fn build_scripts_get_the_driver_model_from_metadata_wdk() {
    // The driver's own table, then the workspace's behind an empty package
    // table (as Windows-rust-driver-samples writes it).
    let kmdf = "[package.metadata.wdk.driver-model]\ndriver-type = \"KMDF\"\nkmdf-version-major = 1\ntarget-kmdf-version-minor = 33\n";
    let dir = scratch("kmdf");
    probe(&dir, kmdf, "KMDF");
    let out = cargo(&dir, &["check", "--quiet"]);
    assert!(out.status.success(), "the KMDF probe did not build:\n{}", text(&out));

    let dir = scratch("workspace-umdf");
    probe(&dir, "[package.metadata.wdk]\n", "UMDF");
    let manifest = dir.join("Cargo.toml");
    let with_workspace_table = std::fs::read_to_string(&manifest).expect("manifest").replace(
        "\n[workspace]\n",
        "\n[workspace]\n[workspace.metadata.wdk.driver-model]\ndriver-type = \"UMDF\"\numdf-version-major = 2\ntarget-umdf-version-minor = 33\n",
    );
    std::fs::write(&manifest, with_workspace_table).expect("manifest");
    let out = cargo(&dir, &["check", "--quiet"]);
    assert!(out.status.success(), "the workspace-UMDF probe did not build:\n{}", text(&out));

    // The wrong cfg is a compile error: the check above could fail.
    let dir = scratch("mismatch");
    probe(&dir, kmdf, "WDM");
    let out = cargo(&dir, &["check", "--quiet"]);
    assert!(!out.status.success(), "a KMDF driver built as WDM:\n{}", text(&out));
    assert!(text(&out).contains("did not set driver_model__driver_type = WDM"), "{}", text(&out));

    // A driver binary with no configuration fails as wdk-build's does.
    let dir = scratch("none");
    probe(&dir, "", "WDM");
    let out = cargo(&dir, &["check", "--quiet"]);
    assert!(!out.status.success(), "a driver without metadata.wdk built:\n{}", text(&out));
    assert!(text(&out).contains("no WDK configuration metadata is detected"), "{}", text(&out));
}
