//! The NT registry routines of the surface (`ntddk::Zw*`, `RtlInitUnicodeString`)
//! against the simulated registry and handle table.

use kmdf_sim::control::{Machine, Settings, ViolationKind};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

const DRV: &str = "zwclient.sys";
const BASE: &str = r"\Registry\Machine\SOFTWARE\ZwTest";

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A counted string over `buf` (NUL excluded), built with RtlInitUnicodeString.
fn us(buf: &[u16]) -> UNICODE_STRING {
    let mut u = UNICODE_STRING::default();
    // SAFETY: `buf` is NUL-terminated and outlives `u`'s use in each test.
    unsafe { RtlInitUnicodeString(&mut u, buf.as_ptr()) };
    u
}

fn open(path: &str, access: u32, create: bool) -> Result<HANDLE, NTSTATUS> {
    let wpath = wide(path);
    let mut name = us(&wpath);
    let mut oa = OBJECT_ATTRIBUTES {
        Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
        ObjectName: &mut name,
        Attributes: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
        ..OBJECT_ATTRIBUTES::default()
    };
    let mut h: HANDLE = core::ptr::null_mut();
    let mut disposition = 0u32;
    let status = if create {
        // SAFETY: all pointers are to live locals.
        unsafe {
            ZwCreateKey(&mut h, access, &mut oa, 0, core::ptr::null_mut(), REG_OPTION_NON_VOLATILE, &mut disposition)
        }
    } else {
        // SAFETY: all pointers are to live locals.
        unsafe { ZwOpenKey(&mut h, access, &mut oa) }
    };
    if NT_SUCCESS(status) { Ok(h) } else { Err(status) }
}

fn set_dword(h: HANDLE, name: &str, v: u32) -> NTSTATUS {
    let w = wide(name);
    let mut n = us(&w);
    let mut data = v;
    // SAFETY: pointers to live locals; 4 bytes of data.
    unsafe { ZwSetValueKey(h, &mut n, 0, REG_DWORD, (&raw mut data).cast(), 4) }
}

fn query_partial(h: HANDLE, name: &str, len: usize) -> (NTSTATUS, u32, Vec<u8>) {
    let w = wide(name);
    let mut n = us(&w);
    let mut buf = vec![0u8; len];
    let mut result = 0u32;
    // SAFETY: `buf` has `len` writable bytes.
    let st = unsafe {
        ZwQueryValueKey(
            h,
            &mut n,
            _KEY_VALUE_INFORMATION_CLASS::KeyValuePartialInformation,
            buf.as_mut_ptr().cast(),
            len as u32,
            &mut result,
        )
    };
    (st, result, buf)
}

fn close(h: HANDLE) -> NTSTATUS {
    // SAFETY: closing a handle this client opened itself.
    unsafe { ZwClose(h) }
}

#[test]
fn rtl_init_unicode_string_counts_bytes_without_the_nul() {
    let _m = Machine::new(Settings::default());
    let w = wide("Parameters");
    let u = us(&w);
    assert_eq!((u.Length, u.MaximumLength), (20, 22));
    let mut empty = UNICODE_STRING { Length: 7, MaximumLength: 7, Buffer: core::ptr::null_mut() };
    // SAFETY: null source is allowed.
    unsafe { RtlInitUnicodeString(&mut empty, core::ptr::null()) };
    assert_eq!((empty.Length, empty.MaximumLength), (0, 0));
}

#[test]
fn values_round_trip_with_the_documented_buffer_rules() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let h = open(BASE, KEY_ALL_ACCESS, true).expect("created");
        assert_eq!(set_dword(h, "LoadCount", 7), STATUS_SUCCESS);
        let fixed = 12; // FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) (F21)
        let (st, need, _) = query_partial(h, "LoadCount", fixed - 1);
        assert_eq!((st, need), (STATUS_BUFFER_TOO_SMALL, 16));
        let (st, need, buf) = query_partial(h, "loadcount", fixed);
        assert_eq!((st, need), (STATUS_BUFFER_OVERFLOW, 16));
        assert_eq!(&buf[4..12], &[4, 0, 0, 0, 4, 0, 0, 0], "Type and DataLength are filled on overflow");
        let (st, _, buf) = query_partial(h, "LoadCount", 16);
        assert_eq!(st, STATUS_SUCCESS);
        assert_eq!(&buf[12..16], &7u32.to_le_bytes());
        assert_eq!(query_partial(h, "Missing", 16).0, STATUS_OBJECT_NAME_NOT_FOUND);
        assert_eq!(close(h), STATUS_SUCCESS);
    })
    .expect("no stop");
    assert_eq!(m.registry_value(BASE, "LoadCount"), Some((REG_DWORD, 7u32.to_le_bytes().to_vec())));
    assert!(m.violations().is_empty());
}

