//! Driver DDIs: the WDFDRIVER (F27) and the driver's registry keys (F14, F15).
//! The rules are the model's (`model::framework::wdfdriver`).

use crate::abi::*;
use crate::model::framework::verifier::required_null;
use crate::model::framework::wdfdriver;
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, Required, deliver, with_config, with_out};

/// `WdfDriverCreate` (F27).
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
        let created = wdfdriver::create(DriverObject, &config, attributes);
        // SAFETY: `Driver` is null or writable (the DDI's contract).
        unsafe { deliver(created, Driver) }
    })
}

/// The prologue and the end of the two driver-key DDIs around `open`.
///
/// # Safety
/// `attrs` null or valid; `key_out` null or writable.
unsafe fn open_driver_key(
    attrs: PWDF_OBJECT_ATTRIBUTES,
    key_out: *mut WDFKEY,
    open: impl FnOnce(crate::model::framework::objects::Attributes) -> Option<Result<(u64, bool), NTSTATUS>>,
) -> NTSTATUS {
    // SAFETY: `key_out` null or writable, `attrs` null or valid (the DDIs' contracts).
    let attributes = match unsafe { with_out(key_out, "Key", true, attrs, Parent::AsGiven, || Ok(())) } {
        Ok(a) => a,
        Err(st) => return st,
    };
    // SAFETY: checked non-null above.
    match unsafe { super::registry::deliver_key(open(attributes), key_out) } {
        Ok(_) => crate::STATUS_SUCCESS,
        Err(st) => st,
    }
}

/// `WdfDriverOpenParametersRegistryKey` (F14).
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
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_driver_key(KeyAttributes, Key, |a| wdfdriver::open_parameters_key(Driver, DesiredAccess, a)) }
    })
}

/// `WdfDriverOpenPersistentStateRegistryKey` (F15, F74).
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
        unsafe {
            open_driver_key(KeyAttributes, Key, |a| wdfdriver::open_persistent_state_key(Driver, DesiredAccess, a))
        }
    })
}

/// `WdfDriverRetrieveVersionString`.
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
        wdfdriver::retrieve_version_string(Driver, String)
    })
}

/// `WdfDriverIsVersionAvailable`.
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
            required_null("VersionAvailableParams");
            return 0;
        }
        // SAFETY: checked non-null; valid by contract.
        let params = unsafe { *VersionAvailableParams };
        u8::from(wdfdriver::is_version_available(Driver, &params))
    })
}
