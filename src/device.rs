//! EvtDriverDeviceAdd and the device's life: one device per devnode, its
//! interface, its keys, its default queue.

use crate::context::{self, DEVICE_CONTEXT, DeviceContext, QUEUE_CONTEXT, QueueContext};
use crate::driver::object_attributes;
use crate::sys::{
    _WDF_DEVICE_IO_TYPE, _WDF_IO_QUEUE_DISPATCH_TYPE, _WDF_TRI_STATE, GUID, NT_SUCCESS, NTSTATUS, PWDFDEVICE_INIT,
    STATUS_SUCCESS, WDF_IO_QUEUE_CONFIG, WDF_OBJECT_ATTRIBUTES, WDFDEVICE, WDFDRIVER, WDFOBJECT, WDFQUEUE,
    call_unsafe_wdf_function_binding,
};
use wdfkey::{Access, DeviceKey, RegKey};

/// The root-enumerated hardware ID the INF and the VM scripts use.
pub const HARDWARE_ID: &str = r"Root\WdfKeyGuard";

/// The device interface applications open: {6f1d6a34-3c5e-4b8e-9d0a-2f5b7c41e8d3}.
pub const GUID_DEVINTERFACE_WDFKEY_GUARD: GUID =
    GUID { Data1: 0x6f1d_6a34, Data2: 0x3c5e, Data3: 0x4b8e, Data4: [0x9d, 0x0a, 0x2f, 0x5b, 0x7c, 0x41, 0xe8, 0xd3] };

/// The device's security descriptor, as the INF's `.NT.HW` AddReg sets it
/// (F73): SYSTEM and Administrators, nobody else.
pub const DEVICE_SDDL: &str = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";

/// EvtDriverDeviceAdd: creates the device with its context, interface, keys
/// and default sequential queue.
pub(crate) extern "C" fn evt_device_add(driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    match add_device(driver, init) {
        Ok(()) => STATUS_SUCCESS,
        Err(status) => {
            // SAFETY: `driver` is our live WDFDRIVER.
            if let Some(ctx) = unsafe { context::driver_context(driver) } {
                ctx.stats.failures = ctx.stats.failures.wrapping_add(1);
            }
            status
        }
    }
}

fn check(status: NTSTATUS) -> Result<(), NTSTATUS> {
    if NT_SUCCESS(status) { Ok(()) } else { Err(status) }
}

fn add_device(driver: WDFDRIVER, mut init: PWDFDEVICE_INIT) -> Result<(), NTSTATUS> {
    // SAFETY: `init` is the framework's WDFDEVICE_INIT for this callback.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceInitSetIoType, init, _WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered)
    };
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        EvtCleanupCallback: Some(evt_device_cleanup),
        ContextTypeInfo: DEVICE_CONTEXT.info(),
        ..object_attributes()
    };
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the framework's init, consumed on success; locals outlive the call.
    check(unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, &mut attributes, &mut device) })?;
    // SAFETY: `device` was just created with DEVICE_CONTEXT; its zero-filled
    // context is a valid DeviceContext (F76).
    let ctx = unsafe { context::context::<DeviceContext>(device.cast(), &DEVICE_CONTEXT) }
        .ok_or(crate::sys::STATUS_UNSUCCESSFUL)?;
    // The device's keys, held until the device's cleanup (their parent is
    // the driver, F16, which outlives the device).
    // SAFETY: `device` is live.
    ctx.hardware = Some(unsafe { RegKey::open_device_key(device, DeviceKey::Hardware, Access::READ) }?);
    // SAFETY: as above.
    ctx.software = Some(unsafe { RegKey::open_device_key(device, DeviceKey::Software, Access::READ) }?);
    // SAFETY: `device` is live; the GUID is a constant; no reference string.
    check(unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceCreateDeviceInterface,
            device,
            &GUID_DEVINTERFACE_WDFKEY_GUARD,
            core::ptr::null()
        )
    })?;
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: core::mem::size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        PowerManaged: _WDF_TRI_STATE::WdfUseDefault,
        DefaultQueue: 1,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        EvtIoDeviceControl: Some(crate::io::evt_io_device_control),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut queue_attributes = WDF_OBJECT_ATTRIBUTES { ContextTypeInfo: QUEUE_CONTEXT.info(), ..object_attributes() };
    let mut queue: WDFQUEUE = core::ptr::null_mut();
    // SAFETY: `device` is live; locals outlive the call.
    check(unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, &mut queue_attributes, &mut queue)
    })?;
    // SAFETY: `queue` was just created with QUEUE_CONTEXT (zero-filled, F76).
    if let Some(q) = unsafe { context::context::<QueueContext>(queue.cast(), &QUEUE_CONTEXT) } {
        q.driver = core::ptr::NonNull::new(driver);
    }
    Ok(())
}

/// The device's cleanup: its keys are taken out and closed before the
/// framework disposes the device (K3).
extern "C" fn evt_device_cleanup(object: WDFOBJECT) {
    // SAFETY: `object` is our device, created with DEVICE_CONTEXT; the
    // context is valid in the cleanup callback (F30).
    if let Some(ctx) = unsafe { context::context::<DeviceContext>(object, &DEVICE_CONTEXT) } {
        drop(ctx.hardware.take());
        drop(ctx.software.take());
    }
}
