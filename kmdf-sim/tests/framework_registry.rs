//! The framework's registry DDIs against the simulated hive: the driver's
//! Parameters and persistent-state keys, and the query/assign/remove
//! semantics and status codes of docs/facts.md F14–F26, F69.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;

mod support;

const DRV: &str = "regdrv.sys";
const SERVICE: &str = "regdrv";
const SERVICE_KEY: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\regdrv";

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    support::create_driver(driver, path, None, None).map_or_else(|st| st, |_| STATUS_SUCCESS)
}
const _: DRIVER_INITIALIZE = Some(entry);

/// A machine with the driver loaded and its INF values seeded.
fn loaded() -> (Machine, WDFDRIVER) {
    let m = Machine::new(Settings::default());
    m.registry_seed(&format!(
        "[{SERVICE_KEY}\\Parameters]\nTraceLevel = dword:3\nName = sz:\"abc\"\nEmpty = hex:\nWide = qword:7\n"
    ))
    .expect("valid seed");
    assert_eq!(m.load(DRV, SERVICE, Some(entry)).expect("loads"), STATUS_SUCCESS);
    let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").expect("driver").0;
    (m, driver as WDFDRIVER)
}

fn name(s: &str) -> testing::Wide {
    testing::wide(s)
}

fn parameters(driver: WDFDRIVER, access: u32) -> Result<WDFKEY, NTSTATUS> {
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: live driver, pointer to a local.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverOpenParametersRegistryKey,
            driver,
            access,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
    if NT_SUCCESS(st) { Ok(key) } else { Err(st) }
}

fn query_ulong(key: WDFKEY, value: &str) -> (NTSTATUS, u32) {
    let n = name(value);
    let mut v = 0xDEAD_BEEFu32;
    // SAFETY: live key, pointers to locals.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, &n.us, &mut v) };
    (st, v)
}

fn assign_ulong(key: WDFKEY, value: &str, v: u32) -> NTSTATUS {
    let n = name(value);
    // SAFETY: live key, pointer to a local.
    unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignULong, key, &n.us, v) }
}

fn close(key: WDFKEY) {
    support::close_key(key);
}

#[test]
fn query_ulong_follows_f23() {
    let (m, driver) = loaded();
    m.run(DRV, "DriverEntry", || {
        let key = parameters(driver, KEY_READ).expect("opens");
        assert_eq!(query_ulong(key, "TraceLevel"), (STATUS_SUCCESS, 3));
        assert_eq!(query_ulong(key, "tracelevel").0, STATUS_SUCCESS, "names are case-insensitive");
        assert_eq!(query_ulong(key, "Missing"), (STATUS_OBJECT_NAME_NOT_FOUND, 0xDEAD_BEEF), "*Value untouched");
        assert_eq!(query_ulong(key, "Name"), (STATUS_OBJECT_TYPE_MISMATCH, 0xDEAD_BEEF));
        assert_eq!(query_ulong(key, "Wide").0, STATUS_OBJECT_TYPE_MISMATCH, "a REG_QWORD is not a DWORD");
        assert_eq!(assign_ulong(key, "TraceLevel", 1), STATUS_ACCESS_DENIED, "read-only open");
        close(key);
    })
    .expect("no stop");
    assert!(m.violations().is_empty());
}

#[test]
fn parameters_for_write_warns_and_keeps_no_temporary_handle() {
    let (m, driver) = loaded();
    m.run(DRV, "DriverEntry", || {
        let key = parameters(driver, KEY_ALL_ACCESS).expect("opens");
        assert_eq!(assign_ulong(key, "TraceLevel", 5), STATUS_SUCCESS);
        close(key);
    })
    .expect("no stop");
    assert_eq!(
        m.registry_value(&format!(r"{SERVICE_KEY}\Parameters"), "TraceLevel"),
        Some((REG_DWORD, vec![5, 0, 0, 0]))
    );
    assert!(m.framework_log().iter().any(|l| l.contains("should not be used for write")), "{:?}", m.framework_log());
    let report = m.unload().expect("no stop");
    assert!(report.leaked_handles.is_empty(), "F14's temporary service-key handle is closed: {report:?}");
}

#[test]
fn the_persistent_state_key_keeps_a_load_count() {
    let (m, driver) = loaded();
    for expected in 1..=3u32 {
        m.run(DRV, "DriverEntry", || {
            let mut key: WDFKEY = core::ptr::null_mut();
            // SAFETY: live driver, pointer to a local.
            let st = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfDriverOpenPersistentStateRegistryKey,
                    driver,
                    KEY_ALL_ACCESS,
                    WDF_NO_OBJECT_ATTRIBUTES,
                    &mut key
                )
            };
            assert_eq!(st, STATUS_SUCCESS);
            let (st, count) = query_ulong(key, "LoadCount");
            let count = if st == STATUS_OBJECT_NAME_NOT_FOUND { 0 } else { count };
            assert_eq!(assign_ulong(key, "LoadCount", count + 1), STATUS_SUCCESS);
            close(key);
        })
        .expect("no stop");
        assert_eq!(
            m.registry_value(&format!(r"{SERVICE_KEY}\State"), "LoadCount"),
            Some((REG_DWORD, expected.to_le_bytes().to_vec()))
        );
    }
}

