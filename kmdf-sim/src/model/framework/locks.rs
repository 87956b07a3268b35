//! WDFSPINLOCK and WDFWAITLOCK (wdfsync.h): who holds them, the IRQL a
//! spin lock raises to, and the misuses the KMDF verifier stops (F54).

use super::objects::{Attributes, ObjectKind};
use crate::abi::*;
use crate::model::{Routine, STOPPED_STATUS, State, with_state};

/// `WdfSpinLockCreate` / `WdfWaitLockCreate`: a lock, not held (parent: the
/// driver unless the attributes name one, F10). `None`: no machine.
pub(crate) fn create(spin: bool, attributes: Attributes) -> Option<Result<u64, NTSTATUS>> {
    with_state(|s| {
        let image = s.caller_image();
        let kind = if spin { ObjectKind::SpinLock { held: None } } else { ObjectKind::WaitLock { held: false } };
        s.create_object(kind, image, attributes)
    })
}

/// A lock misuse: 0x10D {code, lock, 0, 0} with the KMDF verifier (F54:
/// 0x2 WDF_RECURSIVE_LOCK, 0xB WDF_INVALID_LOCK_OPERATION); without it,
/// a finding (a real recursive acquire spins forever).
fn lock_violation(s: &mut State, code: u64, lock: u64, kind: &str, what: &str) {
    if s.settings.kmdf_verifier {
        let name = if code == 2 { "WDF_RECURSIVE_LOCK" } else { "WDF_INVALID_LOCK_OPERATION" };
        s.bug_check(
            (
                0x10D,
                [code, lock, 0, 0],
                "WDF_VIOLATION",
                [format!("{name}: {what}."), "The lock handle.".into(), String::new(), String::new()],
            ),
            None,
            Some(format!("{} {what} ({kind} {lock:#x})", s.caller_image())),
        );
    } else {
        let caller = s.caller_image();
        s.framework
            .findings
            .push(format!("{caller} {what} ({kind} {lock:#x}); on Windows the thread would hang or corrupt the lock"));
    }
}

/// `WdfSpinLockAcquire`: raises the IRQL to DISPATCH_LEVEL and holds the
/// lock; the previous IRQL is restored by `WdfSpinLockRelease` (wdfsync.h
/// page). Acquiring it again while held is F54's 0x2.
pub(crate) fn spin_lock_acquire(lock: WDFSPINLOCK) {
    with_state(|s| {
        let irql = s.kernel.irql;
        let Ok(object) = s.fx_object(Routine::WdfSpinLockAcquire, 0, lock as u64) else { return };
        match &mut object.kind {
            ObjectKind::SpinLock { held: Some(_) } => {
                lock_violation(s, 2, lock as u64, "WDFSPINLOCK", "acquired a spin lock it already holds");
            }
            ObjectKind::SpinLock { held } => {
                *held = Some(irql);
                s.kernel.irql = irql.max(DISPATCH_LEVEL as u8);
            }
            _ => unreachable!("the handle table admits only spin locks for a WDFSPINLOCK"),
        }
    });
}

/// `WdfSpinLockRelease`: releases the lock and restores the IRQL saved at
/// acquire. Releasing a lock that is not held is F54's 0xB.
pub(crate) fn spin_lock_release(lock: WDFSPINLOCK) {
    with_state(|s| {
        let Ok(object) = s.fx_object(Routine::WdfSpinLockRelease, 0, lock as u64) else { return };
        let ObjectKind::SpinLock { held } = &mut object.kind else {
            unreachable!("the handle table admits only spin locks for a WDFSPINLOCK")
        };
        match held.take() {
            Some(saved) => s.kernel.irql = saved,
            None => lock_violation(s, 0xB, lock as u64, "WDFSPINLOCK", "released a spin lock it does not hold"),
        }
    });
}

/// `WdfWaitLockAcquire` (wdfsync.h page): STATUS_SUCCESS when acquired;
/// with a `timeout` of 0 on a held lock, STATUS_TIMEOUT at once. One thread
/// runs at a time here, so a held lock is held by the caller: waiting on it
/// (NULL or nonzero timeout) is the recursive acquire F54's 0x2 names
/// (ASSUMPTION: with a nonzero timeout Windows would time out instead; the
/// simulator reports the self-deadlock either way). Only a zero timeout is
/// allowed above PASSIVE_LEVEL (the page); ASSUMPTION: otherwise the KMDF
/// verifier breaks (F65).
pub(crate) fn wait_lock_acquire(lock: WDFWAITLOCK, timeout: Option<i64>) -> NTSTATUS {
    with_state(|s| {
        if timeout != Some(0) && s.kernel.irql > PASSIVE_LEVEL as u8 {
            let message = format!("WdfWaitLockAcquire with a nonzero timeout at IRQL {}", s.kernel.irql);
            s.framework.framework_log.push(message.clone());
            super::verifier::verifier_break(s, &message);
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        let object = match s.fx_object(Routine::WdfWaitLockAcquire, 0, lock as u64) {
            Ok(o) => o,
            Err(st) => return st,
        };
        match &mut object.kind {
            ObjectKind::WaitLock { held: true } if timeout == Some(0) => STATUS_TIMEOUT,
            ObjectKind::WaitLock { held: true } => {
                lock_violation(s, 2, lock as u64, "WDFWAITLOCK", "waited on a wait lock it already holds");
                STATUS_TIMEOUT
            }
            ObjectKind::WaitLock { held } => {
                *held = true;
                STATUS_SUCCESS
            }
            _ => unreachable!("the handle table admits only wait locks for a WDFWAITLOCK"),
        }
    })
    .unwrap_or(STOPPED_STATUS)
}

/// `WdfWaitLockRelease`; releasing a lock that is not held is F54's 0xB.
pub(crate) fn wait_lock_release(lock: WDFWAITLOCK) {
    with_state(|s| {
        let Ok(object) = s.fx_object(Routine::WdfWaitLockRelease, 0, lock as u64) else { return };
        match &mut object.kind {
            ObjectKind::WaitLock { held: held @ true } => *held = false,
            ObjectKind::WaitLock { .. } => {
                lock_violation(s, 0xB, lock as u64, "WDFWAITLOCK", "released a wait lock it does not hold");
            }
            _ => unreachable!("the handle table admits only wait locks for a WDFWAITLOCK"),
        }
    });
}
