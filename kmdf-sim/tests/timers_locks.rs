//! WDFTIMER (wdftimer.h) and WDFSPINLOCK (wdfsync.h) on the simulated clock:
//! due times, periods, the IRQL callbacks run at, stop, parents, deletion;
//! lock IRQL and misuse (F54 0x2 / 0xB).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::KeGetCurrentIrql;
use kmdf_sim::*;
use std::cell::RefCell;

mod support;

const DRV: &str = "timers.sys";

thread_local! {
    /// (clock at the call, IRQL) of each EvtTimerFunc.
    static FIRED: RefCell<Vec<(u64, u8)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn on_timer(_timer: WDFTIMER) {
    // SAFETY: no preconditions.
    let irql = unsafe { KeGetCurrentIrql() };
    let now = kmdf_sim::control::debug_clock();
    FIRED.with(|f| f.borrow_mut().push((now, irql)));
}

fn fired() -> Vec<(u64, u8)> {
    FIRED.with(|f| f.borrow_mut().drain(..).collect())
}

fn parent() -> WDFOBJECT {
    let mut object: WDFOBJECT = std::ptr::null_mut();
    let mut attrs = testing::object_attributes();
    // SAFETY: valid attributes and a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfObjectCreate, &mut attrs, &mut object) };
    assert_eq!(st, STATUS_SUCCESS);
    object
}

fn config(period_ms: u32) -> WDF_TIMER_CONFIG {
    WDF_TIMER_CONFIG {
        Size: size_of::<WDF_TIMER_CONFIG>() as u32,
        EvtTimerFunc: Some(on_timer),
        Period: period_ms,
        AutomaticSerialization: 1,
        ..WDF_TIMER_CONFIG::default()
    }
}

fn create_timer(period_ms: u32, parent: WDFOBJECT, passive: bool) -> Result<WDFTIMER, NTSTATUS> {
    let mut cfg = config(period_ms);
    let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: parent, ..testing::object_attributes() };
    if passive {
        attrs.ExecutionLevel = _WDF_EXECUTION_LEVEL::WdfExecutionLevelPassive;
    }
    let mut timer: WDFTIMER = std::ptr::null_mut();
    // SAFETY: valid config and attributes, a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfTimerCreate, &mut cfg, &mut attrs, &mut timer) };
    if NT_SUCCESS(st) { Ok(timer) } else { Err(st) }
}

fn start(timer: WDFTIMER, due: i64) -> bool {
    // SAFETY: a live timer.
    unsafe { call_unsafe_wdf_function_binding!(WdfTimerStart, timer, due) != 0 }
}

fn stop(timer: WDFTIMER, wait: bool) -> bool {
    // SAFETY: a live timer.
    unsafe { call_unsafe_wdf_function_binding!(WdfTimerStop, timer, u8::from(wait)) != 0 }
}

const MS: i64 = 10_000;

#[test]
fn a_one_shot_timer_fires_once_at_its_due_time_at_dispatch_level() {
    let m = Machine::new(Settings::default());
    let (timer, p) = m
        .run(DRV, "DriverEntry", || {
            let p = parent();
            let t = create_timer(0, p, false).expect("created");
            assert!(!start(t, -100 * MS), "not queued before");
            (t, p)
        })
        .expect("no stop");
    m.advance_time(99).expect("no stop");
    assert!(fired().is_empty(), "not due yet");
    m.advance_time(1).expect("no stop");
    assert_eq!(fired(), vec![(100 * MS as u64, DISPATCH_LEVEL as u8)]);
    m.advance_time(1000).expect("no stop");
    assert!(fired().is_empty(), "one-shot");
    // SAFETY: a live timer.
    let got = m.run(DRV, "Check", || unsafe { call_unsafe_wdf_function_binding!(WdfTimerGetParentObject, timer) });
    assert_eq!(got.expect("no stop"), p);
}

