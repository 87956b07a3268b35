//! Negative controls: the original crash, written against the surface only,
//! must be caught every run, in each of its real shapes (design.md; issues
//! "Simulator, part 1" and "part 2"). The second close happens where it
//! happens on Windows: in the framework's teardown of the WDFDRIVER's
//! children at unload (F27, F10, F2). If one of these tests fails, the
//! simulator has stopped catching the bug and every green run elsewhere means
//! nothing.

use kmdf_sim::control::{HandleEventKind, HandleOwner, Machine, ReusePolicy, Settings, Stop, ViolationKind};

const CLIENT: &str = "rawclient.sys";
const SERVICE: &str = "rawclient";
const PARAMS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\rawclient\Parameters";
const OTHER_KEY: &str = r"\Registry\Machine\SOFTWARE";

mod support;

/// A driver written the way the crashing one was: only against the surface,
/// its state in a framework context, never in statics (F76).
mod raw_client {
    use kmdf_sim::ntddk::ZwClose;
    use kmdf_sim::*;

    pub const PARAMS: &str = super::PARAMS;

    #[repr(transparent)]
    pub struct TypeInfo(pub WDF_OBJECT_CONTEXT_TYPE_INFO);
    // SAFETY: never written after initialisation; only read by the framework.
    unsafe impl Sync for TypeInfo {}

    /// The driver context: the key the driver keeps until unload.
    pub struct DriverContext {
        pub key: WDFKEY,
    }

    pub static DRIVER_CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
        Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
        ContextName: c"DriverContext".as_ptr(),
        ContextSize: size_of::<DriverContext>(),
        UniqueType: &DRIVER_CONTEXT.0,
        EvtDriverGetUniqueContextType: None,
    });

    /// Opens a key by absolute path as a WDFKEY (default parent: the driver, F10).
    pub fn open_key(path: &str) -> Result<WDFKEY, NTSTATUS> {
        super::support::open_key(core::ptr::null_mut(), path, KEY_READ, None)
    }

    /// The bug: a generic destructor closes the WDM handle of a WDFKEY.
    pub fn close_wdm_handle(key: WDFKEY) -> NTSTATUS {
        // SAFETY: `key` is a live WDFKEY (that is all WdmGetHandle needs).
        let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
        // SAFETY: this is the defect under test: the handle is the key object's.
        unsafe { ZwClose(handle) }
    }

    /// The correct close.
    pub fn close_key(key: WDFKEY) {
        super::support::close_key(key);
    }

    fn context(driver: WDFDRIVER) -> *mut DriverContext {
        // SAFETY: the driver object was created with DRIVER_CONTEXT.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, driver.cast(), &DRIVER_CONTEXT.0) }
            .cast()
    }

    fn create_driver(
        driver: *mut _DRIVER_OBJECT,
        path: PUNICODE_STRING,
        unload: PFN_WDF_DRIVER_UNLOAD,
    ) -> Result<WDFDRIVER, NTSTATUS> {
        let mut attributes =
            WDF_OBJECT_ATTRIBUTES { ContextTypeInfo: &DRIVER_CONTEXT.0, ..kmdf_sim::testing::object_attributes() };
        super::support::create_driver(driver, path, Some(&mut attributes), unload)
    }

    /// DriverEntry of the crashing driver: opens its Parameters key, leaves
    /// it to the framework (parent: the driver), and closes its WDM handle.
    pub extern "C" fn buggy_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
        if let Err(status) = create_driver(driver, path, None) {
            return status;
        }
        match open_key(PARAMS) {
            Ok(key) => close_wdm_handle(key),
            Err(status) => status,
        }
    }
    const _: DRIVER_INITIALIZE = Some(buggy_entry);

    /// Creates the driver (EvtDriverUnload closes its key) and keeps its
    /// Parameters key in the driver context.
    fn driver_keeping_key(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> Result<WDFKEY, NTSTATUS> {
        let wdf_driver = create_driver(driver, path, Some(unload_closing_key))?;
        let key = open_key(PARAMS)?;
        // SAFETY: the context is zero-filled, DriverContext-sized and lives
        // as long as the driver object (F76).
        unsafe { context(wdf_driver).write(DriverContext { key }) };
        Ok(key)
    }

    /// The same bug, with the key closed properly in EvtDriverUnload: the
    /// double close then happens inside WdfRegistryClose (F4).
    pub extern "C" fn closes_in_unload_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
        driver_keeping_key(driver, path).map_or_else(|status| status, close_wdm_handle)
    }
    const _: DRIVER_INITIALIZE = Some(closes_in_unload_entry);

    extern "C" fn unload_closing_key(driver: WDFDRIVER) {
        // SAFETY: written in DriverEntry; the driver object is still alive in
        // EvtDriverUnload (F27).
        let key = unsafe { context(driver).read() }.key;
        close_key(key);
    }

    /// The correct driver: the key is closed with WdfRegistryClose in
    /// EvtDriverUnload, its handle never touched.
    pub extern "C" fn correct_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
        driver_keeping_key(driver, path).map_or_else(|status| status, |_| STATUS_SUCCESS)
    }
    const _: DRIVER_INITIALIZE = Some(correct_entry);
}

