//! Framework key objects: attributes, contexts, and the delete sequence
//! (EvtCleanupCallback, EvtDestroyCallback, then ~FxRegKey) as KMDF runs it.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

const DRV: &str = "keyobj.sys";
const PATH: &str = r"\Registry\Machine\SOFTWARE\KeyObj";

#[repr(transparent)]
struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: never written after initialisation; read only by the framework.
unsafe impl Sync for TypeInfo {}

#[derive(Clone, Copy)]
struct KeyContext {
    a: u64,
    b: u32,
}

static KEY_CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"KeyContext".as_ptr(),
    ContextSize: size_of::<KeyContext>(),
    UniqueType: &KEY_CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

static OTHER_CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"Other".as_ptr(),
    ContextSize: 8,
    UniqueType: &OTHER_CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

thread_local! {
    static EVENTS: RefCell<Vec<(&'static str, bool)>> = const { RefCell::new(Vec::new()) };
}

fn handle_is_open(object: WDFOBJECT) -> bool {
    // SAFETY: the object is a live key inside its own callbacks (F30).
    let h = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, object.cast()) };
    !h.is_null()
}

extern "C" fn on_cleanup(object: WDFOBJECT) {
    EVENTS.with(|e| e.borrow_mut().push(("cleanup", handle_is_open(object))));
}

extern "C" fn on_destroy(object: WDFOBJECT) {
    EVENTS.with(|e| e.borrow_mut().push(("destroy", handle_is_open(object))));
}

fn attributes() -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        ContextTypeInfo: &KEY_CONTEXT.0,
        EvtCleanupCallback: Some(on_cleanup),
        EvtDestroyCallback: Some(on_destroy),
        ..testing::object_attributes()
    }
}

fn open_with(attrs: &mut WDF_OBJECT_ATTRIBUTES) -> Result<WDFKEY, NTSTATUS> {
    support::create_key(core::ptr::null_mut(), PATH, KEY_ALL_ACCESS, Some(attrs))
}

fn context(key: WDFKEY, info: &TypeInfo) -> *mut KeyContext {
    // SAFETY: `key` is a live key object.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, key.cast(), &info.0) }.cast()
}

#[test]
fn contexts_are_zero_filled_and_found_by_their_type_info() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let key = open_with(&mut attributes()).expect("opens");
        let ctx = context(key, &KEY_CONTEXT);
        assert!(!ctx.is_null());
        assert_eq!(ctx as usize % 8, 0, "pointer-aligned");
        // SAFETY: the context is KeyContext-sized and lives as long as the key.
        let value = unsafe { ctx.read() };
        assert_eq!((value.a, value.b), (0, 0), "F76: zero-filled");
        // SAFETY: as above.
        unsafe { ctx.write(KeyContext { a: 7, b: 9 }) };
        assert_eq!(context(key, &KEY_CONTEXT), ctx, "the same memory every time");
        assert!(context(key, &OTHER_CONTEXT).is_null(), "another type: NULL, not a failure");
        support::close_key(key);
    })
    .expect("no stop");
}

#[test]
fn wdf_object_delete_runs_cleanup_then_destroy_with_the_handle_still_open() {
    EVENTS.with(|e| e.borrow_mut().clear());
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let key = open_with(&mut attributes()).expect("opens");
        // SAFETY: live key, not used again.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, key.cast()) };
    })
    .expect("no stop");
    // F5/F31: cleanup, then destroy, both while the raw handle is open; then
    // ~FxRegKey closes it.
    assert_eq!(EVENTS.with(|e| e.borrow().clone()), [("cleanup", true), ("destroy", true)]);
    assert!(m.live_keys().is_empty());
    assert!(m.violations().is_empty());
}

#[test]
fn wdf_registry_close_closes_before_the_callbacks() {
    EVENTS.with(|e| e.borrow_mut().clear());
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let key = open_with(&mut attributes()).expect("opens");
        support::close_key(key);
    })
    .expect("no stop");
    // F4: Close() nulls m_Key before DeleteObject() runs the callbacks.
    assert_eq!(EVENTS.with(|e| e.borrow().clone()), [("cleanup", false), ("destroy", false)]);
}

#[test]
fn bad_attributes_are_refused_before_anything_is_opened() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let mut wrong_size = WDF_OBJECT_ATTRIBUTES { Size: 8, ..attributes() };
        assert_eq!(open_with(&mut wrong_size), Err(STATUS_INFO_LENGTH_MISMATCH));
    })
    .expect("no stop");
    assert!(m.live_keys().is_empty());
    assert!(!m.registry_key_exists(PATH), "the key was never created");
}

#[test]
fn a_bad_parent_object_is_an_invalid_handle() {
    let m = Machine::new(Settings::default());
    let stop = m
        .run(DRV, "DriverEntry", || {
            let mut parented = WDF_OBJECT_ATTRIBUTES { ParentObject: 0x1000 as WDFOBJECT, ..attributes() };
            open_with(&mut parented)
        })
        .expect_err("F11/F20: the parent is looked up as a framework handle");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0], b.params[1]), (0x10D, 0x5, 0x1000));
}

#[test]
fn a_dead_objects_context_is_a_use_after_free() {
    // F77 d: with wdf01000.sys under special pool, reading a freed object faults.
    let m = Machine::new(Settings::default());
    let stop = m
        .run(DRV, "DriverEntry", || {
            let key = open_with(&mut WDF_OBJECT_ATTRIBUTES {
                EvtCleanupCallback: None,
                EvtDestroyCallback: None,
                ..attributes()
            })
            .expect("opens");
            support::close_key(key);
            context(key, &KEY_CONTEXT)
        })
        .expect_err("a closed key is not an object any more");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[1]), (0xD5, 0));
}