#[test]
fn access_rights_are_enforced() {
    let m = Machine::new(Settings::default());
    m.registry_create_key(BASE).expect("setup");
    m.run(DRV, "DriverEntry", || {
        let h = open(BASE, KEY_READ, false).expect("opens");
        assert_eq!(set_dword(h, "X", 1), STATUS_ACCESS_DENIED);
        assert_eq!(close(h), STATUS_SUCCESS);
        let h = open(BASE, KEY_SET_VALUE, false).expect("opens");
        assert_eq!(set_dword(h, "X", 1), STATUS_SUCCESS);
        assert_eq!(query_partial(h, "X", 16).0, STATUS_ACCESS_DENIED);
        assert_eq!(close(h), STATUS_SUCCESS);
        // Generic rights map to the key rights.
        let h = open(BASE, GENERIC_READ, false).expect("opens");
        assert_eq!(query_partial(h, "X", 16).0, STATUS_SUCCESS);
        assert_eq!(set_dword(h, "X", 2), STATUS_ACCESS_DENIED);
        assert_eq!(close(h), STATUS_SUCCESS);
    })
    .expect("no stop");
}

#[test]
fn missing_keys_and_bad_attributes_fail_cleanly() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        assert_eq!(open(r"\Registry\Machine\SOFTWARE\Nope", KEY_READ, false), Err(STATUS_OBJECT_NAME_NOT_FOUND));
        assert_eq!(open(r"\Registry\Machine\SOFTWARE\Nope\Deeper", KEY_READ, true), Err(STATUS_OBJECT_NAME_NOT_FOUND));
        let mut h: HANDLE = core::ptr::null_mut();
        let mut oa = OBJECT_ATTRIBUTES::default(); // Length 0
        // SAFETY: pointers to locals.
        assert_eq!(unsafe { ZwOpenKey(&mut h, KEY_READ, &mut oa) }, STATUS_INVALID_PARAMETER);
    })
    .expect("no stop");
}

#[test]
fn subkeys_and_values_enumerate_in_order_and_end_with_no_more_entries() {
    let m = Machine::new(Settings::default());
    for sub in ["Beta", "alpha"] {
        m.registry_create_key(&format!(r"{BASE}\{sub}")).expect("setup");
    }
    m.registry_set_value(BASE, "Level", REG_DWORD, &3u32.to_le_bytes()).expect("setup");
    m.run(DRV, "DriverEntry", || {
        let h = open(BASE, KEY_READ, false).expect("opens");
        let mut names = Vec::new();
        for i in 0.. {
            let mut buf = [0u8; 64];
            let mut need = 0u32;
            // SAFETY: 64 writable bytes.
            let st = unsafe {
                ZwEnumerateKey(
                    h,
                    i,
                    _KEY_INFORMATION_CLASS::KeyBasicInformation,
                    buf.as_mut_ptr().cast(),
                    64,
                    &mut need,
                )
            };
            if st == STATUS_NO_MORE_ENTRIES {
                break;
            }
            assert_eq!(st, STATUS_SUCCESS);
            let len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
            let units: Vec<u16> = buf[16..16 + len].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            names.push(String::from_utf16(&units).unwrap());
        }
        assert_eq!(names, ["alpha", "Beta"]);

        let mut full = [0u8; 64];
        let mut need = 0u32;
        // SAFETY: 64 writable bytes.
        let st = unsafe {
            ZwQueryKey(h, _KEY_INFORMATION_CLASS::KeyFullInformation, full.as_mut_ptr().cast(), 64, &mut need)
        };
        assert_eq!(st, STATUS_SUCCESS);
        let field = |off: usize| u32::from_le_bytes(full[off..off + 4].try_into().unwrap());
        assert_eq!((field(20), field(32)), (2, 1), "SubKeys, Values");

        let mut vb = [0u8; 64];
        // SAFETY: 64 writable bytes.
        let st = unsafe {
            ZwEnumerateValueKey(
                h,
                0,
                _KEY_VALUE_INFORMATION_CLASS::KeyValueFullInformation,
                vb.as_mut_ptr().cast(),
                64,
                &mut need,
            )
        };
        assert_eq!(st, STATUS_SUCCESS);
        let off = u32::from_le_bytes(vb[8..12].try_into().unwrap()) as usize;
        assert_eq!(&vb[off..off + 4], &3u32.to_le_bytes());
        // SAFETY: 64 writable bytes.
        let st = unsafe {
            ZwEnumerateValueKey(
                h,
                1,
                _KEY_VALUE_INFORMATION_CLASS::KeyValueBasicInformation,
                vb.as_mut_ptr().cast(),
                64,
                &mut need,
            )
        };
        assert_eq!(st, STATUS_NO_MORE_ENTRIES);
        assert_eq!(close(h), STATUS_SUCCESS);
    })
    .expect("no stop");
}

#[test]
fn a_closed_handle_is_invalid_and_its_double_close_is_caught() {
    let m = Machine::new(Settings::without_verifiers());
    m.registry_create_key(BASE).expect("setup");
    m.run(DRV, "DriverEntry", || {
        let h = open(BASE, KEY_READ, false).expect("opens");
        assert_eq!(close(h), STATUS_SUCCESS);
        assert_eq!(query_partial(h, "X", 16).0, STATUS_INVALID_HANDLE, "use after close");
        assert_eq!(close(h), STATUS_INVALID_HANDLE, "F67a: silent by default");
    })
    .expect("no stop");
    let v = m.violations();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].kind, ViolationKind::StaleCloseFreeSlot);
}

