//! The lent handle used for the Zw routines wdfkey does not wrap, and
//! never closed; a handle of the driver's own closed where it belongs.
use wdfkey::RegKey;
use wdk_sys::ntddk::{ZwClose, ZwEnumerateKey, ZwNotifyChangeKey, ZwOpenKey, ZwQueryKey};
use wdk_sys::*;

struct Watch {
    key: RegKey,
    raw: HANDLE,
    own: HANDLE,
}

impl Watch {
    fn arm(&mut self, event: HANDLE, io: &mut IO_STATUS_BLOCK) -> NTSTATUS {
        self.raw = unsafe { self.key.wdm_handle().as_raw() };
        unsafe {
            ZwNotifyChangeKey(self.raw, event, None, core::ptr::null_mut(), io, REG_NOTIFY_CHANGE_LAST_SET, 0, core::ptr::null_mut(), 0, 1)
        }
    }

    fn open_own(&mut self, attrs: &mut OBJECT_ATTRIBUTES) -> NTSTATUS {
        unsafe { ZwOpenKey(&mut self.own, KEY_READ, attrs) }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = unsafe { ZwClose(self.own) };
    }
}

fn subkeys(key: &RegKey, buf: &mut [u8]) -> u32 {
    let h = unsafe { key.wdm_handle().as_raw() };
    let mut len = 0u32;
    let mut count = 0;
    let status = unsafe { ZwQueryKey(h, KeyFullInformation, buf.as_mut_ptr().cast(), buf.len() as u32, &mut len) };
    if status < 0 {
        return 0;
    }
    (0..16).for_each(|i| {
        if unsafe { ZwEnumerateKey(h, i, KeyBasicInformation, buf.as_mut_ptr().cast(), buf.len() as u32, &mut len) } < 0 {
            return;
        }
        count += 1;
    });
    count
}

struct Own {
    key: RegKey,
    handle: Option<HANDLE>,
}

impl Own {
    fn open(&mut self, attrs: &mut OBJECT_ATTRIBUTES) -> NTSTATUS {
        let mut h: HANDLE = core::ptr::null_mut();
        let status = unsafe { ZwOpenKey(&mut h, KEY_READ, attrs) };
        self.handle = Some(h);
        status
    }
}

impl Drop for Own {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = unsafe { ZwClose(h) };
        }
    }
}