#[test]
fn query_value_reports_overflow_with_the_needed_length() {
    let (m, driver) = loaded();
    m.run(DRV, "DriverEntry", || {
        let key = parameters(driver, KEY_READ).expect("opens");
        let n = name("Name");
        let (mut len, mut kind) = (0u32, 0u32);
        // F22: the size probe.
        // SAFETY: live key; NULL value with length 0 is the documented probe.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryValue,
                key,
                &n.us,
                0,
                core::ptr::null_mut(),
                &mut len,
                &mut kind
            )
        };
        assert_eq!((st, len, kind), (STATUS_BUFFER_OVERFLOW, 8, REG_SZ));
        let mut small = [0u8; 4];
        // SAFETY: 4 writable bytes.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryValue,
                key,
                &n.us,
                4,
                small.as_mut_ptr().cast(),
                &mut len,
                &mut kind
            )
        };
        assert_eq!((st, len), (STATUS_BUFFER_OVERFLOW, 8), "F21: never BUFFER_TOO_SMALL");
        let mut exact = [0u8; 8];
        // SAFETY: 8 writable bytes.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryValue,
                key,
                &n.us,
                8,
                exact.as_mut_ptr().cast(),
                &mut len,
                core::ptr::null_mut()
            )
        };
        assert_eq!(st, STATUS_SUCCESS);
        assert_eq!(exact, [b'a', 0, b'b', 0, b'c', 0, 0, 0]);
        let empty = name("Empty");
        // SAFETY: the probe on an empty value.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryValue,
                key,
                &empty.us,
                0,
                core::ptr::null_mut(),
                &mut len,
                core::ptr::null_mut()
            )
        };
        assert_eq!((st, len), (STATUS_SUCCESS, 0), "F22: an empty value probes as success");
        close(key);
    })
    .expect("no stop");
}

#[test]
fn query_unicode_string_follows_f24() {
    let (m, driver) = loaded();
    m.run(DRV, "DriverEntry", || {
        let key = parameters(driver, KEY_READ).expect("opens");
        let n = name("Name");
        let mut buf = [0u16; 8];
        let mut out = UNICODE_STRING { Length: 0, MaximumLength: 0, Buffer: buf.as_mut_ptr() };
        let mut bytes = 0u16;
        // SAFETY: pointers to locals.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfRegistryQueryUnicodeString, key, &n.us, &mut bytes, &mut out)
        };
        assert_eq!(st, STATUS_INVALID_PARAMETER, "MaximumLength 0");
        out.MaximumLength = 4;
        // SAFETY: 4 writable bytes.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfRegistryQueryUnicodeString, key, &n.us, &mut bytes, &mut out)
        };
        assert_eq!((st, bytes), (STATUS_BUFFER_OVERFLOW, 8));
        out.MaximumLength = 16;
        // SAFETY: 16 writable bytes.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfRegistryQueryUnicodeString, key, &n.us, &mut bytes, &mut out)
        };
        assert_eq!((st, out.Length), (STATUS_SUCCESS, 6), "the trailing NUL is not counted");
        assert_eq!(String::from_utf16_lossy(&buf[..3]), "abc");
        let dword = name("TraceLevel");
        // SAFETY: as above.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfRegistryQueryUnicodeString, key, &dword.us, &mut bytes, &mut out)
        };
        assert_eq!(st, STATUS_OBJECT_TYPE_MISMATCH);
        close(key);
    })
    .expect("no stop");
}

#[test]
fn assign_and_remove_values() {
    let (m, driver) = loaded();
    let params = format!(r"{SERVICE_KEY}\Parameters");
    m.run(DRV, "DriverEntry", || {
        let key = parameters(driver, KEY_ALL_ACCESS).expect("opens");
        let text = name("hello");
        let v = name("Greeting");
        // SAFETY: live key, pointers to locals.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignUnicodeString, key, &v.us, &text.us) };
        assert_eq!(st, STATUS_SUCCESS);
        let mut blob = [1u8, 2, 3];
        let b = name("Blob");
        // SAFETY: 3 readable bytes.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryAssignValue,
                key,
                &b.us,
                REG_BINARY,
                3,
                blob.as_mut_ptr().cast()
            )
        };
        assert_eq!(st, STATUS_SUCCESS);
        // SAFETY: live key.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveValue, key, &b.us) };
        assert_eq!(st, STATUS_SUCCESS);
        // SAFETY: live key.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveValue, key, &b.us) };
        assert_eq!(st, STATUS_OBJECT_NAME_NOT_FOUND);
        close(key);
    })
    .expect("no stop");
    let greeting: Vec<u8> = "hello".encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
    assert_eq!(m.registry_value(&params, "Greeting"), Some((REG_SZ, greeting)), "F26: Length bytes + NUL");
    assert_eq!(m.registry_value(&params, "Blob"), None);
}

