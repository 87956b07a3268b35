//! Model-based random testing of the driver: random sequences of PnP events
//! (start, disable, surprise removal, unload at any point) interleaved with
//! IOCTLs — valid ones and arbitrary bytes — run under the simulator with
//! every verifier on, against a plain model of the driver's value store.
//! After every step: no stop, ownership violation, finding or leak; every
//! response agrees with the model; an unprivileged caller is refused; the
//! Information never exceeds the output buffer. At the end the store in the
//! registry equals the model.
//!
//! Long run: `PROPTEST_CASES=20000 cargo test -p wdfkey-guard --test model --release`.
#![cfg(any(not(windows), feature = "sim"))]

use kmdf_sim::control::{Caller, DevnodeState, IoOutcome, Machine, Settings};
use kmdf_sim::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use wdfkey_guard::wire::{self, encode};
use wdfkey_guard::{DEVICE_SDDL, HARDWARE_ID, SERVICE_NAME, driver_entry};

const IMAGE: &str = "wdfkey_guard.sys";
const NAMES: [&str; 3] = ["One", "two", "ONE2"];

fn service_key() -> String {
    kmdf_sim::testing::service_key(SERVICE_NAME)
}

#[derive(Debug, Clone)]
enum Op {
    Start,
    Disable,
    SurpriseRemove,
    Set(usize, u32, Vec<u8>),
    Get(usize, usize),
    Delete(usize),
    Enum(u32),
    Stats,
    Garbage(u32, Vec<u8>, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    prop_oneof![
        2 => Just(Op::Start),
        1 => Just(Op::Disable),
        1 => Just(Op::SurpriseRemove),
        4 => (n.clone(), any::<u32>()).prop_map(|(n, v)| Op::Set(n, REG_DWORD, v.to_le_bytes().to_vec())),
        2 => (n.clone(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(n, b)| Op::Set(n, REG_BINARY, b)),
        3 => (n.clone(), 0usize..48).prop_map(|(n, out)| Op::Get(n, out)),
        2 => n.prop_map(Op::Delete),
        1 => (0u32..5).prop_map(Op::Enum),
        1 => Just(Op::Stats),
        2 => (
            prop_oneof![Just(wire::IOCTL_GET_VALUE), Just(wire::IOCTL_SET_VALUE), Just(wire::IOCTL_DELETE_VALUE), Just(wire::IOCTL_ENUM_VALUES), any::<u32>()],
            proptest::collection::vec(any::<u8>(), 0..32),
            0usize..32,
        )
            .prop_map(|(c, b, o)| Op::Garbage(c, b, o)),
    ]
}

/// The store as the driver should hold it: lower-case name → (type, data).
type Store = BTreeMap<String, (u32, Vec<u8>)>;

fn run(ops: &[Op]) -> Result<(), String> {
    run_with(ops, |_| {})
}

/// `run`, with `behind_the_back` changing the registry after the driver
/// unloaded (to show the final comparison can fail).
fn run_with(ops: &[Op], behind_the_back: impl FnOnce(&Machine)) -> Result<(), String> {
    let m = Machine::new(Settings::default());
    m.registry_seed(&format!("[{}\\Parameters]\nMaxValueSize = dword:64\nTraceLevel = dword:3\n", service_key()))
        .map_err(|e| e.to_string())?;
    m.install(IMAGE, SERVICE_NAME, Some(driver_entry));
    let mut store = Store::new();
    let mut device = None;
    for (step, op) in ops.iter().enumerate() {
        let at = |what: String| format!("step {step} {op:?}: {what}");
        let started = device.is_some_and(|id| m.device_state(id) == Some(DevnodeState::Started));
        match op {
            Op::Start => match device {
                None => device = Some(m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).map_err(|s| at(format!("{s}")))?),
                Some(id) => m.enable_device(id).map_err(|s| at(format!("{s}")))?,
            },
            Op::Disable => {
                if let Some(id) = device {
                    m.disable_device(id).map_err(|s| at(format!("{s}")))?;
                }
            }
            Op::SurpriseRemove => {
                if let Some(id) = device {
                    m.surprise_remove_device(id).map_err(|s| at(format!("{s}")))?;
                }
            }
            _ if !started => continue,
            _ => {
                let id = device.ok_or_else(|| at("no device".into()))?;
                // Device security (F73): a plain user is refused.
                if m.open_device(id, Caller::User).is_ok() {
                    return Err(at("an unprivileged caller opened the device".into()));
                }
                let file = m.open_device(id, Caller::Administrator).map_err(|s| at(format!("open: {s:#x}")))?;
                let (code, input, out) = match op {
                    Op::Set(n, kind, data) => (wire::IOCTL_SET_VALUE, encode::set_request(NAMES[*n], *kind, data), 0),
                    Op::Get(n, out) => (wire::IOCTL_GET_VALUE, encode::name_request(NAMES[*n]), *out),
                    Op::Delete(n) => (wire::IOCTL_DELETE_VALUE, encode::name_request(NAMES[*n]), 0),
                    Op::Enum(i) => (wire::IOCTL_ENUM_VALUES, encode::enum_request(*i), 64),
                    Op::Stats => (wire::IOCTL_GET_STATS, Vec::new(), wire::STATS_LEN),
                    Op::Garbage(c, b, o) => (*c, b.clone(), *o),
                    _ => unreachable!("PnP ops handled above"),
                };
                let (_, outcome) = m
                    .device_io_control(&file, "fuzz.exe", code, &input, out)
                    .map_err(|s| at(format!("stopped: {s}")))?
                    .map_err(|s| at(format!("not delivered: {s:#x}")))?;
                let IoOutcome::Completed { status, information, output } = outcome else {
                    return Err(at("left pending".into()));
                };
                if information as usize > out {
                    return Err(at(format!("Information {information} > output {out}")));
                }
                match op {
                    Op::Set(n, kind, data) => {
                        if status != STATUS_SUCCESS {
                            return Err(at(format!("{status:#x}")));
                        }
                        store.insert(NAMES[*n].to_lowercase(), (*kind, data.clone()));
                    }
                    Op::Get(n, out) => match store.get(&NAMES[*n].to_lowercase()) {
                        None if status == STATUS_OBJECT_NAME_NOT_FOUND => {}
                        Some((kind, data)) if wire::VALUE_HEADER + data.len() <= *out => {
                            if status != STATUS_SUCCESS
                                || output.get(..4) != Some(&kind.to_le_bytes()[..])
                                || output.get(8..) != Some(data.as_slice())
                            {
                                return Err(at(format!("{status:#x} {output:?}, model {kind} {data:?}")));
                            }
                        }
                        Some(_) if status == STATUS_BUFFER_TOO_SMALL || status == STATUS_BUFFER_OVERFLOW => {}
                        want => return Err(at(format!("{status:#x}, model {want:?}"))),
                    },
                    Op::Delete(n) => {
                        let existed = store.remove(&NAMES[*n].to_lowercase()).is_some();
                        let ok =
                            if existed { status == STATUS_SUCCESS } else { status == STATUS_OBJECT_NAME_NOT_FOUND };
                        if !ok {
                            return Err(at(format!("{status:#x}, existed={existed}")));
                        }
                    }
                    Op::Enum(i) => {
                        let ok = if (*i as usize) < store.len() {
                            status == STATUS_SUCCESS
                        } else {
                            status == STATUS_NO_MORE_ENTRIES
                        };
                        if !ok {
                            return Err(at(format!("{status:#x} with {} values", store.len())));
                        }
                    }
                    Op::Stats if status != STATUS_SUCCESS || output.len() != wire::STATS_LEN => {
                        return Err(at(format!("{status:#x}, {} bytes", output.len())));
                    }
                    // Arbitrary bytes may even be a valid request: then the
                    // model no longer knows the store; re-read it.
                    Op::Garbage(..)
                        if NT_SUCCESS(status)
                            && (code == wire::IOCTL_SET_VALUE || code == wire::IOCTL_DELETE_VALUE) =>
                    {
                        store = read_store(&m);
                    }
                    _ => {}
                }
            }
        }
        if let Some(stop) = m.stop() {
            return Err(at(format!("stopped: {stop}")));
        }
        if !m.violations().is_empty() || !m.findings().is_empty() {
            return Err(at(format!("violations {:?}, findings {:?}", m.violations(), m.findings())));
        }
    }
    // Unload at the end (removing the device unloads the driver, F37).
    if let Some(id) = device
        && m.device_state(id) == Some(DevnodeState::Started)
    {
        m.disable_device(id).map_err(|s| format!("final disable: {s}"))?;
    }
    for r in m.unload_reports() {
        if !r.leaked_handles.is_empty() || !r.leaked_objects.is_empty() {
            return Err(format!("leak at unload: {r:?}"));
        }
    }
    behind_the_back(&m);
    let registry = read_store(&m);
    if registry != store {
        return Err(format!("registry store {registry:?} != model {store:?}"));
    }
    Ok(())
}

/// The store as the registry holds it (value names the tests use, plus any
/// a garbage request created).
fn read_store(m: &Machine) -> Store {
    let path = format!(r"{}\State\Store", service_key());
    let mut store = Store::new();
    for name in NAMES {
        if let Some(v) = m.registry_value(&path, name) {
            store.insert(name.to_lowercase(), v);
        }
    }
    store
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_driver_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..50)) {
        if let Err(e) = run(&ops) {
            prop_assert!(false, "{}", e);
        }
    }
}

