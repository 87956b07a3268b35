//! Negative controls: the original crash, written against the surface only,
//! must be caught every run, in each of its real shapes (design.md; issue
//! "Simulator, part 1"). If one of these tests fails, the simulator has
//! stopped catching the bug and every green run elsewhere means nothing.

use kmdf_sim::control::{HandleEventKind, HandleOwner, Machine, ReusePolicy, Settings, Stop, ViolationKind};

const CLIENT: &str = "rawclient.sys";
const PARAMS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\rawclient\Parameters";
const OTHER_KEY: &str = r"\Registry\Machine\SOFTWARE";

/// A driver written the way the crashing one was: only against the surface.
mod raw_client {
    use kmdf_sim::ntddk::ZwClose;
    use kmdf_sim::{
        KEY_READ, NT_SUCCESS, NTSTATUS, UNICODE_STRING, WDF_NO_OBJECT_ATTRIBUTES, WDFKEY,
        call_unsafe_wdf_function_binding,
    };

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    /// Opens a key by absolute path as a WDFKEY (default parent: the driver, F10).
    pub fn open_key(path: &str) -> Result<WDFKEY, NTSTATUS> {
        let mut buf = utf16(path);
        let bytes = (buf.len() * 2) as u16;
        let name = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: buf.as_mut_ptr() };
        let mut key: WDFKEY = core::ptr::null_mut();
        // SAFETY: `name` and `key` outlive the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryOpenKey,
                core::ptr::null_mut(),
                &name,
                KEY_READ,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut key
            )
        };
        if NT_SUCCESS(status) { Ok(key) } else { Err(status) }
    }

    /// The bug: a generic destructor closes the WDM handle of a WDFKEY.
    pub fn close_wdm_handle(key: WDFKEY) -> (u64, NTSTATUS) {
        // SAFETY: `key` is a live WDFKEY (that is all WdmGetHandle needs).
        let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
        // SAFETY: this is the defect under test: the handle is the key object's.
        let status = unsafe { ZwClose(handle) };
        (handle as u64, status)
    }

    /// The correct close.
    pub fn close_key(key: WDFKEY) {
        // SAFETY: `key` is live and not used again.
        unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
    }
}

fn machine(settings: Settings) -> Machine {
    let m = Machine::new(settings);
    m.registry_create_key(PARAMS).expect("test path is well formed");
    m
}

/// Loads the raw client: opens its key and closes the key's WDM handle.
fn driver_closes_wdm_handle(m: &Machine) -> (u64, u64) {
    m.run(CLIENT, "DriverEntry", || {
        let key = raw_client::open_key(PARAMS).expect("Parameters key opens");
        let (handle, status) = raw_client::close_wdm_handle(key);
        assert_eq!(status, kmdf_sim::STATUS_SUCCESS, "the first close succeeds: the slot is live");
        (key as u64, handle)
    })
    .expect("the driver's own close does not stop the machine")
}

fn bug_check(stop: &Stop) -> &kmdf_sim::control::BugCheck {
    stop.bug_check().unwrap_or_else(|| panic!("expected a bug check, got {stop}"))
}

#[test]
fn first_driver_handle_has_the_reported_value() {
    let m = machine(Settings::default());
    let (_, handle) = driver_closes_wdm_handle(&m);
    assert_eq!(handle, 0xFFFF_FFFF_8000_0304);
}

#[test]
fn a_free_slot_close_is_silent_by_default_but_the_ownership_check_catches_it() {
    let m = machine(Settings::default());
    let (key, handle) = driver_closes_wdm_handle(&m);

    // The driver's close is itself flagged: it closed the framework key's handle.
    let v = m.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::ClosedForeignHandle);
    assert_eq!(v[0].closer, HandleOwner::Component(CLIENT.into()));
    assert_eq!(v[0].victim, Some(HandleOwner::FrameworkKey { key, driver: CLIENT.into() }));

    // Unload: the framework destroys the key and closes the value again (F2, F7).
    m.framework_destroy_key(key).expect("default settings: STATUS_INVALID_HANDLE, no bug check (F67a)");
    assert!(m.stop().is_none());
    let v = m.violations();
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[1].kind, ViolationKind::StaleCloseFreeSlot);
    assert_eq!(v[1].closer, HandleOwner::FrameworkKey { key, driver: CLIENT.into() });
    assert_eq!(v[1].victim, None);
    assert!(v[1].outcome.contains("STATUS_INVALID_HANDLE"), "{}", v[1].outcome);
    assert!(m.live_keys().is_empty());

    let history = m.handle_history(handle);
    assert!(
        matches!(&history[history.len() - 2].kind, HandleEventKind::Closed { by } if *by == HandleOwner::Component(CLIENT.into()))
    );
    assert!(matches!(&history[history.len() - 1].kind, HandleEventKind::BadClose { .. }));
}

