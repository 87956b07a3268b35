//! The Windows packaging, checked on every host: the INF's structure and its
//! agreement with the package and the driver's constants; Cargo.toml,
//! Makefile.toml and .cargo/config.toml against what the wdk-build flow
//! requires (windows-drivers-rs guide §1, §5, §6) and what `cargo wdk build`
//! looks for; the one INF source, `inf/wdfkey_guard.inx`, and the copy of it
//! that `cargo wdk build` reads. A broken copy of each kind is rejected with a
//! message naming the line.

mod support {
    pub mod inf;
}

use std::path::Path;
use support::inf::{Expected, check};

const FS_NAME: &str = "wdfkey_guard";

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The INF source: `inf/<fs-name>.inx`, which the makefile's
/// `copy-inx-to-output` reads and from which docs/windows.md copies the file
/// `cargo wdk build` reads.
const INX: &str = "inf/wdfkey_guard.inx";
/// Where cargo-wdk 0.2.0 reads the INF source: `<package root>/<fs-name>.inx`.
const CARGO_WDK_INX: &str = "wdfkey_guard.inx";

fn inx() -> String {
    read(INX)
}

fn expected() -> Expected<'static> {
    Expected {
        fs_name: FS_NAME,
        hardware_id: wdfkey_guard::HARDWARE_ID,
        sddl: wdfkey_guard::DEVICE_SDDL,
        parameters: &[
            ("MaxValueSize", wdfkey_guard::DEFAULT_MAX_VALUE_SIZE),
            ("TraceLevel", wdfkey_guard::DEFAULT_TRACE_LEVEL),
        ],
    }
}

/// 1-based line of the first line containing `needle` (0 if none).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(0, |i| i + 1)
}

