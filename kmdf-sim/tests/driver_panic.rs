//! A panic in driver code is wdk-panic's stop, naming the code it ran in,
//! returned to the test: after it unwinds to the machine (`Machine::run`),
//! or — where it cannot unwind (a driver callback's `extern "C"` frame) —
//! after the machine halts the callback (F112).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;

const DRV: &str = "panicky.sys";

#[test]
fn a_panic_in_run_is_the_stop_with_the_entry_point_and_location() {
    let m = Machine::new(Settings::default());
    let stop = m.run(DRV, "DriverEntry", || -> NTSTATUS { panic!("table full") }).expect_err("a stop");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!(b.code, 0x5250_4E43);
    let cause = b.root_cause.clone().unwrap_or_default();
    assert!(cause.starts_with("panicky.sys panicked in panicky!DriverEntry at "), "{cause}");
    assert!(cause.contains("driver_panic.rs") && cause.contains("table full"), "{cause}");
}

/// The device table a DriverEntry should have made (it never does).
static TABLE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

extern "C" fn device_add(_driver: WDFDRIVER, _init: PWDFDEVICE_INIT) -> NTSTATUS {
    // A driver bug: the panic cannot unwind out of this extern "C" callback.
    NTSTATUS::try_from(*TABLE.get().expect("the device table exists")).unwrap_or(STATUS_SUCCESS)
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    kmdf_sim::testing::driver_create(driver, path, None, kmdf_sim::testing::driver_config(Some(device_add), None), None)
}

#[test]
fn a_panic_in_a_callback_is_the_stop_returned_to_the_test() {
    let m = Machine::new(Settings::default());
    m.install(DRV, "panicky", Some(entry));
    let stop = m.add_device(r"Root\Panicky", None).expect_err("the callback's panic stops the machine");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!(b.code, 0x5250_4E43, "{stop}");
    let cause = b.root_cause.clone().unwrap_or_default();
    assert!(cause.starts_with("panicky.sys panicked in panicky!EvtDriverDeviceAdd at "), "names the callback: {cause}");
    assert!(cause.contains("the device table exists"), "{cause}");
    assert!(stop.to_string().contains("52504e43"), "the !analyze rendering: {stop}");
    // The test's thread goes on: a new machine runs driver code, and a
    // panic there is reported as the next stop.
    drop(m);
    let m = Machine::new(Settings::default());
    let again = m.run(DRV, "DriverEntry", || -> NTSTATUS { panic!("second") }).expect_err("a stop");
    assert!(again.bug_check().and_then(|b| b.root_cause.clone()).unwrap_or_default().contains("second"), "{again}");
}
