//! Raw WDF bindings from Rust: a key closed twice, one close inside a
//! helper; a removal by a helper that returns the status.
use wdk_sys::*;

fn close_key(key: WDFKEY) {
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
}

fn remove_key(key: WDFKEY) -> NTSTATUS {
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, key) }
}

fn reset(key: WDFKEY) {
    close_key(key);
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) }; // expect: WKG002
}

fn drop_subkey(key: WDFKEY) -> NTSTATUS {
    let status = remove_key(key);
    close_key(key); // expect: WKG003
    status
}