/// What the wdk-build flow needs from the three manifests.
fn check_manifests(cargo: &str, makefile: &str, config: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut err = |file: &str, line: usize, m: String| errors.push(format!("{file} line {line}: {m}"));
    let manifest: toml::Table = match cargo.parse() {
        Ok(t) => t,
        Err(e) => return vec![format!("Cargo.toml: {e}")],
    };
    let get = |path: &[&str]| path.iter().try_fold(&toml::Value::Table(manifest.clone()), |v, k| v.get(k)).cloned();

    // The package name is the fs-name of every package file (guide §5.4).
    let name = get(&["package", "name"]).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    if name.replace('-', "_") != FS_NAME || FS_NAME != wdfkey_guard::SERVICE_NAME {
        err("Cargo.toml", line_of(cargo, "name ="), format!("package {name} does not give the fs-name {FS_NAME}"));
    }
    // [package.metadata.wdk] is parsed with deny_unknown_fields (guide §1.2).
    match get(&["package", "metadata", "wdk"]).and_then(|v| v.as_table().cloned()) {
        None => err("Cargo.toml", 0, "no [package.metadata.wdk.driver-model]: cargo make would not package".into()),
        Some(wdk) => {
            for key in wdk.keys().filter(|k| *k != "driver-model") {
                err(
                    "Cargo.toml",
                    line_of(cargo, key),
                    format!("metadata.wdk.{key}: wdk-build allows only driver-model"),
                );
            }
            let model = wdk.get("driver-model").and_then(|m| m.as_table().cloned()).unwrap_or_default();
            let allowed =
                ["driver-type", "kmdf-version-major", "target-kmdf-version-minor", "minimum-kmdf-version-minor"];
            for key in model.keys().filter(|k| !allowed.contains(&k.as_str())) {
                err("Cargo.toml", line_of(cargo, key), format!("driver-model.{key} is not a wdk-build key"));
            }
            for (key, want) in [
                ("driver-type", toml::Value::from("KMDF")),
                ("kmdf-version-major", toml::Value::from(1)),
                ("target-kmdf-version-minor", toml::Value::from(33)),
            ] {
                if model.get(key) != Some(&want) {
                    err("Cargo.toml", line_of(cargo, key), format!("driver-model.{key} must be {want} (KMDF 1.33)"));
                }
            }
        }
    }
    // cdylib for the .sys, rlib for tests; no [lib] name (guide §1.1).
    let lib = get(&["lib"]).and_then(|v| v.as_table().cloned()).unwrap_or_default();
    let types: Vec<&str> =
        lib.get("crate-type").and_then(|v| v.as_array()).into_iter().flatten().filter_map(|v| v.as_str()).collect();
    if !types.contains(&"cdylib") || !types.contains(&"rlib") {
        err("Cargo.toml", line_of(cargo, "crate-type"), "crate-type must be [\"cdylib\", \"rlib\"]".into());
    }
    if lib.contains_key("name") {
        err("Cargo.toml", line_of(cargo, "[lib]"), "[lib] name changes the .dll/.sys name; remove it".into());
    }
    // panic = "abort" in both profiles of the root manifest (guide §1.2).
    for profile in ["dev", "release"] {
        if get(&["profile", profile, "panic"]).and_then(|v| v.as_str().map(str::to_string)).as_deref() != Some("abort")
        {
            err(
                "Cargo.toml",
                line_of(cargo, &format!("[profile.{profile}]")),
                format!("profile.{profile}.panic must be \"abort\""),
            );
        }
    }
    // The guide's pinned versions, Windows-only.
    let windows = get(&["target", "cfg(windows)"]).and_then(|v| v.as_table().cloned()).unwrap_or_default();
    for (table, krate, version) in [
        ("dependencies", "wdk", "0.5.0"),
        ("dependencies", "wdk-alloc", "0.4.2"),
        ("dependencies", "wdk-panic", "0.5.0"),
        ("dependencies", "wdk-sys", "0.5.2"),
        ("build-dependencies", "wdk-build", "0.6.0"),
    ] {
        let found = windows.get(table).and_then(|t| t.get(krate)).and_then(|v| v.as_str().map(str::to_string));
        if found.as_deref() != Some(version) {
            err(
                "Cargo.toml",
                line_of(cargo, &format!("{krate} =")),
                format!("[target.'cfg(windows)'.{table}] {krate} must be \"{version}\""),
            );
        }
    }

    // Makefile.toml (guide §5.1, §5.4).
    let make: toml::Table = match makefile.parse() {
        Ok(t) => t,
        Err(e) => return vec![format!("Makefile.toml: {e}")],
    };
    if make.get("extend").and_then(|v| v.as_str()) != Some("target/rust-driver-makefile.toml") {
        err("Makefile.toml", line_of(makefile, "extend"), "extend must be \"target/rust-driver-makefile.toml\"".into());
    }
    let config_table = make.get("config").and_then(|v| v.as_table()).cloned().unwrap_or_default();
    let script = config_table.get("load_script").and_then(|v| v.as_str()).unwrap_or_default();
    if !script.contains("wdk_build::cargo_make::load_rust_driver_makefile()") || !script.starts_with("#!@rust") {
        err(
            "Makefile.toml",
            line_of(makefile, "load_script"),
            "load_script must run wdk_build::cargo_make::load_rust_driver_makefile() with @rust".into(),
        );
    }
    if !script.contains("wdk-build = \"0.6.0\"") {
        err(
            "Makefile.toml",
            line_of(makefile, "wdk-build"),
            "load_script must depend on wdk-build 0.6.0, the version Cargo.toml builds with".into(),
        );
    }
    if script.contains("load_rust_driver_sample_makefile") {
        err(
            "Makefile.toml",
            line_of(makefile, "sample_makefile"),
            "the sample makefile is for the reserved Sample class only".into(),
        );
    }
    if config_table.get("default_to_workspace").and_then(|v| v.as_bool()) != Some(false) {
        err(
            "Makefile.toml",
            line_of(makefile, "[config]"),
            "default_to_workspace = false: only the driver is packaged".into(),
        );
    }
    // The upstream copy-inx-to-output reads <fs-name>.inx at the package root;
    // the override reads inf/<fs-name>.inx and writes the output's .inf, and
    // nothing of the upstream task is merged into it.
    let copy = make.get("tasks").and_then(|t| t.get("copy-inx-to-output")).and_then(|t| t.as_table());
    let at = line_of(makefile, "[tasks.copy-inx-to-output]");
    match copy {
        None => err(
            "Makefile.toml",
            0,
            "no [tasks.copy-inx-to-output]: the upstream task reads <fs-name>.inx at the package root, not inf/".into(),
        ),
        Some(task) => {
            let script = task.get("script").and_then(|v| v.as_str()).unwrap_or_default();
            if task.get("clear").and_then(|v| v.as_bool()) != Some(true) {
                err(
                    "Makefile.toml",
                    at,
                    "copy-inx-to-output needs clear = true, or the upstream script is merged in".into(),
                );
            }
            if task.get("script_runner").and_then(|v| v.as_str()) != Some("@duckscript") {
                err("Makefile.toml", at, "copy-inx-to-output must run with @duckscript (built into cargo-make)".into());
            }
            if !script.contains("\"${CARGO_MAKE_WORKING_DIRECTORY}/inf/${CARGO_MAKE_CRATE_FS_NAME}.inx\"") {
                err(
                    "Makefile.toml",
                    line_of(makefile, "source = ").max(at),
                    format!("copy-inx-to-output must read {INX} (inf/${{CARGO_MAKE_CRATE_FS_NAME}}.inx)"),
                );
            }
            if !script.contains("cp \"${source}\" \"${WDK_BUILD_OUTPUT_DIRECTORY}/${CARGO_MAKE_CRATE_FS_NAME}.inf\"") {
                err(
                    "Makefile.toml",
                    line_of(makefile, "cp ").max(at),
                    "copy-inx-to-output must copy it to ${WDK_BUILD_OUTPUT_DIRECTORY}/<fs-name>.inf, where stampinf reads it".into(),
                );
            }
        }
    }

    // .cargo/config.toml: crt-static, scoped to MSVC targets (guide §1.3).
    let cfg: toml::Table = match config.parse() {
        Ok(t) => t,
        Err(e) => return vec![format!(".cargo/config.toml: {e}")],
    };
    let flags = cfg
        .get("target")
        .and_then(|t| t.get("cfg(all(target_os = \"windows\", target_env = \"msvc\"))"))
        .and_then(|t| t.get("rustflags"))
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    if !flags.contains("target-feature=+crt-static") {
        err(
            ".cargo/config.toml",
            line_of(config, "rustflags"),
            "MSVC targets need -C target-feature=+crt-static".into(),
        );
    }
    errors
}

