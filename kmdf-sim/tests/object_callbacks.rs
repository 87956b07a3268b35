//! Object callbacks (F151): ObRegisterCallbacks for process and thread
//! handles (version, altitude, registration handle), the pre-operation
//! callbacks that take rights out of a handle the test opens (highest
//! altitude first), the post-operation callbacks that see the access
//! granted, and 0xCE for a registration left at unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{ObRegisterCallbacks, ObUnRegisterCallbacks};
use kmdf_sim::*;
use std::cell::RefCell;

const PROCESS_TERMINATE: u32 = 0x0001;
const PROCESS_VM_READ: u32 = 0x0010;

thread_local! {
    /// What the callbacks saw: (context, "pre"/"post", access).
    static SEEN: RefCell<Vec<(u64, &'static str, u32)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn pre(context: PVOID, info: POB_PRE_OPERATION_INFORMATION) -> OB_PREOP_CALLBACK_STATUS {
    // SAFETY: the kernel's information, valid during the call.
    let info = unsafe { &mut *info };
    // SAFETY: its parameters, valid during the call.
    let parameters = unsafe { &mut *info.Parameters };
    // SAFETY: a handle create: CreateHandleInformation is the member.
    let create = unsafe { &mut parameters.CreateHandleInformation };
    SEEN.with(|s| s.borrow_mut().push((context as u64, "pre", create.DesiredAccess)));
    // Context 1 protects processes from termination; context 2 tries to add a
    // right, which the kernel does not grant.
    match context as u64 {
        1 => create.DesiredAccess &= !PROCESS_TERMINATE,
        _ => create.DesiredAccess |= PROCESS_VM_READ,
    }
    _OB_PREOP_CALLBACK_STATUS::OB_PREOP_SUCCESS
}

extern "C" fn post(context: PVOID, info: POB_POST_OPERATION_INFORMATION) {
    // SAFETY: as in `pre`.
    let info = unsafe { &*info };
    // SAFETY: as above.
    let parameters = unsafe { &*info.Parameters };
    // SAFETY: a handle create: CreateHandleInformation is the member.
    let granted = unsafe { parameters.CreateHandleInformation.GrantedAccess };
    SEEN.with(|s| s.borrow_mut().push((context as u64, "post", granted)));
}

fn register(altitude: &str, context: u64, object_type: *mut POBJECT_TYPE) -> (NTSTATUS, PVOID) {
    let mut units: Vec<u16> = altitude.encode_utf16().collect();
    let bytes = (units.len() * 2) as u16;
    let mut operation = OB_OPERATION_REGISTRATION {
        ObjectType: object_type,
        Operations: OB_OPERATION_HANDLE_CREATE,
        PreOperation: Some(pre),
        PostOperation: Some(post),
    };
    let registration = OB_CALLBACK_REGISTRATION {
        Version: OB_FLT_REGISTRATION_VERSION as u16,
        OperationRegistrationCount: 1,
        Altitude: UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() },
        RegistrationContext: context as PVOID,
        OperationRegistration: &raw mut operation,
    };
    let mut handle: PVOID = std::ptr::null_mut();
    // SAFETY: a registration of live locals; callbacks of this test binary.
    let st = unsafe { ObRegisterCallbacks((&raw const registration).cast_mut(), &raw mut handle) };
    (st, handle)
}

fn process_type() -> *mut POBJECT_TYPE {
    // SAFETY: reading the exported variable's value (a pointer).
    unsafe { PsProcessType }
}

#[test]
fn pre_callbacks_take_rights_away_and_post_callbacks_see_the_grant() {
    let m = Machine::new(Settings::default());
    let (low, high, clash) = m
        .run("ob.sys", "DriverEntry", || {
            (
                register("321000", 2, process_type()),
                register("385000", 1, process_type()),
                register("321000", 3, process_type()),
            )
        })
        .expect("no stop");
    assert_eq!((low.0, high.0, clash.0 as u32), (STATUS_SUCCESS, STATUS_SUCCESS, 0xC01C_0011));
    assert_ne!(low.1, high.1);
    let granted = m.open_process_handle(PROCESS_TERMINATE | 0x0400).expect("no stop");
    assert_eq!(granted, 0x0400, "termination taken away, nothing added");
    let seen = SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()));
    assert_eq!(
        seen,
        [(1, "pre", PROCESS_TERMINATE | 0x0400), (2, "pre", 0x0400), (1, "post", 0x0400), (2, "post", 0x0400)]
    );
    // Thread handles: no callback is registered for them.
    assert_eq!(m.open_thread_handle(0x1F_FFFF).expect("no stop"), 0x1F_FFFF);
    assert!(SEEN.with(|s| s.borrow().is_empty()));
    m.run("ob.sys", "DriverUnload", || {
        // SAFETY: handles ObRegisterCallbacks returned.
        unsafe { ObUnRegisterCallbacks(low.1) };
        // SAFETY: as above.
        unsafe { ObUnRegisterCallbacks(high.1) };
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn an_object_type_other_than_process_or_thread_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let mut other_variable: POBJECT_TYPE = std::ptr::null_mut();
    let _ = m.run("ob.sys", "DriverEntry", || register("300000", 1, &raw mut other_variable));
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}

extern "C" fn leaky_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    register("360000", 1, process_type()).0
}

#[test]
fn a_registration_left_at_unload_is_0xce() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("leak.sys", "leak", Some(leaky_entry)).expect("no stop"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("the callbacks are still registered");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xCE, pre as *const () as u64), "{stop}");
}
