//! Every way a driver can close a WDFKEY's WDM handle itself is the same
//! double close: `ZwClose`, `NtClose` in a system thread and
//! `ObCloseHandle(.., KernelMode)` all free the framework's handle, and the
//! framework's own close at unload is bug check 0x93 under Driver Verifier's
//! misc checks (F39–F46, F67c). `ObCloseHandle` with UserMode, like `NtClose`
//! in an application's thread, closes no kernel handle (F39). The driver here
//! declares `ObCloseHandle` itself, as it must on Windows.

use kmdf_sim::control::{Machine, Settings, ViolationKind};
use kmdf_sim::ntddk::{NtClose, ZwClose};
use kmdf_sim::*;
use std::cell::Cell;

mod support;

const DRV: &str = "closer.sys";
const SERVICE: &str = "closer";
const PARAMS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\closer\Parameters";

// What a driver writes on Windows, where wdk-sys does not bind ObCloseHandle
// (wdm.h; learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-obclosehandle).
unsafe extern "C" {
    fn ObCloseHandle(Handle: HANDLE, PreviousMode: KPROCESSOR_MODE) -> NTSTATUS;
}

#[derive(Clone, Copy, Debug)]
enum Close {
    Zw,
    Nt,
    ObKernel,
    ObUser,
}

thread_local! {
    static HOW: Cell<Close> = const { Cell::new(Close::Zw) };
    static STATUS: Cell<NTSTATUS> = const { Cell::new(0) };
}

/// DriverEntry: opens its Parameters key as a WDFKEY (parent: the driver)
/// and closes the key's WDM handle itself — the defect under test.
extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    if let Err(status) = support::create_driver(driver, path, None, None) {
        return status;
    }
    let key = match support::open_key(core::ptr::null_mut(), PARAMS, KEY_READ, None) {
        Ok(key) => key,
        Err(status) => return status,
    };
    // SAFETY: `key` is a live WDFKEY.
    let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
    let kernel = _MODE::KernelMode as KPROCESSOR_MODE;
    let user = _MODE::UserMode as KPROCESSOR_MODE;
    let status = match HOW.get() {
        // SAFETY: the defect under test: the handle is the key object's.
        Close::Zw => unsafe { ZwClose(handle) },
        // SAFETY: as above.
        Close::Nt => unsafe { NtClose(handle) },
        // SAFETY: as above.
        Close::ObKernel => unsafe { ObCloseHandle(handle, kernel) },
        // SAFETY: as above.
        Close::ObUser => unsafe { ObCloseHandle(handle, user) },
    };
    STATUS.set(status);
    STATUS_SUCCESS
}

fn run(how: Close) -> Machine {
    HOW.set(how);
    let m = Machine::new(Settings::default());
    m.registry_create_key(PARAMS).expect("well formed");
    let status = m.load(DRV, SERVICE, Some(entry)).expect("DriverEntry does not stop the machine");
    assert_eq!(status, STATUS_SUCCESS);
    m
}

#[test]
fn every_kernel_mode_close_of_a_wdfkeys_handle_bug_checks_93_at_unload() {
    for how in [Close::Zw, Close::Nt, Close::ObKernel] {
        let m = run(how);
        assert_eq!(STATUS.get(), STATUS_SUCCESS, "{how:?}: the first close succeeds, the slot is live");
        let key = m.live_keys()[0];
        let handle = m.key_handle(key).expect("m_Key still holds the closed value");
        assert!(m.handle_owner(handle).is_none(), "{how:?}: the handle was closed");
        let stop = m.unload().expect_err("the framework closes the key's handle again");
        let b = stop.bug_check().unwrap_or_else(|| panic!("{how:?}: expected a bug check, got {stop}"));
        assert_eq!((b.code, b.params), (0x93, [handle & 0x7FFF_FFFF, 1, 0, 0]), "{how:?}");
        assert_eq!(b.blamed, "Wdf01000.sys", "{how:?}");
        let cause = b.root_cause.as_deref().unwrap_or_default();
        assert!(cause.starts_with(DRV), "{how:?}: {cause}");
        assert_eq!(m.violations().last().map(|v| v.kind.clone()), Some(ViolationKind::StaleCloseFreeSlot), "{how:?}");
    }
}

#[test]
fn ob_close_handle_with_user_mode_closes_no_kernel_handle() {
    let m = run(Close::ObUser);
    assert_eq!(STATUS.get(), STATUS_INVALID_HANDLE);
    let key = m.live_keys()[0];
    let handle = m.key_handle(key).expect("m_Key set");
    assert!(m.handle_owner(handle).is_some(), "still open: a kernel handle needs KernelMode");
    assert!(m.framework_log().iter().any(|l| l.contains("ObCloseHandle") && l.contains("not KernelMode")));
    let report = m.unload().expect("the framework's close is the only close");
    assert!(m.stop().is_none() && m.violations().is_empty(), "{report:?}");
}

#[test]
fn ob_close_handle_above_passive_level_is_driver_verifiers_0xc4() {
    let m = run(Close::ObUser);
    let key = m.live_keys()[0];
    let handle = m.key_handle(key).expect("m_Key set") as HANDLE;
    let stop = m
        .run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || {
            // SAFETY: the IRQL is the defect under test (ObCloseHandle: PASSIVE_LEVEL).
            unsafe { kmdf_sim::ntddk::ObCloseHandle(handle, _MODE::KernelMode as KPROCESSOR_MODE) }
        })
        .expect_err("Driver Verifier's IRQL checking");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[1], b.params[2]), (0xC4, 2, 0));
    assert_eq!(b.blamed, DRV);
    let cause = b.root_cause.as_deref().unwrap_or_default();
    assert!(cause.starts_with("closer.sys called ObCloseHandle at IRQL 2"), "{cause}");
    assert_eq!(m.ddi_calls().get("ObCloseHandle"), Some(&2));
}
