//! Every handle parameter of every DDI the simulator serves is checked the
//! way KMDF checks it (docs/facts.md F90–F92): a NULL handle, a handle of a
//! deleted object and a live object of another type each stop the machine
//! with the bug check the framework raises.
//!
//! The cases come from the model's own table (`control::handle_rules()`),
//! which is held here to the DDIs' signatures in `data/kmdf-1.33-ddi.tsv`
//! and to the implemented DDIs of `ROUTINES.md`; every DDI of the table must
//! have a caller below, or the test fails naming it.

use kmdf_sim::control::{DeviceFile, HandleRule, Machine, NullCheck, Settings, Stop};
use kmdf_sim::*;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

mod support;

const DRV: &str = "handles.sys";
const IOCTL_COMPLETE: u32 = 0x0022_2000;
const IOCTL_CASE: u32 = 0x0022_2004;
const INTERFACE: GUID = GUID { Data1: 0x0BAD_0A11, Data2: 1, Data3: 2, Data4: [3, 4, 5, 6, 7, 8, 9, 10] };
const KEY_READ_ACCESS: u32 = 0x20019;

/// What the case puts in the parameter under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Null,
    Deleted,
    WrongType,
}

/// The case the driver runs in its next IOCTL_CASE.
#[derive(Debug, Clone)]
struct Case {
    rule: HandleRule,
    /// The rule's place among its DDI's handle parameters.
    index: usize,
    /// The DDI's handle parameters' types, in order.
    types: Vec<&'static str>,
    bad: Bad,
}

thread_local! {
    static CASE: RefCell<Option<Case>> = const { RefCell::new(None) };
    /// The value put in the parameter under test; `None` when the driver found no caller.
    static PASSED: Cell<Option<u64>> = const { Cell::new(None) };
    static DEVICES: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    static DRIVERS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    static COMPLETED: Cell<u64> = const { Cell::new(0) };
}

extern "C" fn timer_func(_timer: WDFTIMER) {}
extern "C" fn work_func(_item: WDFWORKITEM) {}
extern "C" fn cancel(_request: WDFREQUEST) {}
extern "C" fn queue_ioctl(_q: WDFQUEUE, _r: WDFREQUEST, _o: usize, _i: usize, _c: u32) {}

struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: read-only after construction; its pointers point to statics.
unsafe impl Sync for TypeInfo {}
static CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"Ctx".as_ptr(),
    ContextSize: 8,
    UniqueType: std::ptr::from_ref(&CONTEXT.0),
    EvtDriverGetUniqueContextType: None,
});

/// A parallel queue's config, IOCTLs only.
fn parallel_queue_config() -> WDF_IO_QUEUE_CONFIG {
    WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel,
        EvtIoDeviceControl: Some(queue_ioctl),
        ..WDF_IO_QUEUE_CONFIG::default()
    }
}

fn ok(st: NTSTATUS, what: &str) {
    assert!(NT_SUCCESS(st), "{what}: {st:#x}");
}

fn attributes_with_parent(parent: u64) -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES { ParentObject: parent as WDFOBJECT, ..testing::object_attributes() }
}

