//! PnP, devices, queues and requests with a minimal driver written here
//! (not the product driver): the callback order and IRQL of start, orderly
//! removal (F35), surprise removal (F36), disable/enable (F38) and unload
//! (F27, F37); IOCTLs on a sequential default queue; file security (F73);
//! a key parented to a request (K3).

use kmdf_sim::control::{Caller, DevnodeState, IoOutcome, Machine, Settings};
use kmdf_sim::ntddk::KeGetCurrentIrql;
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

const DRV: &str = "pnpdrv.sys";
const SERVICE: &str = "pnpdrv";
const HWID: &str = r"Root\PnpTest";
const IOCTL_ECHO: u32 = 0x0022_2000;
const IOCTL_PEND: u32 = 0x0022_2004;
const IOCTL_KEY_IN_REQUEST: u32 = 0x0022_2008;

thread_local! {
    static EVENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Requests the driver keeps (test instrumentation, not driver state).
    static KEPT: RefCell<Vec<WDFREQUEST>> = const { RefCell::new(Vec::new()) };
    /// Make EvtDriverDeviceAdd fail.
    static FAIL_ADD: RefCell<bool> = const { RefCell::new(false) };
}

fn record(name: &str) {
    // SAFETY: no preconditions.
    let irql = unsafe { KeGetCurrentIrql() };
    EVENTS.with(|e| e.borrow_mut().push(format!("{name}@{irql}")));
}

fn events() -> Vec<String> {
    EVENTS.with(|e| e.borrow_mut().drain(..).collect())
}

extern "C" fn prepare(_: WDFDEVICE, _: WDFCMRESLIST, _: WDFCMRESLIST) -> NTSTATUS {
    record("PrepareHardware");
    STATUS_SUCCESS
}
extern "C" fn d0_entry(_: WDFDEVICE, _: WDF_POWER_DEVICE_STATE) -> NTSTATUS {
    record("D0Entry");
    STATUS_SUCCESS
}
extern "C" fn d0_entry_post(_: WDFDEVICE, _: WDF_POWER_DEVICE_STATE) -> NTSTATUS {
    record("D0EntryPostInterruptsEnabled");
    STATUS_SUCCESS
}
extern "C" fn smio_init(_: WDFDEVICE) -> NTSTATUS {
    record("SelfManagedIoInit");
    STATUS_SUCCESS
}
extern "C" fn query_remove(_: WDFDEVICE) -> NTSTATUS {
    record("QueryRemove");
    STATUS_SUCCESS
}
extern "C" fn surprise(_: WDFDEVICE) {
    record("SurpriseRemoval");
}
extern "C" fn smio_suspend(_: WDFDEVICE) -> NTSTATUS {
    record("SelfManagedIoSuspend");
    STATUS_SUCCESS
}
extern "C" fn d0_exit_pre(_: WDFDEVICE, _: WDF_POWER_DEVICE_STATE) -> NTSTATUS {
    record("D0ExitPreInterruptsDisabled");
    STATUS_SUCCESS
}
extern "C" fn d0_exit(_: WDFDEVICE, _: WDF_POWER_DEVICE_STATE) -> NTSTATUS {
    record("D0Exit");
    STATUS_SUCCESS
}
extern "C" fn release(_: WDFDEVICE, _: WDFCMRESLIST) -> NTSTATUS {
    record("ReleaseHardware");
    STATUS_SUCCESS
}
extern "C" fn smio_flush(_: WDFDEVICE) {
    record("SelfManagedIoFlush");
}
extern "C" fn smio_cleanup(_: WDFDEVICE) {
    record("SelfManagedIoCleanup");
}
extern "C" fn device_cleanup(_: WDFOBJECT) {
    record("DeviceCleanup");
}
extern "C" fn queue_cleanup(_: WDFOBJECT) {
    record("QueueCleanup");
}
extern "C" fn driver_unload(_: WDFDRIVER) {
    record("EvtDriverUnload");
}
extern "C" fn driver_cleanup(_: WDFOBJECT) {
    record("DriverCleanup");
}

