//! The reference driver's own source under the simulator with every verifier
//! on (Settings::default() is the test VM): unload from every state, the
//! IOCTL contract, fault sweeps, and LoadCount across reloads.
#![cfg(any(not(windows), feature = "sim"))]

use kmdf_sim::control::{Caller, DeviceFile, DevnodeState, IoOutcome, Machine, Settings};
use kmdf_sim::*;
use wdfkey_guard::wire::{self, Stats, encode};
use wdfkey_guard::{DEVICE_SDDL, HARDWARE_ID, SERVICE_NAME, driver_entry};

const IMAGE: &str = "wdfkey_guard.sys";

fn service_key() -> String {
    testing::service_key(SERVICE_NAME)
}

fn machine() -> Machine {
    let m = Machine::new(Settings::default());
    // What the INF's AddReg provisions (issue: packaging).
    m.registry_seed(&format!("[{}\\Parameters]\nMaxValueSize = dword:64\nTraceLevel = dword:3\n", service_key()))
        .expect("seed");
    m.install(IMAGE, SERVICE_NAME, Some(driver_entry));
    m
}

fn load_count(m: &Machine) -> Option<u32> {
    testing::registry_dword(m, &format!(r"{}\State", service_key()), "LoadCount")
}

fn started(m: &Machine) -> (usize, DeviceFile) {
    let id = m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).expect("no stop");
    assert_eq!(m.device_state(id), Some(DevnodeState::Started));
    let file = m.open_device(id, Caller::Administrator).expect("an administrator may open it");
    (id, file)
}

fn ioctl(m: &Machine, file: &DeviceFile, code: u32, input: &[u8], out: usize) -> (NTSTATUS, u64, Vec<u8>) {
    let (_, outcome) = m.device_io_control(file, "app.exe", code, input, out).expect("no stop").expect("sent");
    match outcome {
        IoOutcome::Completed { status, information, output } => {
            assert!(information as usize <= out, "Information within the output buffer");
            (status, information, output)
        }
        IoOutcome::Pending => panic!("the driver completes every request"),
    }
}

