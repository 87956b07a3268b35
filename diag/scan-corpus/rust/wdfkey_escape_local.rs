//! A driver on wdfkey that takes the lent handle out and closes it itself.
use wdfkey::{Access, RegKey};
use wdk_sys::ntddk::ZwClose;

fn reset(key: &RegKey) {
    let h = unsafe { key.wdm_handle().as_raw() };
    unsafe { ZwClose(h) }; // expect: WKG001
}

fn reset_by_conversion(key: &RegKey) {
    let lent = key.wdm_handle();
    let raw: wdk_sys::HANDLE = unsafe { core::mem::transmute(lent) };
    let _ = unsafe { wdk_sys::ntddk::NtClose(raw) }; // expect: WKG001
}

fn open_and_reset() -> Result<(), wdfkey::Error> {
    let key = RegKey::open_absolute(c"\\Registry\\Machine\\Software\\Fabrikam", Access::READ)?;
    let _ = unsafe { wdk_sys::ntddk::ZwClose(key.wdm_handle().as_raw()) }; // expect: WKG001
    Ok(())
}
