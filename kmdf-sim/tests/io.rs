//! Reads, writes and IOCTLs through a device's default queue: which
//! callback the framework presents each to, what it completes itself, the
//! request's memory and information, cancelation (WdfRequestMarkCancelable /
//! Ex / Unmark), queue start / stop / purge, request contexts, device
//! interfaces, debug output, `paged_code!`'s check and loading a driver by
//! its exported `DriverEntry`.

use kmdf_sim::control::{Caller, DeviceFile, IoOutcome, Machine, Settings};
use kmdf_sim::*;
use std::cell::{Cell, RefCell};

mod support;

const DRV: &str = "iodrv.sys";
const IOCTL_HOLD: u32 = 0x0022_2000;
const IOCTL_HOLD_NO_CANCEL: u32 = 0x0022_2004;
const IOCTL_STOP_QUEUE: u32 = 0x0022_2008;
const IOCTL_PURGE: u32 = 0x0022_200C;
const IOCTL_QUEUE_INFO: u32 = 0x0022_2010;
const IOCTL_HOLD_PLAIN_MARK: u32 = 0x0022_2014;
const IOCTL_STOP_ASYNC: u32 = 0x0022_2018;
const IOCTL_FORWARD: u32 = 0x0022_201C;
const IOCTL_RETRIEVE_SMALL: u32 = 0x0022_2020;
const IOCTL_RETRIEVE_NULL: u32 = 0x0022_2024;
const IOCTL_RETRIEVE_BAD_REQUEST: u32 = 0x0022_2028;
const INTERFACE: GUID = GUID { Data1: 0x0102_0304, Data2: 5, Data3: 6, Data4: [7, 8, 9, 10, 11, 12, 13, 14] };

thread_local! {
    static EVENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static HELD: RefCell<Vec<WDFREQUEST>> = const { RefCell::new(Vec::new()) };
    static WITH_DEFAULT: Cell<bool> = const { Cell::new(false) };
    static WITH_SIDE: Cell<bool> = const { Cell::new(false) };
    static QUEUE: Cell<usize> = const { Cell::new(0) };
    /// The second queue (reads are dispatched there; IOCTL_FORWARD goes there).
    static SIDE: Cell<usize> = const { Cell::new(0) };
}

fn record(e: String) {
    EVENTS.with(|v| v.borrow_mut().push(e));
}

fn events() -> Vec<String> {
    EVENTS.with(|v| v.borrow_mut().drain(..).collect())
}

/// The request context: a marker the driver writes.
#[repr(C)]
struct RequestContext {
    marker: u64,
}

struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: read-only after construction; its pointers point to statics.
unsafe impl Sync for TypeInfo {}
static REQUEST_CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"RequestContext".as_ptr(),
    ContextSize: size_of::<RequestContext>(),
    UniqueType: std::ptr::from_ref(&REQUEST_CONTEXT.0),
    EvtDriverGetUniqueContextType: None,
});

fn complete(request: WDFREQUEST, status: NTSTATUS, info: u64) {
    // SAFETY: a request the driver owns.
    unsafe { call_unsafe_wdf_function_binding!(WdfRequestCompleteWithInformation, request, status, info) };
}

extern "C" fn on_cancel(request: WDFREQUEST) {
    // SAFETY: no preconditions.
    record(format!("cancel@{}", unsafe { ntddk::KeGetCurrentIrql() }));
    HELD.with(|h| h.borrow_mut().retain(|r| *r != request));
    complete(request, STATUS_CANCELLED, 0);
}