/// A live object of `handle_type` for the parameters not under test, made
/// by the driver for this IOCTL on `device`'s `queue`.
fn live(handle_type: &str, device: u64, queue: u64, request: u64) -> u64 {
    let mut out: u64 = 0;
    let slot = std::ptr::from_mut(&mut out).cast::<*mut core::ffi::c_void>();
    let mut attrs = attributes_with_parent(device);
    let none = WDF_NO_OBJECT_ATTRIBUTES;
    // SAFETY: no preconditions; the machine's globals live while it does.
    let driver = unsafe { (*__ddi::driver_globals()).Driver };
    macro_rules! create {
        ($name:ident $(, $arg:expr)* $(,)?) => {
            // SAFETY: live handles, valid configs and attributes, a writable slot.
            ok(unsafe { call_unsafe_wdf_function_binding!($name $(, $arg)*) }, stringify!($name))
        };
    }
    match handle_type {
        "WDFDRIVER" => out = driver as u64,
        "WDFDEVICE" => out = device,
        "WDFQUEUE" => out = queue,
        "WDFREQUEST" => out = request,
        "WDFOBJECT" => create!(WdfObjectCreate, none, slot.cast()),
        "WDFSTRING" => create!(WdfStringCreate, std::ptr::null(), none, slot.cast()),
        "WDFMEMORY" => {
            create!(WdfMemoryCreate, none, _POOL_TYPE::NonPagedPoolNx, 0, 16, slot.cast(), std::ptr::null_mut())
        }
        "WDFKEY" => create!(WdfDriverOpenParametersRegistryKey, driver, KEY_READ_ACCESS, none, slot.cast()),
        "WDFTIMER" => {
            let mut config = WDF_TIMER_CONFIG {
                Size: size_of::<WDF_TIMER_CONFIG>() as u32,
                EvtTimerFunc: Some(timer_func),
                ..WDF_TIMER_CONFIG::default()
            };
            create!(WdfTimerCreate, &mut config, &mut attrs, slot.cast());
        }
        "WDFWORKITEM" => {
            let mut config = WDF_WORKITEM_CONFIG {
                Size: size_of::<WDF_WORKITEM_CONFIG>() as u32,
                EvtWorkItemFunc: Some(work_func),
                ..WDF_WORKITEM_CONFIG::default()
            };
            create!(WdfWorkItemCreate, &mut config, &mut attrs, slot.cast());
        }
        "WDFSPINLOCK" => create!(WdfSpinLockCreate, none, slot.cast()),
        "WDFWAITLOCK" => create!(WdfWaitLockCreate, none, slot.cast()),
        other => panic!("no live {other} in this test"),
    }
    assert_ne!(out, 0, "a live {handle_type}");
    out
}

/// A handle of `handle_type` whose object the driver deleted.
fn deleted(handle_type: &str, device: u64, queue: u64, request: u64) -> u64 {
    let from_earlier = |list: &'static std::thread::LocalKey<RefCell<Vec<u64>>>| {
        list.with(|l| l.borrow().first().copied()).expect("one from an earlier load")
    };
    match handle_type {
        // Objects PnP and I/O deleted: the first load's driver and device
        // (the device was disabled and enabled since), an earlier request.
        "WDFDRIVER" => from_earlier(&DRIVERS),
        "WDFDEVICE" => from_earlier(&DEVICES),
        "WDFREQUEST" => COMPLETED.with(Cell::get),
        "WDFQUEUE" => {
            let mut config = parallel_queue_config();
            let mut q: WDFQUEUE = std::ptr::null_mut();
            // SAFETY: a live device, a valid config, a writable slot.
            ok(
                unsafe {
                    call_unsafe_wdf_function_binding!(
                        WdfIoQueueCreate,
                        device as WDFDEVICE,
                        &mut config,
                        WDF_NO_OBJECT_ATTRIBUTES,
                        &mut q
                    )
                },
                "queue",
            );
            // SAFETY: the driver's own, deletable queue.
            unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, q as WDFOBJECT) };
            q as u64
        }
        "WDFKEY" => {
            let key = live("WDFKEY", device, queue, request);
            support::close_key(key as WDFKEY);
            key
        }
        other => {
            let h = live(other, device, queue, request);
            // SAFETY: the driver's own object, deleted once.
            unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, h as WDFOBJECT) };
            h
        }
    }
}

