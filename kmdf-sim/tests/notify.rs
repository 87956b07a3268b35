//! Process-creation notify routines (F84): registered by the driver, run as
//! the test starts and ends processes, and a routine left registered at
//! unload is Driver Verifier's 0xCE, never a clean unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::PsSetCreateProcessNotifyRoutine;
use kmdf_sim::*;
use std::cell::RefCell;

thread_local! {
    /// (parent, process, create) per call of the routine.
    static SEEN: RefCell<Vec<(u64, u64, bool)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn on_process(parent: HANDLE, process: HANDLE, create: BOOLEAN) {
    SEEN.with(|s| s.borrow_mut().push((parent as u64, process as u64, create != 0)));
}

fn register(remove: bool) -> NTSTATUS {
    // SAFETY: a routine of this test binary, callable for the whole run.
    unsafe { PsSetCreateProcessNotifyRoutine(Some(on_process), u8::from(remove)) }
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the loader's live DRIVER_OBJECT.
    unsafe { (*driver).DriverUnload = Some(unload) };
    register(false)
}

extern "C" fn unload(_driver: *mut _DRIVER_OBJECT) {
    let _ = register(true);
}

extern "C" fn leaky_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    register(false)
}

#[test]
fn registered_routines_see_processes_start_and_exit() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("notify.sys", "notify", Some(entry)).expect("no stop"), STATUS_SUCCESS);
    let pid = m.start_process(4).expect("no stop");
    m.end_process(4, pid).expect("no stop");
    assert_eq!(SEEN.with(|s| s.borrow_mut().drain(..).collect::<Vec<_>>()), [(4, pid, true), (4, pid, false)]);
    // Registering twice, or removing what is not there, is refused.
    let twice = m.run("notify.sys", "DriverEntry", || register(false)).expect("no stop");
    assert_eq!(twice, STATUS_INVALID_PARAMETER);
    m.unload().expect("the unload routine removed it: a clean unload");
    let again = m.run("notify.sys", "DriverEntry", || register(true)).expect("no stop");
    assert_eq!(again as u32, 0xC000_007A, "STATUS_PROCEDURE_NOT_FOUND");
    let pid = m.start_process(4).expect("no stop");
    assert!(pid > 0 && SEEN.with(|s| s.borrow().is_empty()), "a removed routine is not called");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_routine_left_registered_at_unload_is_0xce() {
    let m = Machine::new(Settings::default());
    m.load("leakn.sys", "leakn", Some(leaky_entry)).expect("no stop");
    let stop = m.unload().expect_err("the routine is still registered");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xCE, on_process as *const () as u64), "{stop}");
    assert!(b.root_cause.as_deref().unwrap_or_default().starts_with("leakn.sys unloaded"), "{stop}");
}

#[test]
fn registering_above_passive_level_is_the_irql_violation() {
    let m = Machine::new(Settings::default());
    let _ = m.run_at_irql("notify.sys", "EvtTimerFunc", DISPATCH_LEVEL as u8, || register(false));
    let stop = m.stop().expect("Driver Verifier's IRQL check");
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params[0])), Some((0xC4, 0x20004)), "{stop}");
}
