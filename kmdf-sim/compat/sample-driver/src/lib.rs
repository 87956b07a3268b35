//! A deferred echo driver: writes are kept in pool and completed by a
//! periodic timer, reads return the last write, one IOCTL reports how many
//! writes were served and another (a deliberate bug, for the tests) leaks a
//! pool block. Written as windows-drivers-rs drivers are: `no_std`,
//! `wdk_panic`, `WdkAllocator`, contexts declared by hand, every DDI through
//! `call_unsafe_wdf_function_binding!`.
#![no_std]

extern crate alloc;
#[cfg(not(test))]
extern crate wdk_panic;

mod queue;

use core::cell::Cell;
use core::sync::atomic::AtomicI32;
use wdk::{nt_success, paged_code, println, wdf};
#[cfg(not(test))]
use wdk_alloc::WdkAllocator;
use wdk_sys::{
    _WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, DRIVER_OBJECT, GUID, NTSTATUS, PCUNICODE_STRING,
    PCWDF_OBJECT_CONTEXT_TYPE_INFO, PDRIVER_OBJECT, PVOID, PWDFDEVICE_INIT, ULONG, UNICODE_STRING, WDF_DRIVER_CONFIG,
    WDF_DRIVER_VERSION_AVAILABLE_PARAMS, WDF_NO_HANDLE, WDF_NO_OBJECT_ATTRIBUTES, WDF_OBJECT_ATTRIBUTES,
    WDF_OBJECT_CONTEXT_TYPE_INFO, WDF_PNPPOWER_EVENT_CALLBACKS, WDFDEVICE, WDFDRIVER, WDFOBJECT, WDFREQUEST, WDFSTRING,
    call_unsafe_wdf_function_binding,
};

#[cfg(not(test))]
#[global_allocator]
static GLOBAL_ALLOCATOR: WdkAllocator = WdkAllocator;

/// The device interface applications open.
pub const GUID_DEVINTERFACE_SAMPLE: GUID =
    GUID { Data1: 0x5A3D_0C1E, Data2: 0x1F2B, Data3: 0x4C7D, Data4: [0x9E, 0x10, 0x2A, 0x3B, 0x4C, 0x5D, 0x6E, 0x7F] };

/// IOCTL: the number of writes served (a ULONG, METHOD_BUFFERED).
pub const IOCTL_SAMPLE_WRITE_COUNT: ULONG = 0x0022_2000;
/// IOCTL: allocates a pool block and loses it (the leak the tests catch).
pub const IOCTL_SAMPLE_LEAK: ULONG = 0x0022_2004;
/// IOCTL: echoes its input through a framework-owned WDFMEMORY.
pub const IOCTL_SAMPLE_MEMORY_ECHO: ULONG = 0x0022_2008;
/// The pool tag of the write buffer ('Smpl').
pub const POOL_TAG: ULONG = u32::from_le_bytes(*b"Smpl");

/// A context type's descriptor, shareable as the framework needs it.
#[repr(transparent)]
pub struct ContextTypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: never written after construction; the pointers in it point to
// statics (K1).
unsafe impl Sync for ContextTypeInfo {}

impl ContextTypeInfo {
    fn get(&'static self) -> PCWDF_OBJECT_CONTEXT_TYPE_INFO {
        core::ptr::from_ref(&self.0)
    }
}

macro_rules! context_type {
    ($info:ident, $ty:ty, $name:literal) => {
        static $info: ContextTypeInfo = ContextTypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
            Size: core::mem::size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as ULONG,
            ContextName: concat!($name, "\0").as_ptr().cast(),
            ContextSize: core::mem::size_of::<$ty>(),
            UniqueType: core::ptr::from_ref(&$info).cast(),
            EvtDriverGetUniqueContextType: None,
        });
    };
}

/// Per-queue state; `current` is guarded by `lock`. Cells, because the
/// framework hands the same context to several callbacks (all-zero is a
/// valid value of each field, as the framework zero-fills contexts).
pub struct QueueContext {
    buffer: Cell<PVOID>,
    length: Cell<usize>,
    writes: Cell<u32>,
    current: Cell<WDFREQUEST>,
    timer: wdf::Timer,
    lock: wdf::SpinLock,
}
context_type!(QUEUE_CONTEXT_INFO, QueueContext, "QueueContext");

/// Per-request state: who completes a cancelable request.
pub struct RequestContext {
    owners: AtomicI32,
}
context_type!(REQUEST_CONTEXT_INFO, RequestContext, "RequestContext");

/// The typed context of a framework object.
///
/// # Safety
/// `object` is live and was created with `info`'s context.
unsafe fn context<T>(object: WDFOBJECT, info: &'static ContextTypeInfo) -> *mut T {
    // SAFETY: forwarded from this function's contract.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, info.get()) }.cast()
}

