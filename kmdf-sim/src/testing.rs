//! Scaffolding for tests of drivers that run on the simulator, shared by
//! every crate that has them: the driver side (counted strings, object
//! attributes, `WdfDriverCreate`, a DriverEntry that creates only its
//! WDFDRIVER), written against the surface as a driver would be, and the
//! test side (a driver's service key, provisioned values, unloading and
//! asserting nothing was left behind), written against [`crate::control`].
//!
//! The helpers assert with `panic!`: they are for tests, never for driver code.

use crate::control::Machine;
use crate::*;

// ----------------------------------------------------------- driver side

/// A counted UTF-16 string and the buffer it points into (moving the value
/// keeps the buffer where it is).
pub struct Wide {
    _buf: Vec<u16>,
    /// The counted string (no terminating NUL).
    pub us: UNICODE_STRING,
}

/// `s` as a counted string.
///
/// # Panics
/// If `s` is longer than a `UNICODE_STRING` can count (32,767 units).
pub fn wide(s: &str) -> Wide {
    let mut buf: Vec<u16> = s.encode_utf16().collect();
    let bytes = u16::try_from(buf.len() * 2).expect("a counted string holds at most 32,767 UTF-16 units");
    let us = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: buf.as_mut_ptr() };
    Wide { _buf: buf, us }
}

/// What `WDF_OBJECT_ATTRIBUTES_INIT` sets (guide §7.4).
pub fn object_attributes() -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

/// `attrs` as the DDIs take them (`WDF_NO_OBJECT_ATTRIBUTES` for `None`).
pub fn attributes_ptr(attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>) -> PWDF_OBJECT_ATTRIBUTES {
    attrs.map_or(WDF_NO_OBJECT_ATTRIBUTES, std::ptr::from_mut)
}

/// What `WDF_DRIVER_CONFIG_INIT` sets, with EvtDriverDeviceAdd `add` and
/// EvtDriverUnload `unload`.
pub fn driver_config(add: PFN_WDF_DRIVER_DEVICE_ADD, unload: PFN_WDF_DRIVER_UNLOAD) -> WDF_DRIVER_CONFIG {
    WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: add,
        EvtDriverUnload: unload,
        ..WDF_DRIVER_CONFIG::default()
    }
}

/// `WdfDriverCreate` as a DriverEntry calls it, with the loader's `driver`
/// and `path`, `attrs` (or none) and `config`. The WDFDRIVER goes to
/// `out`; `None` passes `WDF_NO_HANDLE`, as drivers that never use the
/// handle do. Returns the DDI's status.
#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "the simulator's WdfDriverCreate compares DriverObject with the loaded driver's and never reads RegistryPath: any value is safe"
)]
pub fn driver_create(
    driver: *mut _DRIVER_OBJECT,
    path: PUNICODE_STRING,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    mut config: WDF_DRIVER_CONFIG,
    out: Option<&mut WDFDRIVER>,
) -> NTSTATUS {
    let out = out.map_or(WDF_NO_HANDLE.cast(), std::ptr::from_mut);
    // SAFETY: the simulator's DDI reads no memory through `driver` or `path`
    // (it compares `driver` with the loaded driver object); the attributes,
    // the config and the out slot are live for the call.
    unsafe { call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, attributes_ptr(attrs), &mut config, out) }
}

/// [`driver_create`] that hands the WDFDRIVER back.
///
/// # Errors
/// The DDI's failure status.
pub fn create_driver(
    driver: *mut _DRIVER_OBJECT,
    path: PUNICODE_STRING,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    config: WDF_DRIVER_CONFIG,
) -> Result<WDFDRIVER, NTSTATUS> {
    let mut wdf_driver: WDFDRIVER = core::ptr::null_mut();
    let status = driver_create(driver, path, attrs, config, Some(&mut wdf_driver));
    if NT_SUCCESS(status) { Ok(wdf_driver) } else { Err(status) }
}

/// `WdfDeviceCreate` as EvtDriverDeviceAdd calls it, on the address of its
/// `init` with `attrs` (or none), then `WdfDeviceCreateDeviceInterface` for
/// `interface` (no reference string) when one is given.
///
/// # Errors
/// The status of the first DDI that fails.
pub fn create_device(
    init: &mut PWDFDEVICE_INIT,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    interface: Option<&'static GUID>,
) -> Result<WDFDEVICE, NTSTATUS> {
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the init's address and the out slot are live for the call; the
    // attributes are null or live.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, init, attributes_ptr(attrs), &mut device) };
    if !NT_SUCCESS(st) {
        return Err(st);
    }
    if let Some(guid) = interface {
        // SAFETY: a live device and a static GUID; no reference string.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreateDeviceInterface, device, guid, core::ptr::null())
        };
        if !NT_SUCCESS(st) {
            return Err(st);
        }
    }
    Ok(device)
}

/// A DriverEntry that creates the WDFDRIVER and nothing else.
pub extern "C" fn plain_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    driver_create(driver, path, None, driver_config(None, None), None)
}
const _: DRIVER_INITIALIZE = Some(plain_entry);

// ------------------------------------------------------------- test side

/// A service's key, `\Registry\Machine\SYSTEM\CurrentControlSet\Services\<service>`.
pub fn service_key(service: &str) -> String {
    format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{service}")
}

/// A test-VM machine (every verifier on) whose `service`'s Parameters key
/// holds `values`: the lines an INF's AddReg would provision, in
/// [`Machine::registry_seed`]'s syntax.
///
/// # Panics
/// If `values` does not parse.
pub fn machine_with_parameters(service: &str, values: &str) -> Machine {
    let m = Machine::new(crate::control::Settings::default());
    m.registry_seed(&format!("[{}\\Parameters]\n{values}", service_key(service)))
        .unwrap_or_else(|e| panic!("the Parameters values do not parse: {e}"));
    m
}

/// A REG_DWORD value at an absolute `\Registry\...` path, if there is one.
///
/// # Panics
/// If the value exists with another type.
pub fn registry_dword(m: &Machine, path: &str, name: &str) -> Option<u32> {
    let (kind, data) = m.registry_value(path, name)?;
    assert_eq!(kind, REG_DWORD, "{path}\\{name} is not a REG_DWORD");
    Some(u32::from_le_bytes(data.try_into().ok()?))
}

/// Asserts the machine has not stopped, recorded no ownership violation and
/// no finding, and that no unload it did by itself found a leak.
///
/// # Panics
/// If any of that is not so.
pub fn assert_clean(m: &Machine) {
    assert!(m.stop().is_none(), "{:?}", m.stop());
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.findings().is_empty(), "{:?}", m.findings());
    for r in m.unload_reports() {
        assert!(r.leaked_handles.is_empty() && r.leaked_objects.is_empty(), "{r:?}");
    }
}

/// Unloads the loaded driver and asserts it left no handle and no object
/// behind and broke no ownership rule.
///
/// # Panics
/// If the machine stops, or anything was left behind.
pub fn unload_clean(m: &Machine) {
    let report = m.unload().unwrap_or_else(|stop| panic!("the machine stopped at unload:\n{stop}"));
    assert!(report.leaked_handles.is_empty() && report.leaked_objects.is_empty(), "{report:?}");
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.live_objects().is_empty(), "{:?}", m.live_objects());
}
