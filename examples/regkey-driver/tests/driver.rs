//! The driver's own source under the KMDF simulator, with Driver Verifier and
//! the KMDF verifier on (`Settings::default()` models a test VM): load,
//! configuration, the load counter across reloads, keys per device across
//! disable/enable, every failure path, and a clean unload — no handle or
//! object left, no ownership violation.
#![cfg(any(not(windows), feature = "sim"))]

use kmdf_sim::control::{DeviceId, DevnodeState, Machine, Settings};
use kmdf_sim::testing::{registry_dword as dword, unload_clean};
use kmdf_sim::*;
use regkey_driver::device::{DEFAULT_CHANNEL, MAX_CHANNEL};
use regkey_driver::{Config, DEFAULT_POLL_INTERVAL_MS, MAX_POLL_INTERVAL_MS, SERVICE_NAME, driver_entry, read_config};
use wdfkey::RegKey;

const IMAGE: &str = "regkey_driver.sys";

fn service_key() -> String {
    kmdf_sim::testing::service_key(SERVICE_NAME)
}

/// A test-VM machine whose service Parameters key holds `values` (the lines
/// an INF's AddReg would provision, in the simulator's `.reg`-like syntax).
fn machine(values: &str) -> Machine {
    let m = Machine::new(Settings::default());
    m.registry_seed(&format!("[{}\\Parameters]\n{values}", service_key())).expect("seed");
    m
}

/// A device's hardware and software keys in the simulator: `Enum\<instance>\Device Parameters`
/// and `Control\Class\<instance with # for \>` (kmdf-sim's layout for a
/// root-enumerated devnode).
fn device_keys(m: &Machine, id: DeviceId) -> (String, String) {
    let (_, instance) = m.device_ids(id).expect("a devnode");
    let root = r"\Registry\Machine\SYSTEM\CurrentControlSet";
    (format!(r"{root}\Enum\{instance}\Device Parameters"), format!(r"{root}\Control\Class\{}", instance.replace('\\', "#")))
}

fn load_count(m: &Machine) -> Option<u32> {
    // The simulator keeps persistent state under `<service>\State`; a test
    // reads it through the machine, the driver only through its key.
    dword(m, &format!(r"{}\State", service_key()), "LoadCount")
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
        unload_clean(&m);
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
        unload_clean(&m);
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
            unload_clean(&m);
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

#[test]
fn each_device_keeps_its_hardware_key_until_its_cleanup() {
    let m = machine("PollIntervalMs = dword:250\n");
    m.install(IMAGE, SERVICE_NAME, Some(driver_entry));
    // The driver loads with its first device, as on Windows.
    let devices = [m.add_device(r"Root\RegKeyDev", None).expect("no stop"), m.add_device(r"Root\RegKeyDev", None).expect("no stop")];
    let (hardware, software) = device_keys(&m, devices[1]);
    // What an INF's `HKR` AddReg in the DDInstall section puts in a device's
    // software key; the driver reads it at the next EvtDriverDeviceAdd.
    m.registry_seed(&format!("[{software}]\nChannel = dword:3\n")).expect("seed");
    for round in 1..=3 {
        for &id in &devices {
            assert_eq!(m.device_state(id), Some(DevnodeState::Started));
        }
        // The Parameters key, and one hardware key per started device.
        assert_eq!(m.live_keys().len(), 1 + devices.len(), "round {round}");
        assert_eq!(dword(&m, &hardware, "Starts"), Some(round));
        let expected_channel = if round == 1 { DEFAULT_CHANNEL } else { 3 };
        assert_eq!(dword(&m, &hardware, "ActiveChannel"), Some(expected_channel));
        // Disable runs the device's cleanup, which closes its key.
        m.disable_device(devices[1]).expect("no stop");
        assert_eq!(m.live_keys().len(), devices.len(), "round {round}: the disabled device's key was closed");
        m.enable_device(devices[1]).expect("no stop");
    }
    assert_eq!(dword(&m, &device_keys(&m, devices[0]).0, "Starts"), Some(1));

    // A bad setting fails the device's start; its key is closed all the same.
    m.registry_seed(&format!("[{software}]\nChannel = dword:{}\n", MAX_CHANNEL + 1)).expect("seed");
    m.disable_device(devices[1]).expect("no stop");
    m.enable_device(devices[1]).expect("no stop");
    assert_eq!(m.device_state(devices[1]), Some(DevnodeState::Failed(STATUS_INVALID_PARAMETER)));
    assert_eq!(m.live_keys().len(), 2);

    for &id in &devices {
        m.disable_device(id).expect("no stop");
    }
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    let reports = m.unload_reports();
    assert!(reports.iter().all(|r| r.leaked_handles.is_empty() && r.leaked_objects.is_empty()), "{reports:?}");
    assert!(m.live_objects().is_empty(), "{:?}", m.live_objects());
}

#[test]
fn every_failed_call_during_device_add_fails_the_start_and_leaves_no_key() {
    let mut points = 0;
    for n in 1.. {
        let m = machine("");
        m.install(IMAGE, SERVICE_NAME, Some(driver_entry));
        // Count from the first call of EvtDriverDeviceAdd on.
        assert_eq!(m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop"), STATUS_SUCCESS);
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let id = m.add_device(r"Root\RegKeyDev", None).expect("no stop");
        if m.injected_faults().is_empty() {
            assert_eq!(m.device_state(id), Some(DevnodeState::Started));
            break;
        }
        points += 1;
        assert_eq!(m.device_state(id), Some(DevnodeState::Failed(STATUS_INSUFFICIENT_RESOURCES)), "call {n}");
        // No device key is left open: with its only device failed, the driver
        // is unloaded too (as PnP does), which closes the Parameters key.
        let parameters = usize::from(m.loaded_service().is_some());
        assert_eq!(m.live_keys().len(), parameters, "call {n}: {:?}", m.live_keys());
        assert!(m.unload_reports().iter().all(|r| r.leaked_handles.is_empty()), "call {n}");
        assert!(m.violations().is_empty(), "call {n}: {:?}", m.violations());
        assert!(n < 100, "EvtDriverDeviceAdd makes more calls than expected");
    }
    // Software key open, query; WdfDeviceCreate; hardware key open, two assigns, a query.
    assert!(points >= 6, "only {points} failure points");
}
