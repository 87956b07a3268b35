//! Thread-creation and image-load notify routines (F140): the rules are the
//! model's `kernel::notify`.

use crate::abi::*;
use crate::model::kernel::{arguments, notify};
use crate::model::{Routine, enter};

/// `PsSetCreateThreadNotifyRoutine` (F140): registers a routine the kernel
/// calls as threads start and exit — in the simulator, as the test starts and
/// ends them (`Machine::start_thread`).
///
/// # Safety
/// `NotifyRoutine` is a routine of the calling driver that stays callable
/// until it is removed.
#[must_use]
pub unsafe extern "C" fn PsSetCreateThreadNotifyRoutine(NotifyRoutine: PCREATE_THREAD_NOTIFY_ROUTINE) -> NTSTATUS {
    enter(Routine::PsSetCreateThreadNotifyRoutine, crate::model::STOPPED_STATUS, || {
        let routine = match arguments::callback(NotifyRoutine) {
            Ok(r) => r,
            Err(st) => return st,
        };
        notify::set_thread_notify(routine, false)
    })
}

/// `PsRemoveCreateThreadNotifyRoutine` (F140).
///
/// # Safety
/// None beyond the kernel's: any routine pointer may be passed.
#[must_use]
pub unsafe extern "C" fn PsRemoveCreateThreadNotifyRoutine(NotifyRoutine: PCREATE_THREAD_NOTIFY_ROUTINE) -> NTSTATUS {
    enter(Routine::PsRemoveCreateThreadNotifyRoutine, crate::model::STOPPED_STATUS, || {
        let routine = match arguments::callback(NotifyRoutine) {
            Ok(r) => r,
            Err(st) => return st,
        };
        notify::set_thread_notify(routine, true)
    })
}

/// `PsSetLoadImageNotifyRoutine` (F140): registers a routine the kernel calls
/// as images are mapped — in the simulator, as the test loads them
/// (`Machine::load_image`).
///
/// # Safety
/// As `PsSetCreateThreadNotifyRoutine`.
#[must_use]
pub unsafe extern "C" fn PsSetLoadImageNotifyRoutine(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE) -> NTSTATUS {
    enter(Routine::PsSetLoadImageNotifyRoutine, crate::model::STOPPED_STATUS, || {
        let routine = match arguments::callback(NotifyRoutine) {
            Ok(r) => r,
            Err(st) => return st,
        };
        notify::set_image_notify(routine, false)
    })
}

/// `PsRemoveLoadImageNotifyRoutine` (F140).
///
/// # Safety
/// None beyond the kernel's: any routine pointer may be passed.
#[must_use]
pub unsafe extern "C" fn PsRemoveLoadImageNotifyRoutine(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE) -> NTSTATUS {
    enter(Routine::PsRemoveLoadImageNotifyRoutine, crate::model::STOPPED_STATUS, || {
        let routine = match arguments::callback(NotifyRoutine) {
            Ok(r) => r,
            Err(st) => return st,
        };
        notify::set_image_notify(routine, true)
    })
}

/// `PsSetCreateProcessNotifyRoutineEx` (F146): registers (or, with `Remove`,
/// removes) a routine the kernel calls as processes start — with a
/// PS_CREATE_NOTIFY_INFO whose CreationStatus may refuse the process — and
/// exit (CreateInfo NULL); in the simulator, as the test creates and ends
/// them (`Machine::create_process`). Plain and Ex routines share one table.
///
/// # Safety
/// As `PsSetCreateThreadNotifyRoutine`.
#[must_use]
pub unsafe extern "C" fn PsSetCreateProcessNotifyRoutineEx(
    NotifyRoutine: PCREATE_PROCESS_NOTIFY_ROUTINE_EX,
    Remove: BOOLEAN,
) -> NTSTATUS {
    enter(Routine::PsSetCreateProcessNotifyRoutineEx, crate::model::STOPPED_STATUS, || {
        let routine = match arguments::callback(NotifyRoutine) {
            Ok(r) => r,
            Err(st) => return st,
        };
        notify::set_process_notify_ex(routine, Remove != 0)
    })
}