#[test]
fn relative_opens_use_the_parent_handle() {
    let m = Machine::new(Settings::default());
    m.registry_create_key(&format!(r"{BASE}\Child")).expect("setup");
    m.run(DRV, "DriverEntry", || {
        let parent = open(BASE, KEY_READ, false).expect("opens");
        let w = wide("child");
        let mut name = us(&w);
        let mut oa = OBJECT_ATTRIBUTES {
            Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
            RootDirectory: parent,
            ObjectName: &mut name,
            ..OBJECT_ATTRIBUTES::default()
        };
        let mut h: HANDLE = core::ptr::null_mut();
        // SAFETY: pointers to locals.
        assert_eq!(unsafe { ZwOpenKey(&mut h, KEY_READ, &mut oa) }, STATUS_SUCCESS);
        assert_eq!(close(h), STATUS_SUCCESS);
        assert_eq!(close(parent), STATUS_SUCCESS);
        // SAFETY: as above; the root handle is now closed.
        assert_eq!(unsafe { ZwOpenKey(&mut h, KEY_READ, &mut oa) }, STATUS_INVALID_HANDLE);
    })
    .expect("no stop");
}

#[test]
fn after_a_stop_kernel_routines_fail_but_string_routines_still_work() {
    let m = Machine::new(Settings::default());
    m.registry_create_key(BASE).expect("setup");
    let victim = m.open_foreign_handle("other.sys", BASE, true).expect("opens");
    let stop = m
        .run(DRV, "DriverUnload", || {
            // Closing another component's protected handle stops the machine (F67b).
            assert_eq!(close(victim as HANDLE), STATUS_HANDLE_NOT_CLOSABLE);
            assert_eq!(open(BASE, KEY_READ, false), Err(kmdf_sim::control::STOPPED_STATUS), "refused");
            let w = wide("Still");
            let u = us(&w);
            assert_eq!(u.Length, 10, "a pure library routine still fills its result");
        })
        .expect_err("stopped");
    // An assertion failing inside `run` would be a driver panic (0x52504E43):
    // only a 0x93 {h, 0, ...} here proves the closure ran to its end.
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params[1])), Some((0x93, 0)));
    assert!(m.violations().iter().any(|v| v.kind == ViolationKind::ClosedForeignHandle));
}

#[test]
fn every_key_routine_refuses_a_handle_that_names_no_key_with_status_invalid_handle() {
    // F96: the Zw key routines reference their KeyHandle through
    // ObReferenceObjectByHandle: a NULL, a closed or a never-opened handle is
    // STATUS_INVALID_HANDLE — not a bug check, even with every verifier on
    // (only a close of such a handle is one, F41) — and nothing changes.
    let m = Machine::new(Settings::default());
    m.registry_create_key(BASE).expect("setup");
    m.run(DRV, "DriverEntry", || {
        let closed = open(BASE, KEY_ALL_ACCESS, false).expect("opens");
        assert_eq!(close(closed), STATUS_SUCCESS);
        let never = 0xFFFF_FFFF_8000_7FFC_u64 as HANDLE;
        for (what, h) in [("NULL", core::ptr::null_mut()), ("closed", closed), ("never opened", never)] {
            let mut buf = [0u8; 64];
            let mut result = 0u32;
            let w = wide("X");
            let mut n = us(&w);
            let mut data = 1u32;
            let basic = _KEY_INFORMATION_CLASS::KeyBasicInformation;
            let partial = _KEY_VALUE_INFORMATION_CLASS::KeyValuePartialInformation;
            let out = buf.as_mut_ptr().cast();
            // SAFETY: pointers to live locals; the handle is the defect under test.
            let query = unsafe { ZwQueryKey(h, basic, out, 64, &mut result) };
            // SAFETY: as above.
            let enumerate = unsafe { ZwEnumerateKey(h, 0, basic, out, 64, &mut result) };
            // SAFETY: as above.
            let query_value = unsafe { ZwQueryValueKey(h, &mut n, partial, out, 64, &mut result) };
            // SAFETY: as above.
            let enumerate_value = unsafe { ZwEnumerateValueKey(h, 0, partial, out, 64, &mut result) };
            // SAFETY: as above; 4 bytes of data.
            let set = unsafe { ZwSetValueKey(h, &mut n, 0, REG_DWORD, (&raw mut data).cast(), 4) };
            let statuses = [
                ("ZwQueryKey", query),
                ("ZwEnumerateKey", enumerate),
                ("ZwQueryValueKey", query_value),
                ("ZwEnumerateValueKey", enumerate_value),
                ("ZwSetValueKey", set),
            ];
            for (routine, st) in statuses {
                assert_eq!(st, STATUS_INVALID_HANDLE, "{routine} with a {what} handle");
            }
        }
    })
    .expect("no stop");
    assert_eq!(m.registry_value(BASE, "X"), None, "nothing written");
    assert!(m.violations().is_empty(), "{:?}", m.violations());
}
