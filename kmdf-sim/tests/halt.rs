//! A stop halts the driver (docs/facts.md F110–F112): once the machine has
//! bug-checked, no code of the driver runs — not the line after the DDI
//! that stopped it, not the callback around it, not its destructors — and
//! the test gets the stop in-process, naming the callback; a page fault and
//! a panic in a callback are stops too, never an abort of the test binary.

use kmdf_sim::control::{Machine, Scenario, Settings, Stop};
use kmdf_sim::ntddk::{ExAllocatePool2, ExFreePool};
use kmdf_sim::*;
use std::cell::Cell;

const DRV: &str = "halting.sys";
const TAG: u32 = u32::from_le_bytes(*b"Halt");

thread_local! {
    /// The EvtDriverDeviceAdd the next load registers.
    static ADD: Cell<PFN_WDF_DRIVER_DEVICE_ADD> = const { Cell::new(None) };
    /// The driver's lines that ran, one bit each.
    static REACHED: Cell<u32> = const { Cell::new(0) };
    /// Whether a driver local's destructor ran.
    static DROPPED: Cell<bool> = const { Cell::new(false) };
}

fn reached(line: u32) {
    REACHED.with(|r| r.set(r.get() | line));
}

fn lines_reached() -> u32 {
    REACHED.with(Cell::get)
}

/// A driver local with a destructor (driver code that must not run after a stop).
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(true));
    }
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    testing::driver_create(driver, path, None, testing::driver_config(ADD.with(Cell::get), None), None)
}

/// Installs the driver with `add` and adds a device: the stop it ends in.
fn stop_in_device_add(add: extern "C" fn(WDFDRIVER, PWDFDEVICE_INIT) -> NTSTATUS) -> (Machine, Stop) {
    ADD.with(|a| a.set(Some(add)));
    let m = Machine::new(Settings::default());
    m.install(DRV, "halting", Some(entry));
    let stop = m.add_device(r"Root\Halting", None).expect_err("the callback stops the machine");
    (m, *stop)
}

fn timer_parent(timer: WDFTIMER) -> WDFOBJECT {
    // SAFETY: the DDI validates its handle (a NULL one is the defect under test).
    unsafe { call_unsafe_wdf_function_binding!(WdfTimerGetParentObject, timer) }
}

extern "C" fn add_null_timer(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    let _local = Guard;
    reached(1);
    let parent = timer_parent(core::ptr::null_mut());
    // Before, the machine returned NULL here and this line dereferenced it.
    reached(2);
    // SAFETY: not sound for a NULL parent — what a driver would do next.
    unsafe { std::ptr::read_volatile(parent.cast::<u8>().wrapping_add(16)) };
    STATUS_SUCCESS
}

#[test]
fn a_null_wdftimer_is_0x10d_and_the_drivers_next_line_never_runs() {
    let (_m, stop) = stop_in_device_add(add_null_timer);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!(b.code, 0x10D, "{stop}");
    assert!(b.stack.iter().any(|f| f == "Wdf01000!imp_WdfTimerGetParentObject"), "{stop}");
    assert!(b.stack.iter().any(|f| f == "halting!EvtDriverDeviceAdd"), "names the callback: {stop}");
    assert_eq!(lines_reached(), 1, "the line after the DDI never ran");
    assert!(!DROPPED.with(Cell::get), "the callback's locals are not dropped: nothing unwinds");
}

#[repr(C)]
struct DeviceContext {
    open_count: u32,
    flags: u32,
    name: *const u16,
}

extern "C" fn add_null_field(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    let _local = Guard;
    reached(1);
    let context: *const DeviceContext = std::hint::black_box(core::ptr::null());
    // The field's address, as `(*context).name` computes it: 0x8.
    let field = context.cast::<u8>().wrapping_add(std::mem::offset_of!(DeviceContext, name));
    // SAFETY: not sound — a field of a NULL context, the defect under test.
    let name = unsafe { std::ptr::read_volatile(field.cast::<*const u16>()) };
    reached(2);
    std::hint::black_box(name);
    STATUS_SUCCESS
}

