//! The object DDIs' rules: WdfObjectCreate, WdfObjectDelete, references and
//! contexts (F10, F29–F33, F77; F9/F34 for passive objects, F5 for keys).

use super::objects::{self, Attributes, ObjectKind};
use super::verifier::verifier_break;
use crate::abi::*;
use crate::model::{Routine, with_state};

/// `WdfObjectCreate`: a general object, child of the driver by default
/// (F10). `None`: no machine.
pub(crate) fn create(attributes: Attributes) -> Option<Result<u64, NTSTATUS>> {
    with_state(|s| {
        let driver = s.caller_image();
        s.create_object(ObjectKind::General, driver, attributes)
    })
}

/// `WdfObjectDelete` (F29–F33, F5 for keys, F9/F34 for passive objects).
pub(crate) fn delete(object: WDFOBJECT) {
    let h = object as u64;
    let now = with_state(|s| {
        let irql = s.kernel.irql;
        let Ok(slot) = s.fx_slot(Routine::WdfObjectDelete, 0, h) else { return false };
        let o = s.framework.objects.at_mut(slot);
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
        if o.passive && irql > PASSIVE_LEVEL as u8 {
            // F9/F34: deferred to the dispose list's PASSIVE work item.
            o.delete_requested = true;
            s.framework.deferred_deletes.push(h);
            return false;
        }
        // The delete runs now: at once if no driver code runs in it.
        !s.delete_without_callbacks_at(slot)
    });
    if now == Some(true) {
        objects::delete_subtree_with_callbacks(h);
    }
}

/// `WdfObjectReferenceActual` (what the `WdfObjectReference` macros call, F32).
pub(crate) fn reference(handle: WDFOBJECT) {
    with_state(|s| {
        if let Ok(o) = s.fx_object(Routine::WdfObjectReferenceActual, 0, handle as u64) {
            o.extra_refs += 1;
        }
    });
}

/// `WdfObjectDereferenceActual` (F32): the last extra reference of a deleted
/// object destroys it; dropping the creation reference instead is
/// 0x10D {WDF_OBJECT_ERROR, handle, ...}.
pub(crate) fn dereference(handle: WDFOBJECT) {
    let h = handle as u64;
    let release = with_state(|s| {
        let Ok(o) = s.fx_object(Routine::WdfObjectDereferenceActual, 0, h) else { return false };
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
                Some(format!("{h:#x}: WdfObjectDereference without a matching WdfObjectReference (docs/facts.md#f32)")),
            );
            return false;
        }
        o.extra_refs -= 1;
        o.extra_refs == 0 && o.delete_requested && o.disposed
    });
    if release == Some(true) {
        objects::destroy_released(h);
    }
}

/// `WdfObjectGetTypedContextWorker`: the object's context whose type info is
/// `type_info` (compared by address), or NULL — "querying for a type not
/// associated with the handle is a legitimate operation" (KMDF source,
/// handleapi.cpp). A NULL `type_info` is F91's required-parameter stop
/// (after the handle's own NULL check). ASSUMPTION: KMDF does not validate
/// the handle further (a hot path); a dead one reads freed memory — the
/// simulator applies F77 to it, as for every handle.
pub(crate) fn typed_context(handle: WDFOBJECT, type_info: usize) -> PVOID {
    with_state(|s| {
        let routine = Routine::WdfObjectGetTypedContextWorker;
        if !handle.is_null() && type_info == 0 {
            super::verifier::null_parameter(s, "TypeInfo");
            return std::ptr::null_mut();
        }
        match &mut s.fx_object(routine, 0, handle as u64) {
            Ok(obj) => match &mut obj.context {
                Some((info, memory)) if *info == type_info => memory.as_mut_ptr().cast(),
                _ => std::ptr::null_mut(),
            },
            Err(_) => std::ptr::null_mut(),
        }
    })
    .unwrap_or(std::ptr::null_mut())
}
