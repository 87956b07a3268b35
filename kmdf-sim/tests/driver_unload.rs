//! The `DriverUnload` a driver sets in its DRIVER_OBJECT is called at
//! unload (F80): a WDM driver's by the I/O manager, a KMDF driver's through
//! the stub's FxStubDriverUnload — where `WdfDriverCreate` stored the
//! framework's own (EvtDriverUnload, then the WDFDRIVER's deletion, F27), so
//! one stored before it never runs and one stored after it replaces the
//! framework's (F126).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

thread_local! {
    /// What ran, in order: routine name and the innermost frames at the time.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(what: &str) {
    LOG.with(|l| l.borrow_mut().push(what.to_string()));
}

fn take_log() -> Vec<String> {
    LOG.with(|l| l.borrow_mut().drain(..).collect())
}

extern "C" fn wdm_unload(driver: *mut _DRIVER_OBJECT) {
    // SAFETY: the driver object the I/O manager passes, live during unload.
    let name = unsafe { &(*driver).DriverName };
    // SAFETY: DriverName points at Length bytes of UTF-16.
    let units = unsafe { std::slice::from_raw_parts(name.Buffer, usize::from(name.Length) / 2) };
    log(&format!("DriverUnload({})", String::from_utf16_lossy(units)));
}

/// A WDM DriverEntry: no framework, only its unload routine.
extern "C" fn wdm_entry(driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the loader's live DRIVER_OBJECT (F27).
    unsafe { (*driver).DriverUnload = Some(wdm_unload) };
    log("DriverEntry");
    STATUS_SUCCESS
}

extern "C" fn evt_unload(_driver: WDFDRIVER) {
    log("EvtDriverUnload");
}

/// A KMDF DriverEntry that sets DriverUnload after WdfDriverCreate: it
/// replaces the framework's `FxDriver::Unload` (F126).
extern "C" fn kmdf_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    if let Err(status) = support::create_driver(driver, path, None, Some(evt_unload)) {
        return status;
    }
    // SAFETY: as in wdm_entry.
    unsafe { (*driver).DriverUnload = Some(wdm_unload) };
    STATUS_SUCCESS
}

/// A KMDF DriverEntry that sets DriverUnload before WdfDriverCreate, as
/// windows-drivers-rs's sample KMDF driver does: `FxDriver::Initialize`
/// replaces it with the framework's (F126).
extern "C" fn kmdf_early_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: as in wdm_entry.
    unsafe { (*driver).DriverUnload = Some(wdm_unload) };
    match support::create_driver(driver, path, None, Some(evt_unload)) {
        Ok(_) => STATUS_SUCCESS,
        Err(status) => status,
    }
}

thread_local! {
    /// The routine a chaining driver found in its driver object.
    static PREVIOUS: std::cell::Cell<DRIVER_UNLOAD> = const { std::cell::Cell::new(None) };
}

extern "C" fn chaining_unload(driver: *mut _DRIVER_OBJECT) {
    log("ChainingUnload");
    if let Some(previous) = PREVIOUS.get() {
        // SAFETY: the routine the framework stored in this driver object,
        // called with it as the I/O manager would.
        unsafe { previous(driver) };
    }
}

/// A KMDF DriverEntry that keeps the framework's routine and calls it from
/// its own.
extern "C" fn kmdf_chaining_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    if let Err(status) = support::create_driver(driver, path, None, Some(evt_unload)) {
        return status;
    }
    // SAFETY: as in wdm_entry.
    PREVIOUS.set(unsafe { (*driver).DriverUnload });
    // SAFETY: as in wdm_entry.
    unsafe { (*driver).DriverUnload = Some(chaining_unload) };
    STATUS_SUCCESS
}

/// A KMDF DriverEntry that leaves DriverUnload alone.
extern "C" fn kmdf_plain_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    match support::create_driver(driver, path, None, Some(evt_unload)) {
        Ok(_) => STATUS_SUCCESS,
        Err(status) => status,
    }
}

