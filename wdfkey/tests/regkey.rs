//! `RegKey` under the simulator with every verifier on (Settings::default()
//! is the test VM): each method against the framework's semantics, keys in
//! every state at unload, fault injection, bad input, and the original
//! crash's sequence written with RegKey.

use kmdf_sim::control::{Machine, ReusePolicy, Settings};
use kmdf_sim::*;
use wdfkey::{Access, Disposition, Error, ParentObject, Query, RegKey, Volatility};

use kmdf_sim::testing::plain_entry;

const DRV: &str = "keytest.sys";
const SERVICE: &str = "keytest";
const SERVICE_KEY: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\keytest";

/// A test-VM machine with the driver loaded and its INF values seeded.
fn loaded(settings: Settings) -> (Machine, WDFDRIVER) {
    let m = Machine::new(settings);
    m.registry_seed(&format!("[{SERVICE_KEY}\\Parameters]\nTraceLevel = dword:3\nName = sz:\"abc\"\n")).expect("seed");
    assert_eq!(m.load(DRV, SERVICE, Some(plain_entry)).expect("loads"), STATUS_SUCCESS);
    let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").expect("driver").0;
    (m, driver as WDFDRIVER)
}

/// Unloads and asserts nothing was left behind or broken.
fn unload_clean(m: &Machine) {
    let report = m.unload().unwrap_or_else(|stop| panic!("stopped: {stop}"));
    assert!(report.leaked_handles.is_empty() && report.leaked_objects.is_empty(), "{report:?}");
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.live_objects().is_empty());
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

#[test]
fn a_regkey_is_one_thin_pointer() {
    assert_eq!(size_of::<RegKey>(), size_of::<WDFKEY>());
    assert_eq!(size_of::<Option<RegKey>>(), size_of::<WDFKEY>());
}

#[test]
fn typed_values_round_trip() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "Test", || {
        // SAFETY: `driver` is the live WDFDRIVER.
        let key = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }.expect("opens");
        key.assign_u32("Dword", 7).unwrap();
        key.assign_u64("Qword", 1 << 40).unwrap();
        key.assign_string("Sz", "héllo").unwrap();
        key.assign_string("EmptySz", "").unwrap();
        key.assign_expand_string("Expand", "%SystemRoot%").unwrap();
        key.assign_multi_string("Multi", &["a", "bc"]).unwrap();
        key.assign_multi_string("NoItems", &[]).unwrap();
        key.assign_binary("Bin", &[1, 2, 3]).unwrap();

        assert_eq!(key.query_u32("Dword"), Ok(7));
        assert_eq!(key.query_u64("Qword"), Ok(1 << 40));
        assert_eq!(key.query_string("Sz").unwrap(), utf16("héllo"));
        assert_eq!(key.query_string("EmptySz").unwrap(), Vec::<u16>::new());
        assert_eq!(key.query_string("Expand").unwrap(), utf16("%SystemRoot%"));
        let multi = key.query_multi_string("Multi").unwrap();
        assert_eq!(multi.iter().collect::<Vec<_>>(), [utf16("a").as_slice(), utf16("bc").as_slice()]);
        assert_eq!(key.query_multi_string("NoItems").unwrap().iter().count(), 0);
        assert_eq!(key.query_binary("Bin").unwrap(), [1, 2, 3]);

        // Wrong types (F23 for the DWORD; the same rule for the others).
        let mismatch = Some(Error::new(STATUS_OBJECT_TYPE_MISMATCH).unwrap());
        assert_eq!(key.query_u32("Qword").err(), mismatch);
        assert_eq!(key.query_u64("Dword").err(), mismatch);
        assert_eq!(key.query_string("Bin").err(), mismatch);
        assert_eq!(key.query_multi_string("Sz").err(), mismatch);
        assert_eq!(key.query_binary("Dword").err(), mismatch);
        // Missing values.
        let missing = Some(Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap());
        assert_eq!(key.query_u32("Nope").err(), missing);
        assert_eq!(key.query_u64("Nope").err(), missing);
        assert_eq!(key.query_string("Nope").err(), missing);
        // Short buffers report the needed length (F21).
        let mut small = [0u16; 2];
        let e = key.query_string_into("Sz", &mut small).unwrap_err();
        assert_eq!((e.status(), e.needed()), (STATUS_BUFFER_OVERFLOW, Some(6)), "5 units + NUL");
        let e = key.query_string_into("Sz", &mut []).unwrap_err();
        assert_eq!(e.needed(), Some(6));
        let mut exact = [0u16; 6];
        assert_eq!(key.query_string_into("Sz", &mut exact), Ok(5));
        assert_eq!(&exact[..5], utf16("héllo").as_slice());
        let mut bytes = [0u8; 2];
        let e = key.query_value_into("Bin", &mut bytes).unwrap_err();
        assert_eq!((e.status(), e.needed()), (STATUS_BUFFER_OVERFLOW, Some(3)));
        // Removing values.
        assert_eq!(key.remove_value("Bin"), Ok(()));
        assert_eq!(key.remove_value("Bin"), Err(Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap()));
        // Bad value contents are refused before any call.
        assert_eq!(key.assign_string("X", "a\0b"), Err(Error::new(STATUS_INVALID_PARAMETER).unwrap()));
        assert_eq!(key.assign_multi_string("X", &["a", ""]), Err(Error::new(STATUS_INVALID_PARAMETER).unwrap()));
    })
    .expect("no stop");
    unload_clean(&m);
}