/// Calls `ddi` with `h` as its handle parameters (in order) and harmless
/// values for the rest; false when this test has no caller for it.
fn call(ddi: &str, h: &[u64]) -> bool {
    let name = testing::wide("Value");
    let link = testing::wide(r"\DosDevices\HandleCheckLink");
    let mut ulong: ULONG = 0;
    let mut buffer = [0u8; 16];
    let buf: PVOID = buffer.as_mut_ptr().cast();
    let mut ptr: PVOID = std::ptr::null_mut();
    let mut len: usize = 0;
    let mut key: WDFKEY = std::ptr::null_mut();
    let mut memory: WDFMEMORY = std::ptr::null_mut();
    let mut us = UNICODE_STRING::default();
    let mut text = [0u16; 8];
    let mut value = UNICODE_STRING { Length: 0, MaximumLength: 16, Buffer: text.as_mut_ptr() };
    let mut ushort: USHORT = 0;
    let mut timeout: LONGLONG = 0;
    let mut version = WDF_DRIVER_VERSION_AVAILABLE_PARAMS {
        Size: size_of::<WDF_DRIVER_VERSION_AVAILABLE_PARAMS>() as u32,
        MajorVersion: 1,
        MinorVersion: 0,
    };
    let none = WDF_NO_OBJECT_ATTRIBUTES;
    macro_rules! w {
        ($name:ident $(, $arg:expr)* $(,)?) => {{
            // SAFETY: the case's handles; every other argument is valid.
            let _ = unsafe { call_unsafe_wdf_function_binding!($name $(, $arg)*) };
        }};
    }
    match ddi {
        "WdfDeviceConfigureRequestDispatching" => w!(
            WdfDeviceConfigureRequestDispatching,
            h[0] as WDFDEVICE,
            h[1] as WDFQUEUE,
            _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl
        ),
        "WdfDeviceCreateDeviceInterface" => {
            w!(WdfDeviceCreateDeviceInterface, h[0] as WDFDEVICE, &INTERFACE, std::ptr::null())
        }
        "WdfDeviceCreateSymbolicLink" => w!(WdfDeviceCreateSymbolicLink, h[0] as WDFDEVICE, &link.us),
        "WdfDeviceGetDefaultQueue" => w!(WdfDeviceGetDefaultQueue, h[0] as WDFDEVICE),
        "WdfDeviceGetDriver" => w!(WdfDeviceGetDriver, h[0] as WDFDEVICE),
        "WdfDeviceOpenRegistryKey" => {
            w!(WdfDeviceOpenRegistryKey, h[0] as WDFDEVICE, PLUGPLAY_REGKEY_DEVICE, KEY_READ_ACCESS, none, &mut key)
        }
        "WdfDriverIsVersionAvailable" => w!(WdfDriverIsVersionAvailable, h[0] as WDFDRIVER, &mut version),
        "WdfDriverOpenParametersRegistryKey" => {
            w!(WdfDriverOpenParametersRegistryKey, h[0] as WDFDRIVER, KEY_READ_ACCESS, none, &mut key)
        }
        "WdfDriverOpenPersistentStateRegistryKey" => {
            w!(WdfDriverOpenPersistentStateRegistryKey, h[0] as WDFDRIVER, KEY_READ_ACCESS, none, &mut key)
        }
        "WdfDriverRetrieveVersionString" => {
            w!(WdfDriverRetrieveVersionString, h[0] as WDFDRIVER, h[1] as WDFSTRING)
        }
        "WdfIoQueueCreate" => {
            let mut config = parallel_queue_config();
            let mut q: WDFQUEUE = std::ptr::null_mut();
            w!(WdfIoQueueCreate, h[0] as WDFDEVICE, &mut config, none, &mut q);
        }
        "WdfIoQueueGetDevice" => w!(WdfIoQueueGetDevice, h[0] as WDFQUEUE),
        "WdfIoQueuePurgeSynchronously" => w!(WdfIoQueuePurgeSynchronously, h[0] as WDFQUEUE),
        "WdfIoQueueStart" => w!(WdfIoQueueStart, h[0] as WDFQUEUE),
        "WdfIoQueueStop" => w!(WdfIoQueueStop, h[0] as WDFQUEUE, None, std::ptr::null_mut()),
        "WdfIoQueueStopSynchronously" => w!(WdfIoQueueStopSynchronously, h[0] as WDFQUEUE),
        "WdfMemoryCopyFromBuffer" => w!(WdfMemoryCopyFromBuffer, h[0] as WDFMEMORY, 0, buf, 4),
        "WdfMemoryCopyToBuffer" => w!(WdfMemoryCopyToBuffer, h[0] as WDFMEMORY, 0, buf, 4),
        "WdfMemoryGetBuffer" => w!(WdfMemoryGetBuffer, h[0] as WDFMEMORY, &mut len),
        "WdfObjectDelete" => w!(WdfObjectDelete, h[0] as WDFOBJECT),
        "WdfObjectDereferenceActual" => {
            w!(WdfObjectDereferenceActual, h[0] as WDFOBJECT, std::ptr::null_mut(), 0, std::ptr::null())
        }
        "WdfObjectReferenceActual" => {
            w!(WdfObjectReferenceActual, h[0] as WDFOBJECT, std::ptr::null_mut(), 0, std::ptr::null())
        }
        "WdfObjectGetTypedContextWorker" => w!(WdfObjectGetTypedContextWorker, h[0] as WDFOBJECT, &CONTEXT.0),
        "WdfRegistryAssignULong" => w!(WdfRegistryAssignULong, h[0] as WDFKEY, &name.us, 1),
        "WdfRegistryAssignUnicodeString" => w!(WdfRegistryAssignUnicodeString, h[0] as WDFKEY, &name.us, &name.us),
        "WdfRegistryAssignValue" => w!(WdfRegistryAssignValue, h[0] as WDFKEY, &name.us, REG_BINARY, 4, buf),
        "WdfRegistryClose" => w!(WdfRegistryClose, h[0] as WDFKEY),
        "WdfRegistryCreateKey" => w!(
            WdfRegistryCreateKey,
            h[0] as WDFKEY,
            &name.us,
            KEY_READ_ACCESS,
            REG_OPTION_NON_VOLATILE,
            std::ptr::null_mut(),
            none,
            &mut key
        ),
        "WdfRegistryOpenKey" => w!(WdfRegistryOpenKey, h[0] as WDFKEY, &name.us, KEY_READ_ACCESS, none, &mut key),
        "WdfRegistryQueryULong" => w!(WdfRegistryQueryULong, h[0] as WDFKEY, &name.us, &mut ulong),
        "WdfRegistryQueryUnicodeString" => {
            w!(WdfRegistryQueryUnicodeString, h[0] as WDFKEY, &name.us, &mut ushort, &mut value)
        }
        "WdfRegistryQueryValue" => {
            w!(WdfRegistryQueryValue, h[0] as WDFKEY, &name.us, 16, buf, &mut ulong, std::ptr::null_mut())
        }
        "WdfRegistryRemoveKey" => w!(WdfRegistryRemoveKey, h[0] as WDFKEY),
        "WdfRegistryRemoveValue" => w!(WdfRegistryRemoveValue, h[0] as WDFKEY, &name.us),
        "WdfRegistryWdmGetHandle" => w!(WdfRegistryWdmGetHandle, h[0] as WDFKEY),
        "WdfRequestComplete" => w!(WdfRequestComplete, h[0] as WDFREQUEST, STATUS_SUCCESS),
        "WdfRequestCompleteWithInformation" => {
            w!(WdfRequestCompleteWithInformation, h[0] as WDFREQUEST, STATUS_SUCCESS, 0)
        }
        "WdfRequestForwardToIoQueue" => w!(WdfRequestForwardToIoQueue, h[1] as WDFREQUEST, h[0] as WDFQUEUE),
        "WdfRequestGetInformation" => w!(WdfRequestGetInformation, h[0] as WDFREQUEST),
        "WdfRequestGetIoQueue" => w!(WdfRequestGetIoQueue, h[0] as WDFREQUEST),
        "WdfRequestIsCanceled" => w!(WdfRequestIsCanceled, h[0] as WDFREQUEST),
        "WdfRequestMarkCancelable" => w!(WdfRequestMarkCancelable, h[0] as WDFREQUEST, Some(cancel)),
        "WdfRequestMarkCancelableEx" => w!(WdfRequestMarkCancelableEx, h[0] as WDFREQUEST, Some(cancel)),
        "WdfRequestRetrieveInputBuffer" => {
            w!(WdfRequestRetrieveInputBuffer, h[0] as WDFREQUEST, 0, &mut ptr, &mut len)
        }
        "WdfRequestRetrieveOutputBuffer" => {
            w!(WdfRequestRetrieveOutputBuffer, h[0] as WDFREQUEST, 0, &mut ptr, &mut len)
        }
        "WdfRequestRetrieveInputMemory" => w!(WdfRequestRetrieveInputMemory, h[0] as WDFREQUEST, &mut memory),
        "WdfRequestRetrieveOutputMemory" => w!(WdfRequestRetrieveOutputMemory, h[0] as WDFREQUEST, &mut memory),
        "WdfRequestSetInformation" => w!(WdfRequestSetInformation, h[0] as WDFREQUEST, 0),
        "WdfRequestUnmarkCancelable" => w!(WdfRequestUnmarkCancelable, h[0] as WDFREQUEST),
        "WdfSpinLockAcquire" => w!(WdfSpinLockAcquire, h[0] as WDFSPINLOCK),
        "WdfSpinLockRelease" => w!(WdfSpinLockRelease, h[0] as WDFSPINLOCK),
        "WdfStringGetUnicodeString" => w!(WdfStringGetUnicodeString, h[0] as WDFSTRING, &mut us),
        "WdfTimerGetParentObject" => w!(WdfTimerGetParentObject, h[0] as WDFTIMER),
        "WdfTimerStart" => w!(WdfTimerStart, h[0] as WDFTIMER, -10_000),
        "WdfTimerStop" => w!(WdfTimerStop, h[0] as WDFTIMER, 0),
        "WdfWaitLockAcquire" => w!(WdfWaitLockAcquire, h[0] as WDFWAITLOCK, &mut timeout),
        "WdfWaitLockRelease" => w!(WdfWaitLockRelease, h[0] as WDFWAITLOCK),
        "WdfWorkItemEnqueue" => w!(WdfWorkItemEnqueue, h[0] as WDFWORKITEM),
        "WdfWorkItemFlush" => w!(WdfWorkItemFlush, h[0] as WDFWORKITEM),
        "WdfWorkItemGetParentObject" => w!(WdfWorkItemGetParentObject, h[0] as WDFWORKITEM),
        _ => return false,
    }
    true
}

