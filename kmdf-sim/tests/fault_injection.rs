//! Fault injection and call counters: fail the Nth call of a routine (or of
//! any routine) with a chosen status, and sweep a driver through every
//! failure point.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;

mod support;

const DRV: &str = "faultdrv.sys";
const SERVICE: &str = "faultdrv";

fn open(path: &str) -> Result<WDFKEY, NTSTATUS> {
    support::open_key(core::ptr::null_mut(), path, KEY_READ, None)
}

#[test]
fn the_nth_call_of_a_routine_fails_and_does_nothing() {
    let m = Machine::new(Settings::default());
    m.inject_fault(Some("WdfRegistryOpenKey"), 2, STATUS_INSUFFICIENT_RESOURCES);
    let results = m
        .run(DRV, "Test", || {
            [
                open(r"\Registry\Machine\SOFTWARE"),
                open(r"\Registry\Machine\SOFTWARE"),
                open(r"\Registry\Machine\SOFTWARE"),
            ]
        })
        .expect("no stop");
    assert!(results[0].is_ok() && results[2].is_ok());
    assert_eq!(results[1], Err(STATUS_INSUFFICIENT_RESOURCES));
    assert_eq!(m.live_keys().len(), 2, "the failed call created nothing");
    let injected = m.injected_faults();
    assert_eq!(injected.len(), 1);
    assert_eq!(
        (injected[0].routine.as_str(), injected[0].status),
        ("WdfRegistryOpenKey", STATUS_INSUFFICIENT_RESOURCES)
    );
    assert_eq!(m.ddi_calls().get("WdfRegistryOpenKey"), Some(&3));
}

#[test]
fn any_routine_counts_only_status_returning_calls() {
    let m = Machine::new(Settings::default());
    m.inject_fault(None, 2, STATUS_UNSUCCESSFUL);
    let second = m
        .run(DRV, "Test", || {
            let key = open(r"\Registry\Machine\SOFTWARE").expect("first status-returning call");
            // SAFETY: live key; WdmGetHandle returns a HANDLE, not a status, so it is not counted.
            let _ = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
            open(r"\Registry\Machine\SOFTWARE")
        })
        .expect("no stop");
    assert_eq!(second, Err(STATUS_UNSUCCESSFUL));
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let wdf_driver = match support::create_driver(driver, path, None, None) {
        Ok(d) => d,
        Err(st) => return st,
    };
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: live driver, pointer to a local.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverOpenParametersRegistryKey,
            wdf_driver,
            KEY_READ,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
    if !NT_SUCCESS(st) {
        return st;
    }
    let name = testing::wide("Level");
    let mut level = 0u32;
    // SAFETY: live key, pointers to locals.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, &name.us, &mut level) };
    support::close_key(key);
    if NT_SUCCESS(st) || st == STATUS_OBJECT_NAME_NOT_FOUND { STATUS_SUCCESS } else { st }
}
const _: DRIVER_INITIALIZE = Some(entry);

#[test]
fn a_sweep_fails_every_call_of_driver_entry_in_turn() {
    let mut failure_points = 0;
    for n in 1.. {
        let m = Machine::new(Settings::default());
        m.registry_seed(&format!(
            r"[\Registry\Machine\SYSTEM\CurrentControlSet\Services\{SERVICE}\Parameters]
Level = dword:2"
        ))
        .expect("seed");
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let status = m.load(DRV, SERVICE, Some(entry)).expect("no stop on any failure path");
        if m.injected_faults().is_empty() {
            assert_eq!(status, STATUS_SUCCESS);
            break;
        }
        failure_points += 1;
        assert_eq!(status, STATUS_INSUFFICIENT_RESOURCES, "call {n}: the failure is passed up");
        assert!(m.live_objects().is_empty(), "call {n}: the failed load left {:?}", m.live_objects());
        assert!(m.violations().is_empty(), "call {n}: {:?}", m.violations());
    }
    assert_eq!(failure_points, 3, "WdfDriverCreate, the Parameters open and the query");
}