#[test]
fn a_periodic_timer_refires_every_period_until_stopped() {
    let m = Machine::new(Settings::default());
    let timer = m
        .run(DRV, "DriverEntry", || {
            let t = create_timer(10, parent(), false).expect("created");
            let _ = start(t, -5 * MS);
            t
        })
        .expect("no stop");
    m.advance_time(36).expect("no stop");
    let times: Vec<u64> = fired().iter().map(|f| f.0 / MS as u64).collect();
    assert_eq!(times, vec![5, 15, 25, 35]);
    assert!(m.run(DRV, "Stop", || stop(timer, true)).expect("no stop"), "it was queued");
    assert!(!m.run(DRV, "Stop", || stop(timer, true)).expect("no stop"), "no longer queued");
    m.advance_time(100).expect("no stop");
    assert!(fired().is_empty());
    assert!(m.queued_timers().is_empty());
}

#[test]
fn restarting_a_queued_timer_reports_it_and_moves_its_due_time() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let t = create_timer(0, parent(), false).expect("created");
        assert!(!start(t, -10 * MS));
        assert!(start(t, -50 * MS), "TRUE: it was already queued");
    })
    .expect("no stop");
    m.advance_time(49).expect("no stop");
    assert!(fired().is_empty());
    m.advance_time(1).expect("no stop");
    assert_eq!(fired().len(), 1);
}

#[test]
fn a_passive_timer_runs_at_passive_level() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let t = create_timer(0, parent(), true).expect("created");
        let _ = start(t, -MS);
    })
    .expect("no stop");
    m.advance_time(1).expect("no stop");
    assert_eq!(fired(), vec![(MS as u64, PASSIVE_LEVEL as u8)]);
}

#[test]
fn a_timer_goes_with_its_parent() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let p = parent();
        let t = create_timer(10, p, false).expect("created");
        let _ = start(t, -10 * MS);
        // SAFETY: the parent this closure created.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, p) };
    })
    .expect("no stop");
    m.advance_time(100).expect("no stop");
    assert!(fired().is_empty(), "a deleted timer never fires");
    assert!(!m.live_objects().iter().any(|(_, t)| *t == "WDFTIMER"));
}

#[test]
fn timer_create_checks_its_config_and_needs_a_parent() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        assert_eq!(create_timer(0, std::ptr::null_mut(), false), Err(STATUS_INVALID_PARAMETER));
        let mut cfg = WDF_TIMER_CONFIG { Size: 8, ..config(0) };
        let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: parent(), ..testing::object_attributes() };
        let mut timer: WDFTIMER = std::ptr::null_mut();
        // SAFETY: valid pointers; the size is the defect under test.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfTimerCreate, &mut cfg, &mut attrs, &mut timer) };
        assert_eq!(st, STATUS_INFO_LENGTH_MISMATCH);
    })
    .expect("no stop");
}

#[test]
fn timer_create_takes_the_older_releases_config_sizes() {
    // F93 (fxtimerapi.cpp): KMDF 1.33 takes WDF_TIMER_CONFIG of its own
    // size, V1_11's (32 bytes on x64) or V1_7's (24), reading only as far
    // as Size; any other size is STATUS_INFO_LENGTH_MISMATCH.
    let m = Machine::new(Settings::default());
    let created = m
        .run(DRV, "DriverEntry", || {
            let p = parent();
            let make = |size: u32| {
                let mut cfg = WDF_TIMER_CONFIG { Size: size, ..config(10) };
                let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: p, ..testing::object_attributes() };
                let mut timer: WDFTIMER = std::ptr::null_mut();
                // SAFETY: a whole 1.33 config and attributes, a writable slot.
                let st = unsafe { call_unsafe_wdf_function_binding!(WdfTimerCreate, &mut cfg, &mut attrs, &mut timer) };
                (st, timer)
            };
            assert_eq!(make(28).0, STATUS_INFO_LENGTH_MISMATCH, "not a released size");
            assert_eq!(make(size_of::<WDF_TIMER_CONFIG>() as u32 + 8).0, STATUS_INFO_LENGTH_MISMATCH);
            [24, 32].map(|size| {
                let (st, timer) = make(size);
                assert_eq!(st, STATUS_SUCCESS, "Size {size}");
                timer
            })
        })
        .expect("no stop");
    m.run(DRV, "Test", || {
        for t in created {
            let _ = start(t, -10 * MS);
        }
    })
    .expect("no stop");
    m.advance_time(35).expect("no stop");
    // Both periodic (Period 10 ms is inside V1_7's part): due at 10, 20, 30.
    assert_eq!(fired().len(), 6);
}

