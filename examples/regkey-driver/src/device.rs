//! Keys per device. In EvtDriverDeviceAdd the device's software key is read
//! before the device exists (from its `WDFDEVICE_INIT`) and closed at once;
//! the hardware key is opened after `WdfDeviceCreate` and kept in the device
//! context until the device's cleanup callback.
//!
//! Which parent, and when each key drops: every key opened here has the
//! driver object as its WDF parent, not the device (docs/facts.md#f16), so
//! the framework would close a forgotten one only at driver unload. The
//! software key is a local, dropped at the end of its block; the hardware key
//! is an `Option<RegKey>` in the device context (zero-filled, so `None`:
//! docs/facts.md#f76) taken out in EvtCleanupCallback, which runs every time
//! the device is removed or disabled — so a device started again opens one
//! key, not one more each time.

use crate::sys::{
    _WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, NT_SUCCESS, NTSTATUS, PWDFDEVICE_INIT, STATUS_INVALID_PARAMETER,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, STATUS_UNSUCCESSFUL, WDF_OBJECT_ATTRIBUTES,
    WDF_OBJECT_CONTEXT_TYPE_INFO, WDFDEVICE, WDFDRIVER, WDFOBJECT, call_unsafe_wdf_function_binding,
};
use crate::{ContextType, context};
use wdfkey::{Access, DeviceKey, RegKey};

/// `Channel` when the software key has none.
pub const DEFAULT_CHANNEL: u32 = 0;
/// The largest `Channel` accepted: a larger one fails the device's start.
pub const MAX_CHANNEL: u32 = 15;

/// What the driver keeps per device.
#[derive(Default)]
struct DeviceContext {
    /// The device's hardware key (`Device Parameters`), open while the device
    /// exists; taken out and dropped in [`evt_device_cleanup`].
    hardware: Option<RegKey>,
}

static DEVICE_CONTEXT: ContextType = ContextType(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: core::mem::size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"RegKeyDeviceContext".as_ptr(),
    ContextSize: core::mem::size_of::<DeviceContext>(),
    UniqueType: &DEVICE_CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

/// Reads `Channel` from a device's software key: absent gives
/// [`DEFAULT_CHANNEL`]; above [`MAX_CHANNEL`] is `STATUS_INVALID_PARAMETER`.
/// PASSIVE_LEVEL.
pub fn read_channel(software: &RegKey) -> Result<u32, NTSTATUS> {
    match software.query_u32("Channel") {
        Ok(channel) if channel <= MAX_CHANNEL => Ok(channel),
        Ok(_) => Err(STATUS_INVALID_PARAMETER),
        Err(e) if e.status() == STATUS_OBJECT_NAME_NOT_FOUND => Ok(DEFAULT_CHANNEL),
        Err(e) => Err(e.into()),
    }
}

/// Records this start of the device in its hardware key — the channel in
/// use (`ActiveChannel`) and the number of starts (`Starts`) — and returns
/// the new count. PASSIVE_LEVEL.
pub fn record_start(hardware: &RegKey, channel: u32) -> Result<u32, NTSTATUS> {
    hardware.assign_u32("ActiveChannel", channel)?;
    crate::increment(hardware, "Starts")
}

/// EvtDriverDeviceAdd.
pub(crate) extern "C" fn evt_device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    match add_device(init) {
        Ok(()) => STATUS_SUCCESS,
        Err(status) => status,
    }
}

fn add_device(mut init: PWDFDEVICE_INIT) -> Result<(), NTSTATUS> {
    // Before the device exists: the software key, through the init. Parent:
    // the driver object. Dropped (closed) at the end of this block.
    let channel = {
        // SAFETY: `init` is the framework's WDFDEVICE_INIT for this callback,
        // not yet consumed by WdfDeviceCreate.
        let software = unsafe { RegKey::open_device_init_key(init, DeviceKey::Software, Access::READ) }?;
        read_channel(&software)?
    };

    // WDF_OBJECT_ATTRIBUTES_INIT plus the context type and the cleanup callback.
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        EvtCleanupCallback: Some(evt_device_cleanup),
        ContextTypeInfo: &DEVICE_CONTEXT.0,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the framework's init, consumed on success; the locals outlive the call.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, &mut attributes, &mut device) };
    if !NT_SUCCESS(status) {
        return Err(status);
    }
    // SAFETY: `device` was just created with DEVICE_CONTEXT; nothing else
    // holds its context during EvtDriverDeviceAdd.
    let ctx = unsafe { context::<DeviceContext>(device.cast(), &DEVICE_CONTEXT) }.ok_or(STATUS_UNSUCCESSFUL)?;

    // After WdfDeviceCreate: the hardware key, kept in the context until the
    // device's cleanup. If anything below fails, the framework deletes the
    // device, and its cleanup callback closes the key.
    // SAFETY: `device` is live.
    let hardware = ctx.hardware.insert(unsafe { RegKey::open_device_key(device, DeviceKey::Hardware, Access::ALL) }?);
    record_start(hardware, channel)?;
    Ok(())
}

/// EvtCleanupCallback of the device: runs before the framework disposes the
/// device (disable, removal, a failed add), while the driver object — the
/// key's parent — is alive, so the key is closed here, exactly once.
extern "C" fn evt_device_cleanup(object: WDFOBJECT) {
    // SAFETY: `object` is this driver's device, created with DEVICE_CONTEXT;
    // the context is valid during cleanup and no other reference is live.
    if let Some(ctx) = unsafe { context::<DeviceContext>(object, &DEVICE_CONTEXT) } {
        drop(ctx.hardware.take());
    }
}
