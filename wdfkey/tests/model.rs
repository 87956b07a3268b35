//! Model-based random testing of RegKey: random sequences of operations on a
//! few keys (create, open, assign, query, remove value, remove key, drop,
//! enumerate) run against the simulator with every verifier on and against
//! a plain in-memory model of the registry. After every step the results
//! agree; at the end the driver unloads clean (no stop, violation or leak)
//! and the simulated registry equals the model.
//!
//! CI runs a bounded number of cases; a long run:
//! `PROPTEST_CASES=20000 cargo test -p wdfkey --test model --release`.
//! A failure prints the shrunk sequence and the seed to replay it.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use wdfkey::{Access, Error, RegKey, Volatility};

use kmdf_sim::testing::plain_entry as entry;

const DRV: &str = "modeltest.sys";
const SERVICE: &str = "modeltest";
const ROOT: &str = r"\Registry\Machine\SOFTWARE\WdfKeyModel";
const KEYS: usize = 3;
const NAMES: [&str; 3] = ["Alpha", "beta", "ALPHA2"];

#[derive(Debug, Clone)]
enum Data {
    U32(u32),
    U64(u64),
    Str(String),
    Bin(Vec<u8>),
}

impl Data {
    fn kind_and_bytes(&self) -> (u32, Vec<u8>) {
        match self {
            Data::U32(v) => (REG_DWORD, v.to_le_bytes().to_vec()),
            Data::U64(v) => (REG_QWORD, v.to_le_bytes().to_vec()),
            Data::Str(s) => (REG_SZ, s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()),
            Data::Bin(b) => (REG_BINARY, b.clone()),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Open(usize),
    Assign(usize, usize, Data),
    Query(usize, usize),
    RemoveValue(usize, usize),
    RemoveKey(usize),
    Drop(usize),
    Enumerate(usize),
}

fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        any::<u32>().prop_map(Data::U32),
        any::<u64>().prop_map(Data::U64),
        "[a-zA-Z0-9 ]{0,12}".prop_map(Data::Str),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Data::Bin),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS;
    let n = 0..NAMES.len();
    prop_oneof![
        2 => k.clone().prop_map(Op::Create),
        2 => k.clone().prop_map(Op::Open),
        4 => (k.clone(), n.clone(), data()).prop_map(|(k, n, d)| Op::Assign(k, n, d)),
        3 => (k.clone(), n.clone()).prop_map(|(k, n)| Op::Query(k, n)),
        2 => (k.clone(), n).prop_map(|(k, n)| Op::RemoveValue(k, n)),
        1 => k.clone().prop_map(Op::RemoveKey),
        1 => k.clone().prop_map(Op::Drop),
        1 => k.prop_map(Op::Enumerate),
    ]
}

/// The model: key name → (lower-case value name → (type, bytes)).
type Model = BTreeMap<usize, BTreeMap<String, (u32, Vec<u8>)>>;

fn key_name(k: usize) -> String {
    format!("Key{k}")
}

/// Runs `ops` against the simulator and the model; Err describes the first disagreement.
fn run(ops: &[Op]) -> Result<(), String> {
    run_with(ops, |_| {})
}