extern "C" fn on_read(_q: WDFQUEUE, request: WDFREQUEST, length: usize) {
    record(format!("read {length}"));
    let mut memory: WDFMEMORY = std::ptr::null_mut();
    // SAFETY: a presented read; the input memory of a read is the defect probed.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveInputMemory, request, &mut memory) };
    assert_eq!(st, STATUS_INVALID_DEVICE_REQUEST, "a read has no input buffer");
    // SAFETY: a presented read; a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveOutputMemory, request, &mut memory) };
    assert_eq!(st, STATUS_SUCCESS);
    let data: Vec<u8> = (0..length as u8).collect();
    // SAFETY: the output memory has `length` bytes; `data` too.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfMemoryCopyFromBuffer, memory, 0, data.as_ptr().cast_mut().cast(), length)
    };
    assert_eq!(st, STATUS_SUCCESS);
    // SAFETY: a presented request.
    unsafe { call_unsafe_wdf_function_binding!(WdfRequestSetInformation, request, length as u64) };
    // SAFETY: as above.
    assert_eq!(unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetInformation, request) }, length as u64);
    // SAFETY: WdfRequestComplete keeps the information set above.
    unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, STATUS_SUCCESS) };
}

extern "C" fn on_write(_q: WDFQUEUE, request: WDFREQUEST, length: usize) {
    record(format!("write {length}"));
    // SAFETY: the device's request attributes give every request this context.
    let ctx: *mut RequestContext = unsafe {
        call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, request as WDFOBJECT, &REQUEST_CONTEXT.0)
    }
    .cast();
    assert!(!ctx.is_null(), "the request has the device's request context");
    // SAFETY: a zero-filled context of the right size, not otherwise referenced.
    let ctx = unsafe { &mut *ctx };
    assert_eq!(ctx.marker, 0);
    ctx.marker = 1;
    let (mut buffer, mut len): (PVOID, usize) = (std::ptr::null_mut(), 0);
    // SAFETY: a presented write; writable slots.
    let st =
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveOutputBuffer, request, 1, &mut buffer, &mut len) };
    assert_eq!(st, STATUS_INVALID_DEVICE_REQUEST, "a write has no output buffer");
    complete(request, STATUS_SUCCESS, length as u64);
}

extern "C" fn on_default(_q: WDFQUEUE, request: WDFREQUEST) {
    record("default".into());
    complete(request, STATUS_SUCCESS, 0);
}

extern "C" fn on_ioctl(queue: WDFQUEUE, request: WDFREQUEST, _out: usize, _in: usize, code: u32) {
    record(format!("ioctl {code:#x}"));
    match code {
        IOCTL_HOLD => {
            // SAFETY: a presented request.
            let st = unsafe { call_unsafe_wdf_function_binding!(WdfRequestMarkCancelableEx, request, Some(on_cancel)) };
            if NT_SUCCESS(st) {
                HELD.with(|h| h.borrow_mut().push(request));
            } else {
                record(format!("mark {st:#x}"));
                complete(request, st, 0);
            }
        }
        IOCTL_HOLD_NO_CANCEL => HELD.with(|h| h.borrow_mut().push(request)),
        IOCTL_HOLD_PLAIN_MARK => {
            HELD.with(|h| h.borrow_mut().push(request));
            // SAFETY: a presented request.
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestMarkCancelable, request, Some(on_cancel)) };
        }
        IOCTL_STOP_ASYNC => {
            complete(request, STATUS_SUCCESS, 0);
            extern "C" fn stopped(_queue: WDFQUEUE, context: WDFCONTEXT) {
                record(format!("stopped {}", context as usize));
            }
            // SAFETY: the driver's own queue; a callback of this driver.
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStop, queue, Some(stopped), 7usize as WDFCONTEXT) };
        }
        IOCTL_STOP_QUEUE => {
            complete(request, STATUS_SUCCESS, 0);
            // SAFETY: the driver's own queue (the request is already completed).
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStopSynchronously, queue) };
        }
        IOCTL_PURGE => {
            complete(request, STATUS_SUCCESS, 0);
            // SAFETY: the driver's own queue.
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueuePurgeSynchronously, queue) };
        }
        IOCTL_QUEUE_INFO => {
            // SAFETY: a presented request.
            let q = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetIoQueue, request) };
            // SAFETY: the request's live queue.
            let device = unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, q) };
            // SAFETY: a live device.
            let default = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetDefaultQueue, device) };
            // SAFETY: a live device.
            let driver = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetDriver, device) };
            assert_eq!((q, default), (queue, queue));
            // SAFETY: no preconditions.
            assert_eq!(driver, unsafe { (*__ddi::driver_globals()).Driver });
            complete(request, STATUS_SUCCESS, 0);
        }
        IOCTL_FORWARD => {
            let side = SIDE.with(Cell::get) as WDFQUEUE;
            // SAFETY: a presented request; a queue of the same device.
            let st = unsafe { call_unsafe_wdf_function_binding!(WdfRequestForwardToIoQueue, request, side) };
            if !NT_SUCCESS(st) {
                complete(request, st, 0);
            }
        }
        IOCTL_RETRIEVE_SMALL => {
            let mut buffer = 0x5A5A_usize as PVOID;
            let mut length = 77usize;
            // SAFETY: a presented request; writable slots.
            let st = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    request,
                    1000,
                    &mut buffer,
                    &mut length
                )
            };
            record(format!("retrieve {st:#x} {:?} {length}", buffer.is_null()));
            complete(request, st, 0);
        }
        IOCTL_RETRIEVE_NULL | IOCTL_RETRIEVE_BAD_REQUEST => {
            let which = if code == IOCTL_RETRIEVE_NULL { request } else { 0x1230 as WDFREQUEST };
            // SAFETY: the defect under test: a NULL Buffer (and, for the second, a value that names no request).
            let _ = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    which,
                    1,
                    std::ptr::null_mut(),
                    std::ptr::null_mut()
                )
            };
        }
        _ => complete(request, STATUS_INVALID_DEVICE_REQUEST, 0),
    }
}

