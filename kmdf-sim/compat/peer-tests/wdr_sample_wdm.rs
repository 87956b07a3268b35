//! microsoft/windows-drivers-rs's `examples/sample-wdm-driver` on kmdf-sim,
//! its manifest untouched but for `"rlib"` (built by
//! `kmdf-sim/scripts/peer-samples.sh --wdr`, which lays the stand-ins where
//! its `../../crates/*` paths point).
//!
//! A WDM driver without devices: the I/O manager loads it (DriverEntry
//! prints through `DbgPrint` and `wdk::println!` and sets `DriverUnload`)
//! and unloads it, calling that `DriverUnload` — three times, with every
//! verifier on.

mod clean;

use kmdf_sim::STATUS_SUCCESS;
use kmdf_sim::control::{Machine, Settings};
use sample_wdm_driver as _;

const LOADS: usize = 3;

#[test]
fn loads_and_unloads_through_its_driver_unload_3_times_clean() {
    let m = Machine::new(Settings::default());
    for _ in 0..LOADS {
        let status = m
            .load("sample_wdm_driver.sys", "sample_wdm_driver", kmdf_sim::exported_driver_entry!())
            .unwrap_or_else(|stop| panic!("DriverEntry stopped the machine:\n{stop}"));
        assert_eq!(status, STATUS_SUCCESS);
        let report = m.unload().unwrap_or_else(|stop| panic!("the unload stopped the machine:\n{stop}"));
        assert!(report.leaked_pool.is_empty() && report.leaked_objects.is_empty() && report.leaked_handles.is_empty());
    }
    // Unloads a test asks for are reported to it, not kept by the machine.
    clean::assert_clean(&m, 0);
    let key = r"\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\sample_wdm_driver";
    clean::assert_printed(
        &m,
        &[
            ("Hello World!", LOADS),
            (&format!("WDM Driver Entry Complete! Driver Registry Parameter Key: {key}"), LOADS),
            ("Goodbye World!", LOADS),
            ("Driver Exit Complete!", LOADS),
        ],
    );
    clean::print_clean_figures(&m, &format!("sample-wdm-driver run: {LOADS} loads and unloads"));
}