#[test]
fn the_inx_is_complete_and_agrees_with_the_package_and_the_driver() {
    let errors = check(&inx(), &expected());
    assert!(errors.is_empty(), "{errors:#?}");
}

/// What keeps `cargo wdk build`'s copy of the INF source from drifting:
/// `docs` (docs/windows.md) must copy [`INX`] to [`CARGO_WDK_INX`] right
/// before `cargo wdk build`, `gitignore` must keep that copy out of the
/// repository, and a copy present in the checkout must equal the source.
fn cargo_wdk_copy_errors(docs: &str, gitignore: &str, source: &[u8], copy: Option<&[u8]>) -> Vec<String> {
    let mut errors = Vec::new();
    let lines: Vec<&str> = docs.lines().map(str::trim).collect();
    let copy_cmd = format!("copy /y {} {CARGO_WDK_INX}", INX.replace('/', "\\"));
    match lines.iter().position(|l| *l == copy_cmd) {
        None => errors.push(format!("docs/windows.md: no `{copy_cmd}` line (the cargo-wdk path)")),
        Some(i) if !lines.get(i + 1).is_some_and(|l| l.starts_with("cargo wdk build")) => {
            errors.push(format!("docs/windows.md line {}: `{copy_cmd}` is not followed by `cargo wdk build`", i + 1))
        }
        Some(_) => {}
    }
    if !gitignore.lines().any(|l| l.trim() == format!("/{CARGO_WDK_INX}")) {
        errors.push(format!(
            ".gitignore: no /{CARGO_WDK_INX} line; the copy cargo wdk build reads must not be committed"
        ));
    }
    if let Some(copy) = copy
        && copy != source
    {
        errors.push(format!(
            "{CARGO_WDK_INX} differs from {INX}: the source is {INX}; edit it there and copy it again (docs/windows.md)"
        ));
    }
    errors
}

/// `cargo wdk build` (cargo-wdk 0.2.0) packages a workspace package that has
/// `[package.metadata.wdk]` and a cdylib target, reading
/// `<package root>/<name with '-' as '_'>.inx` (its `PackageTask::new`) and
/// failing when that file is missing. docs/windows.md copies [`INX`] there
/// first; a copy left in the checkout must be the source's bytes.
#[test]
fn cargo_wdk_build_reads_a_copy_of_the_one_inx_source() {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let name = manifest["package"]["name"].as_str().unwrap_or_default().replace('-', "_");
    assert_eq!(format!("{name}.inx"), CARGO_WDK_INX);
    assert_eq!(format!("inf/{name}.inx"), INX);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read(root.join(INX)).expect("inf/wdfkey_guard.inx");
    let copy = std::fs::read(root.join(CARGO_WDK_INX)).ok();
    let errors = cargo_wdk_copy_errors(&read("docs/windows.md"), &read(".gitignore"), &source, copy.as_deref());
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_drifted_or_undocumented_cargo_wdk_copy_is_rejected() {
    let (docs, gitignore) = (read("docs/windows.md"), read(".gitignore"));
    let source = inx().into_bytes();
    let mut edited = source.clone();
    edited.extend_from_slice(b"; edited in the copy\r\n");
    let errors = cargo_wdk_copy_errors(&docs, &gitignore, &source, Some(&edited));
    assert!(errors.iter().any(|e| e.contains("differs from inf/wdfkey_guard.inx")), "{errors:#?}");
    assert!(cargo_wdk_copy_errors(&docs, &gitignore, &source, Some(&source)).is_empty());
    let without = docs.replace("copy /y inf\\wdfkey_guard.inx wdfkey_guard.inx", "");
    let errors = cargo_wdk_copy_errors(&without, &gitignore, &source, None);
    assert!(
        errors.iter().any(|e| e.contains("no `copy /y inf\\wdfkey_guard.inx wdfkey_guard.inx` line")),
        "{errors:#?}"
    );
    let errors = cargo_wdk_copy_errors(&docs, "/target\n", &source, None);
    assert!(errors.iter().any(|e| e.contains("no /wdfkey_guard.inx line")), "{errors:#?}");
}

#[test]
fn the_inx_source_is_ascii_and_marked_crlf_for_windows_checkouts() {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(INX)).expect("inx");
    assert!(bytes.is_ascii());
    assert!(
        read(".gitattributes")
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["*.inx", "text", "eol=crlf"])
    );
}

