//! `wdfkey-sim-trace`: the scenario `scripts/emulate/emulate.py` drives the
//! linked `.sys` through, run here on kmdf-sim with the driver's source, and
//! printed as one JSON document: the scenario (so the emulator drives the
//! very same steps), the registry seed, the IOCTL results, and kmdf-sim's
//! call record (`Machine::call_record`) — the trace the emulated binary's is
//! compared with.
//!
//! ```text
//! wdfkey-sim-trace [--variant reference|raw]
//! ```
//!
//! `reference` is the project's driver (`wdfkey-guard`); `raw` is the seed
//! bug's driver (`wdfkey-raw-variant`), which `ZwClose`s its WDFKEY's handle
//! in EvtDriverUnload.
//!
//! Exit status: 0 the scenario ran (whatever the driver did: the trace says
//! it); 2 bad arguments.

use kmdf_sim::control::{Caller, IoOutcome, Machine, Settings};
use serde_json::{Value, json};
use wdfkey_guard::wire::{self, encode};

/// Where the machine keeps services (kmdf-sim's `Machine::load`).
const SERVICES: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services";
const REG_SZ: u32 = 1;
const REG_DWORD: u32 = 4;
/// A control code no driver of the project serves.
const IOCTL_UNKNOWN: u32 = wire::ctl_code(0x22, 0x8ff, 0, 0);

