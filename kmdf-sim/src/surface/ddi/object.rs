//! Object DDIs: creation, deletion, references and contexts (F29–F33). The
//! rules are the model's (`model::framework::object_ddi`).

use crate::abi::*;
use crate::model::framework::object_ddi;
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, deliver, with_out};

/// `WdfObjectCreate`: a general object, child of the driver by default (F10).
///
/// # Safety
/// As the DDI: `Attributes` null or valid, `Object` writable.
#[must_use]
pub unsafe extern "C" fn WdfObjectCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Object: *mut WDFOBJECT,
) -> NTSTATUS {
    enter(Routine::WdfObjectCreate, STOPPED_STATUS, || {
        // SAFETY: `Object` null or writable, `Attributes` null or valid (the DDI's contract).
        let attributes = match unsafe { with_out(Object, "Object", false, Attributes, Parent::AsGiven, || Ok(())) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(object_ddi::create(attributes), Object) }
    })
}

/// `WdfObjectDelete` (F29–F33, F5 for keys, F9/F34 for passive objects).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfObjectDelete(_DriverGlobals: PWDF_DRIVER_GLOBALS, Object: WDFOBJECT) {
    enter(Routine::WdfObjectDelete, (), || object_ddi::delete(Object))
}

/// `WdfObjectReferenceActual` (what the `WdfObjectReference` macros call, F32).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfObjectReferenceActual(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Handle: WDFOBJECT,
    _Tag: PVOID,
    _Line: LONG,
    _File: PCCH,
) {
    enter(Routine::WdfObjectReferenceActual, (), || object_ddi::reference(Handle))
}

/// `WdfObjectDereferenceActual` (F32).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfObjectDereferenceActual(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Handle: WDFOBJECT,
    _Tag: PVOID,
    _Line: LONG,
    _File: PCCH,
) {
    enter(Routine::WdfObjectDereferenceActual, (), || object_ddi::dereference(Handle))
}

/// `WdfObjectGetTypedContextWorker`: the object's context of `TypeInfo`'s
/// type (compared by address), or NULL.
///
/// # Safety
/// As the DDI: `Handle` a live object.
#[must_use]
pub unsafe extern "C" fn WdfObjectGetTypedContextWorker(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Handle: WDFOBJECT,
    TypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
) -> PVOID {
    enter(Routine::WdfObjectGetTypedContextWorker, std::ptr::null_mut(), || {
        object_ddi::typed_context(Handle, TypeInfo as usize)
    })
}
