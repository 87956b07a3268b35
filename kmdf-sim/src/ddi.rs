//! The KMDF DDIs the simulator implements, reached only through
//! `call_unsafe_wdf_function_binding!` (as wdk-sys reaches the real ones
//! through the framework's function table, kmdf-facts.md F62).
//!
//! Each has exactly the signature of its `PFN_WDF*` type in wdk-sys 0.5.2,
//! `DriverGlobals` first; `conformance.rs` checks it.
#![allow(non_snake_case)]

use crate::control::handles::HandleOwner;
use crate::control::{FRAMEWORK_MODULE, KeyObject, State, delete_key_object, enter, with_state};
use crate::strings::read_unicode;
use crate::surface::types::*;

/// The `DriverGlobals` the binding macro passes: the running machine's.
#[doc(hidden)]
pub fn driver_globals() -> PWDF_DRIVER_GLOBALS {
    with_state(|s| std::ptr::from_mut(s.globals.as_mut())).unwrap_or(std::ptr::null_mut())
}

/// FX_TYPE_REG_KEY, the type id KMDF checks a WDFKEY against (F77).
const FX_TYPE_REG_KEY: u64 = 0x1006;

/// Bug check 0x10D WDF_VIOLATION {WDF_INVALID_HANDLE, handle, type, globals}
/// for a WDFKEY that names no live key object (F20, F54, F77). ASSUMPTION: a
/// destroyed key is reported this way; F77's freed-memory variants
/// (scrubbed, stale, reused) are not modelled yet.
fn invalid_key(s: &mut State, key: WDFKEY) {
    invalid_handle(s, key as u64, FX_TYPE_REG_KEY);
}

/// Bug check 0x10D {WDF_INVALID_HANDLE, handle, expected type, globals}.
/// `expected` 0 stands for "any object" (ASSUMPTION: KMDF's FX_TYPE_OBJECT id
/// is not in the facts).
fn invalid_handle(s: &mut State, handle: u64, expected: u64) {
    let globals = std::ptr::from_mut(s.globals.as_mut()) as u64;
    s.bug_check(
        (
            0x10D,
            [0x5, handle, expected, globals],
            "WDF_VIOLATION",
            [
                "WDF_INVALID_HANDLE: an invalid or wrong-type framework handle was passed.".into(),
                "The handle value.".into(),
                "The expected object type.".into(),
                "The driver's globals.".into(),
            ],
        ),
        None,
        Some(format!("{handle:#x} is not a live framework object (closed, deleted or never created)")),
    );
}

/// Bug check 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL, ...} (F20, F54).
fn null_parameter(s: &mut State, what: &str) {
    s.bug_check(
        (
            0x10D,
            [0x4, 0, 0, 0],
            "WDF_VIOLATION",
            [
                "WDF_REQUIRED_PARAMETER_IS_NULL: a required parameter was NULL.".into(),
                String::new(),
                String::new(),
                String::new(),
            ],
        ),
        None,
        Some(format!("required parameter {what} was NULL")),
    );
}

/// What a key object takes from its `WDF_OBJECT_ATTRIBUTES` (F11).
#[derive(Default)]
struct KeyAttributes {
    cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    context: Option<(usize, Box<[u64]>)>,
}