#[test]
fn a_null_dereference_in_evt_driver_device_add_is_a_stop_naming_it() {
    let (_m, stop) = stop_in_device_add(add_null_field);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    // An access violation a system thread does not handle (F111).
    assert_eq!((b.code, b.params[0]), (0x7E, 0xC000_0005), "{stop}");
    assert_eq!(b.name, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED");
    assert_ne!(b.params[1], 0, "Arg2 is the faulting instruction's address");
    assert_eq!(b.stack.get(1).map(String::as_str), Some("halting!EvtDriverDeviceAdd"), "{stop}");
    assert_eq!(b.blamed, DRV);
    let cause = b.root_cause.clone().unwrap_or_default();
    assert!(cause.starts_with("halting.sys read address 0x8 in halting!EvtDriverDeviceAdd"), "{cause}");
    assert_eq!(lines_reached(), 1);
    assert!(!DROPPED.with(Cell::get));
}

extern "C" fn add_exact_null(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    let _local = Guard;
    reached(1);
    let count: *const u32 = std::hint::black_box(core::ptr::null());
    // SAFETY: not sound — the defect under test. A debug build checks the
    // pointer first: Rust's null check is a panic that cannot unwind, which
    // wdk-panic turns into its bug check; a release build faults.
    let value = unsafe { *count };
    reached(2);
    value as NTSTATUS
}

#[test]
fn an_exact_null_dereference_is_rusts_own_check_and_a_stop_naming_the_callback() {
    let (_m, stop) = stop_in_device_add(add_exact_null);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    let cause = b.root_cause.clone().unwrap_or_default();
    if cfg!(debug_assertions) {
        assert_eq!(b.code, 0x5250_4E43, "{stop}");
        assert!(cause.starts_with("halting.sys panicked in halting!EvtDriverDeviceAdd"), "{cause}");
        assert!(cause.contains("null pointer dereference"), "{cause}");
    } else {
        assert_eq!((b.code, b.params[0]), (0x7E, 0xC000_0005), "{stop}");
        assert!(cause.starts_with("halting.sys read address 0x0 in halting!EvtDriverDeviceAdd"), "{cause}");
    }
    assert_eq!(lines_reached(), 1);
    assert!(!DROPPED.with(Cell::get), "a panic that cannot unwind drops nothing");
}

extern "C" fn add_panics(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    let _local = Guard;
    reached(1);
    let table: Option<u32> = std::hint::black_box(None);
    let size = table.expect("the device table exists");
    reached(2);
    size as NTSTATUS
}

#[test]
fn a_panic_in_a_callback_is_a_stop_in_process_naming_the_callback() {
    let (m, stop) = stop_in_device_add(add_panics);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!(b.code, 0x5250_4E43, "{stop}");
    let cause = b.root_cause.clone().unwrap_or_default();
    assert!(cause.starts_with("halting.sys panicked in halting!EvtDriverDeviceAdd at "), "{cause}");
    assert!(cause.contains("the device table exists"), "{cause}");
    assert_eq!(lines_reached(), 1, "the line after the panic never ran");
    // A test build unwinds to the callback's extern "C" frame, dropping its
    // locals; the abort there is the halt.
    assert!(DROPPED.with(Cell::get), "the callback's locals are dropped by the unwinding");
    assert_eq!(m.stop(), Some(stop), "the machine keeps the stop");
}

extern "C" fn add_use_after_free(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    reached(1);
    // SAFETY: no preconditions beyond the kernel's.
    let block = unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, TAG) };
    // SAFETY: a block from ExAllocatePool2, freed once.
    unsafe { ExFreePool(block) };
    // SAFETY: not sound — the use after free is what special pool catches.
    let stale = unsafe { std::ptr::read_volatile(block.cast::<u64>()) };
    reached(2);
    stale as NTSTATUS
}

