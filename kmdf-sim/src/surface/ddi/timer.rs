//! Timer, lock and work-item DDIs (wdftimer.h, wdfsync.h, wdfworkitem.h).
//! The rules are the model's (`model::framework::timers`, `locks`).

use crate::abi::*;
use crate::model::framework::{locks, timers};
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, Required, deliver, null_config_field, with_config, with_out};

/// `WdfTimerCreate` (see `model::framework::timers::create_timer`).
///
/// * `Config.Size` not one KMDF takes (1.33, V1_11, V1_7):
///   STATUS_INFO_LENGTH_MISMATCH (F93, `model::framework::config`).
/// * `EvtTimerFunc` NULL: 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL} (F54).
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
        let created = timers::create_timer(callback, config.Period, attributes);
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, Timer) }
    })
}

/// `WdfTimerStart` (see `model::framework::timers::timer_start`).
#[must_use]
pub unsafe extern "C" fn WdfTimerStart(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Timer: WDFTIMER,
    DueTime: LONGLONG,
) -> BOOLEAN {
    enter(Routine::WdfTimerStart, 0, || u8::from(timers::timer_start(Timer, DueTime)))
}

/// `WdfTimerStop` (see `model::framework::timers::timer_stop`).
#[must_use]
pub unsafe extern "C" fn WdfTimerStop(_DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER, Wait: BOOLEAN) -> BOOLEAN {
    enter(Routine::WdfTimerStop, 0, || u8::from(timers::timer_stop(Timer, Wait != 0)))
}

/// `WdfTimerGetParentObject`: the timer's parent.
#[must_use]
pub unsafe extern "C" fn WdfTimerGetParentObject(_DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER) -> WDFOBJECT {
    enter(Routine::WdfTimerGetParentObject, std::ptr::null_mut(), || timers::timer_parent(Timer) as WDFOBJECT)
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
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(locks::create(true, attributes), SpinLock) }
    })
}

/// `WdfSpinLockAcquire` (see `model::framework::locks::spin_lock_acquire`).
pub unsafe extern "C" fn WdfSpinLockAcquire(_DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLock: WDFSPINLOCK) {
    enter(Routine::WdfSpinLockAcquire, (), || locks::spin_lock_acquire(SpinLock))
}

/// `WdfSpinLockRelease` (see `model::framework::locks::spin_lock_release`).
pub unsafe extern "C" fn WdfSpinLockRelease(_DriverGlobals: PWDF_DRIVER_GLOBALS, SpinLock: WDFSPINLOCK) {
    enter(Routine::WdfSpinLockRelease, (), || locks::spin_lock_release(SpinLock))
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
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(locks::create(false, attributes), Lock) }
    })
}

/// `WdfWaitLockAcquire` (see `model::framework::locks::wait_lock_acquire`).
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
        locks::wait_lock_acquire(Lock, timeout)
    })
}

/// `WdfWaitLockRelease` (see `model::framework::locks::wait_lock_release`).
pub unsafe extern "C" fn WdfWaitLockRelease(_DriverGlobals: PWDF_DRIVER_GLOBALS, Lock: WDFWAITLOCK) {
    enter(Routine::WdfWaitLockRelease, (), || locks::wait_lock_release(Lock))
}

/// `WdfWorkItemCreate` (see `model::framework::timers::create_work_item`);
/// a `Size` other than the 1.33 size is STATUS_INFO_LENGTH_MISMATCH (F93).
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
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(timers::create_work_item(callback, attributes), WorkItem) }
    })
}

/// `WdfWorkItemEnqueue` (see `model::framework::timers::work_item_enqueue`).
pub unsafe extern "C" fn WdfWorkItemEnqueue(_DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) {
    enter(Routine::WdfWorkItemEnqueue, (), || timers::work_item_enqueue(WorkItem))
}

/// `WdfWorkItemFlush` (see `model::framework::timers::work_item_flush`).
pub unsafe extern "C" fn WdfWorkItemFlush(_DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) {
    enter(Routine::WdfWorkItemFlush, (), || timers::work_item_flush(WorkItem))
}

/// `WdfWorkItemGetParentObject`.
#[must_use]
pub unsafe extern "C" fn WdfWorkItemGetParentObject(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    WorkItem: WDFWORKITEM,
) -> WDFOBJECT {
    enter(Routine::WdfWorkItemGetParentObject, std::ptr::null_mut(), || timers::work_item_parent(WorkItem) as WDFOBJECT)
}