/// Reads and validates `WDF_OBJECT_ATTRIBUTES` as `FxValidateObjectAttributes`
/// does before the object is created (F11).
///
/// * ASSUMPTION: a `Size` other than the 1.33 size fails with
///   STATUS_INFO_LENGTH_MISMATCH (the framework checks it, F64; the exact
///   status is not in the facts).
/// * ASSUMPTION: a `ParentObject` is refused with STATUS_NOT_SUPPORTED until
///   the object tree models parents; refusing beats ignoring it silently.
/// * The context is `ContextSizeOverride` bytes if non-zero, else the type's
///   `ContextSize`, zero-filled and rounded up to pointer size (KMDF source,
///   FxGetContextSize / FxContextHeaderInit; F76).
///
/// # Safety
/// `attrs` is null or points to readable attributes whose `ContextTypeInfo`
/// is null or readable.
unsafe fn read_attributes(attrs: PWDF_OBJECT_ATTRIBUTES) -> Result<KeyAttributes, NTSTATUS> {
    if attrs.is_null() {
        return Ok(KeyAttributes::default());
    }
    // SAFETY: non-null, and the caller guarantees it is readable.
    let a = unsafe { *attrs };
    if a.Size as usize != size_of::<WDF_OBJECT_ATTRIBUTES>() {
        return Err(crate::STATUS_INFO_LENGTH_MISMATCH);
    }
    if !a.ParentObject.is_null() {
        return Err(crate::STATUS_NOT_SUPPORTED);
    }
    let context = if a.ContextTypeInfo.is_null() {
        None
    } else {
        let size = if a.ContextSizeOverride != 0 {
            a.ContextSizeOverride
        } else {
            // SAFETY: non-null; the caller guarantees the type info is readable.
            unsafe { (*a.ContextTypeInfo).ContextSize }
        };
        Some((a.ContextTypeInfo as usize, vec![0u64; size.div_ceil(8)].into_boxed_slice()))
    };
    Ok(KeyAttributes { cleanup: a.EvtCleanupCallback, destroy: a.EvtDestroyCallback, context })
}

/// Shared body of `WdfRegistryOpenKey` and `WdfRegistryCreateKey` (F12, F13).
///
/// # Safety
/// Pointer arguments as the DDIs document them.
unsafe fn open_or_create(
    parent: WDFKEY,
    name: PCUNICODE_STRING,
    access: ACCESS_MASK,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    create: Option<(ULONG, PULONG)>,
    key_out: *mut WDFKEY,
) -> NTSTATUS {
    if key_out.is_null() {
        with_state(|s| null_parameter(s, "Key"));
        return crate::control::STOPPED_STATUS;
    }
    // SAFETY: checked non-null; the driver passes a writable WDFKEY slot.
    unsafe { key_out.write(std::ptr::null_mut()) };
    // SAFETY: the driver passes null or a valid UNICODE_STRING.
    let name = match unsafe { read_unicode(name) } {
        Ok(n) => n,
        Err(st) => return st,
    };
    // SAFETY: the driver passes null or valid attributes.
    let attributes = match unsafe { read_attributes(attrs) } {
        Ok(a) => a,
        Err(st) => return st,
    };
    let volatile = create.map(|(options, _)| options & crate::REG_OPTION_VOLATILE != 0);
    let result = with_state(|s| -> Result<(u64, bool), NTSTATUS> {
        let base = if parent.is_null() {
            None
        } else {
            let Some(pk) = s.keys.get(&(parent as u64)) else {
                invalid_key(s, parent);
                return Err(crate::control::STOPPED_STATUS);
            };
            // ZwOpenKey relative to the parent's raw handle (F12): a handle the
            // driver already closed is an invalid RootDirectory.
            match pk.handle.and_then(|h| s.handles.get(h).filter(|e| e.serial == pk.serial)) {
                Some(entry) => Some(entry.object),
                None => return Err(crate::STATUS_INVALID_HANDLE),
            }
        };
        let driver = s.caller_image();
        // F10: keys opened without a ParentObject are children of the driver.
        let key = s.new_object_value();
        let owner = HandleOwner::FrameworkKey { key, driver: driver.clone() };
        // F8: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, opened by Wdf01000.
        s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::_OpenKey");
        let opened = s.open_key_handle(owner, base, &name, access, volatile, false);
        s.pop_frame();
        // F12: on failure the object is deleted without callbacks; the status
        // of the open is returned.
        let (handle, created) = opened?;
        let serial = s.handles.get(handle).map(|e| e.serial).unwrap_or_default();
        s.keys.insert(
            key,
            KeyObject {
                driver,
                handle: Some(handle),
                serial,
                cleanup: attributes.cleanup,
                destroy: attributes.destroy,
                context: attributes.context,
            },
        );
        Ok((key, created))
    });
    match result {
        None => crate::control::STOPPED_STATUS,
        Some(Err(st)) => st,
        Some(Ok((key, created))) => {
            if let Some((_, disposition)) = create
                && !disposition.is_null()
            {
                let value = if created { crate::REG_CREATED_NEW_KEY } else { crate::REG_OPENED_EXISTING_KEY };
                // SAFETY: F13: the optional disposition is written on success; non-null checked.
                unsafe { disposition.write(value) };
            }
            // SAFETY: checked non-null above.
            unsafe { key_out.write(key as WDFKEY) };
            crate::STATUS_SUCCESS
        }
    }
}

