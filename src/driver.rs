//! DriverEntry, configuration, the load counter, and unload.

use crate::context::{self, Config, DRIVER_CONTEXT, DriverContext};
use crate::sys::{
    _DRIVER_OBJECT, _WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, DRIVER_INITIALIZE, NT_SUCCESS, NTSTATUS,
    PUNICODE_STRING, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_TYPE_MISMATCH, STATUS_SUCCESS, WDF_DRIVER_CONFIG,
    WDF_OBJECT_ATTRIBUTES, WDFDRIVER, WDFOBJECT, call_unsafe_wdf_function_binding,
};
use wdfkey::{Access, RegKey, Volatility};

/// Defaults for absent Parameters values (the INF provisions them, F74).
pub const DEFAULT_MAX_VALUE_SIZE: u32 = 4096;
/// The ceiling for `MaxValueSize`, whatever the registry says.
pub const MAX_VALUE_SIZE_LIMIT: u32 = 65_536;
/// Default trace level.
pub const DEFAULT_TRACE_LEVEL: u32 = 3;
/// The subkey of the persistent-state key that IOCTLs read and write.
pub const STORE_KEY: &str = "Store";

/// Object attributes as `WDF_OBJECT_ATTRIBUTES_INIT` makes them.
pub(crate) fn object_attributes() -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

/// A DWORD from Parameters, or `default` when it is absent or not a DWORD
/// (F23's two statuses); any other failure is the caller's.
fn dword_or(key: &RegKey, name: &str, default: u32) -> Result<u32, NTSTATUS> {
    match key.query_u32(name) {
        Ok(v) => Ok(v),
        Err(e) if e.status() == STATUS_OBJECT_NAME_NOT_FOUND || e.status() == STATUS_OBJECT_TYPE_MISMATCH => {
            Ok(default)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the configuration from the read-only Parameters key.
fn read_config(parameters: &RegKey) -> Result<Config, NTSTATUS> {
    let max = dword_or(parameters, "MaxValueSize", DEFAULT_MAX_VALUE_SIZE)?.clamp(1, MAX_VALUE_SIZE_LIMIT);
    let trace = dword_or(parameters, "TraceLevel", DEFAULT_TRACE_LEVEL)?.min(5);
    Ok(Config { max_value_size: max, trace_level: trace })
}

/// Increments `LoadCount` in the persistent-state key (F74) and makes sure
/// the IOCTL store exists; returns the new count.
fn count_load(driver: WDFDRIVER, ctx: &mut DriverContext) -> Result<u32, NTSTATUS> {
    // SAFETY: `driver` is our live WDFDRIVER.
    let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
    ctx.stats.keys_opened += 1;
    let previous: u32 = match state.query_u32("LoadCount") {
        Ok(n) => n,
        Err(e) if e.status() == STATUS_OBJECT_NAME_NOT_FOUND => 0,
        Err(e) => return Err(e.into()),
    };
    let count = previous.wrapping_add(1);
    state.assign_u32("LoadCount", count)?;
    let (store, _) = state.create_subkey(STORE_KEY, Access::READ, Volatility::NonVolatile)?;
    ctx.stats.keys_opened += 1;
    drop(store);
    drop(state);
    ctx.stats.keys_closed += 2;
    Ok(count)
}

/// The steps of DriverEntry after WdfDriverCreate.
fn initialize(driver: WDFDRIVER, ctx: &mut DriverContext) -> Result<(), NTSTATUS> {
    // SAFETY: `driver` is our live WDFDRIVER.
    let parameters = unsafe { RegKey::open_parameters(driver) }?;
    ctx.stats.keys_opened += 1;
    ctx.parameters = Some(parameters);
    if let Some(p) = ctx.parameters.as_ref() {
        ctx.config = read_config(p)?;
    }
    ctx.stats.load_count = count_load(driver, ctx)?;
    crate::trace!(ctx.config.trace_level, 3, "wdfkey_guard: load {}", ctx.stats.load_count);
    Ok(())
}

/// Takes the driver's keys out of its context and closes them (K3: while the
/// driver object is alive).
fn release_keys(driver: WDFDRIVER) {
    // SAFETY: `driver` is our live WDFDRIVER with DRIVER_CONTEXT.
    if let Some(ctx) = unsafe { context::driver_context(driver) }
        && ctx.parameters.take().is_some()
    {
        ctx.stats.keys_closed += 1;
    }
}

/// The driver's entry point: WdfDriverCreate, then configuration and the
/// load counter. On any failure the keys are released before returning, and
/// the framework deletes the driver object.
///
/// # Safety
/// Only the loader (or the simulator) calls it, with the driver object and
/// the service's registry path.
#[cfg_attr(all(windows, not(feature = "sim"), not(test)), unsafe(export_name = "DriverEntry"))]
pub unsafe extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, registry_path: PUNICODE_STRING) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: core::mem::size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: Some(crate::device::evt_device_add),
        EvtDriverUnload: Some(evt_driver_unload),
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        EvtCleanupCallback: Some(evt_driver_cleanup),
        ContextTypeInfo: DRIVER_CONTEXT.info(),
        ..object_attributes()
    };
    let mut wdf_driver: WDFDRIVER = core::ptr::null_mut();
    // SAFETY: the loader's driver object and path; locals outlive the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver,
            registry_path,
            &mut attributes,
            &mut config,
            &mut wdf_driver
        )
    };
    if !NT_SUCCESS(status) {
        return status;
    }
    // SAFETY: the driver object was just created with DRIVER_CONTEXT; the
    // zero-filled context is a valid DriverContext (F76).
    let Some(ctx) = (unsafe { context::driver_context(wdf_driver) }) else {
        return crate::sys::STATUS_UNSUCCESSFUL;
    };
    match initialize(wdf_driver, ctx) {
        Ok(()) => STATUS_SUCCESS,
        Err(status) => {
            release_keys(wdf_driver);
            status
        }
    }
}

const _: DRIVER_INITIALIZE = Some(driver_entry);

/// EvtDriverUnload: runs before the framework deletes the driver object and
/// its children (F27), so the keys are taken out and closed here.
extern "C" fn evt_driver_unload(driver: WDFDRIVER) {
    release_keys(driver);
}

/// The driver object's cleanup: nothing is left to release by then, but a
/// key still in the context (a failed load) is let go without a double close.
extern "C" fn evt_driver_cleanup(object: WDFOBJECT) {
    release_keys(object.cast());
}
