//! Driver DDIs: the WDFDRIVER (F27) and the driver's registry keys (F14, F15).

use super::null_parameter;
use crate::control::objects::{self, ObjectKind};
use crate::control::{FRAMEWORK_MODULE, STOPPED_STATUS, enter, with_state};
use crate::surface::types::*;

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
    enter("WdfDriverCreate", FRAMEWORK_MODULE, "Wdf01000!imp_WdfDriverCreate", STOPPED_STATUS, || {
        if DriverConfig.is_null() || DriverObject.is_null() {
            with_state(|s| null_parameter(s, if DriverConfig.is_null() { "DriverConfig" } else { "DriverObject" }));
            return STOPPED_STATUS;
        }
        // SAFETY: checked non-null; the driver passes a valid config.
        let config = unsafe { *DriverConfig };
        if config.Size as usize != size_of::<WDF_DRIVER_CONFIG>() {
            return crate::STATUS_INFO_LENGTH_MISMATCH;
        }
        // SAFETY: the driver passes null or valid attributes.
        let mut attributes = match unsafe { objects::read_attributes(DriverAttributes) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        // The driver object is the root of the tree: a ParentObject is ignored.
        attributes.parent = None;
        let created = with_state(|s| {
            if !s.is_loaded_driver_object(DriverObject) || s.driver_object().is_some() {
                return Err(crate::STATUS_INVALID_DEVICE_STATE);
            }
            let image = s.caller_image();
            let kind = ObjectKind::Driver { unload: config.EvtDriverUnload };
            let handle = s.create_object(kind, image, attributes)?;
            s.globals.Driver = handle as WDFDRIVER;
            Ok(handle)
        });
        match created {
            None => STOPPED_STATUS,
            Some(Err(st)) => st,
            Some(Ok(handle)) => {
                if !Driver.is_null() {
                    // SAFETY: non-null; the driver passes a writable slot or WDF_NO_HANDLE.
                    unsafe { Driver.write(handle as WDFDRIVER) };
                }
                crate::STATUS_SUCCESS
            }
        }
    })
}