#[test]
fn parameters_are_read_only() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "Test", || {
        // SAFETY: live WDFDRIVER.
        let params = unsafe { RegKey::open_parameters(driver) }.expect("opens");
        assert_eq!(params.query_u32("TraceLevel"), Ok(3));
        assert_eq!(params.query_string("Name").unwrap(), utf16("abc"));
        assert_eq!(params.assign_u32("TraceLevel", 4), Err(Error::new(STATUS_ACCESS_DENIED).unwrap()));
    })
    .expect("no stop");
    unload_clean(&m);
}

#[test]
fn subkeys_enumeration_and_removal() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "Test", || {
        // SAFETY: live WDFDRIVER.
        let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }.expect("opens");
        let (b, d) = state.create_subkey("Beta", Access::ALL, Volatility::NonVolatile).unwrap();
        assert_eq!(d, Disposition::CreatedNew);
        let (_, d) = state.create_subkey("beta", Access::READ, Volatility::NonVolatile).unwrap();
        assert_eq!(d, Disposition::OpenedExisting);
        let (a, _) = state.create_subkey("alpha", Access::ALL, Volatility::Volatile).unwrap();
        state.assign_u32("V", 1).unwrap();
        let names: Vec<Vec<u16>> = state.subkey_names().collect::<Result<_, _>>().unwrap();
        assert_eq!(names, [utf16("alpha"), utf16("Beta")]);
        let values: Vec<(Vec<u16>, u32)> = state.value_names().collect::<Result<_, _>>().unwrap();
        assert_eq!(values, [(utf16("V"), REG_DWORD)]);
        let info = state.info().unwrap();
        assert_eq!((info.subkeys, info.values, info.max_subkey_name_bytes), (2, 1, 10));
        let (child, _) = b.create_subkey("Child", Access::ALL, Volatility::NonVolatile).unwrap();
        // F69: a failed remove hands the key back, still owned and usable.
        let (b, e) = b.remove().unwrap_err();
        assert_eq!(e.status(), STATUS_CANNOT_DELETE);
        assert_eq!(b.assign_u32("StillMine", 1), Ok(()));
        child.remove().unwrap();
        b.remove().unwrap();
        a.remove().unwrap();
        assert_eq!(state.subkey_names().count(), 0);
        // Opening a missing subkey is a clean error.
        assert_eq!(
            state.open_subkey("Gone", Access::READ).unwrap_err(),
            Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap()
        );
    })
    .expect("no stop");
    unload_clean(&m);
}

#[test]
fn into_raw_and_from_raw_hand_ownership_over() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "Test", || {
        // SAFETY: live WDFDRIVER.
        let key = unsafe { RegKey::open_parameters(driver) }.unwrap();
        let raw = key.into_raw();
        assert_eq!(m.live_keys().len(), 1, "into_raw does not close");
        // SAFETY: `raw` came from into_raw and nothing else owns it.
        let key = unsafe { RegKey::from_raw(raw) }.expect("non-null");
        assert_eq!(key.query_u32("TraceLevel"), Ok(3));
        // SAFETY: a null WDFKEY is refused, not owned.
        assert!(unsafe { RegKey::from_raw(core::ptr::null_mut()) }.is_none());
    })
    .expect("no stop");
    assert!(m.live_keys().is_empty(), "dropped once, closed once");
    unload_clean(&m);
}

