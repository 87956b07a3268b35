//! Driver DDIs: the WDFDRIVER (F27) and the driver's registry keys (F14, F15).

use crate::abi::*;
use crate::model::framework::objects::ObjectKind;
use crate::model::framework::registry as fx_registry;
use crate::model::framework::verifier::{invalid_handle, null_parameter};
use crate::model::{Routine, STOPPED_STATUS, enter, with_state};
use crate::surface::create::{Parent, Required, deliver, with_config, with_out};

/// `WdfDriverCreate` (F27): creates the WDFDRIVER — a NoDeleteDDI object
/// (F33) and the default parent of every object created without one (F10) —
/// from the driver object and registry path DriverEntry received.
///
/// ASSUMPTIONs (not in the facts): a `DriverObject` other than the loaded
/// one, or a second WdfDriverCreate, fails with STATUS_INVALID_DEVICE_STATE;
/// a `DriverConfig.Size` other than the 1.33 size fails with
/// STATUS_INFO_LENGTH_MISMATCH.
///
/// # Safety
/// As the DDI: `DriverConfig` valid; `Driver` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfDriverCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DriverObject: PDRIVER_OBJECT,
    _RegistryPath: PCUNICODE_STRING,
    DriverAttributes: PWDF_OBJECT_ATTRIBUTES,
    DriverConfig: PWDF_DRIVER_CONFIG,
    Driver: *mut WDFDRIVER,
) -> NTSTATUS {
    enter(Routine::WdfDriverCreate, STOPPED_STATUS, || {
        let required = [Required("DriverObject", DriverObject.is_null())];
        // The driver object is the root of the tree: a ParentObject is ignored.
        // SAFETY: the driver passes null or a valid config and attributes.
        let (config, (), attributes) =
            match unsafe { with_config(DriverConfig, &required, DriverAttributes, Parent::Ignored, |_| Ok(())) } {
                Ok(checked) => checked,
                Err(st) => return st,
            };
        let created = with_state(|s| {
            if !s.is_loaded_driver_object(DriverObject) || s.driver_object().is_some() {
                return Err(crate::STATUS_INVALID_DEVICE_STATE);
            }
            let image = s.caller_image();
            let kind = ObjectKind::Driver { device_add: config.EvtDriverDeviceAdd, unload: config.EvtDriverUnload };
            let handle = s.create_object(kind, image, attributes)?;
            s.framework.globals.Driver = handle as WDFDRIVER;
            s.record_driver_flags(config.DriverInitFlags, config.EvtDriverUnload.is_some());
            Ok(handle)
        });
        // SAFETY: `Driver` is null or writable (the DDI's contract).
        unsafe { deliver(created, Driver) }
    })
}

/// Shared body of the two driver-key DDIs.
///
/// # Safety
/// `attrs` null or valid; `key_out` writable.
unsafe fn open_driver_key(
    driver: WDFDRIVER,
    access: ACCESS_MASK,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    key_out: *mut WDFKEY,
    subkey: &str,
    through_service_key: bool,
) -> NTSTATUS {
    // SAFETY: `key_out` null or writable, `attrs` null or valid (the DDIs' contracts).
    let attributes = match unsafe { with_out(key_out, "Key", true, attrs, Parent::AsGiven, || Ok(())) } {
        Ok(a) => a,
        Err(st) => return st,
    };
    let result =
        with_state(|s| fx_registry::open_driver_key(s, driver, subkey, access, through_service_key, attributes));
    // SAFETY: checked non-null above.
    match unsafe { super::registry::deliver_key(result, key_out) } {
        Ok(_) => crate::STATUS_SUCCESS,
        Err(st) => st,
    }
}

