//! IRQL rules (docs/facts.md F19, F65, F66): each DDI's maximum from the KMDF
//! 1.33 table; above it the KMDF verifier fails the call and breaks, Driver
//! Verifier's IRQL checking bug-checks, and with both off the call goes on.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;

mod support;

const DRV: &str = "irqldrv.sys";
const PATH: &str = r"\Registry\Machine\SOFTWARE\Irql";

fn settings(kmdf_verifier: bool, driver_verifier_irql: bool, kernel_debugger: bool) -> Settings {
    Settings { kmdf_verifier, driver_verifier_irql, kernel_debugger, ..Settings::default() }
}

fn open_key() -> WDFKEY {
    support::create_key(core::ptr::null_mut(), PATH, KEY_ALL_ACCESS, None).expect("creates")
}

fn assign_at_dispatch(m: &Machine) -> Result<NTSTATUS, kmdf_sim::control::Stopped> {
    let key = m.run(DRV, "DriverEntry", open_key).expect("opens at PASSIVE");
    let name = testing::wide("Count");
    m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || {
        // SAFETY: live key; the IRQL is the defect under test.
        unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignULong, key, &name.us, 7) }
    })
}

#[test]
fn kmdf_verifier_with_a_debugger_fails_the_call_and_changes_nothing() {
    let m = Machine::new(settings(true, false, true));
    assert_eq!(assign_at_dispatch(&m).expect("the debugger catches the break"), STATUS_INVALID_DEVICE_REQUEST);
    assert_eq!(m.registry_value(PATH, "Count"), None);
    assert_eq!(m.verifier_breaks().len(), 1);
    assert!(m.framework_log().iter().any(|l| l.contains("wrong IRQL")), "{:?}", m.framework_log());
}

#[test]
fn kmdf_verifier_without_a_debugger_is_a_breakpoint_bug_check() {
    let m = Machine::new(settings(true, false, false));
    let stop = assign_at_dispatch(&m).expect_err("F65");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0], b.irql), (0x7E, 0x8000_0003, 2));
    assert_eq!(m.registry_value(PATH, "Count"), None);
}

#[test]
fn driver_verifier_alone_catches_the_wrong_irql() {
    let m = Machine::new(settings(false, true, false));
    let stop = assign_at_dispatch(&m).expect_err("F66: Driver Verifier's IRQL checking");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[1], b.params[2]), (0xC4, 2, 0));
    assert_eq!(b.blamed, DRV, "the caller, before the framework runs");
    assert_eq!(m.registry_value(PATH, "Count"), None);
}

#[test]
fn with_no_verifier_the_call_goes_on() {
    let m = Machine::new(settings(false, false, false));
    assert_eq!(assign_at_dispatch(&m).expect("no check"), STATUS_SUCCESS);
    assert_eq!(m.registry_value(PATH, "Count"), Some((REG_DWORD, vec![7, 0, 0, 0])), "F66: nothing stops it");
}

#[test]
fn dispatch_level_ddis_are_fine_at_dispatch() {
    let m = Machine::new(settings(true, true, false));
    let key = m.run(DRV, "DriverEntry", open_key).expect("opens");
    m.run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || {
        // SAFETY: live key; WdfObjectDelete allows DISPATCH_LEVEL (F33).
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, key.cast()) };
    })
    .expect("no stop");
    assert!(m.live_keys().is_empty(), "deleted via the PASSIVE work item");
}

#[test]
fn wdf_registry_close_at_dispatch_returns_without_closing() {
    // F19: WdfRegistryClose breaks and returns without closing.
    let m = Machine::new(settings(true, false, true));
    let key = m.run(DRV, "DriverEntry", open_key).expect("opens");
    let handle = m.key_handle(key as u64).expect("open");
    m.run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || {
        // SAFETY: live key; the IRQL is the defect under test.
        unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
    })
    .expect("the debugger catches the break");
    assert_eq!(m.live_keys(), [key as u64]);
    assert!(m.handle_owner(handle).is_some());
}

#[test]
fn zw_close_above_passive_is_caught_by_driver_verifier() {
    let m = Machine::new(settings(false, true, false));
    let stop = m
        .run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || {
            // SAFETY: the value is never a handle; the IRQL check comes first.
            unsafe { kmdf_sim::ntddk::ZwClose(core::ptr::null_mut()) }
        })
        .expect_err("F39: ZwClose is PASSIVE_LEVEL only");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4));
}
