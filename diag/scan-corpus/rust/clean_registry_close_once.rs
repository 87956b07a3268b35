//! The look-alike: the helper's status decides the close.
use wdk_sys::*;

fn close_key(key: WDFKEY) {
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
}

fn remove_key(key: WDFKEY) -> NTSTATUS {
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, key) }
}

fn drop_subkey(key: WDFKEY) -> NTSTATUS {
    let status = remove_key(key);
    if !NT_SUCCESS(status) {
        close_key(key);
    }
    status
}

fn reset(key: WDFKEY, again: bool) {
    if again {
        close_key(key);
        return;
    }
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
}