#[test]
fn the_manifests_give_the_wdk_build_flow_what_it_needs() {
    let errors = check_manifests(&read("Cargo.toml"), &read("Makefile.toml"), &read(".cargo/config.toml"));
    assert!(errors.is_empty(), "{errors:#?}");
}

/// `text` with `from` replaced by `to` (which must occur), and the line it is on.
fn broken(text: &str, from: &str, to: &str) -> (String, usize) {
    assert!(text.contains(from), "fixture base lacks {from:?}");
    (text.replacen(from, to, 1), line_of(text, from))
}

#[test]
fn a_broken_inx_of_each_kind_is_rejected_naming_the_line() {
    let base = inx();
    let cases: &[(&str, &str, &str)] = &[
        ("Class       = System", "Class       = Sample", "reserved for Microsoft"),
        ("{4d36e97d-e325-11ce-bfc1-08002be10318}", "{78A1C341-4539-11d3-B88D-00C04FAD5171}", "reserved Sample class"),
        ("Provider    = %VendorName%", "Provider    =", "Provider is empty"),
        ("PnpLockdown = 1", "PnpLockdown = 0", "PnpLockdown must be 1"),
        ("DefaultDestDir = 13", "DefaultDestDir = 12", "DefaultDestDir must be 13"),
        ("wdfkey_guard.sys = 1,,", "wdfkey_gard.sys = 1,,", "wdfkey_gard.sys"),
        ("ServiceBinary = %13%\\wdfkey_guard.sys", "ServiceBinary = %13%\\other.sys", "other.sys"),
        ("Root\\WdfKeyGuard", "Root\\WdfKeyGuardX", "not the driver's"),
        ("WdfKeyGuard_Models,NT$ARCH$.10.0...20348", "WdfKeyGuard_Models,NT$ARCH$.10.0...22000", "does not exist"),
        ("WdfKeyGuard_Models,NT$ARCH$.10.0...20348", "WdfKeyGuard_Models", "no TargetOSVersion decoration"),
        (
            "[WdfKeyGuard_Install.NT.Services]",
            "[WdfKeyGuard_Install.NTamd64.Services]",
            "does not match the install section's decoration",
        ),
        ("AddService = wdfkey_guard,", "AddService = wdfkeyguard,", "is not wdfkey_guard"),
        ("StartType     = 3", "StartType     = 0", "StartType must be 3"),
        ("KmdfLibraryVersion = $KMDFVERSION$", "KmdfLibraryVersion = 1.15", "KmdfLibraryVersion must be"),
        (
            "HKR,,Security,,\"D:P(A;;GA;;;SY)(A;;GA;;;BA)\"",
            "HKR,,Security,,\"D:P(A;;GA;;;WD)\"",
            "no security descriptor",
        ),
        (
            "HKR,Parameters,MaxValueSize,0x00010001,4096",
            "HKR,Parameters,MaxValueSize,0x00010001,8192",
            "the driver's default",
        ),
        (
            "%WdfKeyGuard.DeviceDesc% = WdfKeyGuard_Install",
            "%WdfKeyGuard.Desc% = WdfKeyGuard_Install",
            "not defined in [Strings]",
        ),
        (
            "VendorName              = \"wdfkey-guard project\"",
            "VendorName              = \"wdfkey-guard project",
            "unbalanced quote",
        ),
    ];
    for (from, to, what) in cases {
        let (text, line) = broken(&base, from, to);
        let errors = check(&text, &expected());
        let named = errors.iter().any(|e| e.contains(what) && e.starts_with("line "));
        assert!(named, "{from:?} -> {to:?} (line {line}): expected a finding with {what:?}, got {errors:#?}");
    }
    // A finding about a changed line names that line.
    let (text, line) = broken(&base, "DefaultDestDir = 13", "DefaultDestDir = 12");
    assert_eq!(
        check(&text, &expected()),
        vec![format!("line {line}: DefaultDestDir must be 13 (run from the Driver Store)")]
    );
    // A missing section is reported too.
    let without_strings = base.split("[Strings]").next().unwrap_or_default().to_string();
    assert!(check(&without_strings, &expected()).iter().any(|e| e.contains("no [Strings] section")));
}

