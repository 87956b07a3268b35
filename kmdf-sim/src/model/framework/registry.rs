//! `FxRegKey` objects: a WDFKEY owns one kernel key handle (`m_Key`) and
//! closes it when the object is destroyed (F1–F26).

use super::objects::{self, ObjectKind};
use super::verifier::{invalid_handle, invalid_key};
use crate::abi::*;
use crate::model::kernel::handles::HandleOwner;
use crate::model::{FRAMEWORK_MODULE, KERNEL_MODULE, Name, STOPPED_STATUS, State, with_state};

/// The live key object behind a WDFKEY: (`m_Key`, its open serial, driver),
/// or what [`invalid_key`] makes of a bad one (F20, F77).
pub(crate) fn key_state(s: &mut State, key: WDFKEY) -> Result<(Option<u64>, u64, Name), NTSTATUS> {
    match s.framework.objects.get(&(key as u64)).map(|o| (&o.kind, &o.driver)) {
        Some((ObjectKind::Key { handle, serial }, driver)) => Ok((*handle, *serial, driver.clone())),
        _ => Err(invalid_key(s, key)),
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
    key: WDFKEY,
    needed: u32,
    f: impl FnOnce(&mut State, usize) -> Result<T, NTSTATUS>,
) -> Result<T, NTSTATUS> {
    with_state(|s| {
        let (handle, _, _) = key_state(s, key)?;
        let handle = handle.ok_or(crate::abi::STATUS_INVALID_HANDLE)?;
        let node = crate::model::kernel::registry::key_of(s, handle as HANDLE, needed)?;
        f(s, node)
    })
    .unwrap_or(Err(STOPPED_STATUS))
}

/// The kind and data of value `name` under `key`, opened for
/// KEY_QUERY_VALUE; STATUS_OBJECT_NAME_NOT_FOUND when it has no such value.
pub(crate) fn query_value(key: WDFKEY, name: &str) -> Result<(u32, Vec<u8>), NTSTATUS> {
    in_key(key, crate::abi::KEY_QUERY_VALUE, |s, node| {
        let v = s.kernel.registry.value(node, name).ok_or(crate::abi::STATUS_OBJECT_NAME_NOT_FOUND)?;
        Ok((v.kind, v.data.clone()))
    })
}

/// The WDFDRIVER's service key path and image, or a 0x10D bug check.
pub(crate) fn driver_service(s: &mut State, driver: WDFDRIVER) -> Option<(Name, Name)> {
    let live = s.framework.objects.get(&(driver as u64)).is_some_and(|o| matches!(o.kind, ObjectKind::Driver { .. }));
    if !live {
        // ASSUMPTION: KMDF's FX_TYPE_DRIVER id is not in the facts; 0 = any.
        invalid_handle(s, driver as u64, 0);
        return None;
    }
    let service = s.loaded_service_key()?;
    Some((service, s.caller_image()))
}

/// `WdfRegistryQueryULong`'s value (F23): REG_DWORD only (else
/// STATUS_OBJECT_TYPE_MISMATCH); a missing value is
/// STATUS_OBJECT_NAME_NOT_FOUND; a REG_DWORD longer than 4 bytes is
/// STATUS_BUFFER_OVERFLOW. Needs KEY_QUERY_VALUE.
pub(crate) fn query_ulong(key: WDFKEY, name: &str) -> Result<u32, NTSTATUS> {
    in_key(key, KEY_QUERY_VALUE, |s, node| {
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
        let Ok((handle, serial, driver)) = key_state(s, key) else { return false };
        if let Some(o) = s.framework.objects.get_mut(&(key as u64)) {
            o.kind = ObjectKind::Key { handle: None, serial };
        }
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
pub(crate) fn open(
    s: &mut State,
    parent: WDFKEY,
    name: &str,
    access: ACCESS_MASK,
    volatile: Option<bool>,
    attributes: objects::Attributes,
) -> Result<(u64, bool), NTSTATUS> {
    let base = if parent.is_null() {
        None
    } else {
        let (handle, serial, _) = key_state(s, parent)?;
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
pub(crate) fn open_driver_key(
    s: &mut State,
    driver: WDFDRIVER,
    subkey: &str,
    access: ACCESS_MASK,
    through_service_key: bool,
    attributes: objects::Attributes,
) -> Result<(u64, bool), NTSTATUS> {
    let (service, image) = driver_service(s, driver).ok_or(STOPPED_STATUS)?;
    new_key_object(s, image, attributes, |s, owner| {
        if !through_service_key {
            s.push_frame(KERNEL_MODULE, "nt!IoOpenDriverRegistryKey");
            // The subkey below the service key (the same path, resolved
            // from the service key's node when it exists).
            let r = match s.kernel.registry.lookup(None, &service) {
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
pub(crate) fn open_devnode_key(
    s: &mut State,
    devnode: usize,
    key_type: ULONG,
    access: ACCESS_MASK,
    attributes: objects::Attributes,
) -> Result<(u64, bool), NTSTATUS> {
    let which = key_type & !crate::abi::PLUGPLAY_REGKEY_CURRENT_HWPROFILE;
    let node = s.framework.devnodes.get(devnode).ok_or(crate::abi::STATUS_INVALID_DEVICE_STATE)?;
    let path = match which {
        crate::abi::PLUGPLAY_REGKEY_DEVICE => node.hardware_key(),
        crate::abi::PLUGPLAY_REGKEY_DRIVER => node.software_key(),
        _ => return Err(crate::abi::STATUS_INVALID_PARAMETER),
    };
    let _ = s.kernel.registry.create_path(&path);
    let image = s.caller_image();
    s.push_frame(KERNEL_MODULE, "nt!IoOpenDeviceRegistryKey");
    let r = new_key_object(s, image, attributes, |s, owner| s.open_key_handle(owner, None, &path, access, None, false));
    s.pop_frame();
    r
}