#[test]
fn a_scoped_key_is_a_child_of_its_parent_object() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "EvtIoDeviceControl", || {
        let mut object: WDFOBJECT = core::ptr::null_mut();
        // SAFETY: pointer to a local; stands in for a request being processed.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfObjectCreate, WDF_NO_OBJECT_ATTRIBUTES, &mut object) };
        assert_eq!(st, STATUS_SUCCESS);
        // SAFETY: live WDFDRIVER.
        let params = unsafe { RegKey::open_parameters(driver) }.unwrap();
        {
            // SAFETY: `object` is live and deleted only after this block.
            let parent = unsafe { ParentObject::from_handle(&object) };
            let scoped =
                RegKey::open_absolute_scoped(format!(r"{SERVICE_KEY}\Parameters").as_str(), Access::READ, parent)
                    .unwrap();
            assert_eq!(m.object_parent(scoped.as_raw() as u64), Some(object as u64));
            assert_eq!(scoped.query_u32("TraceLevel"), Ok(3));
        }
        drop(params);
        // SAFETY: the object is live; its keys were dropped above.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
    })
    .expect("no stop");
    unload_clean(&m);
}

#[test]
fn dropping_a_key_at_dispatch_defers_the_close() {
    let (m, driver) = loaded(Settings::default());
    // SAFETY: live WDFDRIVER.
    let key = m.run(DRV, "Test", || unsafe { RegKey::open_parameters(driver) }.unwrap()).expect("no stop");
    let handle = m.key_handle(key.as_raw() as u64).expect("open");
    m.run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || drop(key)).expect("K4: allowed at DISPATCH");
    assert_eq!(m.handle_owner(handle), None, "closed by the PASSIVE work item (F9)");
    unload_clean(&m);
}

/// The driver context of the every-state driver: keys kept until unload
/// (held for their drop, never read).
#[derive(Default)]
#[allow(dead_code, reason = "the keys are held, then dropped at unload")]
struct Keys {
    open: Option<RegKey>,
    failed_remove: Option<RegKey>,
    re_owned: Option<RegKey>,
}

#[repr(transparent)]
struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: never written after initialisation; only read by the framework.
unsafe impl Sync for TypeInfo {}

static KEYS: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"Keys".as_ptr(),
    ContextSize: size_of::<Keys>(),
    UniqueType: &KEYS.0,
    EvtDriverGetUniqueContextType: None,
});

fn keys_of(driver: WDFDRIVER) -> *mut Keys {
    // SAFETY: the driver object was created with the KEYS context.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, driver.cast(), &KEYS.0) }.cast()
}

fn every_state(driver: WDFDRIVER) -> Result<Keys, Error> {
    // SAFETY: live WDFDRIVER.
    let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
    let (removed, _) = state.create_subkey("Removed", Access::ALL, Volatility::NonVolatile)?;
    removed.remove().map_err(|(_, e)| e)?;
    let (parent, _) = state.create_subkey("Parent", Access::ALL, Volatility::NonVolatile)?;
    let (_child, _) = parent.create_subkey("Child", Access::READ, Volatility::NonVolatile)?;
    let failed_remove = match parent.remove() {
        Err((key, _)) => key,
        Ok(()) => return Err(Error::new(STATUS_UNSUCCESSFUL).unwrap()),
    };
    // SAFETY: the raw key comes straight from into_raw.
    let re_owned = unsafe { RegKey::from_raw(state.open_subkey("Parent", Access::READ)?.into_raw()) };
    Ok(Keys { open: Some(state), failed_remove: Some(failed_remove), re_owned })
}

fn every_state_driver(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING, unload: PFN_WDF_DRIVER_UNLOAD) -> NTSTATUS {
    let mut attrs = WDF_OBJECT_ATTRIBUTES { ContextTypeInfo: &KEYS.0, ..testing::object_attributes() };
    let config = testing::driver_config(None, unload);
    let wdf_driver = match testing::create_driver(driver, path, Some(&mut attrs), config) {
        Ok(d) => d,
        Err(st) => return st,
    };
    match every_state(wdf_driver) {
        Ok(keys) => {
            // SAFETY: the zero-filled context is Keys-sized (F76; all-zero
            // Option<RegKey> is None, so nothing is overwritten that needs a drop).
            unsafe { keys_of(wdf_driver).write(keys) };
            STATUS_SUCCESS
        }
        Err(e) => e.into(),
    }
}