#[test]
fn load_and_unload_without_a_device_counts_loads() {
    let m = machine();
    for expected in 1..=3 {
        assert_eq!(m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop"), STATUS_SUCCESS);
        assert_eq!(load_count(&m), Some(expected), "LoadCount is persisted and incremented");
        let report = m.unload().expect("no stop");
        assert!(report.leaked_handles.is_empty() && report.leaked_objects.is_empty(), "{report:?}");
    }
    assert!(m.live_objects().is_empty());
    testing::assert_clean(&m);
}

#[test]
fn every_value_type_round_trips() {
    let m = machine();
    let (id, file) = started(&m);
    let multi: Vec<u8> = "a\0bc\0\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let sz: Vec<u8> = "hello\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let values: [(&str, u32, Vec<u8>); 6] = [
        ("Dword", REG_DWORD, 7u32.to_le_bytes().to_vec()),
        ("Qword", REG_QWORD, (1u64 << 40).to_le_bytes().to_vec()),
        ("Sz", REG_SZ, sz.clone()),
        ("Expand", REG_EXPAND_SZ, sz),
        ("Multi", REG_MULTI_SZ, multi),
        ("Bin", REG_BINARY, vec![1, 2, 3]),
    ];
    for (name, kind, data) in &values {
        let (st, info, _) = ioctl(&m, &file, wire::IOCTL_SET_VALUE, &encode::set_request(name, *kind, data), 0);
        assert_eq!((st, info), (STATUS_SUCCESS, 0), "{name}");
        let (st, info, out) = ioctl(&m, &file, wire::IOCTL_GET_VALUE, &encode::name_request(name), 64);
        assert_eq!(st, STATUS_SUCCESS, "{name}");
        assert_eq!(info as usize, wire::VALUE_HEADER + data.len());
        assert_eq!(&out[..4], &kind.to_le_bytes());
        assert_eq!(&out[8..], data.as_slice(), "{name}");
    }
    let mut names = Vec::new();
    for index in 0.. {
        let (st, info, out) = ioctl(&m, &file, wire::IOCTL_ENUM_VALUES, &encode::enum_request(index), 64);
        if st == STATUS_NO_MORE_ENTRIES {
            break;
        }
        assert_eq!(st, STATUS_SUCCESS);
        let units = u16::from_le_bytes([out[4], out[5]]) as usize;
        assert_eq!(info as usize, wire::ENUM_HEADER + units * 2);
        let name: Vec<u16> = out[8..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        names.push(String::from_utf16(&name).unwrap());
    }
    assert_eq!(names.len(), 6, "{names:?}");
    let (st, _, _) = ioctl(&m, &file, wire::IOCTL_DELETE_VALUE, &encode::name_request("Bin"), 0);
    assert_eq!(st, STATUS_SUCCESS);
    let (st, _, _) = ioctl(&m, &file, wire::IOCTL_GET_VALUE, &encode::name_request("Bin"), 64);
    assert_eq!(st, STATUS_OBJECT_NAME_NOT_FOUND);
    let (st, info, out) = ioctl(&m, &file, wire::IOCTL_GET_STATS, &[], wire::STATS_LEN);
    assert_eq!((st, info as usize), (STATUS_SUCCESS, wire::STATS_LEN));
    let stats = Stats::decode(&out).unwrap();
    assert_eq!(stats.load_count, 1);
    assert_eq!(stats.failures, 2, "the ENUM past the last value and the GET of the deleted one");
    assert_eq!(stats.keys_opened, stats.keys_closed + 1, "only Parameters stays open while loaded");
    m.disable_device(id).expect("no stop");
    assert!(m.live_keys().is_empty());
    testing::assert_clean(&m);
}

#[test]
fn malformed_requests_are_refused_and_change_nothing() {
    let m = machine();
    let (_, file) = started(&m);
    let (st, _, _) =
        ioctl(&m, &file, wire::IOCTL_SET_VALUE, &encode::set_request("Keep", REG_DWORD, &1u32.to_le_bytes()), 0);
    assert_eq!(st, STATUS_SUCCESS);
    let store = format!(r"{}\State\Store", service_key());
    let before = m.registry_value(&store, "Keep");
    let long = "x".repeat(wire::MAX_NAME_UNITS + 1);
    let mut reserved = encode::name_request("a");
    reserved[2] = 1;
    let mut trailing = encode::name_request("a");
    trailing.push(0);
    let cases: Vec<(&str, u32, Vec<u8>, usize, NTSTATUS)> = vec![
        ("no input", wire::IOCTL_GET_VALUE, vec![], 64, STATUS_BUFFER_TOO_SMALL),
        ("short header", wire::IOCTL_SET_VALUE, vec![1, 0], 0, STATUS_BUFFER_TOO_SMALL),
        ("empty name", wire::IOCTL_GET_VALUE, encode::name_request(""), 64, STATUS_INVALID_PARAMETER),
        (
            "backslash",
            wire::IOCTL_SET_VALUE,
            encode::set_request(r"..\Parameters", REG_DWORD, &[0; 4]),
            0,
            STATUS_INVALID_PARAMETER,
        ),
        ("slash", wire::IOCTL_DELETE_VALUE, encode::name_request("a/b"), 0, STATUS_INVALID_PARAMETER),
        ("dotdot", wire::IOCTL_SET_VALUE, encode::set_request("..", REG_DWORD, &[0; 4]), 0, STATUS_INVALID_PARAMETER),
        ("nul", wire::IOCTL_DELETE_VALUE, encode::name_request("Ke\0ep"), 0, STATUS_INVALID_PARAMETER),
        ("too long", wire::IOCTL_GET_VALUE, encode::name_request(&long), 64, STATUS_INVALID_PARAMETER),
        ("reserved", wire::IOCTL_DELETE_VALUE, reserved, 0, STATUS_INVALID_PARAMETER),
        ("trailing", wire::IOCTL_DELETE_VALUE, trailing, 0, STATUS_INVALID_PARAMETER),
        (
            "dword of 3",
            wire::IOCTL_SET_VALUE,
            encode::set_request("Keep", REG_DWORD, &[1, 2, 3]),
            0,
            STATUS_INVALID_PARAMETER,
        ),
        ("unknown type", wire::IOCTL_SET_VALUE, encode::set_request("Keep", 9, &[]), 0, STATUS_INVALID_PARAMETER),
        (
            "over MaxValueSize",
            wire::IOCTL_SET_VALUE,
            encode::set_request("Keep", REG_BINARY, &[0; 65]),
            0,
            STATUS_INVALID_PARAMETER,
        ),
        ("output too small", wire::IOCTL_GET_VALUE, encode::name_request("Keep"), 11, STATUS_BUFFER_TOO_SMALL),
        ("stats buffer too small", wire::IOCTL_GET_STATS, vec![], 19, STATUS_BUFFER_TOO_SMALL),
        ("enum short", wire::IOCTL_ENUM_VALUES, vec![0, 0], 64, STATUS_BUFFER_TOO_SMALL),
        ("unknown ioctl", 0x0022_2FFC, vec![], 0, STATUS_INVALID_DEVICE_REQUEST),
    ];
    for (what, code, input, out, expected) in cases {
        let (st, info, _) = ioctl(&m, &file, code, &input, out);
        assert_eq!((st, info), (expected, 0), "{what}");
    }
    assert_eq!(m.registry_value(&store, "Keep"), before, "nothing changed");
    assert!(!m.registry_key_exists(&format!(r"{}\Parameters\x", service_key())));
    testing::assert_clean(&m);
}

#[test]
fn an_unprivileged_open_is_refused() {
    let m = machine();
    let id = m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).expect("no stop");
    assert_eq!(m.open_device(id, Caller::User).map(|_| ()), Err(STATUS_ACCESS_DENIED));
    assert!(m.open_device(id, Caller::System).is_ok());
}

#[test]
fn driver_entry_failing_at_each_call_unloads_cleanly() {
    let mut points = 0;
    for n in 1.. {
        let m = machine();
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let status = m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop");
        if m.injected_faults().is_empty() {
            assert_eq!(status, STATUS_SUCCESS);
            break;
        }
        points += 1;
        assert_eq!(status, STATUS_INSUFFICIENT_RESOURCES, "call {n}");
        assert!(m.live_objects().is_empty(), "call {n}: {:?}", m.live_objects());
        testing::assert_clean(&m);
    }
    assert!(
        points >= 8,
        "WdfDriverCreate, Parameters, two queries, state key, LoadCount query and assign, Store: {points}"
    );
}

#[test]
fn device_add_failing_at_each_call_leaves_nothing() {
    let mut points = 0;
    for n in 1.. {
        let m = machine();
        m.load(IMAGE, SERVICE_NAME, Some(driver_entry)).expect("no stop");
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let id = m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).expect("no stop");
        if m.injected_faults().is_empty() {
            assert_eq!(m.device_state(id), Some(DevnodeState::Started));
            break;
        }
        points += 1;
        assert_eq!(m.device_state(id), Some(DevnodeState::Failed(STATUS_INSUFFICIENT_RESOURCES)), "call {n}");
        assert_eq!(m.loaded_service(), None, "call {n}: F37, no device left");
        assert!(m.live_objects().is_empty(), "call {n}");
        testing::assert_clean(&m);
    }
    assert!(points >= 5, "{points}");
}

