//! The WDFDRIVER's DDIs: creating it (F27) and what a driver asks of it —
//! its registry keys (F14, F15, F74), the framework's version.

use super::objects::{Attributes, ObjectKind};
use super::registry;
use crate::abi::*;
use crate::model::{Routine, STOPPED_STATUS, with_state};

/// The framework version the simulator is: KMDF 1.33 (the tables in data/).
const KMDF_MAJOR: u32 = 1;
const KMDF_MINOR: u32 = 33;

/// `WdfDriverCreate` (F27): the WDFDRIVER — a NoDeleteDDI object (F33) and
/// the default parent of every object created without one (F10) — for the
/// driver object DriverEntry received, with `config`'s callbacks and flags
/// (F79, F80). ASSUMPTION (not in the facts): a `DriverObject` other than
/// the loaded one, or a second WdfDriverCreate, fails with
/// STATUS_INVALID_DEVICE_STATE. `None`: no machine.
pub(crate) fn create(
    driver_object: PDRIVER_OBJECT,
    config: &WDF_DRIVER_CONFIG,
    attributes: Attributes,
) -> Option<Result<u64, NTSTATUS>> {
    with_state(|s| {
        if !s.is_loaded_driver_object(driver_object) || s.driver_object().is_some() {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let image = s.caller_image();
        let kind = ObjectKind::Driver { device_add: config.EvtDriverDeviceAdd, unload: config.EvtDriverUnload };
        let handle = s.create_object(kind, image, attributes)?;
        s.framework.globals.Driver = handle as WDFDRIVER;
        s.record_driver_flags(config.DriverInitFlags, config.EvtDriverUnload.is_some());
        Ok(handle)
    })
}

/// `WdfDriverOpenParametersRegistryKey` (F14): `Services\<svc>\Parameters`.
/// Read-only access goes through IoOpenDriverRegistryKey; other access opens
/// the service key and creates `Parameters` under it (with a framework
/// warning, F74: Parameters is for INF-provided settings). Both end in one
/// key object owning one handle, default-parented to the driver (F10).
/// ASSUMPTION: the read-only path also creates a missing Parameters key
/// (F74: keys opened by IoOpenDriverRegistryKey are non-volatile).
pub(crate) fn open_parameters_key(
    driver: WDFDRIVER,
    access: ACCESS_MASK,
    attributes: Attributes,
) -> Option<Result<(u64, bool), NTSTATUS>> {
    let read_only = access & !(KEY_READ | GENERIC_READ | STANDARD_RIGHTS_READ) == 0;
    if !read_only {
        with_state(|s| {
            s.framework.framework_log.push(
                "WdfDriverOpenParametersRegistryKey should not be used for write; \
                 consider WdfDriverOpenPersistentStateRegistryKey (F14)"
                    .into(),
            );
        });
    }
    let routine = Routine::WdfDriverOpenParametersRegistryKey;
    registry::open_driver_key(routine, driver, "Parameters", access, !read_only, attributes)
}

/// `WdfDriverOpenPersistentStateRegistryKey` (F15, F74): the driver's
/// runtime state key, through IoOpenDriverRegistryKey(DriverRegKeyPersistentState).
/// ASSUMPTION (F74): it is `Services\<svc>\State`, created when missing.
pub(crate) fn open_persistent_state_key(
    driver: WDFDRIVER,
    access: ACCESS_MASK,
    attributes: Attributes,
) -> Option<Result<(u64, bool), NTSTATUS>> {
    let routine = Routine::WdfDriverOpenPersistentStateRegistryKey;
    registry::open_driver_key(routine, driver, "State", access, false, attributes)
}

/// `WdfDriverRetrieveVersionString`: the framework's version text into a
/// WDFSTRING the driver created. ASSUMPTION: the text's wording is not in
/// the facts; the simulator writes "Kernel Mode Driver Framework version
/// 1.33" (drivers only print it).
pub(crate) fn retrieve_version_string(driver: WDFDRIVER, string: WDFSTRING) -> NTSTATUS {
    let routine = Routine::WdfDriverRetrieveVersionString;
    with_state(|s| {
        s.fx_check(routine, 0, driver as u64)?;
        let object = s.fx_object(routine, 1, string as u64)?;
        if let ObjectKind::String(text) = &mut object.kind {
            *text = format!("Kernel Mode Driver Framework version {KMDF_MAJOR}.{KMDF_MINOR}").encode_utf16().collect();
        }
        Ok(STATUS_SUCCESS)
    })
    .map_or(STOPPED_STATUS, |r| r.unwrap_or_else(|st| st))
}

/// `WdfDriverIsVersionAvailable`: TRUE when the framework is the asked
/// major version with at least the asked minor version (the DDI page:
/// "the framework library's version is the specified version or a later
/// version compatible with it"). ASSUMPTION: a `Size` other than the 1.33
/// size answers FALSE.
pub(crate) fn is_version_available(driver: WDFDRIVER, params: &WDF_DRIVER_VERSION_AVAILABLE_PARAMS) -> bool {
    let live = with_state(|s| s.fx_check(Routine::WdfDriverIsVersionAvailable, 0, driver as u64).is_ok());
    let sized = params.Size as usize == size_of::<WDF_DRIVER_VERSION_AVAILABLE_PARAMS>();
    live == Some(true) && sized && params.MajorVersion == KMDF_MAJOR && params.MinorVersion <= KMDF_MINOR
}
