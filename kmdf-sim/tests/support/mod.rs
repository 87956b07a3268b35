//! Driver-side helpers the tests share, written only against the surface
//! (as a driver would be).
#![allow(dead_code, reason = "each test binary uses a part of it")]

use kmdf_sim::*;

use kmdf_sim::testing::{attributes_ptr as attrs_ptr, wide};

/// `WdfDriverCreate` as a DriverEntry calls it, with EvtDriverUnload `unload`.
pub fn create_driver(
    driver: *mut _DRIVER_OBJECT,
    path: PUNICODE_STRING,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    unload: PFN_WDF_DRIVER_UNLOAD,
) -> Result<WDFDRIVER, NTSTATUS> {
    kmdf_sim::testing::create_driver(driver, path, attrs, kmdf_sim::testing::driver_config(None, unload))
}

/// `WdfRegistryOpenKey` (absolute path when `parent` is null).
pub fn open_key(
    parent: WDFKEY,
    path: &str,
    access: u32,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
) -> Result<WDFKEY, NTSTATUS> {
    let name = wide(path);
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: `parent` is null or live; pointers to live locals.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfRegistryOpenKey, parent, &name.us, access, attrs_ptr(attrs), &mut key)
    };
    if NT_SUCCESS(st) { Ok(key) } else { Err(st) }
}

/// `WdfRegistryCreateKey` (non-volatile; absolute path when `parent` is null).
pub fn create_key(
    parent: WDFKEY,
    path: &str,
    access: u32,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
) -> Result<WDFKEY, NTSTATUS> {
    let name = wide(path);
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: `parent` is null or live; pointers to live locals.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRegistryCreateKey,
            parent,
            &name.us,
            access,
            REG_OPTION_NON_VOLATILE,
            core::ptr::null_mut(),
            attrs_ptr(attrs),
            &mut key
        )
    };
    if NT_SUCCESS(st) { Ok(key) } else { Err(st) }
}

/// `WdfRegistryClose`.
pub fn close_key(key: WDFKEY) {
    // SAFETY: the caller passes a key it owns and does not use again.
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
}

/// WdfDriverCreate with `add` as EvtDriverDeviceAdd, no attributes, no handle out.
pub fn driver_create(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING, add: PFN_WDF_DRIVER_DEVICE_ADD) -> NTSTATUS {
    kmdf_sim::testing::driver_create(driver, path, None, kmdf_sim::testing::driver_config(add, None), None)
}
