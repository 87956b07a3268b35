//! The WDM objects a KMDF driver is handed have wdk-sys's real shapes: the
//! full `DRIVER_OBJECT` (what the I/O manager fills in before DriverEntry is
//! readable) and the opaque, zero-sized `WDFDEVICE_INIT`, which the machine
//! still recognises by address.

use kmdf_sim::control::{DevnodeState, Machine, Settings};
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

const DRV: &str = "dobj.sys";
const SERVICE: &str = "dobj";

thread_local! {
    /// What DriverEntry read from its DRIVER_OBJECT.
    static SEEN: RefCell<Option<(CSHORT, CSHORT, String, bool)>> = const { RefCell::new(None) };
    /// Statuses of WdfDeviceCreate with a forged and with the real init.
    static CREATES: RefCell<Vec<(usize, NTSTATUS)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the loader's live DRIVER_OBJECT, valid until unload (F27).
    let d = unsafe { &*driver };
    // SAFETY: DriverName points at DriverName.Length bytes of UTF-16.
    let units = unsafe { std::slice::from_raw_parts(d.DriverName.Buffer, usize::from(d.DriverName.Length) / 2) };
    let (ty, size, name, init) = (d.Type, d.Size, String::from_utf16_lossy(units), d.DriverInit.is_some());
    SEEN.with(|s| *s.borrow_mut() = Some((ty, size, name, init)));
    support::driver_create(driver, path, Some(device_add))
}

extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut not_an_init = 0_u64;
    let mut forged: PWDFDEVICE_INIT = std::ptr::from_mut(&mut not_an_init).cast();
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: a pointer to a live local; the simulator must reject it, not read it.
    let forged_status = unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut forged, WDF_NO_OBJECT_ATTRIBUTES, &mut device)
    };
    let mut init = init;
    let address = init as usize;
    // SAFETY: the live WDFDEVICE_INIT of this callback.
    let status =
        unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device) };
    CREATES.with(|c| c.borrow_mut().extend([(0, forged_status), (address, status)]));
    status
}

#[test]
fn driver_entry_reads_the_io_managers_fields() {
    let m = Machine::new(Settings::default());
    let status = m.load(DRV, SERVICE, Some(entry)).expect("no stop");
    assert_eq!(status, STATUS_SUCCESS);
    let (ty, size, name, init) = SEEN.with(|s| s.borrow_mut().take()).expect("DriverEntry ran");
    assert_eq!(ty as u32, IO_TYPE_DRIVER);
    assert_eq!(size as usize, size_of::<DRIVER_OBJECT>());
    assert_eq!(size, 336, "wdk-sys's x86_64 DRIVER_OBJECT");
    assert_eq!(name, r"\Driver\dobj");
    assert!(init, "DriverInit is set (to the entry point the driver was loaded by)");
    m.unload().expect("no stop");
}

#[test]
fn a_zero_sized_device_init_is_still_recognised_by_address() {
    assert_eq!(size_of::<WDFDEVICE_INIT>(), 0, "opaque in wdk-sys");
    let m = Machine::new(Settings::default());
    m.install(DRV, SERVICE, Some(entry));
    let a = m.add_device(r"Root\DObj", None).expect("no stop");
    let b = m.add_device(r"Root\DObj", None).expect("no stop");
    assert_eq!(m.device_state(a), Some(DevnodeState::Started));
    assert_eq!(m.device_state(b), Some(DevnodeState::Started));
    let creates = CREATES.with(|c| c.borrow_mut().drain(..).collect::<Vec<_>>());
    assert_eq!(creates.len(), 4, "{creates:?}");
    for pair in creates.chunks(2) {
        assert_eq!(pair[0].1, STATUS_INVALID_PARAMETER, "a pointer the framework did not hand out is refused");
        assert_eq!(pair[1].1, STATUS_SUCCESS);
        // A box of a zero-sized type would be the dangling address 1.
        assert!(pair[1].0 > 0x1000, "a real allocation, not a dangling pointer: {:#x}", pair[1].0);
    }
    assert!(m.violations().is_empty() && m.stop().is_none());
}
