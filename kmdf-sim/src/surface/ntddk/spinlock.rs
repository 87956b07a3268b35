//! Executive spin locks (F142): the rules are the model's `kernel::spinlock`.
//! The shims read the lock's `KSPIN_LOCK` value, let the model decide, and
//! write the value (nonzero while held) and the queue handle back.

use super::gated;
use crate::abi::*;
use crate::model::Routine;
use crate::model::kernel::spinlock::Acquire;

/// Reads a lock's value; 0 for a null pointer (the model then stops on the
/// address).
///
/// # Safety
/// `lock` null or a valid KSPIN_LOCK.
unsafe fn value(lock: PKSPIN_LOCK) -> u64 {
    // SAFETY: null or valid (the caller's contract).
    unsafe { lock.as_ref() }.map_or(0, |v| *v)
}

/// Writes a lock's value (1 held, 0 free).
///
/// # Safety
/// As `value`.
unsafe fn set(lock: PKSPIN_LOCK, held: bool) {
    // SAFETY: null or valid (the caller's contract).
    if let Some(v) = unsafe { lock.as_mut() } {
        *v = ULONG_PTR::from(held);
    }
}

/// Shared body of the four acquires: the IRQL to restore, `None` after a stop.
///
/// # Safety
/// `lock` null or a valid KSPIN_LOCK.
unsafe fn acquire(routine: Routine, lock: PKSPIN_LOCK, how: Acquire) -> Option<KIRQL> {
    // SAFETY: forwarded from the caller's contract.
    let v = unsafe { value(lock) };
    let old = gated(routine, None, |s| Some(s.spin_acquire(lock as u64, v, how)));
    if old.is_some() {
        // SAFETY: as above.
        unsafe { set(lock, true) };
    }
    old
}

/// Shared body of the four releases.
///
/// # Safety
/// As `acquire`.
unsafe fn release(routine: Routine, lock: PKSPIN_LOCK, how: Acquire, new_irql: KIRQL) {
    let done = gated(routine, None, |s| Some(s.spin_release(lock as u64, how, new_irql)));
    if done.is_some() {
        // SAFETY: forwarded from the caller's contract.
        unsafe { set(lock, false) };
    }
}

/// `KeAcquireSpinLockRaiseToDpc` (F142): raises to DISPATCH_LEVEL, returns
/// the IRQL it was called at.
///
/// # Safety
/// `SpinLock` points at an initialized KSPIN_LOCK.
pub unsafe extern "C" fn KeAcquireSpinLockRaiseToDpc(SpinLock: PKSPIN_LOCK) -> KIRQL {
    // SAFETY: the routine's contract.
    unsafe { acquire(Routine::KeAcquireSpinLockRaiseToDpc, SpinLock, Acquire::Raise) }
        .unwrap_or(DISPATCH_LEVEL as KIRQL)
}

/// `KeReleaseSpinLock` (F142): releases, back to `NewIrql` (the acquire's
/// return value).
///
/// # Safety
/// As `KeAcquireSpinLockRaiseToDpc`.
pub unsafe extern "C" fn KeReleaseSpinLock(SpinLock: PKSPIN_LOCK, NewIrql: KIRQL) {
    // SAFETY: the routine's contract.
    unsafe { release(Routine::KeReleaseSpinLock, SpinLock, Acquire::Raise, NewIrql) }
}

/// `KeAcquireSpinLockAtDpcLevel` (F142): the caller already runs at
/// DISPATCH_LEVEL.
///
/// # Safety
/// As `KeAcquireSpinLockRaiseToDpc`.
pub unsafe extern "C" fn KeAcquireSpinLockAtDpcLevel(SpinLock: PKSPIN_LOCK) {
    // SAFETY: the routine's contract.
    let _ = unsafe { acquire(Routine::KeAcquireSpinLockAtDpcLevel, SpinLock, Acquire::AtDpc) };
}

/// `KeReleaseSpinLockFromDpcLevel` (F142): no IRQL change.
///
/// # Safety
/// As `KeAcquireSpinLockRaiseToDpc`.
pub unsafe extern "C" fn KeReleaseSpinLockFromDpcLevel(SpinLock: PKSPIN_LOCK) {
    // SAFETY: the routine's contract.
    unsafe { release(Routine::KeReleaseSpinLockFromDpcLevel, SpinLock, Acquire::AtDpc, DISPATCH_LEVEL as KIRQL) }
}

