//! The driver's own source under the KMDF simulator, with Driver Verifier and
//! the KMDF verifier on (`Settings::default()` models a test VM): load,
//! configuration, the load counter across reloads, every failure path, and a
//! clean unload — no handle or object left, no ownership violation.
#![cfg(any(not(windows), feature = "sim"))]

use kmdf_sim::control::Machine;
use kmdf_sim::*;
use regkey_driver::{Config, DEFAULT_POLL_INTERVAL_MS, MAX_POLL_INTERVAL_MS, SERVICE_NAME, driver_entry, read_config};
use wdfkey::RegKey;

const IMAGE: &str = "regkey_driver.sys";

fn service_key() -> String {
    testing::service_key(SERVICE_NAME)
}

/// A test-VM machine whose service Parameters key holds `values` (the lines
/// an INF's AddReg would provision, in the simulator's `.reg`-like syntax).
fn machine(values: &str) -> Machine {
    testing::machine_with_parameters(SERVICE_NAME, values)
}

fn load_count(m: &Machine) -> Option<u32> {
    // The simulator keeps persistent state under `<service>\State`; a test
    // reads it through the machine, the driver only through its key.
    testing::registry_dword(m, &format!(r"{}\State", service_key()), "LoadCount")
}

#[test]
fn loads_counts_each_load_and_unloads_clean() {
    let m = machine("PollIntervalMs = dword:250\n");
    for expected in 1..=3 {
        let status = m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop");
        assert_eq!(status, STATUS_SUCCESS);
        assert_eq!(load_count(&m), Some(expected));
        // The Parameters key is held open in the driver context until unload.
        assert!(m.live_objects().iter().any(|(_, t)| *t == "WDFKEY"), "{:?}", m.live_objects());
        testing::unload_clean(&m);
    }
}

#[test]
fn configuration_falls_back_to_defaults_and_clamps() {
    for (values, expected) in [
        ("PollIntervalMs = dword:250\n", 250),
        ("", DEFAULT_POLL_INTERVAL_MS),
        ("PollIntervalMs = sz:\"250\"\n", DEFAULT_POLL_INTERVAL_MS),
        ("PollIntervalMs = dword:0\n", 1),
        ("PollIntervalMs = dword:0xffffffff\n", MAX_POLL_INTERVAL_MS),
    ] {
        let m = machine(values);
        assert_eq!(m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop"), STATUS_SUCCESS);
        let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").expect("a driver object").0;
        // Driver code runs inside the machine, attributed to the driver's image.
        let config = m
            .run(IMAGE, "read_config", || {
                // SAFETY: `driver` is the loaded driver's live WDFDRIVER.
                let key = unsafe { RegKey::open_parameters(driver as WDFDRIVER) }.expect("opens");
                read_config(&key)
            })
            .expect("no stop");
        assert_eq!(config, Ok(Config { poll_interval_ms: expected }), "{values:?}");
        testing::unload_clean(&m);
    }
}

#[test]
fn every_failed_call_during_load_is_returned_and_leaves_nothing() {
    let mut points = 0;
    for n in 1.. {
        let m = machine("PollIntervalMs = dword:250\n");
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let status = m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop");
        if m.injected_faults().is_empty() {
            // Past the last call DriverEntry makes: the load succeeds.
            assert_eq!(status, STATUS_SUCCESS);
            testing::unload_clean(&m);
            break;
        }
        points += 1;
        assert_eq!(status, STATUS_INSUFFICIENT_RESOURCES, "call {n}");
        assert!(m.live_objects().is_empty(), "call {n}: {:?}", m.live_objects());
        assert!(m.violations().is_empty(), "call {n}: {:?}", m.violations());
        assert!(n < 100, "DriverEntry makes more calls than expected");
    }
    // WdfDriverCreate, two key opens, a query, an assign at least.
    assert!(points >= 5, "only {points} failure points");
}