const INTERFACE: GUID = GUID { Data1: 0x1234_5678, Data2: 0x9abc, Data3: 0xdef0, Data4: [1, 2, 3, 4, 5, 6, 7, 8] };

extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    record("EvtDriverDeviceAdd");
    if FAIL_ADD.with(|f| *f.borrow()) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    let mut callbacks = WDF_PNPPOWER_EVENT_CALLBACKS {
        Size: size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>() as u32,
        EvtDevicePrepareHardware: Some(prepare),
        EvtDeviceD0Entry: Some(d0_entry),
        EvtDeviceD0EntryPostInterruptsEnabled: Some(d0_entry_post),
        EvtDeviceSelfManagedIoInit: Some(smio_init),
        EvtDeviceQueryRemove: Some(query_remove),
        EvtDeviceSurpriseRemoval: Some(surprise),
        EvtDeviceSelfManagedIoSuspend: Some(smio_suspend),
        EvtDeviceD0ExitPreInterruptsDisabled: Some(d0_exit_pre),
        EvtDeviceD0Exit: Some(d0_exit),
        EvtDeviceReleaseHardware: Some(release),
        EvtDeviceSelfManagedIoFlush: Some(smio_flush),
        EvtDeviceSelfManagedIoCleanup: Some(smio_cleanup),
        ..WDF_PNPPOWER_EVENT_CALLBACKS::default()
    };
    // SAFETY: `init` comes from the framework; the callbacks outlive the call.
    unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetPnpPowerEventCallbacks, init, &mut callbacks) };
    // SAFETY: as above.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceInitSetIoType, init, _WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered)
    };
    let mut init = init;
    let mut attrs = WDF_OBJECT_ATTRIBUTES { EvtCleanupCallback: Some(device_cleanup), ..testing::object_attributes() };
    let device = match testing::create_device(&mut init, Some(&mut attrs), Some(&INTERFACE)) {
        Ok(d) => d,
        Err(st) => return st,
    };
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        PowerManaged: _WDF_TRI_STATE::WdfUseDefault,
        DefaultQueue: 1,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        EvtIoDeviceControl: Some(io_control),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut qattrs = WDF_OBJECT_ATTRIBUTES { EvtCleanupCallback: Some(queue_cleanup), ..testing::object_attributes() };
    // SAFETY: live device; config and attributes outlive the call.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, &mut qattrs, WDF_NO_HANDLE.cast())
    }
}

extern "C" fn io_control(_queue: WDFQUEUE, request: WDFREQUEST, out_len: usize, in_len: usize, code: u32) {
    record("EvtIoDeviceControl");
    match code {
        IOCTL_ECHO => {
            let (mut input, mut output) = (core::ptr::null_mut(), core::ptr::null_mut());
            let (mut ilen, mut olen) = (0usize, 0usize);
            // SAFETY: the request is ours until completed.
            let st = unsafe {
                call_unsafe_wdf_function_binding!(WdfRequestRetrieveInputBuffer, request, 1, &mut input, &mut ilen)
            };
            if !NT_SUCCESS(st) {
                // SAFETY: completed once.
                unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, st) };
                return;
            }
            // METHOD_BUFFERED: read all input before writing output.
            // SAFETY: `ilen` readable bytes at `input`.
            let data: Vec<u8> =
                unsafe { std::slice::from_raw_parts(input.cast::<u8>(), ilen) }.iter().rev().copied().collect();
            // SAFETY: as above.
            let st = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveOutputBuffer,
                    request,
                    data.len(),
                    &mut output,
                    &mut olen
                )
            };
            if !NT_SUCCESS(st) {
                // SAFETY: completed once.
                unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, st) };
                return;
            }
            // SAFETY: `olen >= data.len()` writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), output.cast::<u8>(), data.len()) };
            let _ = (in_len, out_len);
            // SAFETY: completed once.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestCompleteWithInformation,
                    request,
                    STATUS_SUCCESS,
                    data.len() as u64
                )
            };
        }
        IOCTL_PEND => KEPT.with(|k| k.borrow_mut().push(request)),
        IOCTL_KEY_IN_REQUEST => {
            let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: request.cast(), ..testing::object_attributes() };
            let key =
                support::open_key(core::ptr::null_mut(), r"\Registry\Machine\SOFTWARE", KEY_READ, Some(&mut attrs));
            // The key is left to the framework: it goes with the request (K3).
            let st = if key.is_ok() { STATUS_SUCCESS } else { STATUS_UNSUCCESSFUL };
            // SAFETY: completed once.
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, st) };
        }
        _ => {
            // SAFETY: completed once.
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, STATUS_INVALID_DEVICE_REQUEST) };
        }
    }
}

extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    record("DriverEntry");
    let mut attrs = WDF_OBJECT_ATTRIBUTES { EvtCleanupCallback: Some(driver_cleanup), ..testing::object_attributes() };
    let config = kmdf_sim::testing::driver_config(Some(device_add), Some(driver_unload));
    kmdf_sim::testing::driver_create(driver, path, Some(&mut attrs), config, None)
}
const _: DRIVER_INITIALIZE = Some(driver_entry);

fn machine() -> Machine {
    events();
    KEPT.with(|k| k.borrow_mut().clear());
    FAIL_ADD.with(|f| *f.borrow_mut() = false);
    let m = Machine::new(Settings::default());
    m.install(DRV, SERVICE, Some(driver_entry));
    m
}

const START: [&str; 6] = [
    "DriverEntry@0",
    "EvtDriverDeviceAdd@0",
    "PrepareHardware@0",
    "D0Entry@0",
    "D0EntryPostInterruptsEnabled@0",
    "SelfManagedIoInit@0",
];

#[test]
fn add_loads_the_driver_and_starts_the_device_in_order() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    assert_eq!(m.device_state(id), Some(DevnodeState::Started));
    assert_eq!(events(), START);
}

#[test]
fn disable_is_f35_then_the_driver_unloads_f37() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    events();
    m.disable_device(id).expect("no stop");
    assert_eq!(
        events(),
        [
            "QueryRemove@0",
            "SelfManagedIoSuspend@0",
            "D0ExitPreInterruptsDisabled@0",
            "D0Exit@0",
            "ReleaseHardware@0",
            "SelfManagedIoFlush@0",
            "SelfManagedIoCleanup@0",
            "QueueCleanup@0",
            "DeviceCleanup@0",
            "EvtDriverUnload@0",
            "DriverCleanup@0",
        ]
    );
    assert_eq!(m.device_state(id), Some(DevnodeState::Disabled));
    assert_eq!(m.loaded_service(), None, "F37: no device left, the driver is unloaded");
    assert!(m.live_objects().is_empty());
}

#[test]
fn surprise_removal_is_f36() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    events();
    m.surprise_remove_device(id).expect("no stop");
    let ev = events();
    assert_eq!(
        &ev[..7],
        [
            "SurpriseRemoval@0",
            "SelfManagedIoSuspend@0",
            "D0ExitPreInterruptsDisabled@0",
            "D0Exit@0",
            "ReleaseHardware@0",
            "SelfManagedIoFlush@0",
            "SelfManagedIoCleanup@0",
        ]
    );
    assert!(!ev.iter().any(|e| e.starts_with("QueryRemove")), "no query on a surprise removal");
}

#[test]
fn disable_and_enable_a_hundred_times_leaves_nothing_behind() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    for _ in 0..100 {
        m.disable_device(id).expect("no stop");
        m.enable_device(id).expect("no stop");
        assert_eq!(m.device_state(id), Some(DevnodeState::Started));
    }
    m.disable_device(id).expect("no stop");
    let ev = events();
    assert_eq!(ev.iter().filter(|e| *e == "DriverEntry@0").count(), 101, "F38: a reload on every enable");
    let reports = m.unload_reports();
    assert_eq!(reports.len(), 101);
    assert!(reports.iter().all(|r| r.leaked_handles.is_empty() && r.leaked_objects.is_empty()));
    assert!(m.violations().is_empty() && m.findings().is_empty());
    assert!(m.live_objects().is_empty());
}

