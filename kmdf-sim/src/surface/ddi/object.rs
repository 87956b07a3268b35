//! Object DDIs: creation, deletion, references and contexts (F29–F33).

use crate::abi::*;
use crate::model::framework::objects::{self, ObjectKind};
use crate::model::framework::verifier::verifier_break;
use crate::model::framework::verifier::{invalid_handle, null_parameter};
use crate::model::{Routine, STOPPED_STATUS, enter, with_state};
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
        let created = with_state(|s| {
            let driver = s.caller_image();
            s.create_object(ObjectKind::General, driver, attributes)
        });
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, Object) }
    })
}

/// `WdfObjectDelete` (F29–F33, F5 for keys, F9/F34 for passive objects).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfObjectDelete(_DriverGlobals: PWDF_DRIVER_GLOBALS, Object: WDFOBJECT) {
    enter(Routine::WdfObjectDelete, (), || {
        let now = with_state(|s| {
            let h = Object as u64;
            let Some(o) = s.framework.objects.get_mut(&h) else {
                invalid_handle(s, h, 0);
                return false;
            };
            if o.no_delete_ddi {
                // F33: traced, verifier break, nothing deleted.
                let what = o.kind.type_name();
                verifier_break(s, &format!("attempt to delete a {what}, which does not allow WdfObjectDelete"));
                return false;
            }
            if o.delete_requested {
                // ASSUMPTION: a second delete of an object still being torn
                // down is dropped (F77 b: "dropped event", ASSERT only).
                return false;
            }
            if o.passive && s.kernel.irql > crate::PASSIVE_LEVEL as u8 {
                // F9/F34: deferred to the dispose list's PASSIVE work item.
                o.delete_requested = true;
                s.framework.deferred_deletes.push(h);
                return false;
            }
            true
        });
        if now == Some(true) {
            objects::delete_subtree(Object as u64);
        }
    })
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
    enter(Routine::WdfObjectReferenceActual, (), || {
        with_state(|s| match s.framework.objects.get_mut(&(Handle as u64)) {
            Some(o) => o.extra_refs += 1,
            None => {
                invalid_handle(s, Handle as u64, 0);
            }
        });
    })
}

/// `WdfObjectDereferenceActual` (F32): the last extra reference of a deleted
/// object destroys it; dropping the creation reference instead is
/// 0x10D {WDF_OBJECT_ERROR, handle, ...}.
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
    enter(Routine::WdfObjectDereferenceActual, (), || {
        let h = Handle as u64;
        let release = with_state(|s| {
            let Some(o) = s.framework.objects.get_mut(&h) else {
                invalid_handle(s, h, 0);
                return false;
            };
            if o.extra_refs == 0 {
                s.bug_check(
                    (
                        0x10D,
                        [0x7, h, h, 0],
                        "WDF_VIOLATION",
                        [
                            "WDF_OBJECT_ERROR: an object was released with WdfObjectDereference, not WdfObjectDelete."
                                .into(),
                            "The handle value.".into(),
                            "The object.".into(),
                            String::new(),
                        ],
                    ),
                    None,
                    Some(format!(
                        "{h:#x}: WdfObjectDereference without a matching WdfObjectReference (docs/facts.md#f32)"
                    )),
                );
                return false;
            }
            o.extra_refs -= 1;
            o.extra_refs == 0 && o.delete_requested && o.disposed
        });
        if release == Some(true) {
            objects::destroy_released(h);
        }
    })
}

/// `WdfObjectGetTypedContextWorker`: the object's context whose type info is
/// `TypeInfo` (compared by address), or NULL — "querying for a type not
/// associated with the handle is a legitimate operation" (KMDF source,
/// handleapi.cpp).
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
        with_state(|s| {
            if Handle.is_null() || TypeInfo.is_null() {
                null_parameter(s, if Handle.is_null() { "Handle" } else { "TypeInfo" });
                return std::ptr::null_mut();
            }
            match s.framework.objects.get_mut(&(Handle as u64)) {
                Some(obj) => match &mut obj.context {
                    Some((info, memory)) if *info == TypeInfo as usize => memory.as_mut_ptr().cast(),
                    _ => std::ptr::null_mut(),
                },
                None => {
                    // ASSUMPTION: KMDF does not validate this handle (a hot
                    // path); a dead one reads freed memory. The simulator
                    // reports it as an invalid handle instead.
                    invalid_handle(s, Handle as u64, 0);
                    std::ptr::null_mut()
                }
            }
        })
        .unwrap_or(std::ptr::null_mut())
    })
}
