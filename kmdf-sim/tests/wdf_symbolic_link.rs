//! `WdfDeviceCreateSymbolicLink` (F127): a KMDF device opened by its link
//! with the same call as a WDM driver's device, the framework's failures,
//! and the link going with the device.

use kmdf_sim::control::{Caller, Machine, Settings};
use kmdf_sim::testing::wide;
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

const LINK: &str = r"\DosDevices\KmdfLinked";
const OPEN: &str = r"\\.\KmdfLinked";
const APP: &str = "app.exe";

thread_local! {
    /// Statuses WdfDeviceCreateSymbolicLink returned, in order.
    static STATUSES: RefCell<Vec<NTSTATUS>> = const { RefCell::new(Vec::new()) };
}

fn create_link(device: WDFDEVICE, name: &str) -> NTSTATUS {
    let name = wide(name);
    // SAFETY: a live device; a valid counted string.
    unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device, &name.us) }
}

/// WdfDeviceCreate from EvtDriverDeviceAdd's `init`.
fn create_device(mut init: PWDFDEVICE_INIT) -> Result<WDFDEVICE, NTSTATUS> {
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the live WDFDEVICE_INIT of the calling EvtDriverDeviceAdd.
    let status =
        unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device) };
    if NT_SUCCESS(status) { Ok(device) } else { Err(status) }
}

extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let device = match create_device(init) {
        Ok(d) => d,
        Err(status) => return status,
    };
    let statuses = [create_link(device, ""), create_link(device, LINK), create_link(device, r"\DosDevices\Second")];
    STATUSES.with(|s| s.borrow_mut().extend(statuses));
    STATUS_SUCCESS
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    support::driver_create(driver, path, Some(device_add))
}

fn statuses() -> Vec<NTSTATUS> {
    STATUSES.with(|s| s.borrow_mut().drain(..).collect())
}

#[test]
fn a_kmdf_device_opens_by_its_link_and_the_link_goes_with_the_device() {
    let m = Machine::new(Settings::default());
    m.install("linked.sys", "linked", Some(entry));
    let id = m.add_device(r"root\LINKED", None).expect("the device starts");
    assert_eq!(
        statuses(),
        [STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS, STATUS_INVALID_DEVICE_REQUEST],
        "an empty name, then the link, then a second link"
    );
    let by_link = m.open(OPEN, APP, Caller::Administrator).expect("running").expect("the link opens the device");
    assert_eq!(Ok(by_link), m.open_device(id, Caller::Administrator), "the same file as the device's own open");
    let denied = STATUS_ACCESS_DENIED;
    assert_eq!(m.open(OPEN, APP, Caller::User).unwrap(), Err(denied), "the devnode's security applies by link too");
    m.close(&by_link).unwrap();

    m.disable_device(id).expect("disable");
    let not_found = 0xC000_0034_u32 as NTSTATUS;
    assert_eq!(m.open(OPEN, APP, Caller::Administrator).unwrap().err(), Some(not_found), "link deleted");
    m.enable_device(id).expect("enable");
    assert_eq!(statuses()[1], STATUS_SUCCESS, "the new device's link does not collide with the old one's");
    assert!(m.open(OPEN, APP, Caller::Administrator).unwrap().is_ok());
    m.disable_device(id).expect("the last disable unloads the driver");
    kmdf_sim::testing::assert_clean(&m);
}

extern "C" fn null_name_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let device = match create_device(init) {
        Ok(d) => d,
        Err(status) => return status,
    };
    // SAFETY: deliberately NULL, which the framework's FxPointerNotNull refuses.
    unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device, core::ptr::null()) }
}

extern "C" fn null_name_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    support::driver_create(driver, path, Some(null_name_add))
}

#[test]
fn a_null_link_name_is_the_kmdf_verifiers_stop() {
    let m = Machine::new(Settings::default());
    m.install("nullname.sys", "nullname", Some(null_name_entry));
    let _ = m.add_device(r"root\NULLNAME", None);
    let stop = m.stop().expect("the machine stopped");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0x10D), "{stop}");
}