#[test]
fn stop_with_wait_above_passive_is_a_kmdf_verifier_break() {
    let m = Machine::new(Settings { kernel_debugger: true, ..Settings::default() });
    let t = m.run(DRV, "DriverEntry", || create_timer(0, parent(), false).expect("created")).expect("no stop");
    m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || stop(t, false)).expect("Wait = FALSE is allowed at DISPATCH");
    assert!(m.verifier_breaks().is_empty());
    m.run(DRV, "Start", || start(t, -10_000_000)).expect("no stop");
    let stopped =
        m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || stop(t, true)).expect("the debugger catches the break");
    assert_eq!(m.verifier_breaks().len(), 1, "{:?}", m.verifier_breaks());
    // fxtimerapi.cpp: after the break the DDI returns FALSE and leaves the
    // timer queued — a later stop at PASSIVE_LEVEL still finds it.
    assert!(!stopped, "the refused stop returns FALSE");
    assert!(m.run(DRV, "Stop", || stop(t, true)).expect("no stop"), "the timer stayed queued");
}

#[test]
fn without_the_kmdf_verifier_stop_with_wait_above_passive_stops_the_timer() {
    let m = Machine::new(Settings { kmdf_verifier: false, ..Settings::default() });
    let t = m.run(DRV, "DriverEntry", || create_timer(0, parent(), false).expect("created")).expect("no stop");
    m.run(DRV, "Start", || start(t, -10_000_000)).expect("no stop");
    let stopped = m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || stop(t, true)).expect("no verifier, no stop");
    assert!(stopped, "it was queued");
    assert!(m.verifier_breaks().is_empty());
}

fn spin_lock() -> WDFSPINLOCK {
    let mut lock: WDFSPINLOCK = std::ptr::null_mut();
    // SAFETY: no attributes; a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockCreate, WDF_NO_OBJECT_ATTRIBUTES, &mut lock) };
    assert_eq!(st, STATUS_SUCCESS);
    lock
}

fn irql() -> u8 {
    // SAFETY: no preconditions.
    unsafe { KeGetCurrentIrql() }
}

#[test]
fn a_spin_lock_raises_to_dispatch_and_restores_the_irql() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let lock = spin_lock();
        assert_eq!(irql(), 0);
        // SAFETY: a live lock, acquired once and released once.
        unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockAcquire, lock) };
        assert_eq!(irql(), DISPATCH_LEVEL as u8);
        // SAFETY: as above.
        unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockRelease, lock) };
        assert_eq!(irql(), 0);
    })
    .expect("no stop");
}

#[test]
fn a_recursive_acquire_is_wdf_violation_recursive_lock() {
    let m = Machine::new(Settings::default());
    let stop = m
        .run(DRV, "DriverEntry", || {
            let lock = spin_lock();
            // SAFETY: a live lock; the second acquire is the defect under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockAcquire, lock) };
            // SAFETY: as above.
            unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockAcquire, lock) };
        })
        .expect_err("0x10D");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0]), (0x10D, 0x2));
}

#[test]
fn releasing_a_lock_not_held_is_a_finding_without_the_kmdf_verifier() {
    let m = Machine::new(Settings { kmdf_verifier: false, ..Settings::default() });
    m.run(DRV, "DriverEntry", || {
        let lock = spin_lock();
        // SAFETY: a live lock; releasing it unheld is the defect under test.
        unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockRelease, lock) };
    })
    .expect("no stop without the KMDF verifier");
    assert!(m.findings().iter().any(|f| f.contains("does not hold")), "{:?}", m.findings());
    let m2 = {
        drop(m);
        Machine::new(Settings::default())
    };
    let stop = m2
        .run(DRV, "DriverEntry", || {
            let lock = spin_lock();
            // SAFETY: as above.
            unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockRelease, lock) };
        })
        .expect_err("0x10D");
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params[0])), Some((0x10D, 0xB)));
}

fn wait_lock() -> WDFWAITLOCK {
    let mut lock: WDFWAITLOCK = std::ptr::null_mut();
    // SAFETY: no attributes; a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfWaitLockCreate, WDF_NO_OBJECT_ATTRIBUTES, &mut lock) };
    assert_eq!(st, STATUS_SUCCESS);
    lock
}

