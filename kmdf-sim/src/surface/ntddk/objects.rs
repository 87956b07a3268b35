//! Process and thread objects (F152–F154): references by handle and by
//! pointer, lookups by id, a thread's priority. The rules are the model's
//! `kernel::objects`.

use crate::abi::*;
use crate::model::kernel::ob_callback::ObjectKind;
use crate::model::kernel::objects::{self, TypeArgument};
use crate::model::{Routine, enter};

/// Writes a referenced object's address to `out`, or returns the failure.
///
/// # Safety
/// `out` writable.
unsafe fn deliver<T>(result: Option<Result<u64, NTSTATUS>>, out: *mut *mut T) -> NTSTATUS {
    match result {
        Some(Ok(address)) => {
            // SAFETY: writable (the routine's contract).
            unsafe { out.write(address as *mut T) };
            crate::STATUS_SUCCESS
        }
        Some(Err(status)) => status,
        None => crate::model::STOPPED_STATUS,
    }
}

/// `ObReferenceObjectByHandle` (F152): the object behind `Handle`
/// (`NtCurrentProcess()` / `NtCurrentThread()`), referenced, in `*Object`;
/// `ObjectType` NULL, `*PsProcessType` or `*PsThreadType`. A handle to
/// another type is STATUS_OBJECT_TYPE_MISMATCH, a value no handle has
/// STATUS_INVALID_HANDLE. `DesiredAccess`, `AccessMode` and
/// `HandleInformation` are not checked (kernel-mode access to the kernel's
/// own objects).
///
/// # Safety
/// `Object` writable.
#[must_use]
pub unsafe extern "C" fn ObReferenceObjectByHandle(
    Handle: HANDLE,
    _DesiredAccess: ACCESS_MASK,
    ObjectType: POBJECT_TYPE,
    _AccessMode: KPROCESSOR_MODE,
    Object: *mut PVOID,
    _HandleInformation: POBJECT_HANDLE_INFORMATION,
) -> NTSTATUS {
    enter(Routine::ObReferenceObjectByHandle, crate::model::STOPPED_STATUS, || {
        let result = objects::reference_by_handle(Handle as u64, TypeArgument::of(ObjectType));
        // SAFETY: writable (the routine's contract).
        unsafe { deliver(result, Object) }
    })
}

/// `ObfReferenceObject` (F152; wdm.h's `ObReferenceObject`): one more
/// reference to a process or thread object; the value is reserved.
///
/// # Safety
/// `Object` one the kernel handed out.
pub unsafe extern "C" fn ObfReferenceObject(Object: PVOID) -> LONG_PTR {
    let address = Object as u64;
    enter(Routine::ObfReferenceObject, 0, || objects::reference(address).unwrap_or(0))
}

/// `ObfDereferenceObject` (F152; wdm.h's `ObDereferenceObject`): releases a
/// reference; one more than the driver took is bug check 0x18.
///
/// # Safety
/// `Object` one the kernel handed out.
pub unsafe extern "C" fn ObfDereferenceObject(Object: PVOID) -> LONG_PTR {
    let address = Object as u64;
    enter(Routine::ObfDereferenceObject, 0, || objects::dereference(address).unwrap_or(0))
}

/// `PsLookupProcessByProcessId` (F153): a referenced EPROCESS of a live
/// process; an unknown id is STATUS_INVALID_PARAMETER.
///
/// # Safety
/// `Process` writable.
#[must_use]
pub unsafe extern "C" fn PsLookupProcessByProcessId(ProcessId: HANDLE, Process: *mut PEPROCESS) -> NTSTATUS {
    enter(Routine::PsLookupProcessByProcessId, crate::model::STOPPED_STATUS, || {
        let result = objects::lookup(ObjectKind::Process, ProcessId as u64);
        // SAFETY: writable (the routine's contract).
        unsafe { deliver(result, Process) }
    })
}

/// `PsLookupThreadByThreadId` (F153): a referenced ETHREAD of a live
/// thread; an unknown id is STATUS_INVALID_PARAMETER.
///
/// # Safety
/// `Thread` writable.
#[must_use]
pub unsafe extern "C" fn PsLookupThreadByThreadId(UniqueThreadId: HANDLE, Thread: *mut PETHREAD) -> NTSTATUS {
    enter(Routine::PsLookupThreadByThreadId, crate::model::STOPPED_STATUS, || {
        let result = objects::lookup(ObjectKind::Thread, UniqueThreadId as u64);
        // SAFETY: writable (the routine's contract).
        unsafe { deliver(result, Thread) }
    })
}

/// `KeSetPriorityThread` (F154): sets a thread object's priority (1 to
/// HIGH_PRIORITY) and returns the old one.
///
/// # Safety
/// `Thread` a thread object the kernel handed out.
pub unsafe extern "C" fn KeSetPriorityThread(Thread: PKTHREAD, Priority: KPRIORITY) -> KPRIORITY {
    let address = Thread as u64;
    let old =
        enter(Routine::KeSetPriorityThread, 0i64, || objects::set_priority(address, Priority).map_or(0, i64::from));
    old as KPRIORITY
}
