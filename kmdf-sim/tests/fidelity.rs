//! Who a report blames and which verifier sees what:
//! * a 0xC4 IRQL violation's root cause names the driver that made the call;
//! * the KMDF verifier sees only framework (`Wdf*`) calls: a driver's direct
//!   `ZwClose` at DISPATCH_LEVEL is Driver Verifier's 0xC4 or nothing (F66),
//!   never a KMDF verifier break blamed on Wdf01000.sys;
//! * a deleted WDFKEY used with every verifier off is still a finding (F77 b
//!   is silent on the machine, but the run must not read as clean).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{ZwClose, ZwOpenKey};
use kmdf_sim::*;

mod support;

const DRV: &str = "fidelity.sys";
const PATH: &str = r"\Registry\Machine\SOFTWARE\Fidelity";

/// A raw key handle the driver opens itself (ZwOpenKey at PASSIVE_LEVEL).
fn open_raw(m: &Machine) -> HANDLE {
    m.registry_create_key(PATH).expect("seeded");
    let name = testing::wide(PATH);
    m.run(DRV, "DriverEntry", || {
        let mut oa = OBJECT_ATTRIBUTES {
            Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
            ObjectName: std::ptr::from_ref(&name.us).cast_mut(),
            Attributes: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
            ..OBJECT_ATTRIBUTES::default()
        };
        let mut h: HANDLE = std::ptr::null_mut();
        // SAFETY: a writable handle slot and valid attributes.
        let st = unsafe { ZwOpenKey(&mut h, KEY_READ, &mut oa) };
        assert_eq!(st, STATUS_SUCCESS);
        h
    })
    .expect("no stop")
}

fn close_at_dispatch(m: &Machine, h: HANDLE) -> Result<NTSTATUS, kmdf_sim::control::Stopped> {
    m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || {
        // SAFETY: the driver's own handle; the IRQL is the defect under test.
        unsafe { ZwClose(h) }
    })
}

#[test]
fn an_irql_violations_root_cause_names_the_calling_driver() {
    let m = Machine::new(Settings::default());
    let h = open_raw(&m);
    let stop = close_at_dispatch(&m, h).expect_err("Driver Verifier's IRQL checking");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[1], b.params[2]), (0xC4, 2, 0));
    assert_eq!(b.blamed, DRV);
    let cause = b.root_cause.as_deref().unwrap_or_default();
    assert!(cause.starts_with("fidelity.sys called ZwClose at IRQL 2"), "{cause}");
    assert!(!cause.contains("ntoskrnl"), "{cause}");
}

#[test]
fn the_kmdf_verifier_does_not_see_a_drivers_direct_kernel_call() {
    // KMDF verifier on, Driver Verifier's IRQL checking off, no debugger: a
    // framework break would be a 0x7E bug check; the kernel call goes on.
    let m = Machine::new(Settings { driver_verifier_irql: false, ..Settings::default() });
    let h = open_raw(&m);
    let st = close_at_dispatch(&m, h).expect("no stop: no framework DDI was called");
    assert_eq!(st, STATUS_SUCCESS);
    assert!(m.verifier_breaks().is_empty(), "{:?}", m.verifier_breaks());
    assert!(!m.framework_log().iter().any(|l| l.contains("ZwClose")), "{:?}", m.framework_log());
}

#[test]
fn with_both_verifiers_a_direct_kernel_call_is_driver_verifiers_0xc4_not_a_framework_break() {
    let m = Machine::new(Settings { kernel_debugger: true, ..Settings::default() });
    let h = open_raw(&m);
    let stop = close_at_dispatch(&m, h).expect_err("0xC4");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.blamed.as_str()), (0xC4, DRV));
    assert!(m.verifier_breaks().is_empty(), "{:?}", m.verifier_breaks());
}

#[test]
fn a_deleted_wdfkey_used_with_every_verifier_off_is_still_a_finding() {
    let m = Machine::new(Settings::without_verifiers());
    m.run(DRV, "DriverEntry", || {
        let key = support::create_key(std::ptr::null_mut(), PATH, KEY_ALL_ACCESS, None).expect("creates");
        support::close_key(key);
        // The defect under test: the same WDFKEY closed again.
        support::close_key(key);
    })
    .expect("F77 b: silent on the machine");
    assert!(m.stop().is_none());
    let findings = m.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("used after it was deleted"), "{findings:?}");
}

#[test]
fn nt_close_of_a_kernel_handle_closes_only_in_a_system_thread() {
    let m = Machine::new(Settings::default());
    let h = open_raw(&m);
    // An IOCTL runs in the application's thread: previous mode UserMode (F39).
    // SAFETY: the driver's own handle.
    let st = m.run_in_process(DRV, "EvtIoDeviceControl", "app.exe", || unsafe { kmdf_sim::ntddk::NtClose(h) });
    assert_eq!(st.expect("no stop"), STATUS_INVALID_HANDLE);
    assert!(m.handle_owner(h as u64).is_some(), "still open");
    // SAFETY: as above, from a system thread.
    let st = m.run(DRV, "WorkItem", || unsafe { kmdf_sim::ntddk::NtClose(h) });
    assert_eq!(st.expect("no stop"), STATUS_SUCCESS);
    assert!(m.handle_owner(h as u64).is_none(), "closed");
}
