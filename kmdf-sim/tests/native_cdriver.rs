//! C KMDF drivers compiled on Linux (scripts/cdriver/build: clang, lld-link)
//! and loaded natively by the machine (`control::native`), on Linux x86_64.
//!
//! The driver is the project's own, scripts/cdriver/test-drivers/regkey.c,
//! built against the project's minimal headers (scripts/cdriver/include):
//! with `-DREGKEY_CLOSE_RAW_HANDLE` its EvtDriverUnload closes its WDFKEY's
//! WDM handle with ZwClose (the report's bug); without it, it closes the
//! WDFKEY with WdfRegistryClose (the correct twin).
//!
//! Without clang or lld-link on the machine, each test prints one
//! `SKIPPED` line naming itself and what to install, and passes — unless
//! `KMDF_SIM_REQUIRE_CDRIVER_TOOLS` is set, as CI (.ci/run) sets it after
//! installing them: there a missing tool fails the test.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use kmdf_sim::control::native::NativeImage;
use kmdf_sim::control::{BugCheck, HandleEventKind, Machine, ReusePolicy, Settings, Stop};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SERVICE: &str = "RegkeyC";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("kmdf-sim lies in the repository").to_path_buf()
}

fn tools_present() -> bool {
    let has = |t: &str| {
        ["/usr/lib/llvm-16/bin", "/usr/lib/llvm-17/bin", "/usr/lib/llvm-15/bin"]
            .iter()
            .any(|d| Path::new(d).join(t).is_file())
            || Command::new(t).arg("--version").output().is_ok()
    };
    has("clang") && has("lld-link") && has("llvm-dlltool") && has("llvm-nm")
}