fn create_key(parent: WDFKEY, sub: &str, access: u32) -> WDFKEY {
    support::create_key(parent, sub, access, None).expect("creates")
}

#[test]
fn remove_key_deletes_the_object_only_on_success() {
    let (m, driver) = loaded();
    let params = format!(r"{SERVICE_KEY}\Parameters");
    m.run(DRV, "DriverEntry", || {
        let root = parameters(driver, KEY_ALL_ACCESS).expect("opens");
        let a = create_key(root, "A", KEY_ALL_ACCESS);
        let b = create_key(a, "B", KEY_READ);
        // SAFETY: live key.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, b) };
        assert_eq!(st, STATUS_ACCESS_DENIED, "needs DELETE");
        // SAFETY: live key.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, a) };
        assert_eq!(st, STATUS_CANNOT_DELETE, "A still has a subkey");
        // F69: on failure the key is still the driver's to close.
        close(b);
        let b = create_key(a, "B", KEY_ALL_ACCESS);
        // SAFETY: live keys; on success each WDFKEY is gone.
        assert_eq!(unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, b) }, STATUS_SUCCESS);
        // SAFETY: as above.
        assert_eq!(unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, a) }, STATUS_SUCCESS);
        close(root);
    })
    .expect("no stop");
    assert!(!m.registry_key_exists(&format!(r"{params}\A")));
    assert!(m.live_keys().is_empty(), "removed keys' objects are deleted, the rest closed");
    assert!(m.violations().is_empty(), "{:?}", m.violations());
}

#[test]
fn a_null_value_pointer_is_a_wdf_violation() {
    let (m, driver) = loaded();
    let stop = m
        .run(DRV, "DriverEntry", || {
            let key = parameters(driver, KEY_READ).expect("opens");
            let n = name("TraceLevel");
            // SAFETY: the defect under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, &n.us, core::ptr::null_mut()) }
        })
        .expect_err("F20: FxPointerNotNull");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0]), (0x10D, 0x4));
}

#[test]
fn a_value_ddi_checks_its_key_before_its_value_name_and_value_pointers() {
    // F91, fxregistryapi.cpp: FxObjectHandleGetPtr(Key) comes first; then
    // ValueName and Value (FxPointerNotNull: 0x10D {4}) and the name's
    // shape (STATUS_INVALID_PARAMETER).
    let stop_of = |key: Option<WDFKEY>, value_name: bool, value: bool| {
        let (m, driver) = loaded();
        let key = key
            .unwrap_or_else(|| m.run(DRV, "Test", || parameters(driver, KEY_READ)).expect("no stop").expect("opens"));
        let n = name("TraceLevel");
        let mut v = 0u32;
        let outcome = m.run(DRV, "Test", || {
            let name_ptr = if value_name { &raw const n.us } else { std::ptr::null() };
            let value_ptr = if value { &raw mut v } else { std::ptr::null_mut() };
            // SAFETY: the NULLs and the key are the defects under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, name_ptr, value_ptr) }
        });
        outcome.map_err(|stop| {
            let b = stop.bug_check().expect("bug check");
            (b.code, b.params[0], b.params[1])
        })
    };
    assert_eq!(stop_of(Some(std::ptr::null_mut()), false, false), Err((0x10D, 0x5, 0)), "the key first");
    assert_eq!(stop_of(None, false, true), Err((0x10D, 0x4, 0)), "then ValueName");
    assert_eq!(stop_of(None, true, false), Err((0x10D, 0x4, 0)), "then Value");
    assert_eq!(stop_of(None, true, true), Ok(STATUS_SUCCESS));
    // A malformed name with a NULL key: the key's stop, not the name's status.
    let (m, _) = loaded();
    let mut odd = name("TraceLevel");
    odd.us.Length = 3;
    let mut v = 0u32;
    let stop = m
        .run(DRV, "Test", || {
            // SAFETY: the NULL key and the odd length are the defects under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, std::ptr::null_mut(), &odd.us, &mut v) }
        })
        .expect_err("the key's stop");
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params[0])), Some((0x10D, 0x5)));
}