#[test]
fn a_wdm_drivers_unload_routine_is_called_once_per_unload() {
    let m = Machine::new(Settings::default());
    for _ in 0..3 {
        assert_eq!(m.load("wdmu.sys", "wdmu", Some(wdm_entry)).expect("no stop"), STATUS_SUCCESS);
        m.unload().expect("no stop");
        assert_eq!(take_log(), ["DriverEntry", r"DriverUnload(\Driver\wdmu)"]);
    }
    assert_eq!(m.ddi_calls().get("WdfDriverCreate"), None, "a WDM driver never touched the framework");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_kmdf_driver_unload_stored_after_wdf_driver_create_replaces_the_frameworks() {
    let m = Machine::new(Settings::default());
    m.load("kmdfu.sys", "kmdfu", Some(kmdf_entry)).expect("no stop");
    m.unload().expect("no stop");
    assert_eq!(take_log(), [r"DriverUnload(\Driver\kmdfu)"], "EvtDriverUnload is never called");
    assert!(m.live_objects().is_empty(), "the unbind deletes the WDFDRIVER");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_kmdf_driver_unload_stored_before_wdf_driver_create_is_replaced_and_never_runs() {
    let m = Machine::new(Settings::default());
    m.load("kmdfe.sys", "kmdfe", Some(kmdf_early_entry)).expect("no stop");
    m.unload().expect("no stop");
    assert_eq!(take_log(), ["EvtDriverUnload"]);
    assert!(m.live_objects().is_empty());
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_kmdf_driver_chaining_to_the_frameworks_unload_runs_both() {
    let m = Machine::new(Settings::default());
    for _ in 0..2 {
        m.load("kmdfc.sys", "kmdfc", Some(kmdf_chaining_entry)).expect("no stop");
        assert!(PREVIOUS.get().is_some(), "WdfDriverCreate stored the framework's unload routine");
        m.unload().expect("no stop");
        assert_eq!(take_log(), ["ChainingUnload", "EvtDriverUnload"]);
        assert!(m.live_objects().is_empty());
    }
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn without_a_driver_unload_only_the_framework_unloads() {
    let m = Machine::new(Settings::default());
    m.load("kmdfp.sys", "kmdfp", Some(kmdf_plain_entry)).expect("no stop");
    m.unload().expect("no stop");
    assert_eq!(take_log(), ["EvtDriverUnload"]);
    kmdf_sim::testing::assert_clean(&m);
}

/// A WDM DriverEntry that sets no DriverUnload.
extern "C" fn wdm_entry_without_unload(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    log("DriverEntry");
    STATUS_SUCCESS
}

#[test]
fn a_driver_without_a_driver_unload_is_a_finding_never_a_clean_unload() {
    // F80: such a driver cannot be unloaded while the system runs and Driver
    // Verifier fails it; the simulator ends the run and says so.
    let m = Machine::new(Settings::default());
    m.load("wdmn.sys", "wdmn", Some(wdm_entry_without_unload)).expect("no stop");
    m.unload().expect("no stop: a finding, not a bug check");
    assert_eq!(take_log(), ["DriverEntry"]);
    let findings = m.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].starts_with("wdmn.sys set no DriverUnload"), "{findings:?}");
    assert!(findings[0].contains("docs/facts.md#f80"), "{findings:?}");
}

/// A DriverUnload that breaks a rule is caught like any driver code: its
/// frame is on the stack the stop shows.
extern "C" fn leaking_unload(_driver: *mut _DRIVER_OBJECT) {
    // SAFETY: plain pool allocation from a PASSIVE_LEVEL routine.
    let p = unsafe { ntddk::ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, u32::from_le_bytes(*b"Leak")) };
    assert!(!p.is_null());
}

extern "C" fn leaking_entry(driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: as in wdm_entry.
    unsafe { (*driver).DriverUnload = Some(leaking_unload) };
    STATUS_SUCCESS
}

#[test]
fn pool_a_driver_unload_leaves_behind_is_the_leak_bug_check() {
    let m = Machine::new(Settings::default());
    m.load("leaku.sys", "leaku", Some(leaking_entry)).expect("no stop");
    let stop = m.unload().expect_err("the leak stops the machine");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xC4, 0x62), "{stop}");
    assert_eq!(b.blamed, "leaku.sys");
}