/// Keeps keys in every state until EvtDriverUnload takes and drops them.
extern "C" fn every_state_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    every_state_driver(driver, path, Some(take_keys))
}
const _: DRIVER_INITIALIZE = Some(every_state_entry);

/// Leaves them in the context: contexts are never dropped (F76), so the
/// framework deletes the keys with the driver and nothing closes them twice.
extern "C" fn every_state_left_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    every_state_driver(driver, path, None)
}
const _: DRIVER_INITIALIZE = Some(every_state_left_entry);

extern "C" fn take_keys(driver: WDFDRIVER) {
    // SAFETY: the context holds a valid Keys; taking it leaves a valid one.
    let keys = unsafe { core::mem::take(&mut *keys_of(driver)) };
    drop(keys);
}

#[test]
fn unload_with_keys_in_every_state_is_clean() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load(DRV, SERVICE, Some(every_state_entry)).expect("loads"), STATUS_SUCCESS);
    assert_eq!(m.live_keys().len(), 3, "open, failed-remove, re-owned (the removed one is gone)");
    unload_clean(&m);
}

#[test]
fn keys_left_in_a_context_are_deleted_by_the_framework_once() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load(DRV, SERVICE, Some(every_state_left_entry)).expect("loads"), STATUS_SUCCESS);
    assert_eq!(m.live_keys().len(), 3);
    unload_clean(&m);
}

/// The original crash's driver, written with RegKey: it uses the key's WDM
/// handle (to enumerate) and drops the key; there is no way to close the
/// handle itself.
extern "C" fn regkey_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let st = plain_entry(driver, path);
    if !NT_SUCCESS(st) {
        return st;
    }
    let params = match RegKey::open_absolute(format!(r"{SERVICE_KEY}\Parameters").as_str(), Access::READ) {
        Ok(k) => k,
        Err(e) => return e.into(),
    };
    match params.value_names().count() {
        0 => STATUS_UNSUCCESSFUL,
        _ => STATUS_SUCCESS,
    }
}
const _: DRIVER_INITIALIZE = Some(regkey_entry);

