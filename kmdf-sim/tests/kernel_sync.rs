//! Kernel synchronisation on the machine's one thread (F82): events, KMUTEX,
//! FAST_MUTEX, waits and critical regions, with their IRQL rules.

use kmdf_sim::control::{Machine, Settings, Stop};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

const DRV: &str = "sync.sys";

fn code(m: &Machine) -> (u32, u64, String) {
    let stop = m.stop().expect("the machine stopped");
    let b = stop.bug_check().expect("a bug check").clone();
    (b.code, b.params[0], format!("{} {}", b.name, b.root_cause.unwrap_or_default()))
}

fn zero() -> LARGE_INTEGER {
    LARGE_INTEGER { QuadPart: 0 }
}

/// One wait with a zero timeout (a poll).
///
/// # Safety
/// `object` is an initialized event or mutex.
unsafe fn poll(object: PVOID) -> NTSTATUS {
    let mut t = zero();
    // SAFETY: the caller's object; `t` is a live LARGE_INTEGER.
    unsafe { KeWaitForSingleObject(object, _KWAIT_REASON::Executive, 0, 0, &mut t) }
}

#[test]
fn events_signal_reset_and_satisfy_waits_by_their_type() {
    let m = Machine::new(Settings::default());
    let mut sync_event = KEVENT::default();
    let mut notification = KEVENT::default();
    let e = std::ptr::from_mut(&mut sync_event);
    let n = std::ptr::from_mut(&mut notification);
    let seen = m
        .run(DRV, "DriverEntry", || {
            // SAFETY: `e` and `n` point at live KEVENTs (so for each call below).
            unsafe { KeInitializeEvent(e, _EVENT_TYPE::SynchronizationEvent, 0) };
            // SAFETY: as above.
            unsafe { KeInitializeEvent(n, _EVENT_TYPE::NotificationEvent, 1) };
            // SAFETY: as above.
            let before = unsafe { poll(e.cast()) };
            // SAFETY: as above.
            let previous = unsafe { KeSetEvent(e, 0, 0) };
            // SAFETY: as above.
            let first = unsafe { poll(e.cast()) };
            // SAFETY: as above.
            let after = unsafe { KeReadStateEvent(e) };
            // SAFETY: as above.
            let n1 = unsafe { poll(n.cast()) };
            // SAFETY: as above.
            let n2 = unsafe { poll(n.cast()) };
            // SAFETY: as above.
            let reset = unsafe { KeResetEvent(n) };
            // SAFETY: as above.
            unsafe { KeClearEvent(n) };
            // SAFETY: as above.
            let n3 = unsafe { poll(n.cast()) };
            (before, previous, first, after, n1, n2, reset, n3)
        })
        .expect("no stop");
    assert_eq!(
        seen,
        (STATUS_TIMEOUT, 0, STATUS_SUCCESS, 0, STATUS_SUCCESS, STATUS_SUCCESS, 1, STATUS_TIMEOUT),
        "a synchronization event resets when a wait is satisfied; a notification event stays signalled"
    );
    assert!(m.findings().is_empty());
}

#[test]
fn an_endless_wait_nothing_can_end_stops_the_machine() {
    let m = Machine::new(Settings::default());
    let mut event = KEVENT::default();
    let e = std::ptr::from_mut(&mut event);
    let stop = m
        .run(DRV, "DriverEntry", || {
            // SAFETY: `e` points at a live KEVENT.
            unsafe { KeInitializeEvent(e, _EVENT_TYPE::NotificationEvent, 0) };
            // SAFETY: as above; no timeout.
            unsafe { KeWaitForSingleObject(e.cast(), _KWAIT_REASON::Executive, 0, 0, core::ptr::null_mut()) }
        })
        .expect_err("the wait never ends");
    let b = stop.bug_check().expect("a stop with the stack");
    assert!(b.name.starts_with("THREAD_WAITS_FOREVER"), "{stop}");
    assert_eq!(b.blamed, DRV);
}

#[test]
fn a_kmutex_is_recursive_and_its_release_must_be_owned() {
    let m = Machine::new(Settings::default());
    let mut mutex = KMUTEX::default();
    let p = std::ptr::from_mut(&mut mutex);
    let seen = m
        .run(DRV, "DriverEntry", || {
            // SAFETY: `p` points at a live KMUTEX (so for each call below).
            unsafe { KeInitializeMutex(p, 0) };
            // SAFETY: as above.
            let a = unsafe { poll(p.cast()) };
            // SAFETY: as above.
            let b = unsafe { poll(p.cast()) };
            // SAFETY: as above.
            let r1 = unsafe { KeReleaseMutex(p, 0) };
            // SAFETY: as above.
            let r2 = unsafe { KeReleaseMutex(p, 0) };
            (a, b, r1, r2)
        })
        .expect("no stop");
    assert_eq!(seen, (STATUS_SUCCESS, STATUS_SUCCESS, -1, 0));
    // SAFETY: as above; released more often than acquired.
    let _ = m.run(DRV, "DriverUnload", || unsafe { KeReleaseMutex(p, 0) });
    let (c, _, text) = code(&m);
    assert_eq!(c, 0x1E, "STATUS_MUTANT_NOT_OWNED, unhandled: {text}");
}