/// Builds `regkey.c` with `defines` into the test's temporary directory.
fn build(out: &str, defines: &[&str], extra_sources: &[&str]) -> Result<PathBuf, String> {
    // One directory per test process: a runner that starts a process per
    // test (nextest) builds in each at once.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("native-cdriver-{}", std::process::id()));
    let image = dir.join(out);
    let root = repo();
    let mut cmd = Command::new("python3");
    cmd.arg(root.join("scripts/cdriver/build"))
        .args(["--sdk", "none", "--headers"])
        .arg(root.join("scripts/cdriver/include"))
        .arg("-I")
        .arg(root.join("scripts/cdriver/test-drivers"))
        .arg("-o")
        .arg(&image);
    for d in defines {
        cmd.args(["-D", d]);
    }
    cmd.arg(root.join("scripts/cdriver/test-drivers/regkey.c"));
    for s in extra_sources {
        cmd.arg(root.join("scripts/cdriver/test-drivers").join(s));
    }
    let r = cmd.output().map_err(|e| format!("cannot run scripts/cdriver/build: {e}"))?;
    if !r.status.success() {
        return Err(format!(
            "scripts/cdriver/build failed:\n{}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        ));
    }
    Ok(image)
}

struct Images {
    bug: PathBuf,
    twin: PathBuf,
    unmodelled: PathBuf,
}

/// The three images, built once per test run; `None` (with a SKIPPED line
/// naming `test`) when the machine has no clang/lld-link.
fn images(test: &str) -> Option<&'static Images> {
    static IMAGES: OnceLock<Option<Images>> = OnceLock::new();
    let built = IMAGES.get_or_init(|| {
        if !tools_present() {
            return None;
        }
        let make = |out, defines: &[&str], extra: &[&str]| build(out, defines, extra).unwrap_or_else(|e| panic!("{e}"));
        Some(Images {
            bug: make("regkey-bug.sys", &["REGKEY_CLOSE_RAW_HANDLE"], &[]),
            twin: make("regkey.sys", &[], &[]),
            unmodelled: make("regkey-unmodelled.sys", &["REGKEY_CALL_UNMODELLED"], &[]),
        })
    });
    if built.is_none() {
        assert!(
            std::env::var_os("KMDF_SIM_REQUIRE_CDRIVER_TOOLS").is_none(),
            "native_cdriver::{test}: clang, lld-link, llvm-dlltool or llvm-nm not found and KMDF_SIM_REQUIRE_CDRIVER_TOOLS \
             is set (scripts/cdriver/install-tools installs them)"
        );
        eprintln!(
            "SKIPPED native_cdriver::{test}: clang, lld-link, llvm-dlltool or llvm-nm not found \
             (apt-get install clang-16 lld-16 llvm-16; .ci/run installs them)"
        );
    }
    built.as_ref()
}

fn machine(settings: Settings) -> Machine {
    let m = Machine::new(settings);
    m.registry_create_key(&format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{SERVICE}\Parameters"))
        .expect("the Parameters key is created");
    m
}

/// Loads the buggy image and unloads it; `interleave`: another component
/// opens a handle right after the driver's ZwClose (protected or not).
fn run_bug(images: &Images, settings: Settings, interleave: Option<bool>) -> (Machine, NativeImage, Option<Box<Stop>>) {
    let m = machine(settings);
    let image = NativeImage::open(&images.bug).expect("the image maps");
    assert!(image.unmodelled_imports().is_empty(), "every import is modelled: {:?}", image.unmodelled_imports());
    let status = m.load(image.name(), SERVICE, image.driver_entry()).expect("DriverEntry runs without a stop");
    assert_eq!(status, 0, "DriverEntry succeeds");
    if let Some(protected) = interleave {
        m.interleave_open_after_next_close("other.sys", r"\Registry\Machine\SOFTWARE", protected);
    }
    let stop = m.unload().err();
    (m, image, stop)
}

/// The 0x93 names the driver: its root cause is the driver's close, and that
/// close's history line names EvtDriverUnload's call site, image+offset.
fn assert_names_unload(b: &BugCheck, image: &NativeImage) {
    assert_eq!(b.code, 0x93, "{}", b.render_analyze());
    let cause = b.root_cause.as_deref().expect("a root cause");
    assert!(cause.starts_with("regkey-bug.sys closed handle"), "{cause}");
    let seq: u64 = cause
        .split("(event #")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the root cause names its event: {cause}"));
    let event = b.handle_history.iter().find(|e| e.seq == seq).expect("the root cause's event is in the history");
    assert!(matches!(event.kind, HandleEventKind::Closed { .. } | HandleEventKind::BadClose { .. }), "{event:?}");
    let site = event.site.to_string();
    let unload = image.symbol_address("RegkeyEvtDriverUnload").expect("the kit links a symbol table");
    let rva_prefix = "(regkey-bug.sys+0x";
    assert!(site.starts_with("regkey-bug!RegkeyEvtDriverUnload+0x") && site.contains(rva_prefix), "{site}");
    // The offset is inside EvtDriverUnload: after its first byte, before the next function.
    let rva = u64::from_str_radix(site.split(rva_prefix).nth(1).unwrap().trim_end_matches(')'), 16).unwrap();
    let off = u64::from_str_radix(
        site.trim_start_matches("regkey-bug!RegkeyEvtDriverUnload+0x").split(' ').next().unwrap(),
        16,
    )
    .unwrap();
    assert!(off > 0 && off < 0x100, "call site offset {off:#x} within EvtDriverUnload");
    assert_eq!(rva, (unload - image.base()) as u64 + off, "image+offset and symbol+offset agree");
    let text = b.render_analyze();
    assert!(text.contains(&site), "the !analyze view shows the site:\n{text}");
}

#[test]
fn report_bug_protected_slot_reuse_stops_0x93_naming_evt_driver_unload() {
    let Some(images) = images("report_bug_protected_slot_reuse_stops_0x93_naming_evt_driver_unload") else { return };
    let lifo = Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() };
    let (m, image, stop) = run_bug(images, lifo, Some(true));
    let stop = stop.expect("the unload stops the machine");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!(b.params[1..], [0, 0, 0], "the report's shape {{h, 0, 0, 0}}");
    assert_names_unload(b, &image);
    assert_eq!(b.blamed, "Wdf01000.sys", "!analyze blames the framework, as in the report");
    assert!(!m.violations().is_empty());
}

#[test]
fn report_bug_free_slot_with_verifier_stops_0x93_naming_evt_driver_unload() {
    let Some(images) = images("report_bug_free_slot_with_verifier_stops_0x93_naming_evt_driver_unload") else { return };
    let lifo = Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() };
    let (_m, image, stop) = run_bug(images, lifo, None);
    let stop = stop.expect("the unload stops the machine");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!(b.params[1], 1, "{{h, 1, 0, 0}} (docs/facts.md#f67c)");
    assert_names_unload(b, &image);
}