fn machine(settings: Settings) -> Machine {
    let m = Machine::new(settings);
    m.registry_create_key(PARAMS).expect("test path is well formed");
    m
}

/// Loads the buggy driver; returns its key and the key's (stale) WDM handle.
fn load_buggy(m: &Machine) -> (u64, u64) {
    let status = m.load(CLIENT, SERVICE, Some(raw_client::buggy_entry)).expect("loading does not stop the machine");
    assert_eq!(status, kmdf_sim::STATUS_SUCCESS, "the first close succeeds: the slot is live");
    let keys = m.live_keys();
    assert_eq!(keys.len(), 1, "the framework still holds the key object");
    let key = keys[0];
    // F1/F6: m_Key still holds the value the driver closed.
    (key, m.key_handle(key).expect("m_Key is still set"))
}

fn bug_check(stop: &Stop) -> &kmdf_sim::control::BugCheck {
    stop.bug_check().unwrap_or_else(|| panic!("expected a bug check, got {stop}"))
}

#[test]
fn the_key_is_a_child_of_the_driver_and_has_the_reported_handle_value() {
    let m = machine(Settings::default());
    let (key, handle) = load_buggy(&m);
    assert_eq!(handle, 0xFFFF_FFFF_8000_0304);
    let parent = m.object_parent(key).expect("F10: parented to the driver");
    assert!(m.live_objects().contains(&(parent, "WDFDRIVER")));
}

#[test]
fn a_free_slot_close_is_silent_without_verifiers_but_the_ownership_check_catches_it() {
    let m = machine(Settings::without_verifiers());
    let (key, handle) = load_buggy(&m);

    // The driver's close is itself flagged: it closed the framework key's handle.
    let v = m.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::ClosedForeignHandle);
    assert_eq!(v[0].closer, HandleOwner::Component(CLIENT.into()));
    assert_eq!(v[0].victim, Some(HandleOwner::FrameworkKey { key, driver: CLIENT.into() }));

    // Unload: the framework deletes the driver's children and ~FxRegKey closes
    // the value again (F27, F2, F7).
    let report = m.unload().expect("no verifier: STATUS_INVALID_HANDLE, no bug check (F67a)");
    assert!(report.leaked_handles.is_empty() && report.leaked_objects.is_empty(), "{report:?}");
    let v = m.violations();
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[1].kind, ViolationKind::StaleCloseFreeSlot);
    assert_eq!(v[1].closer, HandleOwner::FrameworkKey { key, driver: CLIENT.into() });
    assert_eq!(v[1].victim, None);
    assert!(v[1].outcome.contains("STATUS_INVALID_HANDLE"), "{}", v[1].outcome);
    assert!(m.live_objects().is_empty(), "the driver and its key are gone");

    let history = m.handle_history(handle);
    assert!(matches!(&history[history.len() - 2].kind,
        HandleEventKind::Closed { by } if *by == HandleOwner::Component(CLIENT.into())));
    assert!(matches!(&history[history.len() - 1].kind, HandleEventKind::BadClose { .. }));
}

#[test]
fn a_free_slot_close_bug_checks_93_1_under_verifier_misc_checks() {
    // The default machine is the test VM: Driver Verifier's misc checks are on.
    let m = machine(Settings::default());
    let (_, handle) = load_buggy(&m);
    let stop = m.unload().expect_err("F67c: Driver Verifier forces the bug check");
    let b = bug_check(&stop);
    assert_eq!((b.code, b.params), (0x93, [0x304, 1, 0, 0]));
    assert_eq!(b.blamed, "Wdf01000.sys");
    assert_eq!(b.process, "System");
    let cause = b.root_cause.as_deref().expect("the simulator names the real culprit");
    assert!(cause.starts_with(CLIENT), "{cause}");
    assert_eq!(m.violations().last().map(|v| v.kind.clone()), Some(ViolationKind::StaleCloseFreeSlot));
    assert_eq!(m.handle_history(handle), b.handle_history);
}

