//! Timer and spin-lock DDIs (wdftimer.h, wdfsync.h).

use crate::abi::*;
use crate::model::framework::objects::ObjectKind;
use crate::model::framework::timers::{TimerState, due_from};
use crate::model::framework::verifier::invalid_handle;
use crate::model::{Routine, STOPPED_STATUS, enter, with_state};
use crate::surface::create::{Parent, Required, deliver, null_config_field, with_config, with_out};

/// `WdfTimerCreate` (WdfTimerCreate page): a WDFTIMER whose EvtTimerFunc
/// runs when it expires, every `Period` ms when periodic.
///
/// * `Config.Size` other than the 1.33 size: STATUS_INFO_LENGTH_MISMATCH
///   (ASSUMPTION, as for the other config structures).
/// * `EvtTimerFunc` NULL: 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL} (F54).
/// * The page requires `Attributes->ParentObject` (a device, a queue or,
///   from 1.9, another object); ASSUMPTION: without one the call fails with
///   STATUS_INVALID_PARAMETER (KMDF source fxtimerapi.cpp validates it).
/// * `AutomaticSerialization` serializes EvtTimerFunc with the parent's
///   callbacks; the simulated machine runs one callback at a time, so that
///   holds by construction.
///
/// # Safety
/// As the DDI: `Config`, `Attributes` valid; `Timer` writable.
#[must_use]
pub unsafe extern "C" fn WdfTimerCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Config: PWDF_TIMER_CONFIG,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Timer: *mut WDFTIMER,
) -> NTSTATUS {
    enter(Routine::WdfTimerCreate, STOPPED_STATUS, || {
        let callback = |c: &WDF_TIMER_CONFIG| c.EvtTimerFunc.ok_or_else(|| null_config_field("Config->EvtTimerFunc"));
        // SAFETY: the driver passes a valid config and null or valid attributes.
        let (config, callback, attributes) = match unsafe {
            with_config(Config, &[Required("Timer", Timer.is_null())], Attributes, Parent::AsGiven, callback)
        } {
            Ok(checked) => checked,
            Err(st) => return st,
        };
        let Some(parent) = attributes.parent else { return crate::STATUS_INVALID_PARAMETER };
        let created = with_state(|s| {
            let image = s.caller_image();
            let state =
                TimerState { callback, period_ms: config.Period, due: None, parent, passive: attributes.passive };
            s.create_object(ObjectKind::Timer(Box::new(state)), image, attributes)
        });
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, Timer) }
    })
}

/// Runs `f` on a live timer, or reports the handle as invalid.
fn with_timer<R>(timer: WDFTIMER, f: impl FnOnce(&mut TimerState, u64) -> R) -> Option<R> {
    with_state(|s| {
        let clock = s.kernel.clock;
        match s.framework.objects.get_mut(&(timer as u64)).map(|o| &mut o.kind) {
            Some(ObjectKind::Timer(t)) => Some(f(t, clock)),
            _ => {
                invalid_handle(s, timer as u64, 0);
                None
            }
        }
    })
    .flatten()
}

/// `WdfTimerStart`: queues the timer for `DueTime` (negative: relative, in
/// 100-ns units; positive: absolute system time). Returns TRUE if it was
/// already queued (it is then re-queued for the new time) — the DDI page.
#[must_use]
pub unsafe extern "C" fn WdfTimerStart(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Timer: WDFTIMER,
    DueTime: LONGLONG,
) -> BOOLEAN {
    enter(Routine::WdfTimerStart, 0, || {
        with_timer(Timer, |t, clock| u8::from(t.due.replace(due_from(clock, DueTime)).is_some())).unwrap_or(0)
    })
}

