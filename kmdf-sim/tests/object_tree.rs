//! The KMDF object tree: default parents, dispose and destroy order,
//! references, NoDeleteDDI objects, deferred passive disposal, and what a
//! driver leaves behind at unload (docs/facts.md F9, F10, F27–F34).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{KeGetCurrentIrql, ZwOpenKey};
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

const DRV: &str = "tree.sys";
const SERVICE: &str = "tree";

thread_local! {
    /// What the callbacks saw: (event, IRQL, WDM handle still open for keys).
    static EVENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn record(event: String) {
    EVENTS.with(|e| e.borrow_mut().push(event));
}

fn events() -> Vec<String> {
    EVENTS.with(|e| e.borrow_mut().drain(..).collect())
}

/// Names objects by the order the test created them, via the context.
#[repr(transparent)]
struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);
// SAFETY: never written after initialisation; only read by the framework.
unsafe impl Sync for TypeInfo {}

static NAME: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"Name".as_ptr(),
    ContextSize: 8,
    UniqueType: &NAME.0,
    EvtDriverGetUniqueContextType: None,
});

fn name_of(object: WDFOBJECT) -> u8 {
    // SAFETY: every object of these tests carries a NAME context.
    let ctx = unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, &NAME.0) };
    // SAFETY: the context is 8 bytes, valid through EvtDestroyCallback (F30).
    unsafe { ctx.cast::<u8>().read() }
}

fn set_name(object: WDFOBJECT, name: u8) {
    // SAFETY: as above.
    let ctx = unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, &NAME.0) };
    // SAFETY: as above.
    unsafe { ctx.cast::<u8>().write(name) };
}

fn irql() -> u8 {
    // SAFETY: no preconditions.
    unsafe { KeGetCurrentIrql() }
}

extern "C" fn on_cleanup(object: WDFOBJECT) {
    record(format!("cleanup {} @{}", name_of(object) as char, irql()));
}

extern "C" fn on_destroy(object: WDFOBJECT) {
    record(format!("destroy {} @{}", name_of(object) as char, irql()));
}

extern "C" fn on_unload(_driver: WDFDRIVER) {
    record("EvtDriverUnload".into());
}

fn attributes(parent: WDFOBJECT) -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        ParentObject: parent,
        ContextTypeInfo: &NAME.0,
        EvtCleanupCallback: Some(on_cleanup),
        EvtDestroyCallback: Some(on_destroy),
        ..testing::object_attributes()
    }
}

fn create_object(parent: WDFOBJECT, name: u8) -> WDFOBJECT {
    let mut object: WDFOBJECT = core::ptr::null_mut();
    // SAFETY: pointers to live locals.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfObjectCreate, &mut attributes(parent), &mut object) };
    assert!(NT_SUCCESS(st), "WdfObjectCreate: {st:#x}");
    set_name(object, name);
    object
}

fn open_key(parent: WDFOBJECT, name: u8) -> WDFKEY {
    let key = support::open_key(
        core::ptr::null_mut(),
        r"\Registry\Machine\SOFTWARE",
        KEY_READ,
        Some(&mut attributes(parent)),
    )
    .expect("opens");
    set_name(key.cast(), name);
    key
}

/// DriverEntry: driver 'D' with children: object 'P' (with a key 'K' under
/// it) and a key 'Q' directly under the driver.
extern "C" fn tree_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let wdf_driver =
        match support::create_driver(driver, path, Some(&mut attributes(core::ptr::null_mut())), Some(on_unload)) {
            Ok(d) => d,
            Err(st) => return st,
        };
    set_name(wdf_driver.cast(), b'D');
    let p = create_object(core::ptr::null_mut(), b'P');
    open_key(p, b'K');
    open_key(core::ptr::null_mut(), b'Q');
    STATUS_SUCCESS
}
const _: DRIVER_INITIALIZE = Some(tree_entry);