extern "C" fn on_ioctl(queue: WDFQUEUE, request: WDFREQUEST, _out: usize, _in: usize, code: u32) {
    if code == IOCTL_COMPLETE {
        COMPLETED.with(|c| c.set(request as u64));
        // SAFETY: the presented request, completed once.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, STATUS_SUCCESS) };
        return;
    }
    let case = CASE.with(|c| c.borrow().clone()).expect("a case");
    // SAFETY: the request's live queue.
    let device = unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, queue) } as u64;
    let (queue, request) = (queue as u64, request as u64);
    let mut handles: Vec<u64> = case.types.iter().map(|t| live(t, device, queue, request)).collect();
    let value = match case.bad {
        Bad::Null => 0,
        Bad::Deleted => deleted(case.rule.handle_type, device, queue, request),
        // A live object of another type: a string, or for a WDFSTRING a spin lock.
        Bad::WrongType if case.rule.handle_type == "WDFSTRING" => live("WDFSPINLOCK", device, queue, request),
        Bad::WrongType => live("WDFSTRING", device, queue, request),
    };
    handles[case.index] = value;
    // Recorded first: a call that stops the machine halts this callback
    // (no driver code runs after a bug check, F110).
    PASSED.with(|p| p.set(Some(value)));
    if !call(case.rule.ddi, &handles) {
        PASSED.with(|p| p.set(None));
    }
}

