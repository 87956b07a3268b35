//! `FxRegKey` objects: a WDFKEY owns one kernel key handle (`m_Key`) and
//! closes it when the object is destroyed (F1–F26).

use super::objects::{self, ObjectKind};
use super::verifier::null_parameter;
use crate::abi::*;
use crate::model::kernel::handles::HandleOwner;
use crate::model::{FRAMEWORK_MODULE, KERNEL_MODULE, Name, Routine, STOPPED_STATUS, State, with_state};

/// The live key object behind `routine`'s WDFKEY `key`: (`m_Key`, its open
/// serial), or the framework's answer to a bad handle (F20, F77, F91).
fn key_handle(s: &mut State, routine: Routine, key: WDFKEY) -> Result<(Option<u64>, u64), NTSTATUS> {
    match s.fx_object(routine, 0, key as u64)?.kind {
        ObjectKind::Key { handle, serial } => Ok((handle, serial)),
        _ => unreachable!("the handle table admits only key objects for a WDFKEY"),
    }
}

/// Creates a key object for `driver` and fills its `m_Key` by `open`
/// (F12/F14–F16: the object is allocated and committed before the open; on
/// failure it is deleted without callbacks and the open's status returned).
pub(crate) fn new_key_object(
    s: &mut State,
    driver: Name,
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
            let serial = s.kernel.handles.get(handle).map(|e| e.serial).unwrap_or_default();
            if let Some(o) = s.framework.objects.get_mut(&key) {
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

/// Runs `f` on the registry node behind a WDFKEY's `m_Key`, checked for
/// `needed` access. The node is found through the handle table by the value
/// `m_Key` holds: if the driver closed it and the slot was reused, the
/// framework reads the reused handle's key — exactly what KMDF would do (F1).
pub(crate) fn in_key<T>(
    routine: Routine,
    key: WDFKEY,
    needed: u32,
    f: impl FnOnce(&mut State, usize) -> Result<T, NTSTATUS>,
) -> Result<T, NTSTATUS> {
    with_state(|s| {
        let (handle, _) = key_handle(s, routine, key)?;
        let handle = handle.ok_or(crate::abi::STATUS_INVALID_HANDLE)?;
        let node = crate::model::kernel::registry::key_of(s, handle as HANDLE, needed)?;
        f(s, node)
    })
    .unwrap_or(Err(STOPPED_STATUS))
}

/// The kind and data of value `name` under `key`, opened for
/// KEY_QUERY_VALUE; STATUS_OBJECT_NAME_NOT_FOUND when it has no such value.
fn query_value(routine: Routine, key: WDFKEY, name: &str) -> Result<(u32, Vec<u8>), NTSTATUS> {
    in_key(routine, key, crate::abi::KEY_QUERY_VALUE, |s, node| {
        let v = s.kernel.registry.value(node, name).ok_or(crate::abi::STATUS_OBJECT_NAME_NOT_FOUND)?;
        Ok((v.kind, v.data.clone()))
    })
}

/// `routine`'s WDFDRIVER's service key path, the node it was at when the
/// driver was loaded, and the image; or the framework's answer to a bad
/// handle (F91).
fn driver_service(s: &mut State, routine: Routine, driver: WDFDRIVER) -> Result<(Name, Option<usize>, Name), NTSTATUS> {
    s.fx_check(routine, 0, driver as u64)?;
    let loaded = s.framework.driver.as_ref().ok_or(STOPPED_STATUS)?;
    let (service, node) = (loaded.service_key.clone(), loaded.service_node);
    Ok((service, node, s.caller_image()))
}

/// `WdfRegistryQueryULong`'s value (F23): REG_DWORD only (else
/// STATUS_OBJECT_TYPE_MISMATCH); a missing value is
/// STATUS_OBJECT_NAME_NOT_FOUND; a REG_DWORD longer than 4 bytes is
/// STATUS_BUFFER_OVERFLOW. Needs KEY_QUERY_VALUE.
pub(crate) fn query_ulong(key: WDFKEY, name: &str) -> Result<u32, NTSTATUS> {
    in_key(Routine::WdfRegistryQueryULong, key, KEY_QUERY_VALUE, |s, node| {
        let v = s.kernel.registry.value(node, name).ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        if v.kind != REG_DWORD {
            return Err(STATUS_OBJECT_TYPE_MISMATCH);
        }
        if v.data.len() > 4 {
            return Err(STATUS_BUFFER_OVERFLOW);
        }
        // ASSUMPTION: a REG_DWORD shorter than 4 bytes reads zero-extended.
        let mut bytes = [0u8; 4];
        bytes[..v.data.len()].copy_from_slice(&v.data);
        Ok(u32::from_le_bytes(bytes))
    })
}

/// `WdfRegistryClose`: `Close()` — ZwClose now, `m_Key = NULL` — then
/// `DeleteObject()`: callbacks, and the destructor finds nothing to close
/// (F3, F4).
pub(crate) fn close(key: WDFKEY) {
    let closed = with_state(|s| {
        let Ok(object) = s.fx_object(Routine::WdfRegistryClose, 0, key as u64) else { return false };
        let ObjectKind::Key { handle, serial } = object.kind else {
            unreachable!("the handle table admits only key objects for a WDFKEY")
        };
        let driver = object.driver.clone();
        object.kind = ObjectKind::Key { handle: None, serial };
        if let Some(h) = handle {
            s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::Close");
            let owner = HandleOwner::FrameworkKey { key: key as u64, driver };
            let _ignored = s.nt_close(h, owner, Some(serial));
            s.pop_frame();
        }
        !s.is_stopped()
    });
    if closed == Some(true) {
        objects::delete_subtree(key as u64);
    }
}

/// `WdfRegistryOpenKey` / `WdfRegistryCreateKey` (`volatile` is `Some` for
/// a create, F12, F13): a key object owning a handle to `name`, relative to
/// `parent`'s own handle when it is not NULL.
fn open_in(
    s: &mut State,
    routine: Routine,
    parent: WDFKEY,
    name: &str,
    access: ACCESS_MASK,
    volatile: Option<bool>,
    attributes: objects::Attributes,
) -> Result<(u64, bool), NTSTATUS> {
    let base = if parent.is_null() {
        None
    } else {
        let (handle, serial) = key_handle(s, routine, parent)?;
        // ZwOpenKey relative to the parent's raw handle (F12): a handle the
        // driver already closed is an invalid RootDirectory.
        match handle.and_then(|h| s.kernel.handles.get(h).filter(|e| e.serial == serial)) {
            Some(entry) => Some(entry.object),
            None => return Err(STATUS_INVALID_HANDLE),
        }
    };
    let driver = s.caller_image();
    new_key_object(s, driver, attributes, |s, owner| s.open_key_handle(owner, base, name, access, volatile, false))
}

/// `WdfDriverOpenParametersRegistryKey` / `WdfDriverOpenPersistentStateRegistryKey`:
/// a key object owning a handle to `subkey` below the driver's service key,
/// opened through IoOpenDriverRegistryKey, or — `through_service_key` — with
/// a temporary handle to the service key (F14).
fn open_driver_key_in(
    s: &mut State,
    routine: Routine,
    driver: WDFDRIVER,
    subkey: &str,
    access: ACCESS_MASK,
    through_service_key: bool,
    attributes: objects::Attributes,
) -> Result<(u64, bool), NTSTATUS> {
    let (service, service_node, image) = driver_service(s, routine, driver)?;
    new_key_object(s, image, attributes, |s, owner| {
        if !through_service_key {
            s.push_frame(KERNEL_MODULE, "nt!IoOpenDriverRegistryKey");
            // The subkey below the service key (the same path, resolved
            // from the service key's node when it exists). The node of the
            // load, while it is not deleted, is the node the path names: a
            // live key keeps its path (keys are never renamed or moved, and
            // a key with subkeys cannot be deleted).
            let registry = &s.kernel.registry;
            let node = match service_node.filter(|&n| !registry.node(n).deleted) {
                Some(n) => Ok(n),
                None => registry.lookup(None, &service),
            };
            let r = match node {
                Ok(node) => s.open_key_handle(owner, Some(node), subkey, access, Some(false), false),
                Err(_) => {
                    let path = format!(r"{service}\{subkey}");
                    s.open_key_handle(owner, None, &path, access, Some(false), false)
                }
            };
            s.pop_frame();
            return r;
        }
        // F14: a temporary handle to the service key (KEY_ALL_ACCESS), the
        // subkey created under it, then the temporary handle closed.
        let framework = HandleOwner::Component(FRAMEWORK_MODULE.into());
        let (temp, _) =
            s.open_key_handle(framework.clone(), None, &service, crate::abi::KEY_ALL_ACCESS, None, false)?;
        let base = s.kernel.handles.get(temp).map(|e| e.object);
        let r = s.open_key_handle(owner, base, subkey, access, Some(false), false);
        let _ = s.nt_close(temp, framework, None);
        r
    })
}

/// `WdfFdoInitOpenRegistryKey` / `WdfDeviceOpenRegistryKey`: a key object
/// owning a handle to a devnode's hardware (PLUGPLAY_REGKEY_DEVICE) or
/// software (PLUGPLAY_REGKEY_DRIVER) key, opened through
/// IoOpenDeviceRegistryKey (F16, F17). ASSUMPTION: PnP created both keys at
/// install, so a missing one is created.
fn open_devnode_key_in(
    s: &mut State,
    devnode: usize,
    key_type: ULONG,
    access: ACCESS_MASK,
    attributes: objects::Attributes,
) -> Result<(u64, bool), NTSTATUS> {
    let which = key_type & !crate::abi::PLUGPLAY_REGKEY_CURRENT_HWPROFILE;
    let node = s.framework.devnodes.get(devnode).ok_or(crate::abi::STATUS_INVALID_DEVICE_STATE)?;
    let slot = match which {
        crate::abi::PLUGPLAY_REGKEY_DEVICE => 0,
        crate::abi::PLUGPLAY_REGKEY_DRIVER => 1,
        _ => return Err(crate::abi::STATUS_INVALID_PARAMETER),
    };
    let key = &node.keys[slot];
    let path = key.path.clone();
    // The node the path resolved to last time, while it is not deleted: a
    // live key keeps its path (keys are never renamed or moved, and a key
    // with subkeys cannot be deleted), so it is the node the path names now.
    let registry = &mut s.kernel.registry;
    let known = key.node.filter(|&n| !registry.node(n).deleted);
    let base = known.or_else(|| {
        let created = registry.create_path(&path).ok();
        s.framework.devnodes[devnode].keys[slot].node = created;
        created
    });
    // Opened by the path, or — the same key — relative to its node.
    let (base, name) = match base {
        Some(n) => (Some(n), ""),
        None => (None, path.as_str()),
    };
    let image = s.caller_image();
    s.push_frame(KERNEL_MODULE, "nt!IoOpenDeviceRegistryKey");
    let r = new_key_object(s, image, attributes, |s, owner| s.open_key_handle(owner, base, name, access, None, false));
    s.pop_frame();
    r
}

/// `WdfRegistryWdmGetHandle`: `m_Key` itself — no duplicate, no reference;
/// the key object still owns it (F6). 0 once the key was closed.
pub(crate) fn wdm_handle(key: WDFKEY) -> u64 {
    with_state(|s| key_handle(s, Routine::WdfRegistryWdmGetHandle, key).ok().and_then(|(h, _)| h))
        .flatten()
        .unwrap_or(0)
}

/// What a value query gives the driver: the value's type and data, and the
/// DDI's status for the caller's buffer.
pub(crate) struct ValueRead {
    pub kind: u32,
    pub data: Vec<u8>,
    /// STATUS_SUCCESS, or why the data is not copied.
    pub status: NTSTATUS,
}

/// `WdfRegistryQueryValue` (F21, F22) into a buffer of `capacity` bytes (0
/// for a size probe): the data fits, or STATUS_BUFFER_OVERFLOW (never
/// BUFFER_TOO_SMALL) with the type and length still reported. No type check.
pub(crate) fn query_value_into(key: WDFKEY, name: &str, capacity: u32) -> Result<ValueRead, NTSTATUS> {
    let (kind, data) = query_value(Routine::WdfRegistryQueryValue, key, name)?;
    let status = if data_len(&data) > capacity { STATUS_BUFFER_OVERFLOW } else { STATUS_SUCCESS };
    Ok(ValueRead { kind, data, status })
}

/// `WdfRegistryQueryUnicodeString` (F24) into a string of `capacity` bytes
/// (`None`: no string, a size probe): `Some(0)` is STATUS_INVALID_PARAMETER;
/// data longer than the capacity STATUS_BUFFER_OVERFLOW; a type other than
/// REG_SZ / REG_EXPAND_SZ (checked once the query succeeded)
/// STATUS_OBJECT_TYPE_MISMATCH. Also: the byte length `*ValueByteLength`
/// reports — ASSUMPTION: data beyond 0xFFFF bytes reports 0xFFFF in that
/// USHORT — and, on success, the string's `Length`: the data length without
/// a trailing NUL.
pub(crate) fn query_unicode_string(key: WDFKEY, name: &str, capacity: Option<u16>) -> Result<StringRead, NTSTATUS> {
    if capacity == Some(0) {
        return Err(STATUS_INVALID_PARAMETER);
    }
    let (kind, data) = query_value(Routine::WdfRegistryQueryUnicodeString, key, name)?;
    let status = if data.len() > usize::from(capacity.unwrap_or(0)) {
        STATUS_BUFFER_OVERFLOW
    } else if kind != REG_SZ && kind != REG_EXPAND_SZ {
        STATUS_OBJECT_TYPE_MISMATCH
    } else {
        STATUS_SUCCESS
    };
    let mut length = data.len();
    if length >= 2 && data[length - 2..] == [0, 0] {
        length -= 2;
    }
    let byte_length = u16::try_from(data.len()).unwrap_or(u16::MAX);
    Ok(StringRead { read: ValueRead { kind, data, status }, byte_length, length: u16::try_from(length).unwrap_or(0) })
}

/// What [`query_unicode_string`] read.
pub(crate) struct StringRead {
    pub read: ValueRead,
    /// What `*ValueByteLength` reports.
    pub byte_length: u16,
    /// The string's `Length` on success.
    pub length: u16,
}

/// A value's length as the registry DDIs report it.
pub(crate) fn data_len(data: &[u8]) -> u32 {
    u32::try_from(data.len()).unwrap_or(u32::MAX)
}

/// `WdfRegistryAssign*` (F26): `ZwSetValueKey` through the key; needs
/// KEY_SET_VALUE.
pub(crate) fn assign(routine: Routine, key: WDFKEY, name: &str, kind: u32, data: Vec<u8>) -> NTSTATUS {
    in_key(routine, key, KEY_SET_VALUE, |s, node| {
        s.kernel.registry.set_value(node, name, kind, data);
        Ok(STATUS_SUCCESS)
    })
    .unwrap_or_else(|st| st)
}

/// `WdfRegistryRemoveValue` (F26): `ZwDeleteValueKey`; needs KEY_SET_VALUE;
/// a missing value is STATUS_OBJECT_NAME_NOT_FOUND.
pub(crate) fn remove_value(key: WDFKEY, name: &str) -> NTSTATUS {
    in_key(Routine::WdfRegistryRemoveValue, key, KEY_SET_VALUE, |s, node| {
        if s.kernel.registry.remove_value(node, name) { Ok(STATUS_SUCCESS) } else { Err(STATUS_OBJECT_NAME_NOT_FOUND) }
    })
    .unwrap_or_else(|st| st)
}

/// `WdfRegistryRemoveKey` (F26, F69): `ZwDeleteKey` (needs DELETE; a key
/// with subkeys cannot be deleted — ASSUMPTION: STATUS_CANNOT_DELETE); only
/// on success the key object is deleted, so on failure the WDFKEY is still
/// the driver's to close (F69 follows the source).
pub(crate) fn remove_key(key: WDFKEY) -> NTSTATUS {
    let status = in_key(Routine::WdfRegistryRemoveKey, key, DELETE, |s, node| {
        if s.kernel.registry.delete_key(node) { Ok(STATUS_SUCCESS) } else { Err(STATUS_CANNOT_DELETE) }
    })
    .unwrap_or_else(|st| st);
    if NT_SUCCESS(status) {
        objects::delete_subtree(key as u64);
    }
    status
}

/// [`open_in`] on this thread's machine (`None`: no machine).
pub(crate) fn open(
    routine: Routine,
    parent: WDFKEY,
    name: &str,
    access: ACCESS_MASK,
    volatile: Option<bool>,
    attributes: objects::Attributes,
) -> Option<Result<(u64, bool), NTSTATUS>> {
    with_state(|s| open_in(s, routine, parent, name, access, volatile, attributes))
}

/// [`open_driver_key_in`] on this thread's machine (`None`: no machine).
pub(crate) fn open_driver_key(
    routine: Routine,
    driver: WDFDRIVER,
    subkey: &str,
    access: ACCESS_MASK,
    through_service_key: bool,
    attributes: objects::Attributes,
) -> Option<Result<(u64, bool), NTSTATUS>> {
    with_state(|s| open_driver_key_in(s, routine, driver, subkey, access, through_service_key, attributes))
}

/// [`open_devnode_key_in`] on this thread's machine (`None`: no machine).
pub(crate) fn open_devnode_key(
    devnode: usize,
    key_type: ULONG,
    access: ACCESS_MASK,
    attributes: objects::Attributes,
) -> Option<Result<(u64, bool), NTSTATUS>> {
    with_state(|s| open_devnode_key_in(s, devnode, key_type, access, attributes))
}

/// What was wrong with a value DDI's own arguments, seen before its key was.
pub(crate) enum ArgumentFault {
    /// A required pointer, by name, was NULL.
    Null(&'static str),
    /// The value name was malformed (its status).
    Status(NTSTATUS),
}

/// Reports `fault` as the framework meets it: it resolves `key` first
/// (F91; fxregistryapi.cpp), so a bad key is that key's stop; then a NULL
/// required pointer is 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL}, a malformed
/// name its status.
#[cold]
pub(crate) fn fault_after_key(routine: Routine, key: WDFKEY, fault: ArgumentFault) -> NTSTATUS {
    with_state(|s| {
        if let Err(st) = s.fx_check(routine, 0, key as u64) {
            return st;
        }
        match fault {
            ArgumentFault::Null(what) => {
                null_parameter(s, what);
                STOPPED_STATUS
            }
            ArgumentFault::Status(st) => st,
        }
    })
    .unwrap_or(STOPPED_STATUS)
}