extern "C" fn side_ioctl(_queue: WDFQUEUE, request: WDFREQUEST, _out: usize, _in: usize, code: u32) {
    record(format!("side ioctl {code:#x}"));
    complete(request, STATUS_SUCCESS, 0);
}

extern "C" fn side_read(_queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    record(format!("side read {length}"));
    complete(request, STATUS_SUCCESS, 0);
}

/// A second, parallel queue that reads are dispatched to.
fn side_queue(device: WDFDEVICE) -> NTSTATUS {
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel,
        EvtIoRead: Some(side_read),
        EvtIoDeviceControl: Some(side_ioctl),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut queue: WDFQUEUE = std::ptr::null_mut();
    // SAFETY: a live device, valid config, a writable slot.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, WDF_NO_OBJECT_ATTRIBUTES, &mut queue)
    };
    if !NT_SUCCESS(st) {
        return st;
    }
    SIDE.with(|q| q.set(queue as usize));
    // SAFETY: a live device and one of its queues.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceConfigureRequestDispatching,
            device,
            queue,
            _WDF_REQUEST_TYPE::WdfRequestTypeRead
        )
    }
}

extern "C" fn device_add(_driver: WDFDRIVER, mut init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut request_attrs =
        WDF_OBJECT_ATTRIBUTES { ContextTypeInfo: &REQUEST_CONTEXT.0, ..testing::object_attributes() };
    // SAFETY: the live init; valid attributes.
    unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetRequestAttributes, init, &mut request_attrs) };
    let device = match testing::create_device(&mut init, None, Some(&INTERFACE)) {
        Ok(d) => d,
        Err(st) => return st,
    };
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DefaultQueue: 1,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        EvtIoRead: Some(on_read),
        EvtIoDeviceControl: Some(on_ioctl),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    if WITH_DEFAULT.with(Cell::get) {
        config.EvtIoDefault = Some(on_default);
    } else {
        config.EvtIoWrite = Some(on_write);
    }
    let mut queue: WDFQUEUE = std::ptr::null_mut();
    // SAFETY: a live device, valid config, a writable slot.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, WDF_NO_OBJECT_ATTRIBUTES, &mut queue)
    };
    QUEUE.with(|q| q.set(queue as usize));
    if NT_SUCCESS(st) && WITH_SIDE.with(Cell::get) { side_queue(device) } else { st }
}

#[unsafe(export_name = "IoTestDriverEntry")]
extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    kmdf_sim::control::debug_print("iodrv: DriverEntry\n");
    support::driver_create(driver, path, Some(device_add))
}