#[test]
fn a_kernel_debugger_alone_does_not_bug_check_in_the_system_process() {
    // F42/F67a: the debugger branch needs a caller process with a PEB; unload
    // runs in System, which has none.
    let m = machine(Settings { kernel_debugger: true, ..Settings::without_verifiers() });
    load_buggy(&m);
    m.unload().expect("no PEB in System: silent");
    assert_eq!(m.violations().last().map(|v| v.kind.clone()), Some(ViolationKind::StaleCloseFreeSlot));
}

#[test]
fn a_kernel_debugger_bug_checks_a_double_close_in_a_process_with_a_peb() {
    let m = machine(Settings { kernel_debugger: true, ..Settings::without_verifiers() });
    let stop = m
        .run_in_process(CLIENT, "EvtIoDeviceControl", "app.exe", || {
            let key = raw_client::open_key(PARAMS).expect("opens");
            assert_eq!(raw_client::close_wdm_handle(key), kmdf_sim::STATUS_SUCCESS);
            // The framework's Close() closes the same value again (F4).
            raw_client::close_key(key);
        })
        .expect_err("F42: debugger + PEB → 0x93 {h, 1, 0, 0}");
    let b = bug_check(&stop);
    assert_eq!((b.code, b.params), (0x93, [0x304, 1, 0, 0]));
    assert_eq!(b.process, "app.exe");
    assert!(b.stack.iter().any(|f| f == "Wdf01000!FxRegKey::Close"), "{:?}", b.stack);
}