/// Fills the queue handle as the kernel does: its lock and the IRQL to
/// restore.
///
/// # Safety
/// `handle` null or a writable KLOCK_QUEUE_HANDLE.
unsafe fn fill_handle(handle: PKLOCK_QUEUE_HANDLE, lock: PKSPIN_LOCK, old: KIRQL) {
    // SAFETY: null or writable (the caller's contract).
    if let Some(h) = unsafe { handle.as_mut() } {
        h.LockQueue.Lock = lock;
        h.LockQueue.Next = std::ptr::null_mut();
        h.OldIrql = old;
    }
}

/// The lock and saved IRQL a queue handle holds; (null, 0) for a null handle.
///
/// # Safety
/// `handle` null or a valid KLOCK_QUEUE_HANDLE.
unsafe fn read_handle(handle: PKLOCK_QUEUE_HANDLE) -> (PKSPIN_LOCK, KIRQL) {
    // SAFETY: null or valid (the caller's contract).
    unsafe { handle.as_ref() }.map_or((std::ptr::null_mut(), 0), |h| (h.LockQueue.Lock, h.OldIrql))
}

/// `KeAcquireInStackQueuedSpinLock` (F142): raises to DISPATCH_LEVEL; the
/// IRQL to restore goes in `LockHandle`.
///
/// # Safety
/// `SpinLock` an initialized KSPIN_LOCK; `LockHandle` a writable
/// KLOCK_QUEUE_HANDLE that lives until the release.
pub unsafe extern "C" fn KeAcquireInStackQueuedSpinLock(SpinLock: PKSPIN_LOCK, LockHandle: PKLOCK_QUEUE_HANDLE) {
    // SAFETY: the routine's contract.
    if let Some(old) = unsafe { acquire(Routine::KeAcquireInStackQueuedSpinLock, SpinLock, Acquire::Queued) } {
        // SAFETY: as above.
        unsafe { fill_handle(LockHandle, SpinLock, old) };
    }
}

/// `KeReleaseInStackQueuedSpinLock` (F142): releases the handle's lock, back
/// to its saved IRQL.
///
/// # Safety
/// `LockHandle` the handle the acquire filled.
pub unsafe extern "C" fn KeReleaseInStackQueuedSpinLock(LockHandle: PKLOCK_QUEUE_HANDLE) {
    // SAFETY: the routine's contract.
    let (lock, old) = unsafe { read_handle(LockHandle) };
    // SAFETY: the lock the acquire put in the handle.
    unsafe { release(Routine::KeReleaseInStackQueuedSpinLock, lock, Acquire::Queued, old) }
}

/// `KeAcquireInStackQueuedSpinLockAtDpcLevel` (F142).
///
/// # Safety
/// As `KeAcquireInStackQueuedSpinLock`.
pub unsafe extern "C" fn KeAcquireInStackQueuedSpinLockAtDpcLevel(
    SpinLock: PKSPIN_LOCK,
    LockHandle: PKLOCK_QUEUE_HANDLE,
) {
    let routine = Routine::KeAcquireInStackQueuedSpinLockAtDpcLevel;
    // SAFETY: the routine's contract.
    if let Some(old) = unsafe { acquire(routine, SpinLock, Acquire::QueuedAtDpc) } {
        // SAFETY: as above.
        unsafe { fill_handle(LockHandle, SpinLock, old) };
    }
}

/// `KeReleaseInStackQueuedSpinLockFromDpcLevel` (F142).
///
/// # Safety
/// As `KeReleaseInStackQueuedSpinLock`.
pub unsafe extern "C" fn KeReleaseInStackQueuedSpinLockFromDpcLevel(LockHandle: PKLOCK_QUEUE_HANDLE) {
    // SAFETY: the routine's contract.
    let (lock, old) = unsafe { read_handle(LockHandle) };
    let routine = Routine::KeReleaseInStackQueuedSpinLockFromDpcLevel;
    // SAFETY: the lock the acquire put in the handle.
    unsafe { release(routine, lock, Acquire::QueuedAtDpc, old) }
}
