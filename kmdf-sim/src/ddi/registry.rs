//! Registry DDIs: `FxRegKey` objects and the values behind them (F1–F26).

use super::{invalid_key, null_parameter};
use crate::control::handles::HandleOwner;
use crate::control::objects::{self, ObjectKind};
use crate::control::{FRAMEWORK_MODULE, STOPPED_STATUS, State, enter, with_state};
use crate::strings::read_unicode;
use crate::surface::types::*;

/// The live key object behind a WDFKEY: (`m_Key`, its open serial, driver),
/// or a 0x10D bug check (F20).
pub(crate) fn key_state(s: &mut State, key: WDFKEY) -> Option<(Option<u64>, u64, String)> {
    match s.objects.get(&(key as u64)) {
        Some(o) => match o.kind {
            ObjectKind::Key { handle, serial } => Some((handle, serial, o.driver.clone())),
            _ => {
                invalid_key(s, key);
                None
            }
        },
        None => {
            invalid_key(s, key);
            None
        }
    }
}

/// Creates a key object for `driver` and fills its `m_Key` by `open`
/// (F12/F14–F16: the object is allocated and committed before the open; on
/// failure it is deleted without callbacks and the open's status returned).
pub(crate) fn new_key_object(
    s: &mut State,
    driver: String,
    attrs: objects::Attributes,
    open: impl FnOnce(&mut State, HandleOwner) -> Result<(u64, bool), NTSTATUS>,
) -> Result<(u64, bool), NTSTATUS> {
    let key = s.create_object(ObjectKind::Key { handle: None, serial: 0 }, driver.clone(), attrs)?;
    // F8: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, opened by Wdf01000.
    s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::_OpenKey");
    let opened = open(s, HandleOwner::FrameworkKey { key, driver });
    s.pop_frame();
    match opened {
        Ok((handle, created)) => {
            let serial = s.handles.get(handle).map(|e| e.serial).unwrap_or_default();
            if let Some(o) = s.objects.get_mut(&key) {
                o.kind = ObjectKind::Key { handle: Some(handle), serial };
            }
            Ok((key, created))
        }
        Err(status) => {
            s.remove_failed_object(key);
            Err(status)
        }
    }
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
        return STOPPED_STATUS;
    }
    // SAFETY: checked non-null; the driver passes a writable WDFKEY slot.
    unsafe { key_out.write(std::ptr::null_mut()) };
    // SAFETY: the driver passes null or a valid UNICODE_STRING.
    let name = match unsafe { read_unicode(name) } {
        Ok(n) => n,
        Err(st) => return st,
    };
    // SAFETY: the driver passes null or valid attributes.
    let attributes = match unsafe { objects::read_attributes(attrs) } {
        Ok(a) => a,
        Err(st) => return st,
    };
    let volatile = create.map(|(options, _)| options & crate::REG_OPTION_VOLATILE != 0);
    let result = with_state(|s| -> Result<(u64, bool), NTSTATUS> {
        let base = if parent.is_null() {
            None
        } else {
            let (handle, serial, _) = key_state(s, parent).ok_or(STOPPED_STATUS)?;
            // ZwOpenKey relative to the parent's raw handle (F12): a handle the
            // driver already closed is an invalid RootDirectory.
            match handle.and_then(|h| s.handles.get(h).filter(|e| e.serial == serial)) {
                Some(entry) => Some(entry.object),
                None => return Err(crate::STATUS_INVALID_HANDLE),
            }
        };
        let driver = s.caller_image();
        new_key_object(s, driver, attributes, |s, owner| s.open_key_handle(owner, base, &name, access, volatile, false))
    });
    match result {
        None => STOPPED_STATUS,
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
    enter("WdfRegistryOpenKey", FRAMEWORK_MODULE, "Wdf01000!imp_WdfRegistryOpenKey", STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_or_create(ParentKey, KeyName, DesiredAccess, KeyAttributes, None, Key) }
    })
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
    enter("WdfRegistryCreateKey", FRAMEWORK_MODULE, "Wdf01000!imp_WdfRegistryCreateKey", STOPPED_STATUS, || {
        let create = Some((CreateOptions, CreateDisposition));
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_or_create(ParentKey, KeyName, DesiredAccess, KeyAttributes, create, Key) }
    })
}

/// `WdfRegistryClose`: `Close()` — ZwClose now, `m_Key = NULL` — then
/// `DeleteObject()`: callbacks, and the destructor finds nothing to close
/// (F3, F4).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfRegistryClose(_DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) {
    enter("WdfRegistryClose", FRAMEWORK_MODULE, "Wdf01000!imp_WdfRegistryClose", (), || {
        let closed = with_state(|s| {
            let Some((handle, serial, driver)) = key_state(s, Key) else { return false };
            if let Some(o) = s.objects.get_mut(&(Key as u64)) {
                o.kind = ObjectKind::Key { handle: None, serial };
            }
            if let Some(h) = handle {
                s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::Close");
                let owner = HandleOwner::FrameworkKey { key: Key as u64, driver };
                let _ignored = s.nt_close(h, owner, Some(serial));
                s.pop_frame();
            }
            !s.is_stopped()
        });
        if closed == Some(true) {
            objects::delete_subtree(Key as u64);
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
            with_state(|s| key_state(s, Key).and_then(|(h, _, _)| h).unwrap_or(0) as HANDLE)
                .unwrap_or(std::ptr::null_mut())
        },
    )
}