#[test]
fn report_bug_without_verifiers_is_a_violation_not_a_stop() {
    let Some(images) = images("report_bug_without_verifiers_is_a_violation_not_a_stop") else { return };
    let settings = Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::without_verifiers() };
    let (m, _image, stop) = run_bug(images, settings, None);
    assert!(stop.is_none(), "no bug check without a verifier: {stop:?}");
    let v = m.violations();
    assert!(v.iter().any(|v| v.outcome.contains("STATUS_INVALID_HANDLE")), "{v:?}");
    assert!(v.iter().any(|v| v.closer.to_string() == "regkey-bug.sys"), "{v:?}");
}

#[test]
fn report_bug_unprotected_slot_reuse_closes_another_components_handle() {
    let Some(images) = images("report_bug_unprotected_slot_reuse_closes_another_components_handle") else { return };
    let lifo = Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() };
    let (m, _image, stop) = run_bug(images, lifo, Some(false));
    assert!(stop.is_none(), "{stop:?}");
    let v = m.violations();
    assert!(v.iter().any(|v| v.victim.as_ref().is_some_and(|o| o.to_string() == "other.sys")), "{v:?}");
}

/// The stress cycle on the correct twin: load, add a root-enumerated device,
/// disable/enable, unload — clean every time, with every verifier on.
#[test]
fn correct_twin_runs_the_stress_cycle_clean() {
    let Some(images) = images("correct_twin_runs_the_stress_cycle_clean") else { return };
    const CYCLES: usize = 25;
    let m = machine(Settings::default());
    let image = NativeImage::open(&images.twin).expect("the image maps");
    for cycle in 0..CYCLES {
        let status = m.load(image.name(), SERVICE, image.driver_entry()).expect("load");
        assert_eq!(status, 0, "cycle {cycle}: DriverEntry");
        let device = m.add_device(r"Root\RegkeyC", None).expect("add device");
        m.disable_device(device).expect("disable");
        m.enable_device(device).expect("enable");
        m.disable_device(device).expect("disable before unload");
        kmdf_sim::testing::unload_clean(&m);
        assert!(m.live_keys().is_empty(), "cycle {cycle}: keys left open");
    }
    kmdf_sim::testing::assert_clean(&m);
    assert_eq!(m.ddi_calls().get("WdfDeviceCreate").copied(), Some(CYCLES as u64 * 2), "{:?}", m.ddi_calls());
}

/// The image dropped while the machine still has its driver loaded: the
/// unload cannot run the driver's code, and says so with a stop.
#[test]
fn unloading_a_dropped_image_stops_instead_of_skipping_its_code() {
    let Some(images) = images("unloading_a_dropped_image_stops_instead_of_skipping_its_code") else { return };
    let m = machine(Settings::default());
    let image = NativeImage::open(&images.twin).expect("the image maps");
    assert_eq!(m.load(image.name(), SERVICE, image.driver_entry()).expect("load"), 0);
    drop(image);
    let stop = m.unload().expect_err("the unload stops");
    assert!(stop.to_string().contains("calling DriverUnload of a native driver whose image was dropped"), "{stop}");
}

