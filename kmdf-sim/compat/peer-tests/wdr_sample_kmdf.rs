//! microsoft/windows-drivers-rs's `examples/sample-kmdf-driver` on kmdf-sim,
//! its manifest untouched but for `"rlib"` (built by
//! `kmdf-sim/scripts/peer-samples.sh --wdr`, which lays the stand-ins where
//! its `../../crates/*` paths point).
//!
//! The device its INF installs (`root\SAMPLE_KMDF_HW_ID`) is added, disabled
//! and enabled 3 times — each last-device removal unloads the driver (F37) —
//! and removed, with every verifier on. Every load prints through `DbgPrint`
//! and `wdk::println!`. The `DriverUnload` it stores in its DRIVER_OBJECT
//! before `WdfDriverCreate` never runs: `WdfDriverCreate` replaces it with
//! the framework's own (F126, fxdriver.cpp `FxDriver::Initialize`), as on
//! Windows.

mod clean;

use kmdf_sim::control::{Machine, Settings};
use sample_kmdf_driver as _;

const LOADS: usize = 4;

#[test]
fn loads_adds_its_device_restarts_3_times_and_unloads_clean() {
    let m = Machine::new(Settings::default());
    m.install("sample_kmdf_driver.sys", "sample_kmdf_driver", kmdf_sim::exported_driver_entry!());
    let id = m.add_device(r"root\SAMPLE_KMDF_HW_ID", None).expect("the device starts");
    for _ in 1..LOADS {
        m.disable_device(id).expect("disable");
        m.enable_device(id).expect("enable");
    }
    m.disable_device(id).expect("the last disable unloads the driver");
    clean::assert_clean(&m, LOADS);
    let key = r"\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\sample_kmdf_driver";
    clean::assert_printed(
        &m,
        &[
            ("Hello World!", LOADS),
            (&format!("KMDF Driver Entry Complete! Driver Registry Parameter Key: {key}"), LOADS),
            ("EvtDriverDeviceAdd Entered!", LOADS),
            ("Goodbye World!", 0),
            ("Driver Exit Complete!", 0),
        ],
    );
    clean::print_clean_figures(
        &m,
        &format!("sample-kmdf-driver run: 1 device, {} disable/enable, {LOADS} loads", LOADS - 1),
    );
}