#[test]
fn a_fast_mutex_raises_to_apc_level_and_deadlocks_when_taken_twice() {
    let m = Machine::new(Settings::default());
    // What ExInitializeFastMutex (inline in wdm.h) leaves: Count = FM_LOCK_BIT.
    let mut fm = FAST_MUTEX { Count: FM_LOCK_BIT as i32, ..Default::default() };
    let p = std::ptr::from_mut(&mut fm);
    let seen = m
        .run(DRV, "DriverEntry", || {
            // SAFETY: `p` points at a live, initialized FAST_MUTEX.
            unsafe { ExAcquireFastMutex(p) };
            // SAFETY: no argument.
            let inside = unsafe { KeGetCurrentIrql() };
            // SAFETY: `p` is live and initialized.
            let count_held = unsafe { (*p).Count };
            // SAFETY: as above.
            unsafe { ExReleaseFastMutex(p) };
            // SAFETY: no argument.
            let after = unsafe { KeGetCurrentIrql() };
            (inside, count_held & 1, after)
        })
        .expect("no stop");
    assert_eq!(seen, (APC_LEVEL as u8, 0, PASSIVE_LEVEL as u8));
    let _ = m.run(DRV, "DriverEntry", || {
        // SAFETY: as above.
        unsafe { ExAcquireFastMutex(p) };
        // SAFETY: as above: the second acquire on the same thread.
        unsafe { ExAcquireFastMutex(p) };
    });
    let (c, p1, text) = code(&m);
    assert_eq!((c, p1), (0xC4, 0x1000), "a self-deadlock: {text}");
}

#[test]
fn waits_and_fast_mutexes_keep_their_irql_rules() {
    let m = Machine::new(Settings::default());
    let mut event = KEVENT::default();
    let e = std::ptr::from_mut(&mut event);
    let polled = m
        .run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || {
            // SAFETY: `e` points at a live KEVENT.
            unsafe { KeInitializeEvent(e, _EVENT_TYPE::NotificationEvent, 0) };
            // SAFETY: as above; a zero timeout is allowed at DISPATCH_LEVEL.
            unsafe { poll(e.cast()) }
        })
        .expect("no stop");
    assert_eq!(polled, STATUS_TIMEOUT);
    let mut t = LARGE_INTEGER { QuadPart: -10_000 };
    let _ = m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || {
        // SAFETY: as above, with a nonzero timeout.
        unsafe { KeWaitForSingleObject(e.cast(), _KWAIT_REASON::Executive, 0, 0, &mut t) }
    });
    let (c, p1, text) = code(&m);
    assert_eq!((c, p1), (0xC4, 0x20004), "a waiting wait at DISPATCH_LEVEL: {text}");
    drop(m);

    let m = Machine::new(Settings::default());
    let mut fm = FAST_MUTEX { Count: FM_LOCK_BIT as i32, ..Default::default() };
    let p = std::ptr::from_mut(&mut fm);
    // SAFETY: `p` points at a live, initialized FAST_MUTEX.
    let _ = m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || unsafe { ExAcquireFastMutex(p) });
    assert_eq!(code(&m).0, 0xC4, "ExAcquireFastMutex above APC_LEVEL");
}

#[test]
fn an_object_the_machine_never_saw_is_not_modelled_never_a_success() {
    let m = Machine::new(Settings::default());
    let mut event = KEVENT::default();
    let e = std::ptr::from_mut(&mut event);
    // SAFETY: a live KEVENT, never initialized through KeInitializeEvent.
    let _ = m.run(DRV, "DriverEntry", || unsafe { KeSetEvent(e, 0, 0) });
    let stop = m.stop().expect("the machine stopped");
    assert!(matches!(stop, Stop::NotModelled { .. }) && stop.bug_check().is_none(), "{stop:?}");
    let text = stop.to_string();
    assert!(text.starts_with("not modelled: KeSetEvent on ") && text.contains("DriverEntry"), "{text}");
}

#[test]
fn critical_regions_count_and_an_unmatched_leave_is_a_finding() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        // SAFETY: no arguments; PASSIVE_LEVEL.
        unsafe { KeEnterCriticalRegion() };
        // SAFETY: as above.
        unsafe { KeLeaveCriticalRegion() };
    })
    .expect("no stop");
    assert!(m.findings().is_empty());
    // SAFETY: as above.
    m.run(DRV, "DriverEntry", || unsafe { KeLeaveCriticalRegion() }).expect("no stop");
    let findings = m.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].starts_with(DRV) && findings[0].contains("without a matching"), "{findings:?}");
}