#[test]
fn restart_keeps_the_devnode() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    events();
    m.restart_device(id).expect("no stop");
    let ev = events();
    assert!(ev.contains(&"D0Exit@0".to_string()) && ev.ends_with(&START.map(String::from)[..]), "{ev:?}");
    assert_eq!(m.device_state(id), Some(DevnodeState::Started));
}

#[test]
fn a_failed_add_is_code_10_and_unloads_the_driver() {
    let m = machine();
    FAIL_ADD.with(|f| *f.borrow_mut() = true);
    let id = m.add_device(HWID, None).expect("no stop");
    assert_eq!(m.device_state(id), Some(DevnodeState::Failed(STATUS_INSUFFICIENT_RESOURCES)));
    assert_eq!(m.loaded_service(), None);
    assert!(m.live_objects().is_empty());
}

#[test]
fn ioctls_run_through_the_default_queue() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    let file = m.open_device(id, Caller::Administrator).expect("opens");
    let (_, outcome) =
        m.device_io_control(&file, "app.exe", IOCTL_ECHO, &[1, 2, 3], 8).expect("no stop").expect("sent");
    assert_eq!(outcome, IoOutcome::Completed { status: STATUS_SUCCESS, information: 3, output: vec![3, 2, 1] });
    let (_, outcome) =
        m.device_io_control(&file, "app.exe", IOCTL_ECHO, &[1, 2, 3], 2).expect("no stop").expect("sent");
    assert!(matches!(outcome, IoOutcome::Completed { status: STATUS_BUFFER_TOO_SMALL, .. }), "{outcome:?}");
    let (_, outcome) = m.device_io_control(&file, "app.exe", IOCTL_ECHO, &[], 2).expect("no stop").expect("sent");
    assert!(matches!(outcome, IoOutcome::Completed { status: STATUS_BUFFER_TOO_SMALL, .. }), "no input");
    let (_, outcome) = m.device_io_control(&file, "app.exe", 0xdead, &[], 0).expect("no stop").expect("sent");
    assert!(matches!(outcome, IoOutcome::Completed { status: STATUS_INVALID_DEVICE_REQUEST, .. }));
}

#[test]
fn a_sequential_queue_presents_one_request_at_a_time() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    let file = m.open_device(id, Caller::System).expect("opens");
    let (kept, outcome) = m.device_io_control(&file, "app.exe", IOCTL_PEND, &[], 0).expect("no stop").expect("sent");
    assert_eq!(outcome, IoOutcome::Pending);
    let (second, outcome) = m.device_io_control(&file, "app.exe", IOCTL_ECHO, &[9], 1).expect("no stop").expect("sent");
    assert_eq!(outcome, IoOutcome::Pending, "waits behind the kept request");
    events();
    m.run(DRV, "EvtTimerFunc", || {
        let request = KEPT.with(|k| k.borrow_mut().pop()).expect("kept");
        // SAFETY: the driver owns the kept request and completes it once.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, STATUS_SUCCESS) };
    })
    .expect("no stop");
    m.dispatch_requests().expect("no stop");
    assert_eq!(events(), ["EvtIoDeviceControl@0"]);
    assert!(matches!(m.request_outcome(kept), IoOutcome::Completed { status: STATUS_SUCCESS, .. }));
    assert_eq!(
        m.request_outcome(second),
        IoOutcome::Completed { status: STATUS_SUCCESS, information: 1, output: vec![9] }
    );
}

#[test]
fn a_request_left_uncompleted_at_removal_is_a_finding() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    let file = m.open_device(id, Caller::System).expect("opens");
    let (kept, _) = m.device_io_control(&file, "app.exe", IOCTL_PEND, &[], 0).expect("no stop").expect("sent");
    m.disable_device(id).expect("no stop");
    let findings = m.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("uncompleted"), "{}", findings[0]);
    assert!(matches!(m.request_outcome(kept), IoOutcome::Completed { status: STATUS_CANCELLED, .. }));
}