/// `WdfTimerStop`: takes the timer out of the queue; TRUE if it was queued
/// (the DDI page). With `Wait` the caller waits for a running EvtTimerFunc
/// to return — the simulated machine runs one callback at a time, so none
/// is running. `Wait` must be used at PASSIVE_LEVEL (the DDI page);
/// ASSUMPTION: above it the KMDF verifier breaks (F65) and the timer is
/// stopped without waiting (Driver Verifier's DDI-compliance view of the
/// same call is not modelled; `data/ddi-irql-overrides.tsv` lets Wait = FALSE run at DISPATCH).
#[must_use]
pub unsafe extern "C" fn WdfTimerStop(_DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER, Wait: BOOLEAN) -> BOOLEAN {
    enter(Routine::WdfTimerStop, 0, || {
        if Wait != 0 {
            with_state(|s| {
                if s.kernel.irql > crate::PASSIVE_LEVEL as u8 {
                    let message =
                        format!("WdfTimerStop with Wait = TRUE at IRQL {}; it must be PASSIVE_LEVEL", s.kernel.irql);
                    s.framework.framework_log.push(message.clone());
                    crate::model::framework::verifier::verifier_break(s, &message);
                }
            });
        }
        with_timer(Timer, |t, _| u8::from(t.due.take().is_some())).unwrap_or(0)
    })
}

/// `WdfTimerGetParentObject`: the timer's parent.
#[must_use]
pub unsafe extern "C" fn WdfTimerGetParentObject(_DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER) -> WDFOBJECT {
    enter(Routine::WdfTimerGetParentObject, std::ptr::null_mut(), || {
        with_timer(Timer, |t, _| t.parent as WDFOBJECT).unwrap_or(std::ptr::null_mut())
    })
}

/// `WdfSpinLockCreate`: a WDFSPINLOCK (parent: the driver unless the
/// attributes name one, F10).
#[must_use]
pub unsafe extern "C" fn WdfSpinLockCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    SpinLockAttributes: PWDF_OBJECT_ATTRIBUTES,
    SpinLock: *mut WDFSPINLOCK,
) -> NTSTATUS {
    enter(Routine::WdfSpinLockCreate, STOPPED_STATUS, || {
        // SAFETY: `SpinLock` null or writable, `SpinLockAttributes` null or valid (the DDI's contract).
        let attributes =
            match unsafe { with_out(SpinLock, "SpinLock", false, SpinLockAttributes, Parent::AsGiven, || Ok(())) } {
                Ok(a) => a,
                Err(st) => return st,
            };
        let created = with_state(|s| {
            let image = s.caller_image();
            s.create_object(ObjectKind::SpinLock { held: None }, image, attributes)
        });
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, SpinLock) }
    })
}

/// A lock misuse: 0x10D {code, lock, 0, 0} with the KMDF verifier (F54:
/// 0x2 WDF_RECURSIVE_LOCK, 0xB WDF_INVALID_LOCK_OPERATION); without it,
/// a finding (a real recursive acquire spins forever).
fn lock_violation(s: &mut crate::model::State, code: u64, lock: u64, what: &str) {
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
            Some(format!("{} {what} (WDFSPINLOCK {lock:#x})", s.caller_image())),
        );
    } else {
        let caller = s.caller_image();
        s.framework.findings.push(format!(
            "{caller} {what} (WDFSPINLOCK {lock:#x}); on Windows the thread would hang or corrupt the lock"
        ));
    }
}

/// `WdfSpinLockAcquire`: raises the IRQL to DISPATCH_LEVEL and holds the
/// lock; the previous IRQL is restored by `WdfSpinLockRelease` (wdfsync.h
/// page). Acquiring it again while held is F54's 0x2.
pub unsafe extern "C" fn WdfSpinLockAcquire(_DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLock: WDFSPINLOCK) {
    enter(Routine::WdfSpinLockAcquire, (), || {
        with_state(|s| {
            let irql = s.kernel.irql;
            match s.framework.objects.get_mut(&(SpinLock as u64)).map(|o| &mut o.kind) {
                Some(ObjectKind::SpinLock { held: Some(_) }) => {
                    lock_violation(s, 2, SpinLock as u64, "acquired a spin lock it already holds");
                }
                Some(ObjectKind::SpinLock { held }) => {
                    *held = Some(irql);
                    s.kernel.irql = s.kernel.irql.max(crate::DISPATCH_LEVEL as u8);
                }
                _ => {
                    invalid_handle(s, SpinLock as u64, 0);
                }
            }
        });
    })
}