fn assert_reported_shape(m: &Machine, stop: &Stop, handle: u64) {
    let b = bug_check(stop);
    // The report: BugCheck 93, {304, 0, 0, 0}, Wdf01000 blamed, System, IRQL 0,
    // KeBugCheckEx <- KiSystemServiceCopyEnd <- KiServiceLinkage <- FxRegKey dtor (F41),
    // during driver unload.
    assert_eq!((b.code, b.params), (0x93, [0x304, 0, 0, 0]));
    assert_eq!(b.name, "INVALID_KERNEL_HANDLE");
    assert_eq!(b.blamed, "Wdf01000.sys");
    assert_eq!((b.process.as_str(), b.irql), ("System", 0));
    assert_eq!(
        &b.stack[..4],
        &[
            "nt!KeBugCheckEx",
            "nt!KiSystemServiceCopyEnd",
            "nt!KiServiceLinkage",
            "Wdf01000!FxRegKey::`scalar deleting destructor'",
        ]
    );
    assert!(b.stack.iter().any(|f| f == "Wdf01000!FxDriver::Unload"), "{:?}", b.stack);
    assert_eq!(b.stack.last().map(String::as_str), Some("nt!IopLoadUnloadDriver"));
    // The history shows the driver's first close, then the protected reuse.
    let closes: Vec<_> = b
        .handle_history
        .iter()
        .filter_map(|e| match &e.kind {
            HandleEventKind::Closed { by } => Some(by.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(closes.last(), Some(&HandleOwner::Component(CLIENT.into())));
    assert!(b.handle_history.iter().any(|e| matches!(&e.kind,
        HandleEventKind::Opened { owner, protected: true, .. } if *owner == HandleOwner::Component("other.sys".into()))));
    assert!(b.root_cause.as_deref().is_some_and(|c| c.starts_with(CLIENT)));
    // The protected handle survives: a bug check closes nothing.
    assert_eq!(m.handle_owner(handle), Some(HandleOwner::Component("other.sys".into())));
    let text = b.render_analyze();
    for line in [
        "INVALID_KERNEL_HANDLE (93)",
        "Arg1: 0000000000000304, The handle that NtClose was called with.",
        "Arg2: 0000000000000000, means a protected handle was closed.",
        "PROCESS_NAME:  System",
        "CURRENT_IRQL:  0",
        "IMAGE_NAME:  Wdf01000.sys",
        "ROOT_CAUSE (simulator):  rawclient.sys closed handle 0xffffffff80000304",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn a_protected_reuse_gives_the_reported_bug_check_lifo() {
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let (_, handle) = load_buggy(&m);
    let other = m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
    assert_eq!(other, handle, "LIFO: the freed slot is the next one handed out");
    let stop = m.unload().expect_err("F67b: protected handle → 0x93 {h, 0, 0, 0}");
    assert_reported_shape(&m, &stop, handle);
    let v = m.violations();
    assert_eq!(
        v.last().map(|v| (&v.kind, &v.victim)),
        Some((&ViolationKind::StaleCloseReusedSlot, &Some(HandleOwner::Component("other.sys".into()))))
    );
}

#[test]
fn a_protected_reuse_gives_the_reported_bug_check_default_policy() {
    // Batched LIFO (F46): the slot comes back only after the free chain is used
    // up; other components keep opening handles until one lands in it.
    let m = machine(Settings::default());
    let (_, handle) = load_buggy(&m);
    let mut opened = 0;
    loop {
        let h = m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
        opened += 1;
        if h == handle {
            break;
        }
        assert!(opened < 10_000, "the freed slot never came back");
    }
    assert!(opened > 1, "batched LIFO does not hand the slot out at once");
    let stop = m.unload().expect_err("0x93 {h, 0, 0, 0}");
    assert_reported_shape(&m, &stop, handle);
}

#[test]
fn an_unprotected_reuse_silently_closes_the_victims_handle() {
    // Even under the verifiers: the slot holds a live handle, so nothing is
    // invalid to the kernel (F67).
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let (key, handle) = load_buggy(&m);
    let other = m.open_foreign_handle("other.sys", OTHER_KEY, false).expect("opens");
    assert_eq!(other, handle);
    m.unload().expect("F67: no bug check, the victim's handle is closed");
    assert!(m.stop().is_none());
    assert_eq!(m.handle_owner(handle), None, "other.sys's handle was closed behind its back");
    let v = m.violations().pop().expect("a violation");
    assert_eq!(v.kind, ViolationKind::StaleCloseReusedSlot);
    assert_eq!(v.closer, HandleOwner::FrameworkKey { key, driver: CLIENT.into() });
    assert_eq!(v.victim, Some(HandleOwner::Component("other.sys".into())));
    assert!(v.to_string().contains("other.sys"), "{v}");
}

#[test]
fn closing_the_wdm_handle_then_the_key_double_closes_at_wdf_registry_close() {
    // F4: WdfRegistryClose closes now, so the double close happens there, in
    // EvtDriverUnload, before the framework's teardown.
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let status = m.load(CLIENT, SERVICE, Some(raw_client::closes_in_unload_entry)).expect("loads");
    assert_eq!(status, kmdf_sim::STATUS_SUCCESS);
    let handle = m.key_handle(m.live_keys()[0]).expect("m_Key set");
    m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
    let stop = m.unload().expect_err("0x93");
    let b = bug_check(&stop);
    assert_eq!(b.params, [handle & 0x7FFF_FFFF, 0, 0, 0]);
    assert_eq!(b.blamed, "Wdf01000.sys");
    assert!(b.stack.iter().any(|f| f == "Wdf01000!FxRegKey::Close"));
    assert!(b.stack.iter().any(|f| f == "rawclient!EvtDriverUnload"));
}

#[test]
fn the_correct_driver_leaves_no_trace() {
    // Positive control: the same driver without the bug, under the verifiers.
    let m = machine(Settings { verifier_misc_checks: true, kmdf_verifier: true, ..Settings::default() });
    let status = m.load(CLIENT, SERVICE, Some(raw_client::correct_entry)).expect("loads");
    assert_eq!(status, kmdf_sim::STATUS_SUCCESS);
    let handle = m.key_handle(m.live_keys()[0]).expect("m_Key set");
    let report = m.unload().expect("no stop");
    assert!(report.leaked_handles.is_empty() && report.leaked_objects.is_empty(), "{report:?}");
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.live_objects().is_empty());
    assert_eq!(m.handle_owner(handle), None);
}

#[test]
fn after_a_stop_the_driver_is_halted_and_every_call_is_refused() {
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let handle = m
        .run(CLIENT, "DriverEntry", || {
            let key = raw_client::open_key(PARAMS).expect("opens");
            assert_eq!(raw_client::close_wdm_handle(key), kmdf_sim::STATUS_SUCCESS);
            key
        })
        .expect("no stop");
    m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
    let later = std::cell::Cell::new(None);
    let stop = m
        .run(CLIENT, "DriverUnload", || {
            raw_client::close_key(handle);
            // The machine has stopped inside the close: this line never runs.
            later.set(Some(raw_client::open_key(PARAMS)));
        })
        .expect_err("stopped");
    assert_eq!(later.get(), None, "no driver code runs after the bug check");
    assert_eq!(bug_check(&stop).code, 0x93, "the stop is the double close, not a driver panic");
    // A routine called outside the machine's driver code (here, by the test)
    // is refused with a failure status.
    assert_eq!(m.refused_calls(), 0);
    assert_eq!(raw_client::open_key(PARAMS), Err(kmdf_sim::control::STOPPED_STATUS));
    assert_eq!(m.refused_calls(), 1);
    // Entry points refuse too, with the same stop.
    let again = m.run(CLIENT, "DriverEntry", || ()).expect_err("still stopped");
    assert_eq!(again, stop);
}

#[test]
fn a_simulator_panic_becomes_a_recorded_stop() {
    let m = machine(Settings::default());
    m.inject_simulator_panic("WdfRegistryOpenKey");
    let stop = m.run(CLIENT, "DriverEntry", || raw_client::open_key(PARAMS)).expect_err("recorded stop");
    match stop.as_ref() {
        Stop::SimulatorPanic { location, message } => {
            assert_eq!(location, "WdfRegistryOpenKey");
            assert!(message.contains("injected"), "{message}");
        }
        other => panic!("expected a simulator panic, got {other}"),
    }
}

#[test]
fn a_driver_panic_is_a_wdk_panic_bug_check() {
    let m = machine(Settings::default());
    let stop = m.run(CLIENT, "DriverEntry", || panic!("driver bug")).expect_err("RPNC");
    assert_eq!(bug_check(&stop).code, 0x5250_4E43);
    assert_eq!(bug_check(&stop).blamed, CLIENT);
    assert!(bug_check(&stop).root_cause.as_deref().is_some_and(|c| c.contains("driver bug")));
}

fn double_wdf_registry_close(settings: Settings) -> (Machine, Option<Box<Stop>>) {
    let m = machine(settings);
    let result = m.run(CLIENT, "DriverUnload", || {
        let key = raw_client::open_key(PARAMS).expect("opens");
        raw_client::close_key(key);
        raw_client::close_key(key);
    });
    (m, result.err())
}

#[test]
fn a_second_wdf_registry_close_has_the_outcomes_of_f77() {
    // (d) wdf01000.sys under special pool: the read of the freed FxRegKey faults.
    let (_, stop) = double_wdf_registry_close(Settings::default());
    let stop = stop.expect("special pool");
    let b = bug_check(&stop);
    assert_eq!((b.code, b.params[1]), (0xD5, 0), "{stop}");
    assert_eq!(b.blamed, "Wdf01000.sys");
    // (a) the KMDF verifier scrubbed the freed object: a fault through its NULL
    // vtable inside Wdf01000 (0x7E in the System process).
    let (_, stop) = double_wdf_registry_close(Settings { kmdf_verifier: true, ..Settings::without_verifiers() });
    let stop = stop.expect("scrubbed object");
    assert_eq!(bug_check(&stop).code, 0x7E);
    assert_eq!(bug_check(&stop).params[0], 0xC000_0005);
    // (b) neither: silent, but the simulator says what happened.
    let (m, stop) = double_wdf_registry_close(Settings::without_verifiers());
    assert!(stop.is_none());
    assert!(m.framework_log().iter().any(|l| l.contains("used after it was deleted")), "{:?}", m.framework_log());
    assert!(m.violations().is_empty(), "no handle was double-closed: Close() nulled m_Key (F3)");
}

#[test]
fn a_wdfkey_that_never_was_is_a_wdf_violation() {
    let m = machine(Settings::without_verifiers());
    let stop = m
        .run(CLIENT, "DriverEntry", || raw_client::close_key(0x1234 as kmdf_sim::WDFKEY))
        .expect_err("F20: FxObjectHandleGetPtr rejects it");
    let b = bug_check(&stop);
    assert_eq!((b.code, b.params[0], b.params[1], b.params[2]), (0x10D, 0x5, 0x1234, 0x1006));
}