#[test]
fn opens_are_checked_against_the_device_security_f73() {
    let m = machine();
    let locked = m.add_device(HWID, Some("D:P(A;;GA;;;SY)(A;;GA;;;BA)")).expect("no stop");
    assert!(m.open_device(locked, Caller::System).is_ok());
    assert!(m.open_device(locked, Caller::Administrator).is_ok());
    assert_eq!(m.open_device(locked, Caller::User), Err(STATUS_ACCESS_DENIED));
    let denied = m.add_device(HWID, Some("D:P(A;;GA;;;WD)(D;;GW;;;BU)")).expect("no stop");
    assert_eq!(m.open_device(denied, Caller::User), Err(STATUS_ACCESS_DENIED), "deny ACEs win");
    let default = m.add_device(HWID, None).expect("no stop");
    assert_eq!(m.open_device(default, Caller::User), Err(STATUS_ACCESS_DENIED), "world: read only");
    assert_eq!(m.open_device(default, Caller::Administrator).map(|_| ()), Ok(()));
}

#[test]
fn a_key_parented_to_a_request_goes_with_it() {
    let m = machine();
    let id = m.add_device(HWID, None).expect("no stop");
    let file = m.open_device(id, Caller::System).expect("opens");
    let (_, outcome) =
        m.device_io_control(&file, "app.exe", IOCTL_KEY_IN_REQUEST, &[], 0).expect("no stop").expect("sent");
    assert!(matches!(outcome, IoOutcome::Completed { status: STATUS_SUCCESS, .. }));
    assert!(m.live_keys().is_empty(), "K3: completing the request deleted its child key");
    assert!(m.violations().is_empty());
}

mod scenarios {
    use super::*;
    use kmdf_sim::control::Scenario;

    #[test]
    fn the_vm_cycle_as_text_runs_clean() {
        let m = machine();
        let scenario = Scenario::parse(
            r"
            # the stress script's cycle
            add Root\PnpTest sddl=D:P(A;;GA;;;SY)(A;;GA;;;BA)
            repeat 20
              ioctl 0x222000 in=010203 out=3 as=admin x2
              ioctl 0x222000 in=01 out=1 as=user
              disable
              enable
            end
            surprise-remove
            ",
        )
        .expect("valid scenario");
        let report = scenario.run(&m);
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.io.len(), 60);
        assert!(
            report.io.iter().filter(|r| r.outcome == Err(STATUS_ACCESS_DENIED)).count() == 20,
            "users are refused (F73)"
        );
        assert_eq!(report.unloads.len(), 21, "one unload per disable, one after the surprise removal");
        assert_eq!(report.ddi_calls.get("WdfDeviceCreate"), Some(&21));
    }

    #[test]
    fn unload_with_a_device_present_is_an_error() {
        let m = machine();
        let report = Scenario::parse("add Root\\PnpTest\nunload\n").expect("valid").run(&m);
        assert!(report.error.as_deref().is_some_and(|e| e.contains("disable")), "{report:?}");
        assert!(!report.is_clean());
    }

    #[test]
    fn parse_errors_name_the_line_and_the_fix() {
        let e = Scenario::parse("add Root\\X\njump\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unknown step") && e.message.contains("surprise-remove"), "{e}");
        let e = Scenario::parse("ioctl 0x22 in=0g").unwrap_err();
        assert!(e.message.contains("hex"), "{e}");
        let e = Scenario::parse("repeat 3\ndisable\n").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (1, "repeat without end"));
        let e = Scenario::parse("end").unwrap_err();
        assert!(e.message.contains("without repeat"));
        let e = Scenario::parse("ioctl 0x22 as=root").unwrap_err();
        assert!(e.message.contains("system, admin or user"), "{e}");
    }
}