fn machine(settings: Settings, with_default: bool) -> (Machine, DeviceFile) {
    WITH_DEFAULT.with(|d| d.set(with_default));
    WITH_SIDE.with(|d| d.set(false));
    start(settings)
}

fn machine_with_side_queue() -> (Machine, DeviceFile) {
    WITH_DEFAULT.with(|d| d.set(false));
    WITH_SIDE.with(|d| d.set(true));
    start(Settings::default())
}

fn start(settings: Settings) -> (Machine, DeviceFile) {
    events();
    HELD.with(|h| h.borrow_mut().clear());
    let m = Machine::new(settings);
    // Found by its exported symbol, as a windows-drivers-rs driver's is.
    m.install(DRV, "iodrv", kmdf_sim::exported_driver_entry!(IoTestDriverEntry));
    let id = m.add_device(r"Root\IoTest", None).expect("starts");
    assert_eq!(m.find_interface(&INTERFACE), Some(id));
    let file = m.open_device(id, Caller::Administrator).expect("opens");
    (m, file)
}

fn outcome(r: Result<Result<(u64, IoOutcome), NTSTATUS>, kmdf_sim::control::Stopped>) -> (u64, IoOutcome) {
    r.expect("no stop").expect("the device takes it")
}

#[test]
fn reads_writes_and_ioctls_reach_their_callbacks() {
    let (m, file) = machine(Settings::default(), false);
    let (_, o) = outcome(m.read(&file, "app.exe", 5));
    assert_eq!(o, IoOutcome::Completed { status: STATUS_SUCCESS, information: 5, output: vec![0, 1, 2, 3, 4] });
    let (_, o) = outcome(m.write(&file, "app.exe", b"xyz"));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, information: 3, .. }), "{o:?}");
    let (_, o) = outcome(m.device_io_control(&file, "app.exe", IOCTL_QUEUE_INFO, &[], 0));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, .. }), "{o:?}");
    assert_eq!(events(), vec!["read 5", "write 3", "ioctl 0x222010"]);
    assert!(m.debug_output().contains(&"iodrv: DriverEntry".to_string()), "{:?}", m.debug_output());
    assert!(m.stop().is_none() && m.findings().is_empty(), "{:?}", m.findings());
}

#[test]
fn the_framework_completes_zero_length_and_unhandled_requests_itself() {
    let (m, file) = machine(Settings::default(), false);
    let (_, o) = outcome(m.write(&file, "app.exe", &[]));
    assert_eq!(o, IoOutcome::Completed { status: STATUS_SUCCESS, information: 0, output: vec![] });
    assert!(events().is_empty(), "a zero-length write never reaches the driver");
    drop(m);
    // Without EvtIoWrite or EvtIoDefault a write fails; with EvtIoDefault it goes there.
    let (m, file) = machine(Settings::default(), true);
    let (_, o) = outcome(m.write(&file, "app.exe", b"a"));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, .. }));
    assert_eq!(events(), vec!["default"]);
    drop(m);
    let m = Machine::new(Settings::default());
    extern "C" fn no_write_add(_d: WDFDRIVER, mut init: PWDFDEVICE_INIT) -> NTSTATUS {
        let mut device: WDFDEVICE = std::ptr::null_mut();
        // SAFETY: as in `device_add`.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device)
        };
        let mut config = WDF_IO_QUEUE_CONFIG {
            Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
            DefaultQueue: 1,
            DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel,
            EvtIoRead: Some(on_read),
            ..WDF_IO_QUEUE_CONFIG::default()
        };
        if !NT_SUCCESS(st) {
            return st;
        }
        // SAFETY: as in `device_add`.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueCreate,
                device,
                &mut config,
                WDF_NO_OBJECT_ATTRIBUTES,
                WDF_NO_HANDLE.cast()
            )
        }
    }
    extern "C" fn no_write_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
        support::driver_create(driver, path, Some(no_write_add))
    }
    m.install("nowrite.sys", "nowrite", Some(no_write_entry));
    let id = m.add_device(r"Root\NoWrite", None).expect("starts");
    let file = m.open_device(id, Caller::Administrator).expect("opens");
    let (_, o) = outcome(m.write(&file, "app.exe", b"a"));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_INVALID_DEVICE_REQUEST, .. }), "{o:?}");
    let (_, o) = outcome(m.device_io_control(&file, "app.exe", 1, &[], 0));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_INVALID_DEVICE_REQUEST, .. }), "{o:?}");
}