#[test]
fn the_original_sequence_with_regkey_runs_clean() {
    // The setting that gave 0x93 {304, 0, 0, 0} for the raw client
    // (kmdf-sim/tests/negative_controls.rs): LIFO reuse, a protected handle
    // opened after the driver's load, verifiers on.
    let m = Machine::new(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    m.registry_seed(&format!("[{SERVICE_KEY}\\Parameters]\nTraceLevel = dword:3\n")).expect("seed");
    assert_eq!(m.load(DRV, SERVICE, Some(regkey_entry)).expect("loads"), STATUS_SUCCESS);
    let other = m.open_foreign_handle("other.sys", r"\Registry\Machine\SOFTWARE", true).expect("opens");
    unload_clean(&m);
    assert!(m.handle_owner(other).is_some(), "the other component's handle is untouched");
}

/// Many RegKey calls in a row; every error is returned, nothing panics.
fn scenario(driver: WDFDRIVER) -> Result<(), Error> {
    // SAFETY: live WDFDRIVER.
    let params = unsafe { RegKey::open_parameters(driver) }?;
    params.query_u32("TraceLevel")?;
    params.query_string("Name")?;
    drop(params);
    // SAFETY: live WDFDRIVER.
    let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
    state.assign_u32("LoadCount", 1)?;
    state.assign_string("S", "x")?;
    state.query_u64("Missing").or_else(|e| if e.status() == STATUS_OBJECT_NAME_NOT_FOUND { Ok(0) } else { Err(e) })?;
    let (sub, _) = state.create_subkey("Sub", Access::ALL, Volatility::NonVolatile)?;
    sub.assign_binary("B", &[1])?;
    drop(state.open_subkey("Sub", Access::READ)?);
    let mut buf = [0u16; 8];
    state.query_string_into("S", &mut buf)?;
    state.info()?;
    for name in state.subkey_names() {
        name?;
    }
    for value in state.value_names() {
        value?;
    }
    sub.remove().map_err(|(_, e)| e)?;
    state.remove_value("S")?;
    Ok(())
}

#[test]
fn every_ddi_failed_once_gives_a_clean_error_and_leaks_nothing() {
    let mut failure_points = 0;
    for n in 1.. {
        let (m, driver) = loaded(Settings::default());
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let result = m.run(DRV, "Test", || scenario(driver)).expect("no stop");
        if m.injected_faults().is_empty() {
            assert_eq!(result, Ok(()));
            break;
        }
        failure_points += 1;
        assert_eq!(result.map_err(|e| e.status()), Err(STATUS_INSUFFICIENT_RESOURCES), "call {n}");
        unload_clean(&m);
    }
    assert!(failure_points >= 12, "the scenario makes at least 12 status-returning calls: {failure_points}");
}

#[test]
fn bad_names_are_errors_before_any_call() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "Test", || {
        // SAFETY: live WDFDRIVER.
        let key = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }.unwrap();
        let calls_before = m.ddi_calls();
        let long = "x".repeat(wdfkey::MAX_NAME_UNITS + 1);
        let nul: &[u16] = &[0x41, 0];
        let empty: &[u16] = &[];
        for bad in ["", "a\0b", long.as_str()] {
            let e = Some(Error::invalid_name());
            assert_eq!(RegKey::open_absolute(bad, Access::READ).err(), e);
            assert_eq!(RegKey::create_absolute(bad, Access::READ, Volatility::Volatile).err(), e);
            assert_eq!(key.open_subkey(bad, Access::READ).err(), e);
            assert_eq!(key.create_subkey(bad, Access::READ, Volatility::Volatile).err(), e);
            assert_eq!(key.query_u32(bad).err(), e);
            assert_eq!(key.query_u64(bad).err(), e);
            assert_eq!(key.query_string(bad).err(), e);
            assert_eq!(key.query_string_into(bad, &mut [0; 4]).err(), e);
            assert_eq!(key.query_multi_string(bad).err(), e);
            assert_eq!(key.query_binary(bad).err(), e);
            assert_eq!(key.query_value_into(bad, &mut [0; 4]).err(), e);
            assert_eq!(key.assign_u32(bad, 1).err(), e);
            assert_eq!(key.assign_u64(bad, 1).err(), e);
            assert_eq!(key.assign_string(bad, "v").err(), e);
            assert_eq!(key.assign_expand_string(bad, "v").err(), e);
            assert_eq!(key.assign_multi_string(bad, &["v"]).err(), e);
            assert_eq!(key.assign_binary(bad, &[1]).err(), e);
            assert_eq!(key.remove_value(bad).err(), e);
        }
        for bad in [nul, empty] {
            assert_eq!(key.query_u32(bad), Err(Error::invalid_name()));
        }
        assert_eq!(m.ddi_calls(), calls_before, "no DDI was called with a bad name");
    })
    .expect("no stop");
    unload_clean(&m);
}

