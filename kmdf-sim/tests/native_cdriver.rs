//! C KMDF drivers compiled on Linux (scripts/cdriver/build: clang, lld-link)
//! and loaded natively by the machine (`control::native`), on Linux x86_64.
//!
//! The drivers are the project's own, built against the project's minimal
//! headers (scripts/cdriver/include): scripts/cdriver/test-drivers/regkey.c
//! — with `-DREGKEY_CLOSE_RAW_HANDLE` its EvtDriverUnload closes its
//! WDFKEY's WDM handle with ZwClose (the report's bug); without it, it
//! closes the WDFKEY with WdfRegistryClose (the correct twin) — and
//! queue.c, whose work is in callbacks the framework calls (PnP/power,
//! queue, timer, cancel, cleanup and destroy).
//!
//! Without clang or lld-link on the machine, each test prints one
//! `SKIPPED` line naming itself and what to install, and passes — unless
//! `KMDF_SIM_REQUIRE_CDRIVER_TOOLS` is set, as CI (.ci/run) sets it after
//! installing them: there a missing tool fails the test.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use kmdf_sim::GUID;
use kmdf_sim::control::native::NativeImage;
use kmdf_sim::control::{BugCheck, Caller, HandleEventKind, IoOutcome, Machine, ReusePolicy, Settings, Stop};
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