#[test]
fn unload_runs_evt_driver_unload_then_disposes_children_before_parents() {
    let m = Machine::new(Settings::default());
    events();
    assert_eq!(m.load(DRV, SERVICE, Some(tree_entry)).expect("loads"), STATUS_SUCCESS);
    let keys = m.live_keys();
    assert_eq!(keys.len(), 2);
    let handles: Vec<u64> = keys.iter().map(|&k| m.key_handle(k).expect("open")).collect();
    let report = m.unload().expect("no stop");
    assert!(report.leaked_handles.is_empty() && report.leaked_objects.is_empty(), "{report:?}");
    // F27: EvtDriverUnload first; F29: every child's cleanup before its parent's;
    // F30: destroy after dispose; F9/F34: all at PASSIVE.
    assert_eq!(
        events(),
        [
            "EvtDriverUnload",
            "cleanup K @0",
            "cleanup P @0",
            "cleanup Q @0",
            "cleanup D @0",
            "destroy K @0",
            "destroy P @0",
            "destroy Q @0",
            "destroy D @0",
        ]
    );
    assert!(m.live_objects().is_empty());
    for h in handles {
        assert_eq!(m.handle_owner(h), None, "~FxRegKey closed {h:#x}");
    }
    assert!(m.violations().is_empty());
}

#[test]
fn deleting_a_parent_deletes_its_subtree_only() {
    let m = Machine::new(Settings::default());
    events();
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    let p = m.live_objects().into_iter().find(|(_, t)| *t == "WDFOBJECT").expect("P").0;
    m.run(DRV, "Test", || {
        // SAFETY: P is live.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, p as WDFOBJECT) };
    })
    .expect("no stop");
    assert_eq!(events(), ["cleanup K @0", "cleanup P @0", "destroy K @0", "destroy P @0"]);
    assert_eq!(m.live_keys().len(), 1, "Q, the driver's own child, stays");
}

#[test]
fn a_reference_postpones_destroy_until_the_last_dereference() {
    let m = Machine::new(Settings::default());
    events();
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    let p = m.live_objects().into_iter().find(|(_, t)| *t == "WDFOBJECT").expect("P").0;
    let k = m.live_keys().into_iter().find(|&k| m.object_parent(k) == Some(p)).expect("K");
    let h = m.key_handle(k).expect("open");
    m.run(DRV, "Test", || {
        // SAFETY: K and P are live; the reference is dropped below.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectReferenceActual,
                k as WDFOBJECT,
                core::ptr::null_mut(),
                0,
                core::ptr::null()
            )
        };
        // SAFETY: P is live.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, p as WDFOBJECT) };
    })
    .expect("no stop");
    // F32: K is disposed with its parent but destroyed only when released.
    assert_eq!(events(), ["cleanup K @0", "cleanup P @0", "destroy P @0"]);
    assert!(m.handle_owner(h).is_some(), "K handle is open while referenced");
    m.run(DRV, "Test", || {
        // SAFETY: drops the reference taken above.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectDereferenceActual,
                k as WDFOBJECT,
                core::ptr::null_mut(),
                0,
                core::ptr::null()
            )
        };
    })
    .expect("no stop");
    assert_eq!(events(), ["destroy K @0"]);
    assert_eq!(m.handle_owner(h), None);
}

#[test]
fn a_dereference_without_a_reference_is_wdf_object_error() {
    let m = Machine::new(Settings::default());
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    let k = m.live_keys()[0];
    let stop = m
        .run(DRV, "Test", || {
            // SAFETY: the defect under test.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfObjectDereferenceActual,
                    k as WDFOBJECT,
                    core::ptr::null_mut(),
                    0,
                    core::ptr::null()
                )
            };
        })
        .expect_err("F32");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0], b.params[1]), (0x10D, 0x7, k));
}

