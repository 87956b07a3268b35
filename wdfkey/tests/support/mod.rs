//! What the RegKey tests share: a driver that only creates its WDFDRIVER.

use kmdf_sim::*;

/// WdfDriverCreate with `config` (Size filled in), no attributes, no handle out.
pub fn driver_create(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING, mut config: WDF_DRIVER_CONFIG) -> NTSTATUS {
    config.Size = size_of::<WDF_DRIVER_CONFIG>() as u32;
    // SAFETY: `driver` and `path` come from the loader; `config` is a local.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver,
            path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut config,
            WDF_NO_HANDLE.cast()
        )
    }
}

/// A DriverEntry that creates the WDFDRIVER and nothing else.
pub extern "C" fn plain_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    driver_create(driver, path, WDF_DRIVER_CONFIG::default())
}
const _: DRIVER_INITIALIZE = Some(plain_entry);