fn acquire(lock: WDFWAITLOCK, timeout: Option<i64>) -> NTSTATUS {
    let mut t = timeout.unwrap_or(0);
    let p = if timeout.is_some() { std::ptr::from_mut(&mut t) } else { std::ptr::null_mut() };
    // SAFETY: a live lock; a null or readable timeout.
    unsafe { call_unsafe_wdf_function_binding!(WdfWaitLockAcquire, lock, p) }
}

#[test]
fn a_wait_lock_is_acquired_released_and_tried() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let lock = wait_lock();
        assert_eq!(acquire(lock, None), STATUS_SUCCESS);
        assert_eq!(irql(), 0, "a wait lock does not raise the IRQL");
        assert_eq!(acquire(lock, Some(0)), STATUS_TIMEOUT, "held: a zero timeout returns at once");
        // SAFETY: the lock this closure holds.
        unsafe { call_unsafe_wdf_function_binding!(WdfWaitLockRelease, lock) };
        assert_eq!(acquire(lock, Some(0)), STATUS_SUCCESS);
        // SAFETY: as above.
        unsafe { call_unsafe_wdf_function_binding!(WdfWaitLockRelease, lock) };
    })
    .expect("no stop");
    let lock = m.run(DRV, "Make", wait_lock).expect("no stop");
    assert_eq!(
        m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || acquire(lock, Some(0))).expect("a zero timeout is allowed"),
        STATUS_SUCCESS
    );
}

#[test]
fn waiting_on_a_wait_lock_one_holds_is_a_recursive_lock() {
    let m = Machine::new(Settings::default());
    let stop = m
        .run(DRV, "DriverEntry", || {
            let lock = wait_lock();
            let _ = acquire(lock, None);
            let _ = acquire(lock, None);
        })
        .expect_err("0x10D");
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params[0])), Some((0x10D, 0x2)));
}

thread_local! {
    static WORKED: RefCell<Vec<(u8, WDFOBJECT)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn on_work(item: WDFWORKITEM) {
    // SAFETY: a live work item.
    let parent = unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemGetParentObject, item) };
    WORKED.with(|w| w.borrow_mut().push((irql(), parent)));
}

fn work_item(parent: WDFOBJECT) -> Result<WDFWORKITEM, NTSTATUS> {
    let mut config = WDF_WORKITEM_CONFIG {
        Size: size_of::<WDF_WORKITEM_CONFIG>() as u32,
        EvtWorkItemFunc: Some(on_work),
        AutomaticSerialization: 1,
    };
    let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: parent, ..testing::object_attributes() };
    let mut item: WDFWORKITEM = std::ptr::null_mut();
    // SAFETY: valid config and attributes, a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemCreate, &mut config, &mut attrs, &mut item) };
    if NT_SUCCESS(st) { Ok(item) } else { Err(st) }
}

#[test]
fn a_work_item_queued_at_dispatch_runs_once_at_passive_when_the_thread_returns() {
    let m = Machine::new(Settings::default());
    let (item, p) = m
        .run(DRV, "DriverEntry", || {
            assert_eq!(work_item(std::ptr::null_mut()), Err(STATUS_INVALID_PARAMETER), "a parent is required");
            let p = parent();
            (work_item(p).expect("created"), p)
        })
        .expect("no stop");
    m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || {
        // SAFETY: a live work item, queued twice (the second is ignored).
        unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemEnqueue, item) };
        // SAFETY: as above.
        unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemEnqueue, item) };
        assert!(WORKED.with(|w| w.borrow().is_empty()), "not inside the DPC");
    })
    .expect("no stop");
    assert_eq!(WORKED.with(|w| w.borrow_mut().drain(..).collect::<Vec<_>>()), vec![(0, p)]);
    m.run(DRV, "Flush", || {
        // SAFETY: a live work item.
        unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemEnqueue, item) };
        // SAFETY: as above.
        unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemFlush, item) };
        assert_eq!(WORKED.with(|w| w.borrow().len()), 1, "Flush returns after the callback ran");
    })
    .expect("no stop");
}