#[test]
fn cancelation_runs_the_cancel_routine_of_a_held_request() {
    let (m, file) = machine(Settings::default(), false);
    let (held, o) = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD, &[], 0));
    assert_eq!(o, IoOutcome::Pending);
    let (behind, o) = outcome(m.read(&file, "app.exe", 1));
    assert_eq!(o, IoOutcome::Pending, "a sequential queue presents one request at a time");
    m.cancel_request(held).expect("no stop");
    assert!(matches!(m.request_outcome(held), IoOutcome::Completed { status: STATUS_CANCELLED, .. }));
    assert!(matches!(m.request_outcome(behind), IoOutcome::Completed { status: STATUS_SUCCESS, .. }), "presented next");
    assert_eq!(events(), vec!["ioctl 0x222000", "cancel@2", "read 1"]);
    assert!(m.findings().is_empty(), "{:?}", m.findings());
}

#[test]
fn a_request_cancelled_before_it_is_marked_gets_status_cancelled_from_mark_cancelable_ex() {
    let (m, file) = machine(Settings::default(), false);
    let (held, _) = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD_NO_CANCEL, &[], 0));
    m.cancel_request(held).expect("no stop");
    assert_eq!(m.request_outcome(held), IoOutcome::Pending, "no cancel routine: only marked");
    let request = HELD.with(|h| h.borrow_mut().pop()).expect("held");
    m.run(DRV, "Later", || {
        // SAFETY: a request the driver holds.
        let canceled = unsafe { call_unsafe_wdf_function_binding!(WdfRequestIsCanceled, request) };
        assert_eq!(canceled, 1);
        // SAFETY: as above.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRequestMarkCancelableEx, request, Some(on_cancel)) };
        assert_eq!(st, STATUS_CANCELLED);
        // SAFETY: as above.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, request) };
        assert_eq!(st, STATUS_CANCELLED);
        complete(request, STATUS_CANCELLED, 0);
    })
    .expect("no stop");
    assert!(matches!(m.request_outcome(held), IoOutcome::Completed { status: STATUS_CANCELLED, .. }));
}

#[test]
fn completing_a_request_still_cancelable_is_a_finding() {
    let (m, file) = machine(Settings::default(), false);
    let _ = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD, &[], 0));
    let request = HELD.with(|h| h.borrow_mut().pop()).expect("held");
    m.run(DRV, "Dpc", || complete(request, STATUS_SUCCESS, 0)).expect("no stop");
    assert!(m.findings().iter().any(|f| f.contains("still cancelable")), "{:?}", m.findings());
}

#[test]
fn a_stopped_queue_holds_requests_until_started() {
    let (m, file) = machine(Settings::default(), false);
    let _ = outcome(m.device_io_control(&file, "app.exe", IOCTL_STOP_QUEUE, &[], 0));
    let (r, o) = outcome(m.read(&file, "app.exe", 2));
    assert_eq!(o, IoOutcome::Pending, "a stopped queue presents nothing");
    let queue = QUEUE.with(Cell::get) as WDFQUEUE;
    // SAFETY: the driver's queue.
    m.run(DRV, "Restart", || unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStart, queue) }).expect("no stop");
    m.dispatch_requests().expect("no stop");
    assert!(matches!(m.request_outcome(r), IoOutcome::Completed { status: STATUS_SUCCESS, information: 2, .. }));
}

#[test]
fn stop_synchronously_with_a_request_never_completed_is_a_hang_finding() {
    let (m, file) = machine(Settings::default(), false);
    let _ = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD_NO_CANCEL, &[], 0));
    let queue = QUEUE.with(Cell::get) as WDFQUEUE;
    // SAFETY: the driver's queue; the held request is the defect under test.
    m.run(DRV, "Suspend", || unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStopSynchronously, queue) })
        .expect("no stop");
    assert!(m.findings().iter().any(|f| f.contains("would hang")), "{:?}", m.findings());
}

