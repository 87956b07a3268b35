//! A panic in driver code is wdk-panic's stop, naming the code it ran in:
//! returned to the test when it can unwind to the machine (`Machine::run`),
//! rendered on standard error before the abort when it cannot (inside a
//! driver callback's `extern "C"` frame).

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

/// The child half of the next test: a callback that panics.
fn child() {
    let m = Machine::new(Settings::default());
    m.install(DRV, "panicky", Some(entry));
    let _ = m.add_device(r"Root\Panicky", None);
    unreachable!("the process aborts inside EvtDriverDeviceAdd");
}

#[test]
fn a_panic_in_a_callback_is_rendered_before_the_abort() {
    if std::env::var_os("KMDF_SIM_PANIC_CHILD").is_some() {
        child();
    }
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "a_panic_in_a_callback_is_rendered_before_the_abort", "--nocapture", "--test-threads=1"])
        .env("KMDF_SIM_PANIC_CHILD", "1")
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child aborts: {stderr}");
    assert!(stderr.contains("a panic in driver code stopped the machine"), "{stderr}");
    assert!(stderr.contains("panicky.sys panicked in panicky!EvtDriverDeviceAdd"), "names the callback: {stderr}");
    assert!(stderr.contains("the device table exists"), "{stderr}");
    assert!(stderr.contains("52504e43") || stderr.contains("52504E43"), "the !analyze rendering: {stderr}");
}