#[test]
fn a_free_slot_close_bug_checks_93_1_under_verifier_misc_checks() {
    let m = machine(Settings { verifier_misc_checks: true, ..Settings::default() });
    let (key, handle) = driver_closes_wdm_handle(&m);
    let stop = m.framework_destroy_key(key).expect_err("F67c: Driver Verifier forces the bug check");
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
    let m = machine(Settings { kernel_debugger: true, ..Settings::default() });
    let (key, _) = driver_closes_wdm_handle(&m);
    m.framework_destroy_key(key).expect("no PEB in System: silent");
    assert_eq!(m.violations().last().map(|v| v.kind.clone()), Some(ViolationKind::StaleCloseFreeSlot));
}

#[test]
fn a_kernel_debugger_bug_checks_a_double_close_in_a_process_with_a_peb() {
    let m = machine(Settings { kernel_debugger: true, ..Settings::default() });
    let stop = m
        .run_in_process(CLIENT, "EvtIoDeviceControl", "app.exe", || {
            let key = raw_client::open_key(PARAMS).expect("opens");
            let (_, first) = raw_client::close_wdm_handle(key);
            assert_eq!(first, kmdf_sim::STATUS_SUCCESS);
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
    // KeBugCheckEx <- KiSystemServiceCopyEnd <- KiServiceLinkage <- FxRegKey dtor (F41).
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
    assert!(b.handle_history.iter().any(
        |e| matches!(&e.kind, HandleEventKind::Opened { owner, protected: true, .. } if *owner == HandleOwner::Component("other.sys".into()))
    ));
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
    let (key, handle) = driver_closes_wdm_handle(&m);
    let other = m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
    assert_eq!(other, handle, "LIFO: the freed slot is the next one handed out");
    let stop = m.framework_destroy_key(key).expect_err("F67b: protected handle → 0x93 {h, 0, 0, 0}");
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
    let (key, handle) = driver_closes_wdm_handle(&m);
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
    let stop = m.framework_destroy_key(key).expect_err("0x93 {h, 0, 0, 0}");
    assert_reported_shape(&m, &stop, handle);
}

#[test]
fn an_unprotected_reuse_silently_closes_the_victims_handle() {
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let (key, handle) = driver_closes_wdm_handle(&m);
    let other = m.open_foreign_handle("other.sys", OTHER_KEY, false).expect("opens");
    assert_eq!(other, handle);
    m.framework_destroy_key(key).expect("F67: no bug check, the victim's handle is closed");
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
    // F4: WdfRegistryClose closes now, so the double close happens there.
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let (key, handle) = driver_closes_wdm_handle(&m);
    m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
    let stop = m.run(CLIENT, "DriverUnload", || raw_client::close_key(key as kmdf_sim::WDFKEY)).expect_err("0x93");
    let b = bug_check(&stop);
    assert_eq!(b.params, [handle & 0x7FFF_FFFF, 0, 0, 0]);
    assert_eq!(b.blamed, "Wdf01000.sys");
    assert!(b.stack.iter().any(|f| f == "rawclient!DriverUnload"));
}

#[test]
fn the_correct_client_leaves_no_trace() {
    // Positive control: the same client without the bug.
    let m = machine(Settings { verifier_misc_checks: true, ..Settings::default() });
    let handle = m
        .run(CLIENT, "DriverEntry", || {
            let key = raw_client::open_key(PARAMS).expect("opens");
            // SAFETY: live key.
            let h = unsafe { kmdf_sim::call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) } as u64;
            raw_client::close_key(key);
            h
        })
        .expect("no stop");
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.live_keys().is_empty());
    assert_eq!(m.handle_owner(handle), None);
}

#[test]
fn after_a_stop_every_call_is_refused_with_a_failure_status() {
    let m = machine(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    let (key, _) = driver_closes_wdm_handle(&m);
    m.open_foreign_handle("other.sys", OTHER_KEY, true).expect("opens");
    let later = std::cell::Cell::new(None);
    let stop = m
        .run(CLIENT, "DriverUnload", || {
            raw_client::close_key(key as kmdf_sim::WDFKEY);
            // The machine has stopped; the driver's code runs on along its error path.
            later.set(Some(raw_client::open_key(PARAMS)));
        })
        .expect_err("stopped");
    assert_eq!(later.get(), Some(Err(kmdf_sim::control::STOPPED_STATUS)));
    assert_eq!(bug_check(&stop).code, 0x93, "the stop is the double close, not a driver panic");
    assert!(m.refused_calls() >= 1);
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
}

#[test]
fn an_invalid_wdfkey_is_a_wdf_violation() {
    let m = machine(Settings::default());
    let stop = m
        .run(CLIENT, "DriverEntry", || {
            let key = raw_client::open_key(PARAMS).expect("opens");
            raw_client::close_key(key);
            raw_client::close_key(key);
        })
        .expect_err("second WdfRegistryClose on a destroyed key");
    let b = bug_check(&stop);
    assert_eq!((b.code, b.params[0], b.params[2]), (0x10D, 0x5, 0x1006));
}