#[test]
fn a_special_pool_use_after_free_in_a_callback_is_0xd5_in_process() {
    let (_m, stop) = stop_in_device_add(add_use_after_free);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!((b.code, b.name), (0xD5, "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"), "{stop}");
    assert_eq!(b.params[1], 0, "a read");
    assert_ne!(b.params[2], 0, "Arg3 is the address that referenced the memory");
    assert_eq!(b.stack.get(1).map(String::as_str), Some("halting!EvtDriverDeviceAdd"), "{stop}");
    assert_eq!(lines_reached(), 1);
}

extern "C" fn cleanup_stops(_object: WDFOBJECT) {
    reached(4);
    let _ = timer_parent(core::ptr::null_mut());
    reached(8);
}

extern "C" fn add_deletes_an_object(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    let _local = Guard;
    reached(1);
    let mut attrs = WDF_OBJECT_ATTRIBUTES { EvtCleanupCallback: Some(cleanup_stops), ..testing::object_attributes() };
    let mut object: WDFOBJECT = core::ptr::null_mut();
    // SAFETY: pointers to live locals.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfObjectCreate, &mut attrs, &mut object) };
    assert_eq!(status, STATUS_SUCCESS);
    reached(2);
    // SAFETY: a live object, deleted once; its cleanup callback stops the machine.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
    reached(16);
    STATUS_SUCCESS
}

#[test]
fn a_stop_in_a_nested_callback_halts_the_callback_around_it() {
    let (m, stop) = stop_in_device_add(add_deletes_an_object);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!(b.code, 0x10D, "{stop}");
    let at = |frame: &str| b.stack.iter().position(|f| f == frame);
    let (cleanup, delete, add) =
        (at("halting!EvtCleanupCallback"), at("Wdf01000!imp_WdfObjectDelete"), at("halting!EvtDriverDeviceAdd"));
    assert!(cleanup < delete && delete < add && add.is_some() && cleanup.is_some(), "nested as called: {stop}");
    assert_eq!(lines_reached(), 1 | 2 | 4, "neither the cleanup callback's next line nor the outer callback's ran");
    assert!(!DROPPED.with(Cell::get));
    // The simulated stack is back where the machine called the driver.
    assert_eq!(m.run(DRV, "Later", || ()).expect_err("stopped"), Box::new(stop));
}

#[test]
fn after_a_stop_the_machine_refuses_every_step_with_the_stop() {
    let (m, stop) = stop_in_device_add(add_null_timer);
    let stop = Box::new(stop);
    let ran = Cell::new(false);
    assert_eq!(m.run(DRV, "DriverEntry", || ran.set(true)).expect_err("refused"), stop);
    assert!(!ran.get(), "no driver code runs after the stop");
    assert_eq!(m.add_device(r"Root\Halting", None).expect_err("refused"), stop);
    assert_eq!(m.unload().expect_err("refused"), stop);
    assert_eq!(m.load(DRV, "halting", Some(entry)).expect_err("refused"), stop);
    let report = Scenario::parse("add Root\\Halting\ndisable\n").expect("parses").run(&m);
    assert_eq!(report.stop.map(Box::new), Some(stop.clone()));
    assert!(report.steps_run <= 1, "the scenario ends at its first step: {}", report.steps_run);
    assert_eq!(lines_reached(), 1, "the driver never ran again");
}

#[test]
fn a_wild_pointer_is_0xd1_at_dispatch_level_and_0x3b_in_an_applications_call() {
    let wild = || {
        let p: *const u64 = std::hint::black_box(core::ptr::null::<u64>().wrapping_add(2));
        // SAFETY: not sound — the defect under test.
        unsafe { p.read_volatile() }
    };
    let m = Machine::new(Settings::default());
    let stop = m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, wild).expect_err("faults");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!((b.code, b.params[0], b.params[1], b.params[2]), (0xD1, 0x10, 2, 0), "{stop}");
    assert_eq!(b.stack.get(1).map(String::as_str), Some("halting!EvtTimerFunc"), "{stop}");
    drop(m);
    let m = Machine::new(Settings::default());
    let stop = m.run_in_process(DRV, "EvtIoDeviceControl", "app.exe", wild).expect_err("faults");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!((b.code, b.name, b.params[0]), (0x3B, "SYSTEM_SERVICE_EXCEPTION", 0xC000_0005), "{stop}");
    assert_eq!(b.process, "app.exe");
}