/// Builds test driver `source` with `defines` into the test's temporary directory.
fn build(out: &str, source: &str, defines: &[&str]) -> Result<PathBuf, String> {
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
    cmd.arg(root.join("scripts/cdriver/test-drivers").join(source));
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
    queue: PathBuf,
    queue_bug: PathBuf,
    /// cpu.c: clean, then by variant (`cpu-raised-call.sys`, …).
    cpu: PathBuf,
    cpu_variants: Vec<(&'static str, PathBuf)>,
}

/// cpu.c's variants: the define and the image name.
const CPU_VARIANTS: [(&str, &str); 9] = [
    ("CPU_RAISED_CALL", "cpu-raised-call.sys"),
    ("CPU_FASTFAIL", "cpu-fastfail.sys"),
    ("CPU_GS_OVERRUN", "cpu-gs-overrun.sys"),
    ("CPU_WILD_WRITE", "cpu-wild-write.sys"),
    ("CPU_BREAKPOINT", "cpu-breakpoint.sys"),
    ("CPU_SEH", "cpu-seh.sys"),
    ("CPU_SEH_FILTER", "cpu-seh-filter.sys"),
    ("CPU_SEH_FINALLY", "cpu-seh-finally.sys"),
    ("CPU_SEH_FILTER_FAILS", "cpu-seh-filter-fails.sys"),
];

/// The three images, built once per test run; `None` (with a SKIPPED line
/// naming `test`) when the machine has no clang/lld-link.
fn images(test: &str) -> Option<&'static Images> {
    static IMAGES: OnceLock<Option<Images>> = OnceLock::new();
    let built = IMAGES.get_or_init(|| {
        if !tools_present() {
            return None;
        }
        // Every image at once (each build is a few processes; they overlap).
        let mut jobs: Vec<(&str, &str, Vec<&str>)> = vec![
            ("regkey-bug.sys", "regkey.c", vec!["REGKEY_CLOSE_RAW_HANDLE"]),
            ("regkey.sys", "regkey.c", vec![]),
            ("regkey-unmodelled.sys", "regkey.c", vec!["REGKEY_CALL_UNMODELLED"]),
            ("queue.sys", "queue.c", vec![]),
            ("queue-bug.sys", "queue.c", vec!["QUEUE_COMPLETE_TWICE"]),
            ("cpu.sys", "cpu.c", vec![]),
        ];
        jobs.extend(CPU_VARIANTS.iter().map(|&(define, out)| (out, "cpu.c", vec![define])));
        let mut built: Vec<PathBuf> = std::thread::scope(|scope| {
            let running: Vec<_> =
                jobs.iter().map(|(out, source, defines)| scope.spawn(move || build(out, source, defines))).collect();
            running.into_iter().map(|j| j.join().expect("a build thread").unwrap_or_else(|e| panic!("{e}"))).collect()
        });
        let variants = built.split_off(6);
        let mut fixed = built.into_iter();
        let mut next = || fixed.next().expect("six images");
        Some(Images {
            bug: next(),
            twin: next(),
            unmodelled: next(),
            queue: next(),
            queue_bug: next(),
            cpu: next(),
            cpu_variants: CPU_VARIANTS.iter().map(|&(define, _)| define).zip(variants).collect(),
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
    machine_for(settings, SERVICE)
}

fn machine_for(settings: Settings, service: &str) -> Machine {
    let m = Machine::new(settings);
    m.registry_create_key(&format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{service}\Parameters"))
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

/// queue.c's device interface class.
const QUEUE_INTERFACE: GUID =
    GUID { Data1: 0x3c1b_51a4, Data2: 0x6f0e, Data3: 0x4f0b, Data4: [0x9c, 0x55, 0x0d, 0x4a, 0x2e, 0x7b, 0x1f, 0x90] };

/// queue.c's counters, as its IOCTL returns them: how often each callback ran.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counters {
    d0_entry: u32,
    d0_exit: u32,
    self_managed_init: u32,
    self_managed_suspend: u32,
    self_managed_restart: u32,
    device_cleanup: u32,
    queue_destroy: u32,
    driver_cleanup: u32,
    writes: u32,
    reads: u32,
    timer: u32,
    cancelled: u32,
}

const COUNTERS_LEN: usize = 12 * 4;

fn completed(outcome: IoOutcome) -> (i32, Vec<u8>) {
    match outcome {
        IoOutcome::Completed { status, output, .. } => (status, output),
        IoOutcome::Pending => panic!("the request is still pending"),
    }
}

/// Installs queue.sys (or its bug variant) and adds its device.
fn queue_machine(image: &NativeImage) -> (Machine, kmdf_sim::control::DeviceId) {
    let m = machine_for(Settings::default(), "QueueC");
    m.install(image.name(), "QueueC", image.driver_entry());
    let id = m.add_device(r"Root\QueueC", None).expect("the device is added and started");
    assert_eq!(m.find_interface(&QUEUE_INTERFACE), Some(id), "the driver registered its interface");
    (m, id)
}

fn counters(m: &Machine, id: kmdf_sim::control::DeviceId) -> Counters {
    let file = m.open_device(id, Caller::Administrator).expect("CreateFile");
    let sent = m.device_io_control(&file, "app.exe", 0x0022_2000, &[], COUNTERS_LEN);
    let (status, out) = completed(m.call_sync(sent, 1_000).expect("no stop").expect("sent"));
    assert_eq!(status, 0, "the IOCTL succeeds");
    let v: Vec<u32> = out.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(v.len(), 12, "{out:?}");
    Counters {
        d0_entry: v[0],
        d0_exit: v[1],
        self_managed_init: v[2],
        self_managed_suspend: v[3],
        self_managed_restart: v[4],
        device_cleanup: v[5],
        queue_destroy: v[6],
        driver_cleanup: v[7],
        writes: v[8],
        reads: v[9],
        timer: v[10],
        cancelled: v[11],
    }
}

/// The framework calls a native driver's callbacks with the win64 ABI and
/// their arguments: PnP/power at start, the queue's EvtIoWrite, EvtIoRead and
/// EvtIoDeviceControl for an application's requests, the timer that
/// completes a held read, the cancel routine of a cancelled one, and the
/// cleanup and destroy callbacks at removal — through disable/enable
/// cycles, with every verifier on, clean.
#[test]
fn queue_driver_serves_an_application_through_its_callbacks() {
    let Some(images) = images("queue_driver_serves_an_application_through_its_callbacks") else { return };
    let image = NativeImage::open(&images.queue).expect("the image maps");
    assert!(image.unmodelled_imports().is_empty(), "{:?}", image.unmodelled_imports());
    let (m, id) = queue_machine(&image);
    let started = Counters { d0_entry: 1, self_managed_init: 1, ..Counters::default() };
    assert_eq!(counters(&m, id), started, "D0Entry and SelfManagedIoInit ran once at start");

    let file = m.open_device(id, Caller::Administrator).expect("CreateFile");
    let (status, _) = completed(m.call_sync(m.write(&file, "app.exe", b"native bytes"), 1_000).unwrap().unwrap());
    assert_eq!(status, 0);
    // The read is held (cancelable) until the driver's 10 ms timer completes it.
    let (read, outcome) = m.read(&file, "app.exe", 12).expect("no stop").expect("sent");
    assert_eq!(outcome, IoOutcome::Pending, "EvtIoRead held the request");
    let (status, data) = completed(m.wait_for_request(read, 100).expect("no stop"));
    assert_eq!((status, data.as_slice()), (0, &b"native bytes"[..]), "the timer completed the read");
    // A held read cancelled: the driver's EvtRequestCancel completes it.
    let (read, outcome) = m.read(&file, "app.exe", 12).expect("no stop").expect("sent");
    assert_eq!(outcome, IoOutcome::Pending);
    m.cancel_request(read).expect("no stop");
    assert_eq!(completed(m.request_outcome(read)).0, 0xC000_0120_u32 as i32, "STATUS_CANCELLED");
    m.advance_time(20).expect("the timer fires with nothing held");
    let c = counters(&m, id);
    assert_eq!((c.writes, c.reads, c.cancelled, c.timer), (1, 1, 1, 2), "{c:?}");

    // Disable/enable: the device is removed and added anew; the driver stays
    // loaded only while a device is there (F37), so each disable unloads it
    // and each enable loads a fresh image (F160): its counters start over.
    const CYCLES: u32 = 10;
    for _ in 0..CYCLES {
        m.disable_device(id).expect("disable");
        m.enable_device(id).expect("enable");
        assert_eq!(counters(&m, id), started, "a fresh image after the reload");
    }
    let reports = m.take_unload_reports();
    assert_eq!(reports.len(), CYCLES as usize, "one unload per disable");
    m.disable_device(id).expect("the last disable unloads the driver");
    kmdf_sim::testing::assert_clean(&m);
    let calls = m.ddi_calls();
    for ddi in ["WdfIoQueueCreate", "WdfTimerCreate", "WdfDeviceInitSetPnpPowerEventCallbacks"] {
        assert_eq!(calls.get(ddi).copied(), Some(u64::from(CYCLES) + 1), "{ddi}: {calls:?}");
    }
}

/// Removal runs the driver's teardown callbacks before the unload: counted
/// within one load (the IOCTL in a second device's life reads them).
#[test]
fn removal_runs_suspend_d0_exit_cleanup_and_destroy_callbacks() {
    let Some(images) = images("removal_runs_suspend_d0_exit_cleanup_and_destroy_callbacks") else { return };
    let image = NativeImage::open(&images.queue).expect("the image maps");
    let (m, first) = queue_machine(&image);
    // A second devnode keeps the driver loaded while the first is removed.
    let second = m.add_device(r"Root\QueueC", None).expect("a second device");
    m.disable_device(first).expect("disable the first");
    let c = counters(&m, second);
    assert_eq!(
        (c.d0_entry, c.self_managed_init, c.self_managed_suspend, c.d0_exit, c.device_cleanup, c.queue_destroy),
        (2, 2, 1, 1, 1, 1),
        "{c:?}"
    );
    assert_eq!(c.driver_cleanup, 0, "the driver object lives while a device does");
    m.disable_device(second).expect("the last disable unloads");
    kmdf_sim::testing::assert_clean(&m);
}

/// A stop inside a callback (the request completed twice by EvtIoWrite)
/// names the driver's callback, image+offset, leaves the driver's native
/// frames at once, and the test process goes on.
#[test]
fn a_stop_inside_a_native_callback_names_it_and_leaves_its_frames() {
    let Some(images) = images("a_stop_inside_a_native_callback_names_it_and_leaves_its_frames") else { return };
    let image = NativeImage::open(&images.queue_bug).expect("the image maps");
    let (m, id) = queue_machine(&image);
    let file = m.open_device(id, Caller::Administrator).expect("CreateFile");
    let stop = m.write(&file, "app.exe", b"twice").expect_err("the second completion stops the machine");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    let text = b.render_analyze();
    assert!(text.contains("queue-bug!QueueEvtIoWrite+0x") && text.contains("(queue-bug.sys+0x"), "{text}");
    // The driver's code after the second completion did not run on: the
    // machine is stopped and says so to every later call.
    assert!(m.stop().is_some());
    assert!(m.write(&file, "app.exe", b"again").is_err(), "a stopped machine takes no more requests");
}

/// Loads cpu.c's `variant` (`None`: the clean image); the status of
/// DriverEntry or the stop.
fn run_cpu(images: &Images, variant: Option<&str>) -> (Machine, NativeImage, Result<i32, Box<Stop>>) {
    let path = match variant {
        None => &images.cpu,
        Some(v) => &images.cpu_variants.iter().find(|(d, _)| *d == v).expect("a variant").1,
    };
    let m = machine_for(Settings::default(), "CpuC");
    let image = NativeImage::open(path).expect("the image maps");
    let loaded = m.load(image.name(), "CpuC", image.driver_entry());
    (m, image, loaded)
}

/// The stop's bug check, whose innermost driver frame is `frame` of the image.
fn bug_check_at(stop: &Stop, code: u32, frame: &str) -> BugCheck {
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}")).clone();
    let text = b.render_analyze();
    assert_eq!(b.code, code, "{text}");
    assert!(b.stack.get(1).is_some_and(|f| f.contains(frame) && f.contains(".sys+0x")), "{text}");
    b
}

/// What the WDK's amd64 headers inline — `mov cr8` (KeGetCurrentIrql,
/// KeRaiseIrql, KeLowerIrql), `gs:[0x18]`, `gs:[0x20]`, `gs:[0x188]`
/// (KeGetCurrentThread), loads from KUSER_SHARED_DATA (KeQueryTickCount,
/// KeQueryInterruptTime, the version) — runs on the machine's IRQL,
/// processor block and clock; DriverEntry checks each value (0xE00000NN
/// names the first wrong one) and loads and unloads clean.
#[test]
fn inlined_kernel_routines_run_on_the_machines_irql_processor_block_and_clock() {
    let Some(images) = images("inlined_kernel_routines_run_on_the_machines_irql_processor_block_and_clock") else {
        return;
    };
    let (m, _image, loaded) = run_cpu(images, None);
    assert_eq!(loaded.map_err(|s| s.to_string()), Ok(0), "every check in DriverEntry passed");
    // DbgPrint / DbgPrintEx with the win64 variadic convention (F81).
    let out = m.debug_output();
    assert!(out.iter().any(|l| l == "cpu: IRQL 0, thread set"), "{out:?}");
    assert!(out.iter().any(|l| l == "cpu: narrow wide wide 1122334455667788 -42 z 4000000000"), "{out:?}");
    m.unload().expect("unloads");
    kmdf_sim::testing::assert_clean(&m);
}

/// A CR8 write is the machine's IRQL: WdfDriverCreate called after raising
/// to DISPATCH_LEVEL stops in the verifier's IRQL rule.
#[test]
fn a_cr8_raise_is_the_irql_the_verifier_checks() {
    let Some(images) = images("a_cr8_raise_is_the_irql_the_verifier_checks") else { return };
    let (_m, _image, loaded) = run_cpu(images, Some("CPU_RAISED_CALL"));
    let stop = loaded.expect_err("WdfDriverCreate above PASSIVE_LEVEL stops");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!((b.code, b.irql), (0xC4, 2), "{}", b.render_analyze());
    assert!(b.render_analyze().contains("cpu-raised-call!DriverEntry+0x"), "{}", b.render_analyze());
}

/// `__fastfail(7)` is bug check 0x139 {7} at the driver's instruction; the
/// /GS check of an overrun frame fails fast with code 2 in the kit's
/// `__security_check_cookie`, called from the overrunning function.
#[test]
fn fastfail_and_a_gs_overrun_are_bug_check_0x139() {
    let Some(images) = images("fastfail_and_a_gs_overrun_are_bug_check_0x139") else { return };
    let (m, _image, loaded) = run_cpu(images, Some("CPU_FASTFAIL"));
    let b = bug_check_at(&loaded.expect_err("a stop"), 0x139, "cpu-fastfail!DriverEntry+0x");
    assert_eq!(b.params, [7, 0, 0, 0]);
    assert!(m.stop().is_some(), "the machine stays stopped");
    drop((m, _image));
    let (_m, _image, loaded) = run_cpu(images, Some("CPU_GS_OVERRUN"));
    let b = bug_check_at(&loaded.expect_err("a stop"), 0x139, "cpu-gs-overrun!__security_check_cookie+0x");
    assert_eq!(b.params, [2, 0, 0, 0], "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE");
}

/// An exception in driver code with no handler: bug check 0x1E with the
/// exception's code and parameters — an access violation (write of 0x10)
/// and a breakpoint with no debugger.
#[test]
fn an_exception_in_driver_code_is_bug_check_0x1e() {
    let Some(images) = images("an_exception_in_driver_code_is_bug_check_0x1e") else { return };
    let (_m, image, loaded) = run_cpu(images, Some("CPU_WILD_WRITE"));
    let b = bug_check_at(&loaded.expect_err("a stop"), 0x1E, "cpu-wild-write!WildWrite+0x");
    assert_eq!((b.params[0], b.params[2], b.params[3]), (0xC000_0005, 1, 0x10), "a write of 0x10");
    assert!(image.describe(b.params[1] as usize).is_some_and(|d| d.starts_with("cpu-wild-write!WildWrite+0x")));
    drop((_m, image));
    let (_m, _image, loaded) = run_cpu(images, Some("CPU_BREAKPOINT"));
    let b = bug_check_at(&loaded.expect_err("a stop"), 0x1E, "cpu-breakpoint!DriverEntry+0x");
    assert_eq!(b.params[0], 0x8000_0003, "STATUS_BREAKPOINT");
}

/// Structured exception handling: a fault two calls below
/// `__try { … } __except (…)` resumes DriverEntry in its `__except` block
/// with the exception code, its registers as the unwind restores them (a
/// value live across the `__try` survives), and the driver loads — with
/// `__except (1)`, with a filter function that says execute, and with a
/// `__finally` on the way, which runs first.
#[test]
fn an_exception_under_try_except_runs_the_drivers_handlers() {
    let Some(images) = images("an_exception_under_try_except_runs_the_drivers_handlers") else { return };
    for (variant, line) in [
        ("CPU_SEH", "cpu: __except ran: c0000005, kept 5eed"),
        ("CPU_SEH_FILTER", "cpu: __except ran: c0000005, kept 5eed"),
        ("CPU_SEH_FINALLY", "cpu: __except ran: c0000005, kept 5eee"),
    ] {
        let (m, _image, loaded) = run_cpu(images, Some(variant));
        assert_eq!(loaded.map_err(|s| s.to_string()), Ok(0), "{variant}: DriverEntry went on after its __except");
        let out = m.debug_output();
        assert!(out.iter().any(|l| l == line), "{variant}: {out:?}");
        m.unload().expect("unloads");
        kmdf_sim::testing::assert_clean(&m);
    }
}

/// A stop inside the driver's exception filter (it fails fast while the
/// machine dispatches an access violation) is the stop: 0x139 {5} naming
/// the filter, the driver's frames left, nothing resumed.
#[test]
fn a_stop_inside_an_exception_filter_stops_the_machine() {
    let Some(images) = images("a_stop_inside_an_exception_filter_stops_the_machine") else { return };
    let (m, _image, loaded) = run_cpu(images, Some("CPU_SEH_FILTER_FAILS"));
    let b = bug_check_at(&loaded.expect_err("a stop"), 0x139, "cpu-seh-filter-fails!");
    assert_eq!(b.params[0], 5);
    assert!(m.debug_output().iter().all(|l| !l.contains("__except ran")), "the __except block did not run");
}
