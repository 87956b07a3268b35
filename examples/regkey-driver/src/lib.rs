//! `regkey-driver`: a small KMDF driver that holds its registry keys only in
//! [`wdfkey::RegKey`] — a template to start a driver of your own from.
//!
//! * [`driver_entry`]: `WdfDriverCreate` (a PnP driver with a context,
//!   EvtDriverDeviceAdd and EvtDriverUnload); the service's `Parameters` key
//!   opened read-only and kept in the driver context; `PollIntervalMs` read
//!   from it ([`read_config`]); `LoadCount` incremented in the driver's
//!   persistent-state key ([`count_load`]).
//! * [`device`]: per device, a setting read from the software key before
//!   `WdfDeviceCreate`, and the hardware key kept in the device context until
//!   the device's cleanup callback.
//! * EvtDriverUnload: takes the Parameters key out of the context and drops
//!   it while the driver object, its parent, is still alive
//!   (docs/invariants.md#k3).
//!
//! The same source is the `.sys` (against `wdk-sys`, on Windows) and runs in
//! `cargo test` against `kmdf-sim` everywhere else: see `tests/driver.rs`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

// What every Rust KMDF driver provides (docs/windows-drivers-rs.md §4):
// wdfkey allocates (names, value buffers) and can fail, so a global allocator
// is required; the panic handler is wdk-panic's bug check. Both only in the
// kernel build: under the simulator the test binary's std provides them.
#[cfg(all(windows, not(feature = "sim"), not(test)))]
extern crate wdk_panic;

#[cfg(all(windows, not(feature = "sim"), not(test)))]
#[global_allocator]
static GLOBAL_ALLOCATOR: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;

pub mod device;
pub mod sys;

use sys::{
    _DRIVER_OBJECT, _WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, DRIVER_INITIALIZE,
    NT_SUCCESS, NTSTATUS, PCWDF_OBJECT_CONTEXT_TYPE_INFO, PUNICODE_STRING, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_TYPE_MISMATCH, STATUS_SUCCESS, STATUS_UNSUCCESSFUL, WDF_DRIVER_CONFIG, WDF_OBJECT_ATTRIBUTES,
    WDF_OBJECT_CONTEXT_TYPE_INFO, WDFDRIVER, WDFOBJECT, call_unsafe_wdf_function_binding,
};
use wdfkey::{Access, RegKey};

/// The service name (and the `.sys` and INF names) of the driver.
pub const SERVICE_NAME: &str = "regkey_driver";
/// `PollIntervalMs` when Parameters has none, or not a DWORD.
pub const DEFAULT_POLL_INTERVAL_MS: u32 = 1000;
/// The largest `PollIntervalMs` accepted, whatever the registry says.
pub const MAX_POLL_INTERVAL_MS: u32 = 60_000;

/// What the driver reads from its service `Parameters` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Config {
    /// How often the driver would poll its hardware, in milliseconds (1 ..= 60000).
    pub poll_interval_ms: u32,
}

/// Reads the configuration from the `Parameters` key: an absent or mistyped
/// value gives the default (`STATUS_OBJECT_NAME_NOT_FOUND`,
/// `STATUS_OBJECT_TYPE_MISMATCH`: docs/facts.md#f23); any other failure is
/// returned. PASSIVE_LEVEL.
pub fn read_config(parameters: &RegKey) -> Result<Config, NTSTATUS> {
    let poll_interval_ms = match parameters.query_u32("PollIntervalMs") {
        Ok(v) => v.clamp(1, MAX_POLL_INTERVAL_MS),
        Err(e) if e.status() == STATUS_OBJECT_NAME_NOT_FOUND || e.status() == STATUS_OBJECT_TYPE_MISMATCH => {
            DEFAULT_POLL_INTERVAL_MS
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Config { poll_interval_ms })
}

/// Increments `LoadCount` in the driver's persistent-state key — where state
/// the driver writes belongs (docs/facts.md#f74) — and returns the new count.
/// The key is dropped, and so closed, before this returns. PASSIVE_LEVEL.
///
/// # Safety
/// `driver` is the calling driver's live WDFDRIVER.
pub unsafe fn count_load(driver: WDFDRIVER) -> Result<u32, NTSTATUS> {
    // SAFETY: `driver` is live (caller).
    let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
    increment(&state, "LoadCount")
}

/// Adds one to the `REG_DWORD` `name` of `key` (absent counts as 0, and the
/// count wraps) and returns the new value. PASSIVE_LEVEL.
pub fn increment(key: &RegKey, name: &str) -> Result<u32, NTSTATUS> {
    let previous = match key.query_u32(name) {
        Ok(n) => n,
        Err(e) if e.status() == STATUS_OBJECT_NAME_NOT_FOUND => 0,
        Err(e) => return Err(e.into()),
    };
    let count = previous.wrapping_add(1);
    key.assign_u32(name, count)?;
    Ok(count)
}

/// The WDFDRIVER's context: zero-filled by the framework, and every field is
/// valid all-zero (`Option<RegKey>` is `None`; docs/facts.md#f76).
#[derive(Default)]
struct DriverContext {
    /// The service's Parameters key, from DriverEntry until EvtDriverUnload
    /// (a driver that reads its settings again later keeps it open like this).
    parameters: Option<RegKey>,
}

/// A context type's descriptor (what `WDF_DECLARE_CONTEXT_TYPE` makes in C).
#[repr(transparent)]
pub(crate) struct ContextType(pub(crate) WDF_OBJECT_CONTEXT_TYPE_INFO);

// SAFETY: never written after initialisation; the framework only reads it.
unsafe impl Sync for ContextType {}

static DRIVER_CONTEXT: ContextType = ContextType(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: core::mem::size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"RegKeyDriverContext".as_ptr(),
    ContextSize: core::mem::size_of::<DriverContext>(),
    UniqueType: &DRIVER_CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

/// The context of type `T` of a framework object.
///
/// # Safety
/// `object` is a live framework object of this driver, created with
/// `context_type`, whose context is a `T`; no other reference to that
/// context is live. In this driver each context is touched only by callbacks
/// of its own object that never overlap: DriverEntry and EvtDriverUnload for
/// the driver's; EvtDriverDeviceAdd and then the cleanup callback for a
/// device's.
pub(crate) unsafe fn context<'a, T>(object: WDFOBJECT, context_type: &'static ContextType) -> Option<&'a mut T> {
    let info: PCWDF_OBJECT_CONTEXT_TYPE_INFO = &context_type.0;
    // SAFETY: `object` is live (caller); the type info is 'static.
    let ptr = unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, info) };
    // SAFETY: a non-null result is this object's zero-filled context, a valid
    // `T` (docs/facts.md#f76), valid until the object is destroyed, with no
    // other live reference (caller).
    unsafe { ptr.cast::<T>().as_mut() }
}