/// `WdfDriverOpenParametersRegistryKey` (F14): `Services\<svc>\Parameters`.
/// Read-only access goes through IoOpenDriverRegistryKey; other access opens
/// the service key and creates `Parameters` under it (with a framework
/// warning, F74: Parameters is for INF-provided settings). Both end in one
/// key object owning one handle, default-parented to the driver (F10).
/// ASSUMPTION: the read-only path also creates a missing Parameters key
/// (F74: keys opened by IoOpenDriverRegistryKey are non-volatile).
///
/// # Safety
/// As the DDI: `Key` writable; `KeyAttributes` null or valid.
#[must_use]
pub unsafe extern "C" fn WdfDriverOpenParametersRegistryKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Driver: WDFDRIVER,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(Routine::WdfDriverOpenParametersRegistryKey, STOPPED_STATUS, || {
        let read_only = DesiredAccess & !(crate::KEY_READ | crate::GENERIC_READ | crate::STANDARD_RIGHTS_READ) == 0;
        if !read_only {
            with_state(|s| {
                s.framework.framework_log.push(
                    "WdfDriverOpenParametersRegistryKey should not be used for write; \
                         consider WdfDriverOpenPersistentStateRegistryKey (F14)"
                        .into(),
                )
            });
        }
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_driver_key(Driver, DesiredAccess, KeyAttributes, Key, "Parameters", !read_only) }
    })
}

/// `WdfDriverOpenPersistentStateRegistryKey` (F15, F74): the driver's
/// runtime state key, through IoOpenDriverRegistryKey(DriverRegKeyPersistentState).
/// ASSUMPTION (F74): it is `Services\<svc>\State`, created when missing.
///
/// # Safety
/// As the DDI: `Key` writable; `KeyAttributes` null or valid.
#[must_use]
pub unsafe extern "C" fn WdfDriverOpenPersistentStateRegistryKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Driver: WDFDRIVER,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(Routine::WdfDriverOpenPersistentStateRegistryKey, STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_driver_key(Driver, DesiredAccess, KeyAttributes, Key, "State", false) }
    })
}

/// The framework version the simulator is: KMDF 1.33 (the tables in data/).
const KMDF_MAJOR: u32 = 1;
const KMDF_MINOR: u32 = 33;

/// `WdfDriverRetrieveVersionString`: writes the framework's version text
/// into a WDFSTRING the driver created. ASSUMPTION: the text's wording is
/// not in the facts; the simulator writes "Kernel Mode Driver Framework
/// version 1.33" (drivers only print it).
///
/// # Safety
/// As the DDI: live handles.
#[must_use]
pub unsafe extern "C" fn WdfDriverRetrieveVersionString(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Driver: WDFDRIVER,
    String: WDFSTRING,
) -> NTSTATUS {
    enter(Routine::WdfDriverRetrieveVersionString, STOPPED_STATUS, || {
        with_state(|s| {
            if !matches!(s.framework.objects.get(&(Driver as u64)).map(|o| &o.kind), Some(ObjectKind::Driver { .. })) {
                return invalid_handle(s, Driver as u64, 0);
            }
            let text = format!("Kernel Mode Driver Framework version {KMDF_MAJOR}.{KMDF_MINOR}");
            super::memory::assign_string(s, String, &text)
        })
        .unwrap_or(STOPPED_STATUS)
    })
}

/// `WdfDriverIsVersionAvailable`: TRUE when the framework is the asked
/// major version with at least the asked minor version (the DDI page:
/// "the framework library's version is the specified version or a later
/// version compatible with it"). ASSUMPTION: a `Size` other than the 1.33
/// size answers FALSE.
///
/// # Safety
/// `VersionAvailableParams` valid.
#[must_use]
pub unsafe extern "C" fn WdfDriverIsVersionAvailable(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Driver: WDFDRIVER,
    VersionAvailableParams: PWDF_DRIVER_VERSION_AVAILABLE_PARAMS,
) -> BOOLEAN {
    enter(Routine::WdfDriverIsVersionAvailable, 0, || {
        if VersionAvailableParams.is_null() {
            with_state(|s| null_parameter(s, "VersionAvailableParams"));
            return 0;
        }
        // SAFETY: checked non-null; valid by contract.
        let params = unsafe { *VersionAvailableParams };
        let live = with_state(|s| {
            let ok =
                matches!(s.framework.objects.get(&(Driver as u64)).map(|o| &o.kind), Some(ObjectKind::Driver { .. }));
            if !ok {
                invalid_handle(s, Driver as u64, 0);
            }
            ok
        })
        .unwrap_or(false);
        let sized = params.Size as usize == size_of::<WDF_DRIVER_VERSION_AVAILABLE_PARAMS>();
        u8::from(live && sized && params.MajorVersion == KMDF_MAJOR && params.MinorVersion <= KMDF_MINOR)
    })
}
