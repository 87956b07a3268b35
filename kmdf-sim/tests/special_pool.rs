//! Special pool (F51, F70): with wdf01000.sys verified, an object context
//! read after the object's destroy callback, or past its end, stops the
//! machine with the special-pool bug check. In driver code the machine runs,
//! the fault is a stop the test gets (the driver's code is halted); outside
//! it (test code touching the pages), the process ends with the stop code.
//! Each scenario runs in a child process, so that the child's special pool
//! can be told to use `mprotect`; the child exits with the code of the stop
//! its machine returned and prints it, and the parent asserts on both.

use kmdf_sim::control::{self, Machine, Settings, SpecialPoolProtection};
use kmdf_sim::*;
use std::cell::Cell;
use std::process::Command;

mod support;

const DRV: &str = "pooldrv.sys";
const CHILD: &str = "KMDF_SIM_SPECIAL_POOL_CHILD";

#[repr(transparent)]
struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: never written after initialisation; only read by the framework.
unsafe impl Sync for TypeInfo {}

static CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"Ctx".as_ptr(),
    ContextSize: 16,
    UniqueType: &CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

thread_local! {
    static READ_IN_DESTROY: Cell<Option<u64>> = const { Cell::new(None) };
}

fn context_of(object: WDFOBJECT) -> *mut u64 {
    // SAFETY: the object carries a CONTEXT context.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, &CONTEXT.0) }.cast()
}

extern "C" fn on_destroy(object: WDFOBJECT) {
    // F30: the context is still valid inside EvtDestroyCallback.
    // SAFETY: 16 context bytes, alive until this callback returns.
    READ_IN_DESTROY.with(|r| r.set(Some(unsafe { context_of(object).read() })));
}

/// Creates an object with a 16-byte context holding 42; returns it and the
/// context pointer.
fn object_with_context() -> (WDFOBJECT, *mut u64) {
    let mut attrs = WDF_OBJECT_ATTRIBUTES {
        ContextTypeInfo: &CONTEXT.0,
        EvtDestroyCallback: Some(on_destroy),
        ..testing::object_attributes()
    };
    let mut object: WDFOBJECT = core::ptr::null_mut();
    // SAFETY: pointers to live locals.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfObjectCreate, &mut attrs, &mut object) };
    assert_eq!(st, STATUS_SUCCESS);
    let ctx = context_of(object);
    // SAFETY: 16 writable context bytes.
    unsafe { ctx.write(42) };
    (object, ctx)
}

/// Runs `scenario` in a child process (this test binary, this test only);
/// returns its exit code and standard error.
fn in_child(test: &str, scenario: impl FnOnce()) -> Option<(Option<i32>, String)> {
    in_child_with(test, false, scenario)
}