#[test]
fn key_name_and_query_table() {
    let (m, driver) = loaded(Settings::default());
    m.run(DRV, "Test", || {
        // SAFETY: `driver` is the live WDFDRIVER.
        let params = unsafe { RegKey::open_parameters(driver) }.expect("opens");
        assert_eq!(params.name(), Ok(utf16("Parameters")));
        // SAFETY: as above.
        let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }.expect("opens");
        state.assign_multi_string("Ports", &["COM1", "COM2"]).unwrap();
        state.assign_multi_string("NoPorts", &[]).unwrap();
        state.assign_u64("Big", 1 << 40).unwrap();
        state.assign_binary("Blob", &[9]).unwrap();

        // Present, absent (default kept), each string of a list, all types.
        let (mut level, mut absent, mut big, mut name, mut blob) = (0u32, 7u32, 0u64, Vec::new(), Vec::new());
        let mut ports = Vec::new();
        let mut each_port = |s: &[u16]| -> wdfkey::Result<()> {
            ports.push(String::from_utf16_lossy(s));
            Ok(())
        };
        let mut no_ports = 0;
        let mut each_no_port = |_: &[u16]| -> wdfkey::Result<()> {
            no_ports += 1;
            Ok(())
        };
        let found = params.query_table(&mut [
            Query::u32("TraceLevel", &mut level).required(),
            Query::u32("Absent", &mut absent),
            Query::string("Name", &mut name),
        ]);
        assert_eq!(found, Ok(2));
        let found = state.query_table(&mut [
            Query::u64("Big", &mut big),
            Query::binary("Blob", &mut blob),
            Query::each_string("Ports", &mut each_port),
            Query::each_string("NoPorts", &mut each_no_port),
        ]);
        assert_eq!(found, Ok(4));
        assert_eq!((level, absent, big, name, blob), (3, 7, 1 << 40, utf16("abc"), vec![9]));
        assert_eq!((ports, no_ports), (vec!["COM1".to_string(), "COM2".to_string()], 0));

        // A required value that is absent ends the table: rows before it are
        // written, rows after it are not read.
        let (mut before, mut after) = (0u32, 0u32);
        let r = params.query_table(&mut [
            Query::u32("TraceLevel", &mut before),
            Query::u32("Absent", &mut absent).required(),
            Query::u32("TraceLevel", &mut after),
        ]);
        assert_eq!(r, Err(Error::new(STATUS_OBJECT_NAME_NOT_FOUND).unwrap()));
        assert_eq!((before, after), (3, 0));
        // A value of another type, and an error from the routine, end it too.
        let r = params.query_table(&mut [Query::u32("Name", &mut after)]);
        assert_eq!(r, Err(Error::new(STATUS_OBJECT_TYPE_MISMATCH).unwrap()));
        let mut refuse = |_: &[u16]| Err(Error::new(STATUS_INVALID_PARAMETER).unwrap());
        let r = state.query_table(&mut [Query::each_string("Ports", &mut refuse)]);
        assert_eq!(r, Err(Error::new(STATUS_INVALID_PARAMETER).unwrap()));
    })
    .expect("no stop");
    unload_clean(&m);
}

#[test]
fn errors_are_failure_statuses_only() {
    assert_eq!(Error::new(STATUS_SUCCESS), None);
    assert_eq!(Error::new(STATUS_PENDING), None, "informational");
    assert_eq!(Error::check(STATUS_PENDING), Ok(()));
    let overflow = Error::new(STATUS_BUFFER_OVERFLOW).expect("a warning is a failure");
    assert_eq!(Error::check(STATUS_BUFFER_OVERFLOW), Err(overflow));
    assert_eq!(Error::UNSUCCESSFUL.status(), STATUS_UNSUCCESSFUL);
    let boxed: Box<dyn std::error::Error> = Box::new(overflow);
    assert_eq!(boxed.to_string(), "NTSTATUS 0x80000005");
}

/// The one escape, taken: `unsafe { as_raw() }` and a close of the lent
/// handle. It compiles (clippy's `disallowed-methods` flags it:
/// tests/adopt.rs); under the simulator the framework's own close of the key
/// then stops the machine with 0x93, and the report names the driver.
#[test]
#[allow(clippy::disallowed_methods)] // the bug, on purpose
fn the_escape_taken_stops_the_simulated_machine_and_names_the_driver() {
    // The test VM's settings (the verifiers on: the stale close hits a free
    // slot), and the original crash's (LIFO reuse, a protected handle opened
    // in the slot after the driver's close).
    for (settings, foreign) in
        [(Settings::default(), false), (Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() }, true)]
    {
        let (m, driver) = loaded(settings);
        let key = m
            .run(DRV, "EvtDriverDeviceAdd", || {
                // SAFETY: `driver` is the live WDFDRIVER.
                let key = unsafe { RegKey::open_parameters(driver) }.expect("opens");
                // SAFETY: not safe — the handle is the framework's; this is the bug.
                let raw = unsafe { key.wdm_handle().as_raw() };
                // SAFETY: as above.
                assert_eq!(unsafe { kmdf_sim::ntddk::ZwClose(raw) }, STATUS_SUCCESS);
                key
            })
            .expect("the driver's own close does not stop the machine");
        if foreign {
            m.open_foreign_handle("other.sys", r"\Registry\Machine\SOFTWARE", true).expect("opens");
        }
        let stop = m.run(DRV, "EvtDriverUnload", || drop(key)).expect_err("the framework's close stops the machine");
        let b = stop.bug_check().expect("a bug check");
        assert_eq!(b.code, 0x93, "{b:?}");
        let cause = b.root_cause.as_deref().expect("the simulator names the real culprit");
        assert!(cause.starts_with(DRV), "{cause}");
    }
}