fn delete_driver(m: &Machine) -> Result<(), kmdf_sim::control::Stopped> {
    let d = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").expect("driver").0;
    m.run(DRV, "Test", || {
        // SAFETY: the defect under test: the driver object is NoDeleteDDI.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, d as WDFOBJECT) };
    })
}

#[test]
fn deleting_the_driver_object_is_ignored_and_the_verifier_breaks() {
    // F33 + F65: verifier off → ignored; on with a debugger → a recorded break;
    // on without one → the break is an unhandled breakpoint, 0x7E {0x80000003}.
    let m = Machine::new(Settings::without_verifiers());
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    delete_driver(&m).expect("no verifier: ignored");
    assert!(m.live_objects().iter().any(|(_, t)| *t == "WDFDRIVER"));
    assert!(m.verifier_breaks().is_empty());
    drop(m);

    let m = Machine::new(Settings { kernel_debugger: true, ..Settings::default() });
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    delete_driver(&m).expect("a debugger catches the break");
    assert_eq!(m.verifier_breaks().len(), 1, "{:?}", m.verifier_breaks());
    assert!(m.live_objects().iter().any(|(_, t)| *t == "WDFDRIVER"));
    drop(m);

    let m = Machine::new(Settings::default());
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    let stop = delete_driver(&m).expect_err("no debugger");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0]), (0x7E, 0x8000_0003));
}

#[test]
fn a_key_deleted_at_dispatch_is_disposed_later_at_passive() {
    let m = Machine::new(Settings::default());
    events();
    m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    let q = m
        .live_keys()
        .into_iter()
        .find(|&k| m.live_objects().iter().any(|(d, t)| *t == "WDFDRIVER" && m.object_parent(k) == Some(*d)))
        .expect("Q");
    m.run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || {
        // SAFETY: Q is live; WdfObjectDelete is allowed at DISPATCH_LEVEL.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, q as WDFOBJECT) };
        record(format!("returned @{}", irql()));
    })
    .expect("no stop");
    // F9/F34: the delete returns at once; the key's callbacks (and its close)
    // run afterwards, at PASSIVE, on the dispose work item.
    assert_eq!(events(), ["returned @2", "cleanup Q @0", "destroy Q @0"]);
    assert!(!m.live_keys().contains(&q));
}

/// DriverEntry that opens a key with ZwOpenKey and never closes it.
extern "C" fn leaky_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    if let Err(st) = support::create_driver(driver, path, None, None) {
        return st;
    }
    let mut name = testing::wide(r"\Registry\Machine\SOFTWARE");
    let mut oa = OBJECT_ATTRIBUTES {
        Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
        ObjectName: &mut name.us,
        Attributes: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
        ..OBJECT_ATTRIBUTES::default()
    };
    let mut h: HANDLE = core::ptr::null_mut();
    // SAFETY: pointers to live locals.
    unsafe { ZwOpenKey(&mut h, KEY_READ, &mut oa) }
}
const _: DRIVER_INITIALIZE = Some(leaky_entry);

#[test]
fn a_zw_handle_left_open_is_a_leak_but_a_framework_key_is_not() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load(DRV, SERVICE, Some(leaky_entry)).expect("loads"), STATUS_SUCCESS);
    let report = m.unload().expect("no stop");
    assert_eq!(report.leaked_handles.len(), 1, "{report:?}");
    assert_eq!(report.leaked_handles[0].1, r"\Registry\Machine\SOFTWARE");
    assert!(report.leaked_objects.is_empty());

    let m2 = {
        drop(m);
        Machine::new(Settings::default())
    };
    m2.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
    let report = m2.unload().expect("no stop");
    assert!(report.leaked_handles.is_empty(), "the framework closes keys left to it: {report:?}");
}

/// DriverEntry that creates its driver object and then fails.
extern "C" fn failing_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let st = tree_entry(driver, path);
    if NT_SUCCESS(st) { STATUS_INSUFFICIENT_RESOURCES } else { st }
}
const _: DRIVER_INITIALIZE = Some(failing_entry);

