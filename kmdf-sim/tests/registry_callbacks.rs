//! Registry callbacks (F149): CmRegisterCallbackEx's altitude and cookie,
//! the pre- and post-notifications an application's registry operation on
//! the simulated registry sends (highest altitude first), a callback that
//! blocks or bypasses the operation, and 0xCE for a callback left
//! registered at unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{CmRegisterCallbackEx, CmUnRegisterCallback};
use kmdf_sim::*;
use std::cell::RefCell;

const KEY: &str = r"\Registry\Machine\SOFTWARE\Watched";

thread_local! {
    /// (context, class, value name) per call.
    static SEEN: RefCell<Vec<(u64, i32, String)>> = const { RefCell::new(Vec::new()) };
}

fn name_of(s: PUNICODE_STRING) -> String {
    // SAFETY: the configuration manager's string, valid during the call.
    let s = unsafe { &*s };
    // SAFETY: Buffer holds Length bytes.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2) })
}

extern "C" fn callback(context: PVOID, class: PVOID, info: PVOID) -> NTSTATUS {
    let class = class as usize as i32;
    let name = match class {
        _REG_NOTIFY_CLASS::RegNtPreSetValueKey => {
            // SAFETY: a pre-set-value notification's information.
            let i = unsafe { &*info.cast::<REG_SET_VALUE_KEY_INFORMATION>() };
            name_of(i.ValueName)
        }
        _REG_NOTIFY_CLASS::RegNtPreDeleteValueKey => {
            // SAFETY: a pre-delete-value notification's information.
            let i = unsafe { &*info.cast::<REG_DELETE_VALUE_KEY_INFORMATION>() };
            name_of(i.ValueName)
        }
        _ => {
            // SAFETY: a post notification's information.
            let i = unsafe { &*info.cast::<REG_POST_OPERATION_INFORMATION>() };
            format!("status {:#x}", i.Status)
        }
    };
    SEEN.with(|s| s.borrow_mut().push((context as u64, class, name.clone())));
    // Context 2 guards the value "Locked" and bypasses "Shadow".
    match (context as u64, name.as_str()) {
        (2, "Locked") => STATUS_ACCESS_DENIED,
        (2, "Shadow") => 0xC000_0503_u32 as NTSTATUS, // STATUS_CALLBACK_BYPASS
        _ => STATUS_SUCCESS,
    }
}

fn register(altitude: &str, context: u64) -> (NTSTATUS, i64) {
    let mut units: Vec<u16> = altitude.encode_utf16().collect();
    let bytes = (units.len() * 2) as u16;
    let altitude = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() };
    let mut cookie = LARGE_INTEGER { QuadPart: 0 };
    // SAFETY: a routine of this test binary; the altitude and cookie outlive
    // the call.
    let st = unsafe {
        CmRegisterCallbackEx(
            Some(callback),
            &raw const altitude,
            std::ptr::null_mut(),
            context as PVOID,
            &raw mut cookie,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: every bit pattern is an i64.
    (st, unsafe { cookie.QuadPart })
}

fn unregister(cookie: i64) -> NTSTATUS {
    // SAFETY: any cookie may be passed.
    unsafe { CmUnRegisterCallback(LARGE_INTEGER { QuadPart: cookie }) }
}

fn take() -> Vec<(u64, i32, String)> {
    SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

#[test]
fn callbacks_see_an_applications_operations_highest_altitude_first_and_may_block_them() {
    let m = Machine::new(Settings::default());
    m.registry_create_key(KEY).expect("a key");
    let (low, high, same) = m
        .run("cm.sys", "DriverEntry", || (register("320000", 1), register("385100", 2), register("385100.0", 3)))
        .expect("no stop");
    assert_eq!((low.0, high.0, same.0 as u32), (STATUS_SUCCESS, STATUS_SUCCESS, 0xC01C_0011), "altitude collision");
    assert_ne!(low.1, high.1);
    let pre = _REG_NOTIFY_CLASS::RegNtPreSetValueKey;
    let post = _REG_NOTIFY_CLASS::RegNtPostSetValueKey;
    assert_eq!(m.app_set_value(KEY, "Level", REG_DWORD, &7u32.to_le_bytes()).expect("no stop"), STATUS_SUCCESS);
    assert_eq!(
        take(),
        [
            (2, pre, "Level".into()),
            (1, pre, "Level".into()),
            (2, post, "status 0x0".into()),
            (1, post, "status 0x0".into())
        ]
    );
    // Blocked by the higher callback: the lower one is not called, the value
    // is not written.
    assert_eq!(m.app_set_value(KEY, "Locked", REG_DWORD, &1u32.to_le_bytes()).expect("no stop"), STATUS_ACCESS_DENIED);
    assert_eq!(take(), [(2, pre, "Locked".into())]);
    // Bypassed: success, nothing written.
    assert_eq!(m.app_set_value(KEY, "Shadow", REG_DWORD, &1u32.to_le_bytes()).expect("no stop"), STATUS_SUCCESS);
    let _ = take();
    let written = m.registry_checkpoint(KEY).expect("the key");
    assert_eq!(format!("{written:?}").matches("Level").count(), 1, "{written:?}");
    assert!(!format!("{written:?}").contains("Locked") && !format!("{written:?}").contains("Shadow"));
    let del = _REG_NOTIFY_CLASS::RegNtPreDeleteValueKey;
    assert_eq!(m.app_delete_value(KEY, "Level").expect("no stop"), STATUS_SUCCESS);
    assert_eq!(take()[..2], [(2, del, "Level".into()), (1, del, "Level".into())]);
    assert_eq!(
        m.app_delete_value(r"\Registry\Machine\SOFTWARE\Missing", "X").expect("no stop"),
        STATUS_OBJECT_NAME_NOT_FOUND
    );
    let removed = m.run("cm.sys", "DriverUnload", || (unregister(low.1), unregister(high.1), unregister(high.1)));
    assert_eq!(removed.expect("no stop"), (STATUS_SUCCESS, STATUS_SUCCESS, STATUS_INVALID_PARAMETER));
    kmdf_sim::testing::assert_clean(&m);
}

extern "C" fn leaky_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    register("370000", 9).0
}

#[test]
fn a_callback_left_registered_at_unload_is_0xce() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("leak.sys", "leak", Some(leaky_entry)).expect("no stop"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("the callback is still registered");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xCE, callback as *const () as u64), "{stop}");
    assert!(stop.to_string().contains("CmUnRegisterCallback"), "{stop}");
}