/// `WdfSpinLockRelease`: releases the lock and restores the IRQL saved at
/// acquire. Releasing a lock that is not held is F54's 0xB.
pub unsafe extern "C" fn WdfSpinLockRelease(_DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLock: WDFSPINLOCK) {
    enter(Routine::WdfSpinLockRelease, (), || {
        with_state(|s| match s.framework.objects.get_mut(&(SpinLock as u64)).map(|o| &mut o.kind) {
            Some(ObjectKind::SpinLock { held }) => match held.take() {
                Some(saved) => s.kernel.irql = saved,
                None => lock_violation(s, 0xB, SpinLock as u64, "released a spin lock it does not hold"),
            },
            _ => {
                invalid_handle(s, SpinLock as u64, 0);
            }
        });
    })
}

/// `WdfWaitLockCreate`: a WDFWAITLOCK (parent: the driver unless the
/// attributes name one, F10).
#[must_use]
pub unsafe extern "C" fn WdfWaitLockCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    LockAttributes: PWDF_OBJECT_ATTRIBUTES,
    Lock: *mut WDFWAITLOCK,
) -> NTSTATUS {
    enter(Routine::WdfWaitLockCreate, STOPPED_STATUS, || {
        // SAFETY: `Lock` null or writable, `LockAttributes` null or valid (the DDI's contract).
        let attributes = match unsafe { with_out(Lock, "Lock", false, LockAttributes, Parent::AsGiven, || Ok(())) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        let created = with_state(|s| {
            let image = s.caller_image();
            s.create_object(ObjectKind::WaitLock { held: false }, image, attributes)
        });
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, Lock) }
    })
}

/// `WdfWaitLockAcquire` (wdfsync.h page): STATUS_SUCCESS when acquired;
/// with a `Timeout` of 0 on a held lock, STATUS_TIMEOUT at once. One thread
/// runs at a time here, so a held lock is held by the caller: waiting on it
/// (NULL or nonzero timeout) is the recursive acquire F54's 0x2 names
/// (ASSUMPTION: with a nonzero timeout Windows would time out instead; the
/// simulator reports the self-deadlock either way). Only a zero timeout is
/// allowed above PASSIVE_LEVEL (the page); ASSUMPTION: otherwise the KMDF
/// verifier breaks (F65).
///
/// # Safety
/// `Timeout` null or readable.
#[must_use]
pub unsafe extern "C" fn WdfWaitLockAcquire(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Lock: WDFWAITLOCK,
    Timeout: PLONGLONG,
) -> NTSTATUS {
    enter(Routine::WdfWaitLockAcquire, STOPPED_STATUS, || {
        // SAFETY: null or readable by contract.
        let timeout = (!Timeout.is_null()).then(|| unsafe { Timeout.read() });
        with_state(|s| {
            if timeout != Some(0) && s.kernel.irql > crate::PASSIVE_LEVEL as u8 {
                let message = format!("WdfWaitLockAcquire with a nonzero timeout at IRQL {}", s.kernel.irql);
                s.framework.framework_log.push(message.clone());
                crate::model::framework::verifier::verifier_break(s, &message);
                return crate::STATUS_INVALID_DEVICE_REQUEST;
            }
            match s.framework.objects.get_mut(&(Lock as u64)).map(|o| &mut o.kind) {
                Some(ObjectKind::WaitLock { held: true }) if timeout == Some(0) => crate::STATUS_TIMEOUT,
                Some(ObjectKind::WaitLock { held: true }) => {
                    lock_violation(s, 2, Lock as u64, "waited on a wait lock it already holds");
                    crate::STATUS_TIMEOUT
                }
                Some(ObjectKind::WaitLock { held }) => {
                    *held = true;
                    crate::STATUS_SUCCESS
                }
                _ => invalid_handle(s, Lock as u64, 0),
            }
        })
        .unwrap_or(STOPPED_STATUS)
    })
}