#[test]
fn a_hundred_disable_enable_cycles_then_unload() {
    let m = machine();
    let (id, file) = started(&m);
    let (st, _, _) = ioctl(&m, &file, wire::IOCTL_SET_VALUE, &encode::set_request("Keep", REG_DWORD, &[1, 0, 0, 0]), 0);
    assert_eq!(st, STATUS_SUCCESS);
    for _ in 0..100 {
        m.disable_device(id).expect("no stop");
        m.enable_device(id).expect("no stop");
    }
    m.disable_device(id).expect("no stop");
    assert_eq!(load_count(&m), Some(101), "one load per enable, each one counted");
    assert_eq!(m.unload_reports().len(), 101);
    assert!(m.live_objects().is_empty());
    testing::assert_clean(&m);
}

#[test]
fn surprise_removal_after_io_is_clean() {
    let m = machine();
    let (id, file) = started(&m);
    let (st, _, _) = ioctl(&m, &file, wire::IOCTL_GET_STATS, &[], wire::STATS_LEN);
    assert_eq!(st, STATUS_SUCCESS);
    m.surprise_remove_device(id).expect("no stop");
    assert_eq!(m.loaded_service(), None);
    testing::assert_clean(&m);
}

#[test]
fn the_driver_source_never_closes_a_handle_itself() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        for banned in ["ZwClose", "NtClose", "ObCloseHandle"] {
            assert!(!text.contains(banned), "{} names {banned} (K2)", path.display());
        }
    }
}

#[test]
fn the_driver_page_lists_the_ioctl_codes_the_driver_uses() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/driver.md"))
        .expect("docs/driver.md");
    for (name, code) in [
        ("IOCTL_GET_VALUE", wire::IOCTL_GET_VALUE),
        ("IOCTL_SET_VALUE", wire::IOCTL_SET_VALUE),
        ("IOCTL_DELETE_VALUE", wire::IOCTL_DELETE_VALUE),
        ("IOCTL_ENUM_VALUES", wire::IOCTL_ENUM_VALUES),
        ("IOCTL_GET_STATS", wire::IOCTL_GET_STATS),
    ] {
        let row = format!("| `{name}` | `{code:#010X}` |").replace("0X", "0x");
        assert!(readme.contains(&row), "docs/driver.md's IOCTL table lacks {row}");
    }
}
