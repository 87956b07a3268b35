//! microsoft/Windows-rust-driver-samples' `tools/dv/kmdf/fail_driver_pool_leak`
//! (the Driver Verifier demo) on kmdf-sim, unmodified: its device add
//! allocates pool it never frees, so with Pool Tracking the unload is bug
//! check 0xC4 {0x62, driver name, reserved, allocations not freed} (F50);
//! without it, only the unload report shows the block.

use fail_driver_pool_leak as _;
use kmdf_sim::control::{Machine, Settings};

const IMAGE: &str = "fail_driver_pool_leak.sys";

#[test]
fn the_leak_is_caught_at_unload_as_driver_verifier_reports_it() {
    let m = Machine::new(Settings::default());
    m.install(IMAGE, "fail_driver_pool_leak", kmdf_sim::exported_driver_entry!());
    let id = m.add_device(r"Root\fail_driver_pool_leak", None).expect("the device starts");
    let allocations = m.pool_allocations();
    assert_eq!(allocations.len(), 1, "{allocations:?}");
    assert_eq!((allocations[0].size, allocations[0].owner.as_str()), (64, IMAGE));
    let stop = m.disable_device(id).expect_err("the unload stops the machine");
    let bc = stop.bug_check().expect("a bug check");
    println!("{stop}");
    assert_eq!(bc.code, 0xC4, "DRIVER_VERIFIER_DETECTED_VIOLATION");
    assert_eq!(bc.params[0], 0x62, "Arg1 0x62: unloading without freeing pool");
    assert_ne!(bc.params[1], 0, "Arg2: the driver's name");
    assert!(bc.param_notes[1].contains(IMAGE));
    assert_eq!(bc.params[3], 1, "Arg4: one allocation not freed");
    assert_eq!(bc.blamed, IMAGE);
}

#[test]
fn without_pool_tracking_only_the_report_shows_it() {
    let m = Machine::new(Settings { pool_tracking: false, ..Settings::default() });
    m.install(IMAGE, "fail_driver_pool_leak", kmdf_sim::exported_driver_entry!());
    let id = m.add_device(r"Root\fail_driver_pool_leak", None).expect("the device starts");
    m.disable_device(id).expect("no stop");
    let report = m.unload_reports().pop().expect("the unload was reported");
    assert_eq!(report.leaked_pool.len(), 1, "{report:?}");
    assert_eq!(report.leaked_pool[0].tag, u32::from(b's'));
}