/// `run`, with `behind_the_back` changing the simulated registry after the
/// driver unloaded (to show the final comparison can fail).
fn run_with(ops: &[Op], behind_the_back: impl FnOnce(&Machine)) -> Result<(), String> {
    let m = Machine::new(Settings::default());
    m.registry_create_key(ROOT).map_err(|s| format!("root: {s:#x}"))?;
    let loaded = m.load(DRV, SERVICE, Some(entry)).map_err(|s| format!("load: {s}"))?;
    if loaded != STATUS_SUCCESS {
        return Err(format!("DriverEntry: {loaded:#x}"));
    }
    let mut model = Model::new();
    let outcome = m
        .run(DRV, "Model", || -> Result<(), String> {
            let root = RegKey::open_absolute(ROOT, Access::ALL).map_err(|e| format!("root: {e:?}"))?;
            let mut open: Vec<Option<RegKey>> = (0..KEYS).map(|_| None).collect();
            for (step, op) in ops.iter().enumerate() {
                let at = |what: String| format!("step {step} {op:?}: {what}");
                match op {
                    Op::Create(k) => {
                        let (key, _) = root
                            .create_subkey(key_name(*k).as_str(), Access::ALL, Volatility::NonVolatile)
                            .map_err(|e| at(format!("{e:?}")))?;
                        model.entry(*k).or_default();
                        open[*k] = Some(key);
                    }
                    Op::Open(k) => {
                        match (root.open_subkey(key_name(*k).as_str(), Access::ALL), model.contains_key(k)) {
                            (Ok(key), true) => open[*k] = Some(key),
                            (Err(e), false) if e == Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap() => {}
                            (r, exists) => {
                                return Err(at(format!("{:?} but the model says exists={exists}", r.map(|_| ()))));
                            }
                        }
                    }
                    Op::Assign(k, n, d) => {
                        let Some(key) = open[*k].as_ref() else { continue };
                        let r = match d {
                            Data::U32(v) => key.assign_u32(NAMES[*n], *v),
                            Data::U64(v) => key.assign_u64(NAMES[*n], *v),
                            Data::Str(s) => key.assign_string(NAMES[*n], s),
                            Data::Bin(b) => key.assign_binary(NAMES[*n], b),
                        };
                        r.map_err(|e| at(format!("{e:?}")))?;
                        model.entry(*k).or_default().insert(NAMES[*n].to_lowercase(), d.kind_and_bytes());
                    }
                    Op::Query(k, n) => {
                        let Some(key) = open[*k].as_ref() else { continue };
                        let mut buf = [0u8; 64];
                        let got = key.query_value_into(NAMES[*n], &mut buf);
                        let want = model.get(k).and_then(|v| v.get(&NAMES[*n].to_lowercase()));
                        match (got, want) {
                            (Ok(info), Some((kind, bytes))) => {
                                let len = info.len as usize;
                                if info.kind != *kind || buf.get(..len) != Some(bytes.as_slice()) {
                                    return Err(at(format!(
                                        "got type {} {:?}, model {kind} {bytes:?}",
                                        info.kind,
                                        &buf[..len.min(64)]
                                    )));
                                }
                            }
                            (Err(e), None) if e == Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap() => {}
                            (got, want) => return Err(at(format!("got {got:?}, model {want:?}"))),
                        }
                    }
                    Op::RemoveValue(k, n) => {
                        let Some(key) = open[*k].as_ref() else { continue };
                        let existed = model.entry(*k).or_default().remove(&NAMES[*n].to_lowercase()).is_some();
                        match key.remove_value(NAMES[*n]) {
                            Ok(()) if existed => {}
                            Err(e) if !existed && e == Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap() => {}
                            r => return Err(at(format!("{r:?} but the model says existed={existed}"))),
                        }
                    }
                    Op::RemoveKey(k) => {
                        let Some(key) = open[*k].take() else { continue };
                        match key.remove() {
                            Ok(()) => {
                                model.remove(k);
                            }
                            Err((_key, e)) => return Err(at(format!("remove failed: {e:?}"))),
                        }
                    }
                    Op::Drop(k) => open[*k] = None,
                    Op::Enumerate(k) => {
                        let Some(key) = open[*k].as_ref() else { continue };
                        let mut names: Vec<String> = key
                            .value_names()
                            .map(|r| r.map(|(n, _)| String::from_utf16_lossy(&n).to_lowercase()))
                            .collect::<Result<_, _>>()
                            .map_err(|e| at(format!("{e:?}")))?;
                        names.sort();
                        let want: Vec<String> = model.get(k).map(|v| v.keys().cloned().collect()).unwrap_or_default();
                        if names != want {
                            return Err(at(format!("enumerated {names:?}, model {want:?}")));
                        }
                    }
                }
            }
            Ok(())
        })
        .map_err(|stop| format!("the machine stopped: {stop}"))?;
    outcome?;
    let report = m.unload().map_err(|stop| format!("unload stopped: {stop}"))?;
    if !report.leaked_handles.is_empty() || !report.leaked_objects.is_empty() {
        return Err(format!("leaks at unload: {report:?}"));
    }
    if !m.violations().is_empty() {
        return Err(format!("ownership violations: {:?}", m.violations()));
    }
    behind_the_back(&m);
    for k in 0..KEYS {
        let path = format!(r"{ROOT}\{}", key_name(k));
        match model.get(&k) {
            None if m.registry_key_exists(&path) => return Err(format!("{path} exists, the model removed it")),
            None => {}
            Some(values) => {
                if !m.registry_key_exists(&path) {
                    return Err(format!("{path} is missing"));
                }
                for (name, want) in values {
                    let got = m.registry_value(&path, name);
                    if got.as_ref() != Some(want) {
                        return Err(format!("{path}\\{name}: registry {got:?}, model {want:?}"));
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn regkey_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        if let Err(e) = run(&ops) {
            prop_assert!(false, "{}", e);
        }
    }
}

#[test]
fn the_model_check_can_fail() {
    let ops = [Op::Create(0), Op::Assign(0, 0, Data::U32(1)), Op::Query(0, 0), Op::Enumerate(0), Op::Drop(0)];
    assert_eq!(run(&ops), Ok(()));
    let changed = run_with(&ops, |m| {
        m.registry_seed(&format!("[{ROOT}\\Key0]\nAlpha = dword:2\n")).expect("seed");
    });
    assert!(changed.is_err_and(|e| e.contains("Key0\\alpha: registry")), "a changed value is reported");
    let removed = run_with(&ops, |m| {
        m.registry_seed(&format!("[{ROOT}\\Key1]\n")).expect("seed");
    });
    assert!(removed.is_err_and(|e| e.contains("Key1 exists")), "an extra key is reported");
}
