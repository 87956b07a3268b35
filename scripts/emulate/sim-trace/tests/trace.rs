//! The simulator's side of the emulation comparison: what `wdfkey-sim-trace`
//! prints for each variant, checked through the binary itself.

use serde_json::Value;
use std::process::Command;

fn trace(variant: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_wdfkey-sim-trace"))
        .args(["--variant", variant])
        .output()
        .expect("wdfkey-sim-trace runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn calls(doc: &Value) -> Vec<(String, Option<i64>, Vec<String>)> {
    doc["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .map(|c| {
            let registry = c["registry"].as_array().expect("registry").iter();
            (
                c["routine"].as_str().expect("routine").to_string(),
                c["status"].as_i64(),
                registry.map(|r| r.as_str().expect("text").to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn the_reference_scenario_records_every_call_in_order_with_its_registry_access() {
    let doc = trace("reference");
    let calls = calls(&doc);
    assert_eq!(calls.first().map(|c| c.0.as_str()), Some("WdfDriverCreate"), "{calls:#?}");
    // DriverEntry reads the two seeded Parameters values, in the source's order.
    let reads: Vec<_> = calls.iter().flat_map(|c| &c.2).filter(|r| r.starts_with("read ")).take(3).collect();
    assert!(reads[0].ends_with(r"\parameters:MaxValueSize = 4:00040000"), "{reads:?}");
    assert!(reads[1].ends_with(r"\parameters:TraceLevel = 4:03000000"), "{reads:?}");
    assert!(reads[2].ends_with(r"\state:LoadCount absent"), "{reads:?}");
    // The absent LoadCount is STATUS_OBJECT_NAME_NOT_FOUND (F23), then written as 1.
    let absent = calls.iter().find(|c| c.2.iter().any(|r| r.ends_with("LoadCount absent"))).expect("LoadCount");
    assert_eq!((absent.0.as_str(), absent.1), ("WdfRegistryQueryULong", Some(0xC000_0034_u32 as i32 as i64)));
    assert!(calls.iter().any(|c| c.2.iter().any(|r| r.ends_with(r"\state:LoadCount = 4:01000000"))));
    // Every key the driver opened is closed again by the framework's DDIs, never by ZwClose.
    let opened = calls.iter().flat_map(|c| &c.2).filter(|r| r.starts_with("open ") || r.starts_with("create ")).count();
    let closed = calls.iter().flat_map(|c| &c.2).filter(|r| r.starts_with("close ")).count();
    assert_eq!(opened, closed, "{calls:#?}");
    assert!(!calls.iter().any(|c| c.0 == "ZwClose"));
    // Each IOCTL was completed; the unknown code with STATUS_INVALID_DEVICE_REQUEST.
    let io = doc["io"].as_array().expect("io");
    let steps = doc["steps"].as_array().expect("steps");
    assert_eq!(io.len(), steps.iter().filter(|s| s["step"] == "ioctl").count());
    assert_eq!(io.last().map(|r| r["status"].as_i64()), Some(Some(0xC000_0010_u32 as i32 as i64)));
    assert!(doc["stop"].is_null() && doc["violations"].as_array().is_some_and(Vec::is_empty), "{doc}");
}

#[test]
fn the_raw_variant_closes_its_keys_handle_and_the_framework_bug_checks() {
    let doc = trace("raw");
    let calls = calls(&doc);
    let close = calls.iter().position(|c| c.0 == "ZwClose").expect("the driver's own ZwClose");
    assert_eq!(calls[close - 1].0, "WdfRegistryWdmGetHandle", "{calls:#?}");
    assert!(calls[close].2.iter().any(|r| r.starts_with("close ") && r.ends_with(r"\wdfkey_raw_variant\parameters")));
    let stop = doc["stop"].as_str().expect("a stop");
    assert!(stop.contains("INVALID_KERNEL_HANDLE (93)"), "{stop}");
}

#[test]
fn a_bad_variant_is_refused_with_exit_status_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_wdfkey-sim-trace")).args(["--variant", "nope"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variant"));
}
