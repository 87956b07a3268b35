use wdk_sys::ntddk::ZwClose;
use wdk_sys::*;

/// What the crashing driver did, in Rust.
unsafe extern "C" fn evt_driver_unload(driver: WDFDRIVER) {
    let key = unsafe { (*context(driver)).parameters };
    let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
    let _ = unsafe { ZwClose(handle) }; // expect: WKG001
}

struct Cache {
    key: WDFKEY,
    handle: HANDLE,
}

impl Cache {
    fn open(&mut self) {
        self.handle = handle_of(self.key);
    }

    fn close(&mut self) {
        unsafe { ZwClose(self.handle) }; // expect: WKG001
    }
}

fn handle_of(key: WDFKEY) -> HANDLE {
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) }
}

fn remove(key: WDFKEY) -> NTSTATUS {
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, key) };
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) }; // expect: WKG003
    status
}