#[test]
fn a_disagreement_is_reported() {
    let ops = [Op::Start, Op::Set(0, REG_DWORD, vec![1, 0, 0, 0]), Op::Get(0, 64), Op::Enum(0), Op::Disable];
    assert_eq!(run(&ops), Ok(()));
    let r = run_with(&ops, |m| {
        m.registry_seed(&format!("[{}\\State\\Store]\nOne = dword:2\n", service_key())).expect("seed");
    });
    assert!(r.is_err_and(|e| e.contains("registry store")), "a value changed behind the driver's back is reported");
}

#[test]
fn names_cannot_leave_the_store() {
    let m = Machine::new(Settings::default());
    m.registry_seed(&format!("[{}\\Parameters]\nMaxValueSize = dword:64\n", service_key())).expect("seed");
    m.install(IMAGE, SERVICE_NAME, Some(driver_entry));
    let id = m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).expect("no stop");
    let file = m.open_device(id, Caller::Administrator).expect("opens");
    for name in [r"..\Evil", r"Sub\Value", "a/b", "..", ".", "x\0y"] {
        let (_, outcome) = m
            .device_io_control(
                &file,
                "app.exe",
                wire::IOCTL_SET_VALUE,
                &encode::set_request(name, REG_DWORD, &[1, 0, 0, 0]),
                0,
            )
            .expect("no stop")
            .expect("sent");
        let IoOutcome::Completed { status, .. } = outcome else { panic!("pending") };
        assert_eq!(status, STATUS_INVALID_PARAMETER, "{name:?}");
    }
    let state = format!(r"{}\State", service_key());
    for path in [format!(r"{state}\Evil"), format!(r"{state}\Store\Sub"), format!(r"{}\Evil", service_key())] {
        assert!(!m.registry_key_exists(&path), "{path}");
    }
    assert!(m.registry_value(&format!(r"{state}\Store"), "Evil").is_none());
}