#[test]
fn a_failed_driver_entry_deletes_the_driver_without_evt_driver_unload() {
    let m = Machine::new(Settings::default());
    events();
    assert_eq!(m.load(DRV, SERVICE, Some(failing_entry)).expect("no stop"), STATUS_INSUFFICIENT_RESOURCES);
    let ev = events();
    assert!(!ev.iter().any(|e| e == "EvtDriverUnload"), "{ev:?}");
    assert!(ev.contains(&"destroy D @0".to_string()), "{ev:?}");
    assert!(m.live_objects().is_empty());
    assert_eq!(m.loaded_service(), None);
}

/// `WdfObjectCreate` with `parent` as the attributes' ParentObject, run as
/// the driver: its status, or the stop.
fn create_under(m: &Machine, parent: u64) -> Result<NTSTATUS, kmdf_sim::control::Stopped> {
    let mut status = STATUS_SUCCESS;
    m.run(DRV, "Test", || {
        let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: parent as WDFOBJECT, ..testing::object_attributes() };
        let mut object: WDFOBJECT = core::ptr::null_mut();
        // SAFETY: pointers to live locals; the parent is the value under test.
        status = unsafe { call_unsafe_wdf_function_binding!(WdfObjectCreate, &mut attrs, &mut object) };
    })?;
    Ok(status)
}

#[test]
fn a_parent_object_that_is_no_live_object_stops_as_the_framework_resolves_it() {
    // F91, F92: `FxObject::Commit` resolves ParentObject with
    // FxObjectHandleGetPtr(FX_TYPE_OBJECT): a value that never named an
    // object is 0x10D {WDF_INVALID_HANDLE, value, 0x1000} with or without
    // any verifier; a deleted parent follows F77 like every stale handle.
    const NEVER: u64 = 0x0000_0BAD_0000_0010;
    for settings in [Settings::default(), Settings::without_verifiers()] {
        let m = Machine::new(settings);
        m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
        let stop = create_under(&m, NEVER).expect_err("an unknown parent stops");
        let b = stop.bug_check().expect("bug check");
        assert_eq!((b.code, b.params[0], b.params[1], b.params[2]), (0x10D, 0x5, NEVER, 0x1000));
    }

    let deleted_parent = |settings: Settings| {
        let m = Machine::new(settings);
        m.load(DRV, SERVICE, Some(tree_entry)).expect("loads");
        let p = m.live_objects().into_iter().find(|(_, t)| *t == "WDFOBJECT").expect("P").0;
        m.run(DRV, "Test", || {
            // SAFETY: P is live.
            unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, p as WDFOBJECT) };
        })
        .expect("no stop");
        let live = m.live_objects().len();
        let result = create_under(&m, p);
        (m, p, live, result)
    };
    // Special pool over Wdf01000.sys: the read of the freed object faults.
    let (_, p, _, result) = deleted_parent(Settings::default());
    let b = result.expect_err("0xD5").bug_check().expect("bug check").clone();
    assert_eq!((b.code, b.params[0]), (0xD5, p));
    // The KMDF verifier alone: the scrubbed object's NULL vtable.
    let (_, _, _, result) =
        deleted_parent(Settings { special_pool: false, wdf01000_verified: false, ..Settings::default() });
    let b = result.expect_err("0x7E/0x3B").bug_check().expect("bug check").clone();
    assert!(matches!(b.code, 0x7E | 0x3B) && b.params[0] == 0xC000_0005, "{b:?}");
    // No verifier: nothing stops, nothing is created, and the use after
    // free is a finding, never a clean run.
    let (m, p, live, result) = deleted_parent(Settings::without_verifiers());
    assert_eq!(result.expect("no stop"), STATUS_INVALID_HANDLE);
    assert_eq!(m.live_objects().len(), live, "no object created under a deleted parent");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.contains(&format!("{p:#x}")) && f.contains("f77")), "{findings:?}");
}
