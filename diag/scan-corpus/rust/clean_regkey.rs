use wdfkey::{Access, RegKey, RegName};
use wdk_sys::ntddk::{ZwClose, ZwOpenKey};
use wdk_sys::*;

fn read(path: &RegName) -> Result<u32, wdfkey::Error> {
    let key = RegKey::open_absolute(path, Access::READ)?;
    let info = key.info()?;
    key.query_u32(c"Setting")
}

fn raw(attrs: &mut OBJECT_ATTRIBUTES) -> NTSTATUS {
    let mut h: HANDLE = core::ptr::null_mut();
    let status = unsafe { ZwOpenKey(&mut h, KEY_READ, attrs) };
    if !NT_SUCCESS(status) {
        return status;
    }
    unsafe { ZwClose(h) }
}

fn remove_or_close(key: WDFKEY) -> NTSTATUS {
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, key) };
    if !NT_SUCCESS(status) {
        unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
    }
    status
}