/// `WdfRegistryOpenKey` (F12).
///
/// # Safety
/// As the DDI: `KeyName` a valid `UNICODE_STRING`, `Key` writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryOpenKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    ParentKey: WDFKEY,
    KeyName: PCUNICODE_STRING,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(
        "WdfRegistryOpenKey",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfRegistryOpenKey",
        crate::control::STOPPED_STATUS,
        || {
            // SAFETY: forwarded from this DDI's contract.
            unsafe { open_or_create(ParentKey, KeyName, DesiredAccess, KeyAttributes, None, Key) }
        },
    )
}

/// `WdfRegistryCreateKey` (F13).
///
/// # Safety
/// As the DDI: `KeyName` a valid `UNICODE_STRING`, `Key` writable,
/// `CreateDisposition` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryCreateKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    ParentKey: WDFKEY,
    KeyName: PCUNICODE_STRING,
    DesiredAccess: ACCESS_MASK,
    CreateOptions: ULONG,
    CreateDisposition: PULONG,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(
        "WdfRegistryCreateKey",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfRegistryCreateKey",
        crate::control::STOPPED_STATUS,
        || {
            // SAFETY: forwarded from this DDI's contract.
            unsafe {
                open_or_create(
                    ParentKey,
                    KeyName,
                    DesiredAccess,
                    KeyAttributes,
                    Some((CreateOptions, CreateDisposition)),
                    Key,
                )
            }
        },
    )
}

/// `WdfRegistryClose`: `Close()` — ZwClose now, `m_Key = NULL` — then the
/// object is deleted and its destructor finds nothing to close (F3, F4).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfRegistryClose(_DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) {
    enter("WdfRegistryClose", FRAMEWORK_MODULE, "Wdf01000!imp_WdfRegistryClose", (), || {
        let closed = with_state(|s| {
            let Some(obj) = s.keys.get_mut(&(Key as u64)) else {
                invalid_key(s, Key);
                return false;
            };
            let handle = obj.handle.take();
            let (driver, serial) = (obj.driver.clone(), obj.serial);
            if let Some(h) = handle {
                s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::Close");
                let owner = HandleOwner::FrameworkKey { key: Key as u64, driver };
                let _ignored = s.nt_close(h, owner, Some(serial));
                s.pop_frame();
            }
            !s.is_stopped()
        });
        if closed == Some(true) {
            // DeleteObject(): callbacks, then the destructor finds m_Key NULL.
            delete_key_object(Key as u64);
        }
    })
}

/// `WdfRegistryWdmGetHandle`: returns `m_Key` itself — no duplicate, no
/// reference; the key object still owns it (F6).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRegistryWdmGetHandle(_DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> HANDLE {
    enter(
        "WdfRegistryWdmGetHandle",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfRegistryWdmGetHandle",
        std::ptr::null_mut(),
        || {
            with_state(|s| match s.keys.get(&(Key as u64)) {
                Some(obj) => obj.handle.unwrap_or(0) as HANDLE,
                None => {
                    invalid_key(s, Key);
                    std::ptr::null_mut()
                }
            })
            .unwrap_or(std::ptr::null_mut())
        },
    )
}

/// `WdfObjectGetTypedContextWorker`: the object's context whose type info is
/// `TypeInfo` (compared by address), or NULL — "querying for a type not
/// associated with the handle is a legitimate operation" (KMDF source,
/// handleapi.cpp). Only key objects exist in the simulator so far.
///
/// # Safety
/// As the DDI: `Handle` a live object.
#[must_use]
pub unsafe extern "C" fn WdfObjectGetTypedContextWorker(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Handle: WDFOBJECT,
    TypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
) -> PVOID {
    enter(
        "WdfObjectGetTypedContextWorker",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfObjectGetTypedContextWorker",
        std::ptr::null_mut(),
        || {
            with_state(|s| {
                if Handle.is_null() || TypeInfo.is_null() {
                    null_parameter(s, if Handle.is_null() { "Handle" } else { "TypeInfo" });
                    return std::ptr::null_mut();
                }
                match s.keys.get_mut(&(Handle as u64)) {
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
        },
    )
}