/// Like [`in_child`]; with `mprotect`, the child's special pool is told to
/// use `mprotect` even where the host has guard regions.
fn in_child_with(test: &str, mprotect: bool, scenario: impl FnOnce()) -> Option<(Option<i32>, String)> {
    if std::env::var_os(CHILD).is_some() {
        eprintln!("kmdf-sim child: special pool protection {:?}", control::special_pool_protection());
        scenario();
        // Reaching here means the machine did not stop.
        eprintln!("kmdf-sim child: the scenario ran to its end");
        std::process::exit(0);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe);
    child.args(["--exact", test, "--nocapture", "--test-threads=1"]).env(CHILD, "1");
    if mprotect {
        child.env(control::SPECIAL_POOL_PROTECTION_VARIABLE, "mprotect");
    } else {
        child.env_remove(control::SPECIAL_POOL_PROTECTION_VARIABLE);
    }
    let out = child.output().expect("child runs");
    Some((out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// In the child: the machine's stop, printed, is the exit code.
fn exit_with(stop: &control::Stop) -> ! {
    eprintln!("kmdf-sim child: the machine returned its stop\n{stop}");
    std::process::exit(stop.bug_check().map_or(1, |b| b.code as i32));
}

fn read_after_destroy(test: &str, mprotect: bool) {
    let result = in_child_with(test, mprotect, || {
        let m = Machine::new(Settings::default());
        let stop = m
            .run(DRV, "Test", || {
                let (object, ctx) = object_with_context();
                // SAFETY: live object, deleted once.
                unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
                assert_eq!(READ_IN_DESTROY.with(Cell::get), Some(42), "F30: valid inside EvtDestroyCallback");
                // SAFETY: not sound — the defect under test: the context is freed.
                let stale = unsafe { std::ptr::read_volatile(ctx) };
                std::hint::black_box(stale);
            })
            .expect_err("the read stops the machine");
        exit_with(&stop);
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0xD5), "{stderr}");
    assert!(stderr.contains("the machine returned its stop"), "a stop in-process, not an exit: {stderr}");
    assert!(stderr.contains("DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"), "{stderr}");
    assert!(stderr.contains("BUGCHECK_P2: 0\n"), "a read: {stderr}");
    assert!(stderr.contains("pooldrv.sys read address"), "names the driver: {stderr}");
    assert_protection(&stderr, mprotect);
}

#[test]
fn test_code_reading_a_freed_context_ends_the_process_with_bug_check_d5() {
    // Outside the machine's driver code there is no driver to halt: the
    // fault ends the process as a real bug check ends the machine.
    let test = "test_code_reading_a_freed_context_ends_the_process_with_bug_check_d5";
    let result = in_child(test, || {
        let m = Machine::new(Settings::default());
        let ctx = m
            .run(DRV, "Test", || {
                let (object, ctx) = object_with_context();
                // SAFETY: live object, deleted once.
                unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
                ctx
            })
            .expect("no stop");
        // SAFETY: not sound — the defect under test: the context is freed.
        let stale = unsafe { std::ptr::read_volatile(ctx) };
        std::hint::black_box(stale);
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0xD5), "{stderr}");
    assert!(stderr.contains("special pool stopped the machine"), "{stderr}");
    assert!(stderr.contains(", read"), "{stderr}");
}

/// The child used `mprotect` when told to, and otherwise what the host offers.
fn assert_protection(stderr: &str, mprotect: bool) {
    let expected = if mprotect { SpecialPoolProtection::Mprotect } else { control::special_pool_protection() };
    assert!(stderr.contains(&format!("special pool protection {expected:?}")), "{stderr}");
}

#[test]
fn a_context_read_after_its_destroy_callback_is_bug_check_d5() {
    read_after_destroy("a_context_read_after_its_destroy_callback_is_bug_check_d5", false);
}

#[test]
fn with_mprotect_a_context_read_after_its_destroy_callback_is_bug_check_d5() {
    read_after_destroy("with_mprotect_a_context_read_after_its_destroy_callback_is_bug_check_d5", true);
}

#[test]
fn a_write_past_the_end_of_a_context_is_bug_check_d6() {
    write_past_end("a_write_past_the_end_of_a_context_is_bug_check_d6", false);
}

#[test]
fn with_mprotect_a_write_past_the_end_of_a_context_is_bug_check_d6() {
    write_past_end("with_mprotect_a_write_past_the_end_of_a_context_is_bug_check_d6", true);
}

fn write_past_end(test: &str, mprotect: bool) {
    let result = in_child_with(test, mprotect, || {
        let m = Machine::new(Settings::default());
        let stop = m
            .run(DRV, "Test", || {
                let (_, ctx) = object_with_context();
                // One u64 past the 16 context bytes: the defect under test.
                let past_end = ctx.wrapping_add(2);
                // SAFETY: not sound — the write past the end is what special pool catches.
                unsafe { std::ptr::write_volatile(past_end, 7) };
            })
            .expect_err("the write stops the machine");
        exit_with(&stop);
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0xD6), "{stderr}");
    assert!(stderr.contains("the machine returned its stop"), "a stop in-process, not an exit: {stderr}");
    assert!(stderr.contains("BEYOND_END_OF_ALLOCATION") && stderr.contains("BUGCHECK_P2: 1\n"), "{stderr}");
    assert!(stderr.contains("pooldrv.sys wrote address"), "names the driver: {stderr}");
    assert_protection(&stderr, mprotect);
}

#[test]
fn without_special_pool_the_same_read_goes_unnoticed() {
    // F51: without special pool a use after free may show as nothing at all.
    let result = in_child("without_special_pool_the_same_read_goes_unnoticed", || {
        let m = Machine::new(Settings { special_pool: false, ..Settings::default() });
        m.run(DRV, "Test", || {
            let (object, ctx) = object_with_context();
            // SAFETY: live object.
            unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
            // The context was ordinary pool memory, now freed: reading it is
            // undefined, so only its address is kept, never dereferenced.
            std::hint::black_box(ctx);
        })
        .expect("no stop");
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("ran to its end"), "{stderr}");
}

thread_local! {
    /// The context a driver made in its DriverEntry, on an object the
    /// framework frees when the driver unloads.
    static UNLOADED_CONTEXT: Cell<usize> = const { Cell::new(0) };
}

/// A DriverEntry that creates the WDFDRIVER and an object with a context
/// (a child of the driver object: freed at unload), and keeps the pointer.
extern "C" fn entry_with_context(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let st = testing::plain_entry(driver, path);
    if NT_SUCCESS(st) {
        let (_, ctx) = object_with_context();
        UNLOADED_CONTEXT.with(|c| c.set(ctx as usize));
    }
    st
}

/// Loads and unloads a driver whose DriverEntry made a context that the
/// unload frees; returns the stale pointer.
fn unloaded_context(m: &Machine) -> *mut u64 {
    assert_eq!(m.load(DRV, "pooldrv", Some(entry_with_context)).expect("loads"), STATUS_SUCCESS);
    m.unload().expect("unloads without a stop");
    UNLOADED_CONTEXT.with(Cell::get) as *mut u64
}

#[test]
fn a_context_freed_by_an_unload_faults_once_the_next_driver_code_has_freed_memory() {
    // F85: an unload's last frees are held until the next seal; the next
    // free before driver code runs seals them with it.
    let test = "a_context_freed_by_an_unload_faults_once_the_next_driver_code_has_freed_memory";
    let result = in_child(test, || {
        let m = Machine::new(Settings::default());
        let stale = unloaded_context(&m);
        let stop = m
            .run(DRV, "Test", || {
                let (object, _) = object_with_context();
                // SAFETY: live object, deleted once.
                unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
                // SAFETY: not sound — the defect under test: freed at the unload.
                std::hint::black_box(unsafe { std::ptr::read_volatile(stale) });
            })
            .expect_err("the read stops the machine");
        exit_with(&stop);
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0xD5), "{stderr}");
    assert!(stderr.contains("the machine returned its stop"), "a stop in-process, not an exit: {stderr}");
    assert!(stderr.contains("DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"), "{stderr}");
    assert!(stderr.contains("BUGCHECK_P2: 0\n"), "a read: {stderr}");
}

#[test]
fn a_context_freed_by_an_unload_faults_after_the_machine_is_gone() {
    let result = in_child("a_context_freed_by_an_unload_faults_after_the_machine_is_gone", || {
        let m = Machine::new(Settings::default());
        let stale = unloaded_context(&m);
        drop(m);
        // SAFETY: not sound — the defect under test: freed at the unload.
        std::hint::black_box(unsafe { std::ptr::read_volatile(stale) });
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0xD5), "{stderr}");
    assert!(stderr.contains("DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"), "{stderr}");
}

thread_local! {
    /// The context of the device the driver added.
    static DEVICE_CONTEXT: Cell<usize> = const { Cell::new(0) };
}

extern "C" fn add_device_with_context(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut init = init;
    let mut attrs = WDF_OBJECT_ATTRIBUTES { ContextTypeInfo: &CONTEXT.0, ..testing::object_attributes() };
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the init from the framework, consumed on success; live locals.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, &mut attrs, &mut device) };
    if NT_SUCCESS(st) {
        DEVICE_CONTEXT.with(|c| c.set(context_of(device.cast()) as usize));
    }
    st
}

/// EvtDriverUnload reading the context of the device removed before it.
extern "C" fn unload_reading_the_device_context(_driver: WDFDRIVER) {
    let stale = DEVICE_CONTEXT.with(Cell::get) as *const u64;
    // SAFETY: not sound — the defect under test: the device and its context
    // went with the removal, before the unload.
    std::hint::black_box(unsafe { std::ptr::read_volatile(stale) });
}

extern "C" fn device_driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let config = testing::driver_config(Some(add_device_with_context), Some(unload_reading_the_device_context));
    testing::driver_create(driver, path, None, config, None)
}

#[test]
fn a_device_context_read_in_evt_driver_unload_is_bug_check_d5() {
    // What the removal freed is no-access before the unload's driver code runs.
    let result = in_child("a_device_context_read_in_evt_driver_unload_is_bug_check_d5", || {
        let m = Machine::new(Settings::default());
        m.install(DRV, "pooldrv", Some(device_driver_entry));
        let id = m.add_device(r"Root\PoolTest", None).expect("the device starts");
        // The removal of the driver's last device unloads it: EvtDriverUnload's
        // read stops the machine.
        let stop = m.disable_device(id).expect_err("EvtDriverUnload's read stops the machine");
        exit_with(&stop);
    });
    let (code, stderr) = result.expect("parent");
    assert_eq!(code, Some(0xD5), "{stderr}");
    assert!(stderr.contains("the machine returned its stop"), "a stop in-process, not an exit: {stderr}");
    assert!(stderr.contains("DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"), "{stderr}");
    assert!(stderr.contains("BUGCHECK_P2: 0\n"), "a read: {stderr}");
}
