//! The lent handle kept in a device context and closed in `Drop`, in the
//! unload callback through a `static`, and by a helper.
use wdfkey::RegKey;
use wdk_sys::{HANDLE, NTSTATUS, WDFDRIVER};

struct DeviceContext {
    key: RegKey,
    raw: HANDLE,
}

impl DeviceContext {
    fn new(key: RegKey) -> Self {
        let raw = unsafe { key.wdm_handle().as_raw() };
        DeviceContext { key, raw }
    }
}

impl Drop for DeviceContext {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let _ = unsafe { wdk_sys::ntddk::ZwClose(self.raw) }; // expect: WKG001
        }
    }
}

static mut PARAMETERS_HANDLE: HANDLE = core::ptr::null_mut();

fn remember(key: &RegKey) {
    unsafe { PARAMETERS_HANDLE = key.wdm_handle().as_raw() };
}

extern "C" fn evt_driver_unload(_driver: WDFDRIVER) {
    unsafe {
        let _ = wdk_sys::ntddk::ZwClose(PARAMETERS_HANDLE); // expect: WKG001
    }
}

fn release(handle: HANDLE) -> NTSTATUS {
    unsafe { wdk_sys::ntddk::ObCloseHandle(handle, 0) }
}

fn flush(key: &RegKey) -> NTSTATUS {
    let h: HANDLE = unsafe { key.wdm_handle().as_raw() };
    release(h) // expect: WKG001
}

fn on_each(key: &RegKey, names: &[u32]) {
    let h = unsafe { key.wdm_handle().as_raw() };
    names.iter().for_each(|_| {
        let _ = unsafe { wdk_sys::ntddk::ZwClose(h) }; // expect: WKG001
    });
}

struct Watcher {
    key: RegKey,
    lent: Option<HANDLE>,
}

impl Watcher {
    fn arm(&mut self) {
        self.lent = Some(unsafe { self.key.wdm_handle().as_raw() });
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(h) = self.lent.take() {
            let _ = unsafe { wdk_sys::ntddk::ZwClose(h) }; // expect: WKG001
        }
    }
}
