//! DPCs and kernel timers (F147): a queued DPC runs once at DISPATCH_LEVEL
//! with its context and arguments, a kernel timer fires on the machine's
//! clock and queues its DPC (periodically with KeSetTimerEx), cancelling
//! stops it, and the stops for a timer or DPC left at unload (0xC7), a DPC
//! routine that leaves a critical region unbalanced (0xC7 {4}) and pool freed
//! with a timer still set (0xC4 {0x15}).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;
use std::cell::RefCell;

thread_local! {
    /// (context, argument 1, IRQL) per run of `deferred`.
    static RAN: RefCell<Vec<(u64, u64, u8)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn deferred(_dpc: *mut _KDPC, context: PVOID, a1: PVOID, _a2: PVOID) {
    // SAFETY: no arguments.
    let irql = unsafe { KeGetCurrentIrql() };
    RAN.with(|r| r.borrow_mut().push((context as u64, a1 as u64, irql)));
}

fn ran() -> Vec<(u64, u64, u8)> {
    RAN.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// Zeroed storage for a kernel object the model knows by address.
fn object<T>() -> Box<T> {
    // SAFETY: KDPC and KTIMER are plain data; zero is a valid bit pattern.
    Box::new(unsafe { std::mem::zeroed() })
}

fn init_dpc(dpc: PRKDPC, context: u64) {
    // SAFETY: the test's KDPC storage, alive while the DPC can run.
    unsafe { KeInitializeDpc(dpc, Some(deferred), context as PVOID) }
}

fn insert(dpc: PRKDPC, a1: u64) -> BOOLEAN {
    // SAFETY: an initialized KDPC.
    unsafe { KeInsertQueueDpc(dpc, a1 as PVOID, std::ptr::null_mut()) }
}

fn relative_ms(ms: i64) -> LARGE_INTEGER {
    LARGE_INTEGER { QuadPart: -ms * 10_000 }
}

const DISPATCH: u8 = DISPATCH_LEVEL as u8;

#[test]
fn a_queued_dpc_runs_once_at_dispatch_level_when_the_call_returns() {
    let m = Machine::new(Settings::default());
    let mut d = object::<KDPC>();
    let p: PRKDPC = &raw mut *d;
    let queued = m
        .run("dpc.sys", "DriverEntry", || {
            init_dpc(p, 7);
            let first = insert(p, 11);
            let again = insert(p, 12); // already queued
            (first, again, ran().len())
        })
        .expect("no stop");
    assert_eq!(queued, (1, 0, 0), "queued, not yet run");
    assert_eq!(ran(), [(7, 11, DISPATCH)], "ran once when DriverEntry's call returned");
    let removed = m
        .run("dpc.sys", "EvtIoRead", || {
            insert(p, 13);
            // SAFETY: an initialized KDPC.
            unsafe { KeRemoveQueueDpc(p) }
        })
        .expect("no stop");
    assert_eq!((removed, ran()), (1, vec![]));
    m.run("dpc.sys", "EvtIoRead", || {
        insert(p, 14);
        // SAFETY: no arguments; PASSIVE_LEVEL.
        unsafe { KeFlushQueuedDpcs() };
        assert_eq!(ran(), [(7, 14, DISPATCH)], "flushed before KeFlushQueuedDpcs returned");
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_kernel_timer_fires_on_the_clock_and_queues_its_dpc() {
    let m = Machine::new(Settings::default());
    let (mut d, mut t) = (object::<KDPC>(), object::<KTIMER>());
    let (dpc, timer): (PRKDPC, PKTIMER) = (&raw mut *d, &raw mut *t);
    m.run("tmr.sys", "DriverEntry", || {
        init_dpc(dpc, 1);
        // SAFETY: the test's KTIMER storage.
        unsafe { KeInitializeTimerEx(timer, _TIMER_TYPE::NotificationTimer) };
        // SAFETY: an initialized timer and DPC; 10 ms, then every 5 ms.
        unsafe { KeSetTimerEx(timer, relative_ms(10), 5, dpc) }
    })
    .expect("no stop");
    // SAFETY: an initialized timer.
    let state = || m.run("tmr.sys", "Poll", || unsafe { KeReadStateTimer(timer) }).expect("no stop");
    m.advance_time(9).expect("no stop");
    assert_eq!((ran().len(), state()), (0, 0));
    m.advance_time(1).expect("no stop");
    assert_eq!(ran().len(), 1, "due at 10 ms");
    assert_eq!(state(), 1);
    m.advance_time(10).expect("no stop");
    assert_eq!(ran().len(), 2, "periodic: 15 and 20 ms");
    // SAFETY: an initialized timer.
    let was_set = m.run("tmr.sys", "DriverUnload", || unsafe { KeCancelTimer(timer) }).expect("no stop");
    m.advance_time(50).expect("no stop");
    assert_eq!((was_set, ran().len()), (1, 0));
    kmdf_sim::testing::assert_clean(&m);
}

static TIMER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn leaves_a_timer_set(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    let timer = TIMER.load(std::sync::atomic::Ordering::Relaxed) as PKTIMER;
    // SAFETY: storage the test keeps alive; set and never cancelled (the case
    // under test).
    unsafe { KeInitializeTimer(timer) };
    // SAFETY: as above.
    let _ = unsafe { KeSetTimer(timer, relative_ms(1000), std::ptr::null_mut()) };
    STATUS_SUCCESS
}

#[test]
fn a_timer_still_set_at_unload_is_0xc7() {
    let mut t = object::<KTIMER>();
    TIMER.store(&raw mut *t as u64, std::sync::atomic::Ordering::Relaxed);
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("set.sys", "set", Some(leaves_a_timer_set)).expect("no stop"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("the timer is still set");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[1]), (0xC7, 0, &raw mut *t as u64), "{stop}");
}

extern "C" fn enters_a_critical_region(_dpc: *mut _KDPC, _context: PVOID, _a1: PVOID, _a2: PVOID) {
    // SAFETY: no arguments; never left (the case under test).
    unsafe { KeEnterCriticalRegion() };
}

#[test]
fn a_dpc_routine_that_changes_the_critical_region_count_is_0xc7_4() {
    // With IRQL checking on, KeEnterCriticalRegion at DISPATCH_LEVEL stops
    // first (its rule is <= APC_LEVEL); without it the kernel's own check
    // after the DPC routine remains.
    let m = Machine::new(Settings { driver_verifier_irql: false, ..Settings::default() });
    let mut d = object::<KDPC>();
    let p: PRKDPC = &raw mut *d;
    let _ = m.run("dpc.sys", "DriverEntry", || {
        // SAFETY: the test's KDPC storage.
        unsafe { KeInitializeDpc(p, Some(enters_a_critical_region), std::ptr::null_mut()) };
        insert(p, 0);
    });
    let stop = m.stop().expect("a stop");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[2], b.params[3]), (0xC7, 4, 0, 1), "{stop}");
}

#[test]
fn pool_freed_with_a_timer_still_set_is_0xc4_0x15() {
    let m = Machine::new(Settings::default());
    let tag = u32::from_le_bytes(*b"Tmr ");
    let _ = m.run("tmr.sys", "DriverEntry", || {
        // SAFETY: no preconditions.
        let block = unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, size_of::<KTIMER>() as u64, tag) };
        // SAFETY: a KTIMER-sized nonpaged block.
        unsafe { KeInitializeTimer(block.cast()) };
        // SAFETY: as above; freeing it while set is the case under test.
        let _ = unsafe { KeSetTimer(block.cast(), relative_ms(5), std::ptr::null_mut()) };
        // SAFETY: the block, with its tag.
        unsafe { ExFreePoolWithTag(block, tag) };
    });
    let b = m.stop().expect("a stop").bug_check().expect("a bug check").clone();
    assert_eq!((b.code, b.params[0]), (0xC4, 0x15));
    assert_eq!(b.params[1], b.params[3], "the timer is the block itself");
}

#[test]
fn a_timer_with_an_unknown_dpc_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let (mut d, mut t) = (object::<KDPC>(), object::<KTIMER>());
    let (dpc, timer): (PRKDPC, PKTIMER) = (&raw mut *d, &raw mut *t);
    let _ = m.run("tmr.sys", "DriverEntry", || {
        // SAFETY: the test's KTIMER storage.
        unsafe { KeInitializeTimer(timer) };
        // SAFETY: a KDPC KeInitializeDpc never saw: the case under test.
        unsafe { KeSetTimer(timer, relative_ms(5), dpc) }
    });
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}