#[test]
fn purge_cancels_waiting_and_cancelable_requests() {
    let (m, file) = machine(Settings::default(), false);
    let (held, _) = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD, &[], 0));
    let (waiting, _) = outcome(m.read(&file, "app.exe", 1));
    let queue = QUEUE.with(Cell::get) as WDFQUEUE;
    // SAFETY: the driver's queue.
    m.run(DRV, "Purge", || unsafe { call_unsafe_wdf_function_binding!(WdfIoQueuePurgeSynchronously, queue) })
        .expect("no stop");
    for r in [held, waiting] {
        assert!(matches!(m.request_outcome(r), IoOutcome::Completed { status: STATUS_CANCELLED, .. }), "{r:#x}");
    }
    assert!(m.findings().is_empty(), "{:?}", m.findings());
}

#[test]
fn paged_code_above_apc_level_is_the_wdk_panic_stop() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "Passive", || kmdf_sim::control::paged_code_check("x.rs", 1)).expect("fine at PASSIVE_LEVEL");
    let stop = m
        .run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || kmdf_sim::control::paged_code_check("x.rs", 2))
        .expect_err("stops");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.blamed.as_str()), (0x5250_4E43, DRV));
    assert!(b.root_cause.as_deref().unwrap_or_default().contains("x.rs:2"), "{b:?}");
}

#[test]
fn mark_cancelable_on_a_cancelled_request_calls_the_cancel_routine_at_once() {
    let (m, file) = machine(Settings::default(), false);
    let (held, _) = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD_NO_CANCEL, &[], 0));
    m.cancel_request(held).expect("no stop");
    let request = HELD.with(|h| h.borrow_mut().pop()).expect("held");
    events();
    m.run(DRV, "Later", || {
        // SAFETY: a request the driver holds, cancelled already.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestMarkCancelable, request, Some(on_cancel)) };
    })
    .expect("no stop");
    assert_eq!(events(), vec!["cancel@2"]);
    assert!(matches!(m.request_outcome(held), IoOutcome::Completed { status: STATUS_CANCELLED, .. }));
    // Marked before the cancel: the cancel runs the routine.
    let (held, _) = outcome(m.device_io_control(&file, "app.exe", IOCTL_HOLD_PLAIN_MARK, &[], 0));
    m.cancel_request(held).expect("no stop");
    assert!(matches!(m.request_outcome(held), IoOutcome::Completed { status: STATUS_CANCELLED, .. }));
}

#[test]
fn queue_stop_calls_its_stop_complete_callback_and_holds_later_requests() {
    let (m, file) = machine(Settings::default(), false);
    let _ = outcome(m.device_io_control(&file, "app.exe", IOCTL_STOP_ASYNC, &[], 0));
    assert_eq!(events(), vec!["ioctl 0x222018", "stopped 7"]);
    let (_, o) = outcome(m.read(&file, "app.exe", 1));
    assert_eq!(o, IoOutcome::Pending, "stopped");
}

#[test]
fn configured_dispatching_and_forwarding_reach_the_second_queue() {
    let (m, file) = machine_with_side_queue();
    let (_, o) = outcome(m.read(&file, "app.exe", 3));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, .. }), "{o:?}");
    let (_, o) = outcome(m.write(&file, "app.exe", b"w"));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, .. }), "{o:?}");
    let (_, o) = outcome(m.device_io_control(&file, "app.exe", IOCTL_FORWARD, &[], 0));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, .. }), "{o:?}");
    assert_eq!(events(), vec!["side read 3", "write 1", "ioctl 0x22201c", "side ioctl 0x22201c"]);
    assert!(m.stop().is_none() && m.findings().is_empty(), "{:?}", m.findings());
}