/// One step of the scenario.
#[derive(Debug)]
enum Step {
    /// The service is started: FxDriverEntry, DriverEntry.
    Load,
    /// A devnode with the driver's hardware ID appears: EvtDriverDeviceAdd.
    Add,
    /// An IOCTL from user mode on the device.
    Ioctl { name: &'static str, code: u32, input: Vec<u8>, output_len: usize },
    /// The devnode is removed (orderly removal).
    Remove,
    /// The driver is unloaded (the PnP manager unloads it with its last device).
    Unload,
}

/// A driver the scenario runs.
struct Variant {
    name: &'static str,
    image: &'static str,
    service: &'static str,
    entry: kmdf_sim::DRIVER_INITIALIZE,
    /// Whether it serves a device (the raw variant is a bare DriverEntry
    /// and unload).
    pnp: bool,
}

fn variant(name: &str) -> Option<Variant> {
    match name {
        "reference" => Some(Variant {
            name: "reference",
            image: "wdfkey_guard.sys",
            service: wdfkey_guard::SERVICE_NAME,
            entry: Some(wdfkey_guard::driver_entry),
            pnp: true,
        }),
        "raw" => Some(Variant {
            name: "raw",
            image: "wdfkey_raw_variant.sys",
            service: wdfkey_raw_variant::SERVICE_NAME,
            entry: Some(wdfkey_raw_variant::driver_entry),
            pnp: false,
        }),
        _ => None,
    }
}

/// The scenario: load, add the device, every IOCTL the driver serves (and
/// one it does not), remove the device, unload.
fn scenario(v: &Variant) -> Vec<Step> {
    if !v.pnp {
        return vec![Step::Load, Step::Unload];
    }
    let greeting: Vec<u8> = "hi\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let ioctl = |name, code, input, output_len| Step::Ioctl { name, code, input, output_len };
    vec![
        Step::Load,
        Step::Add,
        ioctl(
            "SET_VALUE Greeting REG_SZ \"hi\"",
            wire::IOCTL_SET_VALUE,
            encode::set_request("Greeting", REG_SZ, &greeting),
            0,
        ),
        ioctl("GET_VALUE Greeting", wire::IOCTL_GET_VALUE, encode::name_request("Greeting"), 64),
        ioctl("ENUM_VALUES 0", wire::IOCTL_ENUM_VALUES, encode::enum_request(0), 64),
        ioctl("DELETE_VALUE Greeting", wire::IOCTL_DELETE_VALUE, encode::name_request("Greeting"), 0),
        ioctl("GET_VALUE Greeting (deleted)", wire::IOCTL_GET_VALUE, encode::name_request("Greeting"), 64),
        ioctl("GET_STATS", wire::IOCTL_GET_STATS, Vec::new(), wire::STATS_LEN),
        ioctl("unknown control code", IOCTL_UNKNOWN, Vec::new(), 0),
        Step::Remove,
        Step::Unload,
    ]
}

/// The Parameters values DriverEntry reads (docs/facts.md F74: the INF
/// provisions them).
fn seed(v: &Variant) -> Vec<(String, &'static str, u32, Vec<u8>)> {
    let parameters = format!(r"{SERVICES}\{}\Parameters", v.service);
    vec![
        (parameters.clone(), "MaxValueSize", REG_DWORD, 1024u32.to_le_bytes().to_vec()),
        (parameters, "TraceLevel", REG_DWORD, 3u32.to_le_bytes().to_vec()),
    ]
}

/// Field offsets and sizes of the structures the emulator's framework model
/// reads and writes, from the simulator's surface — generated from the real
/// wdk-sys 0.5.2 bindings, bindgen's output for the KMDF 1.33 headers, which
/// is what the driver is compiled against (x64 layout: LLP64, 8-byte
/// pointers).
fn layouts() -> Value {
    use core::mem::{offset_of, size_of};
    use kmdf_sim::*;
    macro_rules! offsets {
        ($($ty:ident . $field:ident),* $(,)?) => {
            [$((concat!(stringify!($ty), ".", stringify!($field)), offset_of!($ty, $field))),*]
        };
    }
    let mut map = serde_json::Map::new();
    for (name, at) in offsets![
        WDF_OBJECT_ATTRIBUTES.EvtCleanupCallback,
        WDF_OBJECT_ATTRIBUTES.EvtDestroyCallback,
        WDF_OBJECT_ATTRIBUTES.ParentObject,
        WDF_OBJECT_ATTRIBUTES.ContextSizeOverride,
        WDF_OBJECT_ATTRIBUTES.ContextTypeInfo,
        WDF_OBJECT_CONTEXT_TYPE_INFO.ContextSize,
        WDF_OBJECT_CONTEXT_TYPE_INFO.UniqueType,
        WDF_DRIVER_CONFIG.EvtDriverDeviceAdd,
        WDF_DRIVER_CONFIG.EvtDriverUnload,
        WDF_DRIVER_CONFIG.DriverInitFlags,
        WDF_DRIVER_GLOBALS.Driver,
        WDF_DRIVER_GLOBALS.DisplaceDriverUnload,
        WDF_IO_QUEUE_CONFIG.DispatchType,
        WDF_IO_QUEUE_CONFIG.DefaultQueue,
        WDF_IO_QUEUE_CONFIG.EvtIoDeviceControl,
        DRIVER_OBJECT.DriverUnload,
        UNICODE_STRING.Length,
        UNICODE_STRING.Buffer,
    ] {
        map.insert(name.into(), at.into());
    }
    map.insert("sizeof WDF_OBJECT_ATTRIBUTES".into(), size_of::<WDF_OBJECT_ATTRIBUTES>().into());
    map.insert("sizeof WDF_DRIVER_GLOBALS".into(), size_of::<WDF_DRIVER_GLOBALS>().into());
    Value::Object(map)
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn step_json(step: &Step) -> Value {
    match step {
        Step::Load => json!({"step": "load"}),
        Step::Add => json!({"step": "add", "hardware_id": wdfkey_guard::HARDWARE_ID}),
        Step::Ioctl { name, code, input, output_len } => {
            json!({"step": "ioctl", "name": name, "code": code, "input": hex(input), "output_len": output_len})
        }
        Step::Remove => json!({"step": "remove"}),
        Step::Unload => json!({"step": "unload"}),
    }
}

/// Runs the scenario on a fresh machine and returns the document.
fn run(v: &Variant) -> Value {
    let m = Machine::new(Settings::default());
    let seed = seed(v);
    for (path, name, kind, data) in &seed {
        if let Err(st) = m.registry_set_value(path, name, *kind, data) {
            eprintln!("wdfkey-sim-trace: seeding {path}\\{name} failed: {st:#x}");
        }
    }
    m.install(v.image, v.service, v.entry);
    let steps = scenario(v);
    m.record_calls(true);
    let mut device = None;
    let mut io = Vec::new();
    let mut ends = Vec::new();
    let mut errors = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let result = match step {
            Step::Load => m.load(v.image, v.service, v.entry).map(|st| {
                if !kmdf_sim::NT_SUCCESS(st) {
                    errors.push(format!("step {i}: DriverEntry returned {st:#010x}"));
                }
            }),
            Step::Add => m.add_device(wdfkey_guard::HARDWARE_ID, None).map(|id| device = Some(id)),
            Step::Ioctl { code, input, output_len, .. } => match device.map(|id| m.open_device(id, Caller::System)) {
                None => {
                    errors.push(format!("step {i}: no device to send the IOCTL to"));
                    Ok(())
                }
                Some(Err(st)) => {
                    errors.push(format!("step {i}: opening the device failed: {st:#010x}"));
                    Ok(())
                }
                Some(Ok(file)) => m.device_io_control(&file, "app.exe", *code, input, *output_len).map(|r| {
                    io.push(match r {
                        Ok((_, IoOutcome::Completed { status, information, output })) => {
                            json!({"step": i, "status": status, "information": information, "output": hex(&output)})
                        }
                        Ok((_, IoOutcome::Pending)) => json!({"step": i, "pending": true}),
                        Err(st) => json!({"step": i, "send_status": st}),
                    });
                }),
            },
            Step::Remove => match device.take() {
                Some(id) => m.disable_device(id),
                None => Ok(()),
            },
            Step::Unload => {
                if m.loaded_service().is_some() {
                    m.unload().map(|_| ())
                } else {
                    Ok(())
                }
            }
        };
        ends.push(m.call_record().len());
        if result.is_err() {
            break;
        }
    }
    let record = m.call_record();
    let mut trace = Vec::new();
    let mut step = 0;
    for (n, call) in record.iter().enumerate() {
        while ends.get(step).is_some_and(|&end| n >= end) {
            step += 1;
        }
        trace.push(json!({
            "step": step,
            "routine": call.routine,
            "depth": call.depth,
            "status": call.status,
            "registry": call.registry.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
    }
    json!({
        "tool": "wdfkey-sim-trace",
        "variant": v.name,
        "image": v.image,
        "service": v.service,
        "registry_path": format!(r"{SERVICES}\{}", v.service),
        "seed": seed.iter().map(|(path, name, kind, data)| {
            json!({"path": path, "name": name, "kind": kind, "data": hex(data)})
        }).collect::<Vec<_>>(),
        "steps": steps.iter().map(step_json).collect::<Vec<_>>(),
        "layouts": layouts(),
        "trace": trace,
        "io": io,
        "errors": errors,
        "stop": m.stop().map(|s| s.to_string()),
        "violations": m.violations().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = match args.as_slice() {
        [] => "reference",
        [flag, v] if flag == "--variant" => v.as_str(),
        [h] if h == "-h" || h == "--help" => {
            println!("usage: wdfkey-sim-trace [--variant reference|raw]\n\n{}", include_str!("../USAGE.txt"));
            return;
        }
        _ => {
            eprintln!("wdfkey-sim-trace: usage: wdfkey-sim-trace [--variant reference|raw]");
            std::process::exit(2);
        }
    };
    let Some(v) = variant(name) else {
        eprintln!("wdfkey-sim-trace: unknown variant {name:?}: use reference or raw");
        std::process::exit(2);
    };
    println!("{}", run(&v));
}

// Unit tests, not integration tests running the binary: the binary's dev build
// has `panic = "abort"` (the driver's profile) and the test build `unwind`,
// and the two builds of the drivers' cdylibs would share their file names.
#[cfg(test)]
mod tests {
    use super::*;

    fn trace(name: &str) -> Value {
        run(&variant(name).expect("a variant"))
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
        let opened =
            calls.iter().flat_map(|c| &c.2).filter(|r| r.starts_with("open ") || r.starts_with("create ")).count();
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
        assert!(
            calls[close].2.iter().any(|r| r.starts_with("close ") && r.ends_with(r"\wdfkey_raw_variant\parameters"))
        );
        let stop = doc["stop"].as_str().expect("a stop");
        assert!(stop.contains("INVALID_KERNEL_HANDLE (93)"), "{stop}");
    }

    #[test]
    fn only_the_two_variants_exist() {
        assert!(variant("reference").is_some() && variant("raw").is_some());
        assert!(variant("nope").is_none());
    }
}
