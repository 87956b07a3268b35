//! Driver-side helpers the tests share, written only against the surface
//! (as a driver would be).
#![allow(dead_code, reason = "each test binary uses a part of it")]

use kmdf_sim::*;

/// A counted UTF-16 string and the buffer it points into (moving the value
/// keeps the buffer where it is).
pub struct Wide {
    _buf: Vec<u16>,
    /// The counted string (no terminating NUL).
    pub us: UNICODE_STRING,
}

/// `s` as a counted string.
pub fn wide(s: &str) -> Wide {
    let mut buf: Vec<u16> = s.encode_utf16().collect();
    let bytes = u16::try_from(buf.len() * 2).expect("test strings are short");
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

fn attrs_ptr(attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>) -> PWDF_OBJECT_ATTRIBUTES {
    attrs.map_or(WDF_NO_OBJECT_ATTRIBUTES, std::ptr::from_mut)
}

/// `WdfDriverCreate` as a DriverEntry calls it.
pub fn create_driver(
    driver: *mut _DRIVER_OBJECT,
    path: PUNICODE_STRING,
    attrs: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    unload: PFN_WDF_DRIVER_UNLOAD,
) -> Result<WDFDRIVER, NTSTATUS> {
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverUnload: unload,
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut wdf_driver: WDFDRIVER = core::ptr::null_mut();
    // SAFETY: pointers from the loader and to live locals.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, attrs_ptr(attrs), &mut config, &mut wdf_driver)
    };
    if NT_SUCCESS(st) { Ok(wdf_driver) } else { Err(st) }
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
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: add,
        ..WDF_DRIVER_CONFIG::default()
    };
    // SAFETY: the loader's pointers; a valid config.
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