#[test]
fn queue_create_takes_an_older_config_size_and_a_handle_only_a_default_queue_may_omit() {
    // F93 (fxioqueueapi.cpp): WDF_IO_QUEUE_CONFIG of the 1.33 size, V1_9's
    // or V1_7's (80 bytes on x64: no Settings, no Driver); any other size
    // is STATUS_INFO_LENGTH_MISMATCH; a queue that is not the default one
    // without a `Queue` out-parameter is STATUS_INVALID_PARAMETER_4.
    const STATUS_INVALID_PARAMETER_4: NTSTATUS = 0xC000_00F2_u32 as NTSTATUS;
    thread_local! {
        static STATUSES: RefCell<Vec<NTSTATUS>> = const { RefCell::new(Vec::new()) };
    }
    extern "C" fn older_add(_d: WDFDRIVER, mut init: PWDFDEVICE_INIT) -> NTSTATUS {
        let mut device: WDFDEVICE = std::ptr::null_mut();
        // SAFETY: as in `device_add`.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device)
        };
        if !NT_SUCCESS(st) {
            return st;
        }
        let create = |size: usize, default: bool| {
            let mut config = WDF_IO_QUEUE_CONFIG {
                Size: size as u32,
                DefaultQueue: u8::from(default),
                DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel,
                EvtIoRead: Some(on_read),
                ..WDF_IO_QUEUE_CONFIG::default()
            };
            // SAFETY: a live device, a whole 1.33 config; no handle asked for.
            let st = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfIoQueueCreate,
                    device,
                    &mut config,
                    WDF_NO_OBJECT_ATTRIBUTES,
                    WDF_NO_HANDLE.cast()
                )
            };
            STATUSES.with(|s| s.borrow_mut().push(st));
            st
        };
        create(84, true);
        create(size_of::<WDF_IO_QUEUE_CONFIG>(), false);
        create(80, true)
    }
    extern "C" fn older_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
        support::driver_create(driver, path, Some(older_add))
    }
    let m = Machine::new(Settings::default());
    events();
    m.install("older.sys", "older", Some(older_entry));
    let id = m.add_device(r"Root\Older", None).expect("starts");
    assert_eq!(
        STATUSES.with(|s| s.borrow().clone()),
        [STATUS_INFO_LENGTH_MISMATCH, STATUS_INVALID_PARAMETER_4, STATUS_SUCCESS]
    );
    let file = m.open_device(id, Caller::Administrator).expect("opens");
    let (_, o) = outcome(m.read(&file, "app.exe", 3));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_SUCCESS, .. }), "{o:?}");
    assert_eq!(events(), vec!["read 3"], "the V1_7-size default queue serves reads");
}

#[test]
fn retrieving_a_buffer_checks_the_request_then_the_pointer_and_clears_the_outputs_first() {
    // F91, fxrequestapi.cpp: the request handle first (0x10D {5, handle,
    // FX_TYPE_REQUEST}), then FxPointerNotNull(Buffer) (0x10D {4}); *Buffer
    // and *Length are cleared before the buffer is looked at, so a failing
    // call leaves NULL and 0 behind.
    let (m, file) = machine(Settings::default(), false);
    let (_, o) = outcome(m.device_io_control(&file, "app.exe", IOCTL_RETRIEVE_SMALL, &[1, 2], 0));
    assert!(matches!(o, IoOutcome::Completed { status: STATUS_BUFFER_TOO_SMALL, .. }), "{o:?}");
    assert!(events().contains(&format!("retrieve {STATUS_BUFFER_TOO_SMALL:#x} true 0")));
    drop(m);
    for (code, expected) in
        [(IOCTL_RETRIEVE_NULL, (0x4, 0, None)), (IOCTL_RETRIEVE_BAD_REQUEST, (0x5, 0x1230, Some(0x1008)))]
    {
        let (m, file) = machine(Settings::without_verifiers(), false);
        let stop = m.device_io_control(&file, "app.exe", code, &[1], 0).expect_err("stops");
        let b = stop.bug_check().expect("bug check");
        assert_eq!(b.code, 0x10D, "{code:#x}");
        assert_eq!((b.params[0], b.params[1]), (expected.0, expected.1), "{code:#x}");
        if let Some(fx_type) = expected.2 {
            assert_eq!(b.params[2], fx_type, "the type asked for");
        }
    }
}