extern "C" fn device_add(_driver: WDFDRIVER, mut init: PWDFDEVICE_INIT) -> NTSTATUS {
    let device = match testing::create_device(&mut init, None, Some(&INTERFACE)) {
        Ok(d) => d,
        Err(st) => return st,
    };
    DEVICES.with(|d| d.borrow_mut().push(device as u64));
    // SAFETY: no preconditions.
    DRIVERS.with(|d| d.borrow_mut().push(unsafe { (*__ddi::driver_globals()).Driver } as u64));
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DefaultQueue: 1,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel,
        EvtIoDeviceControl: Some(on_ioctl),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut queue: WDFQUEUE = std::ptr::null_mut();
    // SAFETY: a live device, valid config, a writable slot.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, WDF_NO_OBJECT_ATTRIBUTES, &mut queue)
    }
}

unsafe extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    support::driver_create(driver, path, Some(device_add))
}

/// A machine whose driver was loaded, unloaded and loaded again (so a
/// deleted WDFDRIVER and WDFDEVICE exist), with a completed request, and
/// the device open.
fn machine(settings: Settings) -> (Machine, DeviceFile) {
    DEVICES.with(|d| d.borrow_mut().clear());
    DRIVERS.with(|d| d.borrow_mut().clear());
    let m = Machine::new(settings);
    m.install(DRV, "handles", Some(driver_entry));
    let id = m.add_device(r"Root\Handles", None).expect("starts");
    m.disable_device(id).expect("disables");
    m.enable_device(id).expect("enables");
    assert_eq!(DEVICES.with(|d| d.borrow().len()), 2, "a second device after enable");
    let file = m.open_device(id, kmdf_sim::control::Caller::Administrator).expect("opens");
    let done = m.device_io_control(&file, "app.exe", IOCTL_COMPLETE, &[], 0).expect("no stop").expect("taken");
    assert!(matches!(done.1, kmdf_sim::control::IoOutcome::Completed { .. }), "{done:?}");
    (m, file)
}