/// The driver's context.
///
/// # Safety
/// As [`context`], for this driver's WDFDRIVER.
unsafe fn driver_context<'a>(driver: WDFDRIVER) -> Option<&'a mut DriverContext> {
    // SAFETY: forwarded from this function's contract.
    unsafe { context(driver.cast(), &DRIVER_CONTEXT) }
}

/// The steps of DriverEntry after WdfDriverCreate.
fn initialize(driver: WDFDRIVER, ctx: &mut DriverContext) -> Result<(), NTSTATUS> {
    // SAFETY: `driver` is our live WDFDRIVER.
    let parameters = ctx.parameters.insert(unsafe { RegKey::open_parameters(driver) }?);
    let config = read_config(parameters)?;
    // SAFETY: as above.
    let loads = unsafe { count_load(driver) }?;
    trace_load(loads, config);
    Ok(())
}

/// Reports the load: `DbgPrint` (through `wdk::println!`) in the kernel
/// build; under the simulator the values are only checked by the tests.
fn trace_load(loads: u32, config: Config) {
    #[cfg(all(windows, not(feature = "sim")))]
    wdk::println!("regkey_driver: load {loads}, polling every {} ms", config.poll_interval_ms);
    #[cfg(not(all(windows, not(feature = "sim"))))]
    let _ = (loads, config);
}

/// Takes the key out of the driver's context and drops it (closing it
/// exactly once) while the driver object is alive (docs/invariants.md#k3).
fn release_keys(driver: WDFDRIVER) {
    // SAFETY: `driver` is our live WDFDRIVER with DRIVER_CONTEXT.
    if let Some(ctx) = unsafe { driver_context(driver) } {
        drop(ctx.parameters.take());
    }
}

/// The driver's entry point.
///
/// On failure the key is released before returning, and the framework then
/// deletes the driver object.
///
/// # Safety
/// Only the loader (or the simulator) calls it, with the driver object and
/// the service's registry path.
#[cfg_attr(all(windows, not(feature = "sim"), not(test)), unsafe(export_name = "DriverEntry"))]
pub unsafe extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, registry_path: PUNICODE_STRING) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: core::mem::size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: Some(device::evt_device_add),
        EvtDriverUnload: Some(evt_driver_unload),
        ..WDF_DRIVER_CONFIG::default()
    };
    // WDF_OBJECT_ATTRIBUTES_INIT plus the context type (docs/windows-drivers-rs.md §7.4).
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ContextTypeInfo: &DRIVER_CONTEXT.0,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut wdf_driver: WDFDRIVER = core::ptr::null_mut();
    // SAFETY: the loader's driver object and path; the locals outlive the call.
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
    // SAFETY: the driver object was just created with DRIVER_CONTEXT.
    let Some(ctx) = (unsafe { driver_context(wdf_driver) }) else {
        return STATUS_UNSUCCESSFUL;
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
/// its children (docs/facts.md#f27), so the key is closed here.
extern "C" fn evt_driver_unload(driver: WDFDRIVER) {
    release_keys(driver);
}