/// An import the model lacks stops the machine with its name at its first call.
#[test]
fn an_unmodelled_import_stops_the_machine_with_its_name() {
    let Some(images) = images("an_unmodelled_import_stops_the_machine_with_its_name") else { return };
    let m = machine(Settings::default());
    let image = NativeImage::open(&images.unmodelled).expect("the image maps");
    assert_eq!(image.unmodelled_imports(), ["ntoskrnl.exe!IoGetCurrentProcess"]);
    let stop = m.load(image.name(), SERVICE, image.driver_entry()).expect_err("the call stops the machine");
    let text = stop.to_string();
    assert!(matches!(m.stop(), Some(Stop::NotModelled { .. })), "{:?}", m.stop());
    assert!(text.contains("not modelled: the import ntoskrnl.exe!IoGetCurrentProcess"), "{text}");
    assert!(text.contains("regkey-unmodelled!DriverEntry+0x"), "the stop names the call site: {text}");
    // The driver's code did not run on past the stop: its key was never opened.
    assert!(m.live_keys().is_empty());
}

#[test]
fn a_malformed_image_is_refused_before_anything_runs() {
    let Some(images) = images("a_malformed_image_is_refused_before_anything_runs") else { return };
    let bytes = std::fs::read(&images.twin).unwrap();
    let e = NativeImage::from_bytes("cut.sys", &bytes[..0x180]).expect_err("a truncated image");
    assert!(e.to_string().starts_with("cut.sys: "), "{e}");
    let e = NativeImage::from_bytes("text.sys", b"MZ not an image").expect_err("no PE header");
    assert!(e.to_string().contains("text.sys"), "{e}");
    // Nothing stays bound: a good image still opens.
    assert!(NativeImage::open(&images.twin).is_ok());
}

/// Any byte of the headers and tables changed: the loader refuses the image
/// or maps it, and never panics (nothing runs here).
#[test]
fn corrupted_headers_never_panic_the_loader() {
    let Some(images) = images("corrupted_headers_never_panic_the_loader") else { return };
    let good = std::fs::read(&images.twin).unwrap();
    let (mut refused, mut mapped) = (0, 0);
    for at in 0..0x400.min(good.len()) {
        for value in [0x00, 0xFF, 0x7F] {
            let mut bytes = good.clone();
            if bytes[at] == value {
                continue;
            }
            bytes[at] = value;
            match NativeImage::from_bytes("mutant.sys", &bytes) {
                Ok(_) => mapped += 1,
                Err(e) => {
                    assert!(e.to_string().starts_with("mutant.sys: "), "{e}");
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0 && mapped > 0, "refused {refused}, mapped {mapped}");
}

/// The function-table file is the bindings' `_WDFFUNCENUM`, and the
/// minimal wdf.h's indices are the file's.
#[test]
fn function_table_and_minimal_header_match_the_bindings() {
    let table: Vec<String> = std::fs::read_to_string(repo().join("kmdf-sim/data/kmdf-1.33-function-table.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    assert_eq!(table.len(), 458);
    let archive = repo().join("kmdf-sim/data/wdk-sys-0.5.2-bindings.tar.xz");
    let files = kmdf_sim_gen::archive_files(&archive).unwrap_or_else(|e| panic!("{e}"));
    let types = &files["types.rs"];
    for (i, name) in table.iter().enumerate() {
        let needle = format!("pub const {name}TableIndex: Type = {i};");
        assert!(types.contains(&needle), "bindings lack `{needle}`");
    }
    assert!(types.contains("pub const WdfFunctionTableNumEntries: Type = 458;"));
    let header = std::fs::read_to_string(repo().join("scripts/cdriver/include/wdf.h")).unwrap();
    let mut seen = 0;
    for line in header.lines() {
        let line = line.trim();
        if let Some((name, value)) = line.split_once("TableIndex = ") {
            let index: usize = value.trim_end_matches(',').parse().unwrap();
            assert_eq!(table[index], name, "wdf.h: {line}");
            seen += 1;
        }
    }
    assert!(seen >= 6, "wdf.h lists its indices");
}