#[test]
fn broken_manifests_of_each_kind_are_rejected_naming_the_line() {
    let (cargo, make, config) = (read("Cargo.toml"), read("Makefile.toml"), read(".cargo/config.toml"));
    let cargo_cases: &[(&str, &str, &str)] = &[
        ("crate-type = [\"cdylib\", \"rlib\"]", "crate-type = [\"rlib\"]", "crate-type must be"),
        ("target-kmdf-version-minor = 33", "target-kmdf-version-minor = 31", "target-kmdf-version-minor must be"),
        ("driver-type = \"KMDF\"", "driver-type = \"KMDF\"\nkmdf-version = 1", "kmdf-version is not a wdk-build key"),
        ("[profile.dev]\npanic = \"abort\"", "[profile.dev]\npanic = \"unwind\"", "profile.dev.panic"),
        ("wdk-sys = \"0.5.2\"", "wdk-sys = \"0.5.1\"", "wdk-sys must be \"0.5.2\""),
        ("wdk-build = \"0.6.0\"", "wdk-build = \"0.5.1\"", "wdk-build must be \"0.6.0\""),
    ];
    for (from, to, what) in cargo_cases {
        let (text, line) = broken(&cargo, from, to);
        let errors = check_manifests(&text, &make, &config);
        assert!(
            errors
                .iter()
                .any(|e| e.contains(what) && e.starts_with("Cargo.toml line ") && !e.starts_with("Cargo.toml line 0")),
            "{from:?} (line {line}): {errors:#?}"
        );
    }
    let make_cases: &[(&str, &str, &str)] = &[
        ("extend = \"target/rust-driver-makefile.toml\"", "extend = \"rust-driver-makefile.toml\"", "extend must be"),
        ("default_to_workspace = false", "default_to_workspace = true", "default_to_workspace = false"),
        ("[tasks.copy-inx-to-output]\nclear = true\n", "[tasks.copy-inx-to-output]\n", "needs clear = true"),
        ("/inf/${CARGO_MAKE_CRATE_FS_NAME}.inx", "/${CARGO_MAKE_CRATE_FS_NAME}.inx", "must read inf/wdfkey_guard.inx"),
        ("/${CARGO_MAKE_CRATE_FS_NAME}.inf\"", "/${CARGO_MAKE_CRATE_FS_NAME}.txt\"", "where stampinf reads it"),
        ("script_runner = \"@duckscript\"", "script_runner = \"@shell\"", "must run with @duckscript"),
        ("//! wdk-build = \"0.6.0\"", "//! wdk-build = \"0.5.1\"", "wdk-build 0.6.0"),
    ];
    for (from, to, what) in make_cases {
        let (text, line) = broken(&make, from, to);
        let errors = check_manifests(&cargo, &text, &config);
        assert!(
            errors.iter().any(|e| e.contains(what)
                && e.starts_with("Makefile.toml line ")
                && !e.starts_with("Makefile.toml line 0")),
            "{from:?} (line {line}): {errors:#?}"
        );
    }
    let (text, _) = broken(&config, "target-feature=+crt-static", "target-feature=+avx2");
    let errors = check_manifests(&cargo, &make, &text);
    assert!(
        errors.iter().any(|e| e.starts_with(".cargo/config.toml line ") && e.contains("crt-static")),
        "{errors:#?}"
    );
}

#[test]
fn the_workflows_build_the_package_the_makefile_produces() {
    let windows = read(".github/workflows/windows-driver.yml");
    // The upload path is the cargo-make output of the fs-name (guide §5.5).
    assert!(windows.contains(&format!("path: target/debug/{FS_NAME}_package/")), "{windows}");
    assert!(windows.contains("cargo make default --locked") && windows.contains("$env:RUSTFLAGS = $null"));
    assert!(read(".github/workflows/linux.yml").contains("bash .ci/run"));
}