/// Recurses until the stack runs out (`depth` is never reached).
fn deep(depth: u64, limit: u64) -> u64 {
    let frame = std::hint::black_box([depth; 256]);
    if depth == limit { frame[0] } else { deep(depth + 1, limit) + frame[1] }
}

#[test]
fn a_driver_stack_overflow_is_0x7f_double_fault() {
    let m = Machine::new(Settings::default());
    let stop = m.run(DRV, "DriverEntry", || deep(0, std::hint::black_box(u64::MAX))).expect_err("overflows");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!((b.code, b.params[0]), (0x7F, 8), "{stop}");
    // The machine's thread is fine afterwards: a new machine runs drivers.
    drop(m);
    let m = Machine::new(Settings::default());
    assert_eq!(m.run(DRV, "DriverEntry", || 7).expect("runs"), 7);
}

/// The stop the next driver code `f` ends in: `f` stops the machine with a
/// NULL WDFTIMER (0x10D), marking the line before and the line after.
fn null_timer_at(line: u32) {
    reached(line);
    let _ = timer_parent(core::ptr::null_mut());
    reached(line << 1);
}

/// Asserts `stop` is the NULL WDFTIMER's 0x10D inside `callback`.
fn assert_null_timer_stop_in(stop: &Stop, callback: &str) {
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!(b.code, 0x10D, "{stop}");
    let at = |frame: &str| b.stack.iter().position(|f| f == frame);
    let (ddi, caller) = (at("Wdf01000!imp_WdfTimerGetParentObject"), at(callback));
    assert!(ddi.is_some() && ddi < caller, "the DDI, called by {callback}: {stop}");
}

extern "C" fn entry_stops(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let _local = Guard;
    let status = entry(driver, path);
    null_timer_at(1);
    status
}

#[test]
fn a_stop_in_driver_entry_halts_it_and_the_load_returns_the_stop() {
    let m = Machine::new(Settings::default());
    let stop = m.load(DRV, "halting", Some(entry_stops)).expect_err("DriverEntry stops the machine");
    assert_null_timer_stop_in(&stop, "halting!DriverEntry");
    assert_eq!(lines_reached(), 1, "DriverEntry's next line never ran");
    assert!(!DROPPED.with(Cell::get));
    assert_eq!(m.unload().expect_err("stopped"), stop, "an unload after it is refused with the stop");
}

extern "C" fn ioctl_stops(_queue: WDFQUEUE, _request: WDFREQUEST, _out: usize, _in: usize, _code: u32) {
    let _local = Guard;
    null_timer_at(4);
}

/// The device of an EvtDriverDeviceAdd, or the status it failed with.
fn create_device(mut init: PWDFDEVICE_INIT) -> Result<WDFDEVICE, NTSTATUS> {
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the init's address, no attributes, a writable slot.
    let st =
        unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device) };
    if NT_SUCCESS(st) { Ok(device) } else { Err(st) }
}

extern "C" fn add_with_queue(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let device = match create_device(init) {
        Ok(device) => device,
        Err(st) => return st,
    };
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DefaultQueue: 1,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        EvtIoDeviceControl: Some(ioctl_stops),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut queue: WDFQUEUE = core::ptr::null_mut();
    reached(1);
    // SAFETY: a live device, valid config, a writable slot.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, WDF_NO_OBJECT_ATTRIBUTES, &mut queue)
    }
}

#[test]
fn a_stop_in_a_queue_callback_halts_it_and_the_request_returns_the_stop() {
    ADD.with(|a| a.set(Some(add_with_queue)));
    let m = Machine::new(Settings::default());
    m.install(DRV, "halting", Some(entry));
    let id = m.add_device(r"Root\Halting", None).expect("the device starts");
    let file = m.open_device(id, kmdf_sim::control::Caller::Administrator).expect("opens");
    let stop = m.device_io_control(&file, "app.exe", 0x22_2000, &[], 0).expect_err("the callback stops the machine");
    assert_null_timer_stop_in(&stop, "halting!EvtIoDeviceControl");
    assert_eq!(stop.bug_check().map(|b| b.process.as_str()), Some("app.exe"), "in the application's call");
    assert_eq!(lines_reached(), 1 | 4, "the callback's next line never ran");
    assert!(!DROPPED.with(Cell::get));
    assert_eq!(m.advance_time(10).expect_err("stopped"), stop);
}

