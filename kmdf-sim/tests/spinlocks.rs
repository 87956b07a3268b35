//! Executive spin locks (F142): the IRQL they raise to and restore, the
//! queue handle, and Driver Verifier's DDI compliance stops for a deadlock,
//! a wrong release IRQL, a mismatched pair and a lock held at unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;
use std::cell::Cell;

/// A lock the test passes by address (the model knows it by address).
fn lock() -> Box<KSPIN_LOCK> {
    Box::new(0)
}

fn bug(m: &Machine) -> (u32, u64) {
    let stop = m.stop().expect("a stop");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check, not {stop}"));
    (b.code, b.params[0])
}

#[test]
fn raise_to_dpc_raises_and_release_restores() {
    let m = Machine::new(Settings::default());
    let mut l = lock();
    let p: PKSPIN_LOCK = &raw mut *l;
    let (old, during, after, value) = m
        .run("spin.sys", "DriverEntry", || {
            // SAFETY: an initialized (zero) lock that outlives the calls.
            let old = unsafe { KeAcquireSpinLockRaiseToDpc(p) };
            // SAFETY: no arguments.
            let during = unsafe { KeGetCurrentIrql() };
            // SAFETY: as above.
            let value = unsafe { *p };
            // SAFETY: the lock acquired above, its old IRQL.
            unsafe { KeReleaseSpinLock(p, old) };
            // SAFETY: no arguments.
            (old, during, unsafe { KeGetCurrentIrql() }, value)
        })
        .expect("no stop");
    assert_eq!((old, during, after), (PASSIVE_LEVEL as u8, DISPATCH_LEVEL as u8, PASSIVE_LEVEL as u8));
    assert_ne!(value, 0, "held: nonzero");
    assert_eq!(*l, 0, "released: zero");
    // At DISPATCH_LEVEL already: the DPC-level pair, no IRQL change.
    m.run_at_irql("spin.sys", "EvtDpc", DISPATCH_LEVEL as u8, || {
        // SAFETY: as above.
        unsafe { KeAcquireSpinLockAtDpcLevel(p) };
        // SAFETY: as above.
        unsafe { KeReleaseSpinLockFromDpcLevel(p) };
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn the_queued_lock_keeps_the_old_irql_in_its_handle() {
    let m = Machine::new(Settings::default());
    let mut l = lock();
    let p: PKSPIN_LOCK = &raw mut *l;
    let seen = Cell::new((0u8, 0u8, std::ptr::null_mut()));
    m.run_at_irql("spin.sys", "EvtIoRead", APC_LEVEL as u8, || {
        let mut h = KLOCK_QUEUE_HANDLE::default();
        // SAFETY: a zero lock; a handle that lives until the release.
        unsafe { KeAcquireInStackQueuedSpinLock(p, &raw mut h) };
        // SAFETY: no arguments.
        seen.set((h.OldIrql, unsafe { KeGetCurrentIrql() }, h.LockQueue.Lock));
        // SAFETY: the handle the acquire filled.
        unsafe { KeReleaseInStackQueuedSpinLock(&raw mut h) };
        // SAFETY: no arguments.
        assert_eq!(unsafe { KeGetCurrentIrql() }, APC_LEVEL as u8);
    })
    .expect("no stop");
    assert_eq!(seen.get(), (APC_LEVEL as u8, DISPATCH_LEVEL as u8, p));
    m.run_at_irql("spin.sys", "EvtDpc", DISPATCH_LEVEL as u8, || {
        let mut h = KLOCK_QUEUE_HANDLE::default();
        // SAFETY: as above.
        unsafe { KeAcquireInStackQueuedSpinLockAtDpcLevel(p, &raw mut h) };
        // SAFETY: as above.
        unsafe { KeReleaseInStackQueuedSpinLockFromDpcLevel(&raw mut h) };
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn acquiring_a_held_lock_again_is_the_spin_lock_rule() {
    let m = Machine::new(Settings::default());
    let mut l = lock();
    let p: PKSPIN_LOCK = &raw mut *l;
    let _ = m.run("spin.sys", "DriverEntry", || {
        // SAFETY: a zero lock.
        let _old = unsafe { KeAcquireSpinLockRaiseToDpc(p) };
        // SAFETY: as above: the second acquire is the case under test.
        let _again = unsafe { KeAcquireSpinLockRaiseToDpc(p) };
    });
    assert_eq!(bug(&m), (0xC4, 0x40009));
}

#[test]
fn releasing_to_another_irql_or_below_dispatch_is_irql_ke_release_spin_lock() {
    // NewIrql not the acquire's old IRQL.
    let m = Machine::new(Settings::default());
    let mut l = lock();
    let p: PKSPIN_LOCK = &raw mut *l;
    let _ = m.run("spin.sys", "DriverEntry", || {
        // SAFETY: a zero lock.
        let _old = unsafe { KeAcquireSpinLockRaiseToDpc(p) };
        // SAFETY: the wrong NewIrql is the case under test.
        unsafe { KeReleaseSpinLock(p, APC_LEVEL as u8) };
    });
    assert_eq!(bug(&m), (0xC4, 0x20015));
    drop(m);
    // A release of a lock that is not held.
    *l = 0;
    let m = Machine::new(Settings::default());
    let _ = m.run_at_irql("spin.sys", "EvtDpc", DISPATCH_LEVEL as u8, || {
        // SAFETY: a zero lock never acquired: the case under test.
        unsafe { KeReleaseSpinLock(p, 0) };
    });
    assert_eq!(bug(&m), (0xC4, 0x40009));
}

#[test]
fn the_dpc_level_forms_below_dispatch_and_mismatched_pairs_stop() {
    let m = Machine::new(Settings::default());
    let mut l = lock();
    let p: PKSPIN_LOCK = &raw mut *l;
    // SAFETY: a zero lock; PASSIVE_LEVEL is the case under test.
    let _ = m.run("spin.sys", "DriverEntry", || unsafe { KeAcquireSpinLockAtDpcLevel(p) });
    assert_eq!(bug(&m), (0xC4, 0x20003));
    drop(m);
    let m = Machine::new(Settings::default());
    *l = 0;
    let _ = m.run("spin.sys", "DriverEntry", || {
        // SAFETY: a zero lock.
        let _old = unsafe { KeAcquireSpinLockRaiseToDpc(p) };
        // SAFETY: the mismatched release is the case under test.
        unsafe { KeReleaseSpinLockFromDpcLevel(p) };
    });
    assert_eq!(bug(&m), (0xC4, 0x40009));
    assert!(m.stop().expect("a stop").to_string().contains("its pair is KeReleaseSpinLock"));
}

#[test]
fn a_lock_with_a_value_the_machine_never_saw_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let mut l = Box::new(0x1234 as KSPIN_LOCK);
    let p: PKSPIN_LOCK = &raw mut *l;
    // SAFETY: a readable lock whose value is the case under test.
    let _ = m.run("spin.sys", "DriverEntry", || unsafe { KeAcquireSpinLockRaiseToDpc(p) });
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}

static HELD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn holds_a_lock(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    let p = HELD.load(std::sync::atomic::Ordering::Relaxed) as PKSPIN_LOCK;
    // SAFETY: a lock the test keeps alive; acquired and never released.
    let _old = unsafe { KeAcquireSpinLockRaiseToDpc(p) };
    STATUS_SUCCESS
}

#[test]
fn a_lock_held_at_unload_is_the_spin_lock_rule() {
    let mut l = lock();
    HELD.store(&raw mut *l as u64, std::sync::atomic::Ordering::Relaxed);
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("hold.sys", "hold", Some(holds_a_lock)).expect("no stop"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("the lock is still held");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[1]), (0xC4, 0x40009, &raw mut *l as u64), "{stop}");
    assert!(b.root_cause.as_deref().unwrap_or_default().starts_with("hold.sys unloaded holding"), "{stop}");
}