/// Runs `case` on a fresh machine: the value passed and how the machine stopped.
fn run(settings: Settings, case: Case) -> (u64, Option<Stop>) {
    CASE.with(|c| *c.borrow_mut() = Some(case.clone()));
    PASSED.with(|p| p.set(None));
    let (m, file) = machine(settings);
    let _ = m.device_io_control(&file, "app.exe", IOCTL_CASE, &[], 0);
    let passed = PASSED.with(Cell::get).unwrap_or_else(|| panic!("no caller in this test for {}", case.rule.ddi));
    (passed, m.stop())
}

/// Every case of the table: each handle parameter with each bad value.
fn cases() -> Vec<Case> {
    let rules = kmdf_sim::control::handle_rules();
    let mut by_ddi: BTreeMap<&str, Vec<HandleRule>> = BTreeMap::new();
    for r in &rules {
        by_ddi.entry(r.ddi).or_default().push(r.clone());
    }
    let mut out = Vec::new();
    for params in by_ddi.values() {
        let types: Vec<&'static str> = params.iter().map(|p| p.handle_type).collect();
        for (index, rule) in params.iter().enumerate() {
            // Every object is an FX_TYPE_OBJECT: such a parameter has no wrong type.
            let wrong = rule.type_checked.then_some(Bad::WrongType);
            for bad in [Some(Bad::Null), Some(Bad::Deleted), wrong].into_iter().flatten() {
                out.push(Case { rule: rule.clone(), index, types: types.clone(), bad });
            }
        }
    }
    out
}

/// What KMDF raises for `case` with the KMDF verifier and special pool as
/// `settings` has them (F77, F91); `None`: no stop (a NULL the DDI allows,
/// or a wrong type where every object is of the type asked for).
fn expected(case: &Case, passed: u64, settings: &Settings) -> Option<(u32, u64, u64)> {
    match case.bad {
        Bad::Null => match case.rule.null {
            NullCheck::InvalidHandle => Some((0x10D, 0x5, 0)),
            NullCheck::RequiredParameter => Some((0x10D, 0x4, 0)),
            NullCheck::Allowed => None,
        },
        Bad::WrongType => Some((0x10D, 0x5, passed)),
        Bad::Deleted if settings.special_pool && settings.wdf01000_verified => Some((0xD5, passed, 0)),
        // F77 a: the scrubbed object's NULL vtable; IOCTLs run in the caller's process.
        Bad::Deleted if settings.kmdf_verifier => Some((0x3B, 0xC000_0005, 0)),
        Bad::Deleted => None,
    }
}