fn attributes(context: Option<&'static ContextTypeInfo>, parent: WDFOBJECT) -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() as ULONG,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ContextTypeInfo: context.map_or(core::ptr::null(), ContextTypeInfo::get),
        ParentObject: parent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

/// `DriverEntry`.
#[unsafe(export_name = "DriverEntry")]
extern "system" fn driver_entry(driver: &mut DRIVER_OBJECT, registry_path: PCUNICODE_STRING) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: core::mem::size_of::<WDF_DRIVER_CONFIG>() as ULONG,
        EvtDriverDeviceAdd: Some(evt_device_add),
        EvtDriverUnload: Some(evt_driver_unload),
        ..WDF_DRIVER_CONFIG::default()
    };
    // SAFETY: the driver object and path DriverEntry received, a valid config.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver as PDRIVER_OBJECT,
            registry_path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut config,
            WDF_NO_HANDLE.cast(),
        )
    };
    if !nt_success(status) {
        println!("WdfDriverCreate failed {status:#010X}");
        return status;
    }
    print_version();
    status
}

/// Prints the framework version, as Microsoft's echo sample does.
fn print_version() {
    let mut string: WDFSTRING = core::ptr::null_mut();
    // SAFETY: a writable handle slot; no attributes.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfStringCreate, core::ptr::null(), WDF_NO_OBJECT_ATTRIBUTES, &raw mut string)
    };
    if !nt_success(status) {
        return;
    }
    // SAFETY: reads the driver's own globals (set by WdfDriverCreate). An
    // `extern static mut` in wdk-sys; the simulator's is a plain static.
    #[allow(unused_unsafe, clippy::explicit_auto_deref, reason = "a raw pointer on Windows")]
    let driver = unsafe { (*wdk_sys::WdfDriverGlobals).Driver };
    // SAFETY: live driver and string handles.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfDriverRetrieveVersionString, driver, string) };
    if nt_success(status) {
        let mut us = UNICODE_STRING::default();
        // SAFETY: a live string; a writable UNICODE_STRING.
        unsafe { call_unsafe_wdf_function_binding!(WdfStringGetUnicodeString, string, &raw mut us) };
        // SAFETY: the framework's buffer holds Length bytes while the string lives.
        let units = unsafe { core::slice::from_raw_parts(us.Buffer, usize::from(us.Length / 2)) };
        println!("sample: {}", alloc::string::String::from_utf16_lossy(units));
    }
    // SAFETY: the string this function created.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, string as WDFOBJECT) };
    let mut version = WDF_DRIVER_VERSION_AVAILABLE_PARAMS {
        Size: core::mem::size_of::<WDF_DRIVER_VERSION_AVAILABLE_PARAMS>() as ULONG,
        MajorVersion: 1,
        MinorVersion: 33,
    };
    // SAFETY: a live driver; valid params.
    let available = unsafe { call_unsafe_wdf_function_binding!(WdfDriverIsVersionAvailable, driver, &raw mut version) };
    wdk::dbg!(available != 0);
}

extern "C" fn evt_driver_unload(_driver: WDFDRIVER) {
    println!("sample: unload");
}

extern "C" fn evt_device_add(_driver: WDFDRIVER, mut device_init: PWDFDEVICE_INIT) -> NTSTATUS {
    paged_code!();
    let mut pnp = WDF_PNPPOWER_EVENT_CALLBACKS {
        Size: core::mem::size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>() as ULONG,
        EvtDeviceSelfManagedIoInit: Some(queue::evt_self_managed_io_start),
        EvtDeviceSelfManagedIoRestart: Some(queue::evt_self_managed_io_start),
        EvtDeviceSelfManagedIoSuspend: Some(queue::evt_self_managed_io_suspend),
        ..WDF_PNPPOWER_EVENT_CALLBACKS::default()
    };
    // SAFETY: the live WDFDEVICE_INIT; valid callbacks.
    unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetPnpPowerEventCallbacks, device_init, &raw mut pnp) };
    let mut request_attributes = attributes(Some(&REQUEST_CONTEXT_INFO), core::ptr::null_mut());
    // SAFETY: as above.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceInitSetRequestAttributes, device_init, &raw mut request_attributes)
    };
    let mut device: WDFDEVICE = core::ptr::null_mut();
    let mut device_attributes = attributes(None, core::ptr::null_mut());
    // SAFETY: the init pointer's address, valid attributes, a writable slot.
    let mut status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceCreate,
            &raw mut device_init,
            &raw mut device_attributes,
            &raw mut device
        )
    };
    if nt_success(status) {
        // SAFETY: a live device; a static GUID.
        status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreateDeviceInterface,
                device,
                &GUID_DEVINTERFACE_SAMPLE,
                core::ptr::null(),
            )
        };
    }
    if nt_success(status) {
        status = queue::initialize(device);
    }
    status
}
