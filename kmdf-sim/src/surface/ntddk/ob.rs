//! Object callbacks (F151): the rules are the model's `kernel::ob_callback`.
//! `PsProcessType` and `PsThreadType` are the kernel's exported variables:
//! each points at the `POBJECT_TYPE` a registration names.
#![allow(non_upper_case_globals)]

use crate::abi::*;
use crate::model::kernel::ob_callback::{self, ObjectKind, Operation};
use crate::model::{Routine, enter};
use crate::surface::strings::read_unicode;

/// `PsProcessType` (F151): the address of the process object type variable.
pub static mut PsProcessType: *mut POBJECT_TYPE = &raw mut ob_callback::PROCESS_TYPE;

/// `PsThreadType` (F151): the address of the thread object type variable.
pub static mut PsThreadType: *mut POBJECT_TYPE = &raw mut ob_callback::THREAD_TYPE;

/// The operation registrations a `OB_CALLBACK_REGISTRATION` holds, or the
/// object type no kind is known for.
///
/// # Safety
/// `r` valid, its OperationRegistration array holding
/// OperationRegistrationCount entries.
unsafe fn operations(r: &OB_CALLBACK_REGISTRATION) -> Result<Vec<Operation>, *mut POBJECT_TYPE> {
    let count = usize::from(r.OperationRegistrationCount);
    if count == 0 || r.OperationRegistration.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: the array holds `count` entries (the caller's contract).
    let entries = unsafe { std::slice::from_raw_parts(r.OperationRegistration, count) };
    entries
        .iter()
        .map(|e| {
            let kind = ObjectKind::of(e.ObjectType).ok_or(e.ObjectType)?;
            Ok(Operation { kind, operations: e.Operations, pre: e.PreOperation, post: e.PostOperation })
        })
        .collect()
}

/// `ObRegisterCallbacks` (F151): registers pre- and post-operation callbacks
/// for process and thread handles at an altitude; the registration handle
/// goes to `*RegistrationHandle`. Handles the test opens
/// (`Machine::open_process_handle`, `open_thread_handle`) run them.
///
/// # Safety
/// `CallbackRegistration` valid; `RegistrationHandle` writable; the callbacks
/// stay callable until unregistered.
#[must_use]
pub unsafe extern "C" fn ObRegisterCallbacks(
    CallbackRegistration: POB_CALLBACK_REGISTRATION,
    RegistrationHandle: *mut PVOID,
) -> NTSTATUS {
    enter(Routine::ObRegisterCallbacks, crate::model::STOPPED_STATUS, || {
        // SAFETY: null or valid (the routine's contract).
        let Some(r) = (unsafe { CallbackRegistration.as_ref() }) else { return crate::STATUS_INVALID_PARAMETER };
        if RegistrationHandle.is_null() {
            return crate::STATUS_INVALID_PARAMETER;
        }
        // SAFETY: a valid string (the routine's contract).
        let Ok(altitude) = (unsafe { read_unicode(&raw const r.Altitude) }) else {
            return crate::STATUS_INVALID_PARAMETER;
        };
        // SAFETY: the registration's array (the routine's contract).
        let listed = unsafe { operations(r) };
        let (version, context) = (u32::from(r.Version), r.RegistrationContext as u64);
        let registered = ob_callback::register(version, altitude, context, listed);
        match registered {
            Some(Ok(handle)) => {
                // SAFETY: non-null and writable (the routine's contract).
                unsafe { RegistrationHandle.write(handle as PVOID) };
                crate::STATUS_SUCCESS
            }
            Some(Err(status)) => status,
            None => crate::model::STOPPED_STATUS,
        }
    })
}

/// `ObUnRegisterCallbacks` (F151).
///
/// # Safety
/// `RegistrationHandle` one `ObRegisterCallbacks` returned.
pub unsafe extern "C" fn ObUnRegisterCallbacks(RegistrationHandle: PVOID) {
    let handle = RegistrationHandle as u64;
    enter(Routine::ObUnRegisterCallbacks, (), || {
        ob_callback::unregister(handle);
    });
}