/// `WdfWaitLockRelease`; releasing a lock that is not held is F54's 0xB.
pub unsafe extern "C" fn WdfWaitLockRelease(_DriverGlobals: PWDF_DRIVER_GLOBALS, Lock: WDFWAITLOCK) {
    enter(Routine::WdfWaitLockRelease, (), || {
        with_state(|s| match s.framework.objects.get_mut(&(Lock as u64)).map(|o| &mut o.kind) {
            Some(ObjectKind::WaitLock { held: held @ true }) => *held = false,
            Some(ObjectKind::WaitLock { .. }) => {
                lock_violation(s, 0xB, Lock as u64, "released a wait lock it does not hold");
            }
            _ => {
                invalid_handle(s, Lock as u64, 0);
            }
        });
    })
}

/// `WdfWorkItemCreate` (the DDI page): a work item whose EvtWorkItemFunc
/// runs at PASSIVE_LEVEL in a system worker thread after WdfWorkItemEnqueue.
/// `Attributes->ParentObject` is required (the page: a device, a queue or
/// another framework object); ASSUMPTION: without one,
/// STATUS_INVALID_PARAMETER; a `Size` other than the 1.33 size,
/// STATUS_INFO_LENGTH_MISMATCH.
#[must_use]
pub unsafe extern "C" fn WdfWorkItemCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Config: PWDF_WORKITEM_CONFIG,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    WorkItem: *mut WDFWORKITEM,
) -> NTSTATUS {
    enter(Routine::WdfWorkItemCreate, STOPPED_STATUS, || {
        let callback =
            |c: &WDF_WORKITEM_CONFIG| c.EvtWorkItemFunc.ok_or_else(|| null_config_field("Config->EvtWorkItemFunc"));
        let required = [Required("WorkItem", WorkItem.is_null())];
        // SAFETY: the driver passes a valid config and null or valid attributes.
        let (_, callback, attributes) =
            match unsafe { with_config(Config, &required, Attributes, Parent::AsGiven, callback) } {
                Ok(checked) => checked,
                Err(st) => return st,
            };
        let Some(parent) = attributes.parent else { return crate::STATUS_INVALID_PARAMETER };
        let created = with_state(|s| {
            let image = s.caller_image();
            s.create_object(ObjectKind::WorkItem { callback, parent }, image, attributes)
        });
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, WorkItem) }
    })
}

/// `WdfWorkItemEnqueue`: queues the item; an item already queued is not
/// queued again (the DDI page).
pub unsafe extern "C" fn WdfWorkItemEnqueue(_DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) {
    enter(Routine::WdfWorkItemEnqueue, (), || {
        with_state(|s| {
            if !matches!(
                s.framework.objects.get(&(WorkItem as u64)).map(|o| &o.kind),
                Some(ObjectKind::WorkItem { .. })
            ) {
                invalid_handle(s, WorkItem as u64, 0);
                return;
            }
            if !s.framework.work_queue.contains(&(WorkItem as u64)) {
                s.framework.work_queue.push_back(WorkItem as u64);
            }
        });
    })
}

/// `WdfWorkItemFlush`: returns once the item's callback, if queued, has run
/// (the DDI page) — here it runs the queued items now.
pub unsafe extern "C" fn WdfWorkItemFlush(_DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) {
    enter(Routine::WdfWorkItemFlush, (), || {
        let live = with_state(|s| {
            let ok = matches!(
                s.framework.objects.get(&(WorkItem as u64)).map(|o| &o.kind),
                Some(ObjectKind::WorkItem { .. })
            );
            if !ok {
                invalid_handle(s, WorkItem as u64, 0);
            }
            ok
        });
        if live == Some(true) {
            crate::model::framework::timers::run_work_items();
        }
    })
}

/// `WdfWorkItemGetParentObject`.
#[must_use]
pub unsafe extern "C" fn WdfWorkItemGetParentObject(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    WorkItem: WDFWORKITEM,
) -> WDFOBJECT {
    enter(Routine::WdfWorkItemGetParentObject, std::ptr::null_mut(), || {
        with_state(|s| match s.framework.objects.get(&(WorkItem as u64)).map(|o| &o.kind) {
            Some(ObjectKind::WorkItem { parent, .. }) => *parent as WDFOBJECT,
            _ => {
                invalid_handle(s, WorkItem as u64, 0);
                std::ptr::null_mut()
            }
        })
        .unwrap_or(std::ptr::null_mut())
    })
}