extern "C" fn timer_stops(_timer: WDFTIMER) {
    let _local = Guard;
    null_timer_at(4);
}

extern "C" fn add_with_timer(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let device = match create_device(init) {
        Ok(device) => device,
        Err(st) => return st,
    };
    let mut config = WDF_TIMER_CONFIG {
        Size: size_of::<WDF_TIMER_CONFIG>() as u32,
        EvtTimerFunc: Some(timer_stops),
        AutomaticSerialization: 1,
        ..WDF_TIMER_CONFIG::default()
    };
    let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: device as WDFOBJECT, ..testing::object_attributes() };
    let mut timer: WDFTIMER = core::ptr::null_mut();
    // SAFETY: valid config and attributes, a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfTimerCreate, &mut config, &mut attrs, &mut timer) };
    if !NT_SUCCESS(st) {
        return st;
    }
    reached(1);
    // SAFETY: a live timer, due in 10 ms (relative, 100 ns units).
    let queued = unsafe { call_unsafe_wdf_function_binding!(WdfTimerStart, timer, -100_000) };
    if queued == 0 { STATUS_SUCCESS } else { STATUS_UNSUCCESSFUL }
}

#[test]
fn a_stop_in_a_timer_callback_halts_it_and_advancing_time_returns_the_stop() {
    ADD.with(|a| a.set(Some(add_with_timer)));
    let m = Machine::new(Settings::default());
    m.install(DRV, "halting", Some(entry));
    m.add_device(r"Root\Halting", None).expect("the device starts");
    let stop = m.advance_time(20).expect_err("the timer's callback stops the machine");
    assert_null_timer_stop_in(&stop, "halting!EvtTimerFunc");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!(b.irql, DISPATCH_LEVEL as u8, "a timer callback runs at DISPATCH_LEVEL");
    assert_eq!(lines_reached(), 1 | 4, "the callback's next line never ran");
    assert!(!DROPPED.with(Cell::get));
}

extern "C" fn unload_stops(_driver: WDFDRIVER) {
    let _local = Guard;
    null_timer_at(1);
}

extern "C" fn entry_with_unload(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    testing::driver_create(driver, path, None, testing::driver_config(None, Some(unload_stops)), None)
}

#[test]
fn a_stop_in_evt_driver_unload_halts_it_and_the_unload_returns_the_stop() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load(DRV, "halting", Some(entry_with_unload)).expect("loads"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("EvtDriverUnload stops the machine");
    assert_null_timer_stop_in(&stop, "halting!EvtDriverUnload");
    assert_eq!(lines_reached(), 1, "EvtDriverUnload's next line never ran");
    assert!(!DROPPED.with(Cell::get));
}

/// A driver local whose destructor calls a DDI, then marks a line.
struct CallsOnDrop;

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        null_timer_at(4);
    }
}

extern "C" fn add_panics_with_a_ddi_in_a_destructor(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    let _local = CallsOnDrop;
    reached(1);
    let table: Option<u32> = std::hint::black_box(None);
    let size = table.expect("the device table exists");
    reached(2);
    size as NTSTATUS
}

#[test]
fn a_destructor_the_panic_unwinds_into_is_halted_at_its_first_routine() {
    let (_m, stop) = stop_in_device_add(add_panics_with_a_ddi_in_a_destructor);
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check: {stop}"));
    assert_eq!(b.code, 0x5250_4E43, "the panic is the stop, not the destructor's later call: {stop}");
    // The destructor ran up to its DDI, which was refused: the line after it never ran.
    assert_eq!(lines_reached(), 1 | 4, "halted inside the destructor");
}