fn check_all(settings: Settings) -> usize {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for case in cases() {
        let (passed, stop) = run(settings.clone(), case.clone());
        let what = format!("{} {} = {:?} ({:#x})", case.rule.ddi, case.rule.parameter, case.bad, passed);
        let got = stop.as_ref().and_then(Stop::bug_check).map(|b| (b.code, b.params[0], b.params[1], b.params[2]));
        match (expected(&case, passed, &settings), got) {
            (None, None) => {}
            (Some((code, p1, p2)), Some((c, q1, q2, q3))) if (code, p1) == (c, q1) && (code != 0x10D || q2 == p2) => {
                // WDF_INVALID_HANDLE names the type the framework asked for.
                if (code, p1) == (0x10D, 0x5) && q3 != u64::from(case.rule.fx_type) {
                    wrong.push(format!("{what}: type {q3:#x}, expected {:#x}", case.rule.fx_type));
                }
            }
            (e, _) => wrong.push(format!("{what}: expected {e:x?}, got {stop:?}")),
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{} of {checked} cases wrong:\n{}", wrong.len(), wrong.join("\n"));
    checked
}

#[test]
fn every_handle_parameter_stops_on_null_deleted_and_wrong_type_as_kmdf_does() {
    let rules = kmdf_sim::control::handle_rules();
    let untyped = rules.iter().filter(|r| !r.type_checked).count();
    assert!(untyped > 0 && untyped < 6, "only WDFOBJECT parameters take any object: {untyped}");
    assert_eq!(check_all(Settings::default()), 3 * rules.len() - untyped);
}

#[test]
fn null_and_wrong_type_need_no_verifier_and_a_deleted_object_follows_f77() {
    // FxVerifierBugCheck is unconditional (F91); without the KMDF verifier
    // and special pool a deleted object is used silently (F77 b), recorded
    // as a finding by `invalid_handle`.
    check_all(Settings { kmdf_verifier: true, special_pool: false, ..Settings::default() });
    check_all(Settings::without_verifiers());
}

/// Every DDI's parameters: name → [(type, name)].
type Signatures = BTreeMap<String, Vec<(String, String)>>;

/// The DDIs the simulator implements (ROUTINES.md, generated and kept
/// current by kmdf-sim-gen's tests) and every parameter of every DDI
/// (data/kmdf-1.33-ddi.tsv): name → [(type, name)].
fn signatures() -> (BTreeSet<String>, Signatures) {
    let root = env!("CARGO_MANIFEST_DIR");
    let routines = std::fs::read_to_string(format!("{root}/ROUTINES.md")).expect("ROUTINES.md");
    let implemented = routines
        .lines()
        .filter(|l| l.starts_with("| `Wdf") && l.contains("| yes |"))
        .map(|l| l.trim_start_matches("| `").split('`').next().unwrap_or_default().to_string())
        .collect::<BTreeSet<_>>();
    let table = std::fs::read_to_string(format!("{root}/data/kmdf-1.33-ddi.tsv")).expect("the DDI table");
    let mut params = BTreeMap::new();
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let list = cols[4]
            .split(';')
            .filter_map(|p| p.trim().rsplit_once(' '))
            .map(|(t, n)| (t.trim().to_string(), n.trim().to_string()))
            .collect();
        params.insert(cols[0].to_string(), list);
    }
    (implemented, params)
}

/// A framework handle type: `WDF` and capitals, not a pointer, not a
/// structure (`WDF_…`), not `WDFCONTEXT` (a PVOID).
fn is_handle_type(t: &str) -> bool {
    t.len() > 3 && t.starts_with("WDF") && t[3..].chars().all(|c| c.is_ascii_uppercase()) && t != "WDFCONTEXT"
}

#[test]
fn the_table_lists_every_handle_parameter_of_every_implemented_ddi() {
    let (implemented, params) = signatures();
    assert_eq!(implemented.len(), 73, "ROUTINES.md's implemented DDIs");
    let rules = kmdf_sim::control::handle_rules();
    let mut problems = Vec::new();
    for ddi in &implemented {
        let declared: BTreeSet<(String, String)> =
            params[ddi].iter().filter(|(t, _)| is_handle_type(t)).cloned().collect();
        let listed: BTreeSet<(String, String)> = rules
            .iter()
            .filter(|r| r.ddi == ddi)
            .map(|r| (r.handle_type.to_string(), r.parameter.to_string()))
            .collect();
        if declared != listed {
            problems.push(format!("{ddi}: declared {declared:?}, the table has {listed:?}"));
        }
    }
    for r in &rules {
        if !implemented.contains(r.ddi) {
            problems.push(format!("{}: in the table but not implemented", r.ddi));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let ddis = rules.iter().map(|r| r.ddi).collect::<BTreeSet<_>>();
    assert!(ddis.len() >= 50 && rules.len() > ddis.len(), "{} DDIs, {} parameters", ddis.len(), rules.len());
}

#[test]
fn the_signature_reading_sees_handles_and_only_handles() {
    // The check above is only as good as this reading of the table.
    let (_, params) = signatures();
    let handles = |ddi: &str| params[ddi].iter().filter(|(t, _)| is_handle_type(t)).count();
    assert_eq!(handles("WdfRequestForwardToIoQueue"), 2);
    assert_eq!(handles("WdfIoQueueStop"), 1, "WDFCONTEXT is not a handle");
    assert_eq!(handles("WdfDeviceCreate"), 0, "WDFDEVICE* and PWDFDEVICE_INIT* are out-pointers");
    assert_eq!(handles("WdfTimerCreate"), 0, "WDF_TIMER_CONFIG is a structure");
}
