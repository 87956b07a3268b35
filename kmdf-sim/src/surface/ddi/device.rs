//! Device DDIs: `WDFDEVICE_INIT`, `WdfDeviceCreate`, device interfaces and
//! the device's registry keys (F16).

use crate::abi::*;
use crate::model::framework::objects::{self, ObjectKind};
use crate::model::framework::registry as fx_registry;
use crate::model::framework::verifier::{invalid_handle, null_parameter};
use crate::model::{Routine, STOPPED_STATUS, State, enter, with_state};
use crate::surface::create::{Parent, with_out};

/// The devnode behind a `PWDFDEVICE_INIT` handed to EvtDriverDeviceAdd and not
/// consumed yet. ASSUMPTION: any other pointer fails with
/// STATUS_INVALID_PARAMETER (KMDF would read through it).
fn init_devnode(s: &State, init: PWDFDEVICE_INIT) -> Result<usize, NTSTATUS> {
    s.framework
        .device_inits
        .iter()
        .find(|i| i.is(init) && !i.consumed)
        .map(|i| i.devnode)
        .ok_or(crate::STATUS_INVALID_PARAMETER)
}

/// `WdfDeviceInitSetPnpPowerEventCallbacks`: the PnP and power callbacks the
/// device will get (F35, F36).
///
/// # Safety
/// As the DDI: `DeviceInit` from EvtDriverDeviceAdd, `PnpPowerEventCallbacks` valid.
pub unsafe extern "C" fn WdfDeviceInitSetPnpPowerEventCallbacks(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DeviceInit: PWDFDEVICE_INIT,
    PnpPowerEventCallbacks: PWDF_PNPPOWER_EVENT_CALLBACKS,
) {
    enter(Routine::WdfDeviceInitSetPnpPowerEventCallbacks, (), || {
        if PnpPowerEventCallbacks.is_null() {
            with_state(|s| null_parameter(s, "PnpPowerEventCallbacks"));
            return;
        }
        // SAFETY: non-null and valid by the DDI's contract.
        let callbacks = unsafe { *PnpPowerEventCallbacks };
        with_state(|s| {
            if let Some(i) = s.framework.device_inits.iter_mut().find(|i| i.is(DeviceInit) && !i.consumed) {
                i.callbacks = callbacks;
            }
        });
    })
}

/// `WdfDeviceInitSetIoType`: buffered I/O is what the simulator's requests
/// use (METHOD_BUFFERED IOCTLs do not depend on it).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfDeviceInitSetIoType(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DeviceInit: PWDFDEVICE_INIT,
    _IoType: WDF_DEVICE_IO_TYPE,
) {
    enter(Routine::WdfDeviceInitSetIoType, (), || {
        with_state(|s| {
            if init_devnode(s, DeviceInit).is_err() {
                s.framework.framework_log.push("WdfDeviceInitSetIoType on a WDFDEVICE_INIT that is not live".into());
            }
        });
    })
}

/// `WdfDeviceCreate`: consumes the `WDFDEVICE_INIT` (ASSUMPTION: `*DeviceInit`
/// is set to NULL on success, as KMDF's source does) and creates the PnP
/// device object, a NoDeleteDDI child of the driver (F33, F10).
///
/// # Safety
/// As the DDI: `DeviceInit` points to the init from EvtDriverDeviceAdd.
#[must_use]
pub unsafe extern "C" fn WdfDeviceCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DeviceInit: *mut PWDFDEVICE_INIT,
    DeviceAttributes: PWDF_OBJECT_ATTRIBUTES,
    Device: *mut WDFDEVICE,
) -> NTSTATUS {
    enter(Routine::WdfDeviceCreate, STOPPED_STATUS, || {
        if DeviceInit.is_null() || Device.is_null() {
            with_state(|s| null_parameter(s, if DeviceInit.is_null() { "DeviceInit" } else { "Device" }));
            return STOPPED_STATUS;
        }
        // SAFETY: non-null; the driver passes the address of its init pointer.
        let init = unsafe { DeviceInit.read() };
        // SAFETY: the driver passes null or valid attributes.
        let attributes = match unsafe { objects::read_attributes(DeviceAttributes) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        let created = with_state(|s| {
            let devnode = init_devnode(s, init)?;
            let (callbacks, request_attributes) = s
                .framework
                .device_inits
                .iter()
                .find(|i| i.devnode == devnode)
                .map(|i| (i.callbacks, i.request_attributes))
                .unwrap_or_default();
            let image = s.caller_image();
            let h =
                s.create_object(ObjectKind::Device { devnode, callbacks, request_attributes }, image, attributes)?;
            s.framework.devnodes[devnode].device = Some(h);
            if let Some(i) = s.framework.device_inits.iter_mut().find(|i| i.devnode == devnode) {
                i.consumed = true;
            }
            Ok(h)
        });
        match created {
            None => STOPPED_STATUS,
            Some(Err(st)) => st,
            Some(Ok(h)) => {
                // SAFETY: both checked non-null; writable by contract.
                unsafe { DeviceInit.write(std::ptr::null_mut()) };
                // SAFETY: as above.
                unsafe { Device.write(h as WDFDEVICE) };
                crate::STATUS_SUCCESS
            }
        }
    })
}

/// `WdfDeviceCreateDeviceInterface`: registers an interface the device's
/// files are opened through.
///
/// # Safety
/// As the DDI: `InterfaceClassGUID` valid.
#[must_use]
pub unsafe extern "C" fn WdfDeviceCreateDeviceInterface(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Device: WDFDEVICE,
    InterfaceClassGUID: *const GUID,
    _ReferenceString: PCUNICODE_STRING,
) -> NTSTATUS {
    enter(Routine::WdfDeviceCreateDeviceInterface, STOPPED_STATUS, || {
        if InterfaceClassGUID.is_null() {
            with_state(|s| null_parameter(s, "InterfaceClassGUID"));
            return STOPPED_STATUS;
        }
        // SAFETY: checked non-null; valid by contract.
        let g = unsafe { *InterfaceClassGUID };
        let guid = (g.Data1, g.Data2, g.Data3, g.Data4);
        with_state(|s| match s.framework.objects.get(&(Device as u64)).map(|o| &o.kind) {
            Some(ObjectKind::Device { devnode, .. }) => {
                let devnode = *devnode;
                let interfaces = &mut s.framework.devnodes[devnode].interfaces;
                if !interfaces.contains(&guid) {
                    interfaces.push(guid);
                }
                crate::STATUS_SUCCESS
            }
            _ => invalid_handle(s, Device as u64, 0),
        })
        .unwrap_or(STOPPED_STATUS)
    })
}

/// Opens a devnode's hardware or software key as a key object (F16): the
/// key types are PLUGPLAY_REGKEY_DEVICE / PLUGPLAY_REGKEY_DRIVER, possibly
/// ORed with the WDF subkey flags (0 in KMDF 1.33, F17) or
/// PLUGPLAY_REGKEY_CURRENT_HWPROFILE. ASSUMPTION: PnP created both keys at
/// install, so a missing one is created.
///
/// # Safety
/// `attrs` null or valid; `key_out` writable.
unsafe fn open_devnode_key(
    devnode: usize,
    key_type: ULONG,
    access: ACCESS_MASK,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    key_out: *mut WDFKEY,
) -> NTSTATUS {
    // SAFETY: `key_out` writable (checked non-null by the callers), `attrs`
    // null or valid (the DDIs' contracts).
    let attributes = match unsafe { with_out(key_out, "Key", true, attrs, Parent::AsGiven, || Ok(())) } {
        Ok(a) => a,
        Err(st) => return st,
    };
    let result = with_state(|s| fx_registry::open_devnode_key(s, devnode, key_type, access, attributes));
    // SAFETY: writable by contract (checked non-null by the callers).
    match unsafe { super::registry::deliver_key(result, key_out) } {
        Ok(_) => crate::STATUS_SUCCESS,
        Err(st) => st,
    }
}

/// `WdfFdoInitOpenRegistryKey`: a device key before WdfDeviceCreate. Parent:
/// the driver (F10).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfFdoInitOpenRegistryKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DeviceInit: PWDFDEVICE_INIT,
    DeviceInstanceKeyType: ULONG,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(Routine::WdfFdoInitOpenRegistryKey, STOPPED_STATUS, || {
        if Key.is_null() {
            with_state(|s| null_parameter(s, "Key"));
            return STOPPED_STATUS;
        }
        let devnode = match with_state(|s| init_devnode(s, DeviceInit)) {
            Some(Ok(d)) => d,
            Some(Err(st)) => return st,
            None => return STOPPED_STATUS,
        };
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_devnode_key(devnode, DeviceInstanceKeyType, DesiredAccess, KeyAttributes, Key) }
    })
}

/// `WdfDeviceOpenRegistryKey` (F16): needs a device PnP knows; the key's
/// parent is still the driver unless KeyAttributes says otherwise.
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfDeviceOpenRegistryKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Device: WDFDEVICE,
    DeviceInstanceKeyType: ULONG,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(Routine::WdfDeviceOpenRegistryKey, STOPPED_STATUS, || {
        if Key.is_null() {
            with_state(|s| null_parameter(s, "Key"));
            return STOPPED_STATUS;
        }
        let devnode = with_state(|s| match s.framework.objects.get(&(Device as u64)).map(|o| &o.kind) {
            Some(ObjectKind::Device { devnode, .. }) => Ok(*devnode),
            _ => Err(invalid_handle(s, Device as u64, 0)),
        });
        match devnode {
            // SAFETY: forwarded from this DDI's contract.
            Some(Ok(d)) => unsafe { open_devnode_key(d, DeviceInstanceKeyType, DesiredAccess, KeyAttributes, Key) },
            Some(Err(st)) => st,
            None => STOPPED_STATUS,
        }
    })
}

/// `WdfDeviceInitSetRequestAttributes`: the attributes — above all the
/// context type — of every request the framework creates for the device
/// (the DDI page). They are read when each request is created.
///
/// # Safety
/// `RequestAttributes` valid; its `ContextTypeInfo` null or a static the
/// driver keeps.
pub unsafe extern "C" fn WdfDeviceInitSetRequestAttributes(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DeviceInit: PWDFDEVICE_INIT,
    RequestAttributes: PWDF_OBJECT_ATTRIBUTES,
) {
    enter(Routine::WdfDeviceInitSetRequestAttributes, (), || {
        if RequestAttributes.is_null() {
            with_state(|s| null_parameter(s, "RequestAttributes"));
            return;
        }
        // SAFETY: non-null and valid by the DDI's contract.
        let attributes = unsafe { *RequestAttributes };
        with_state(|s| match s.framework.device_inits.iter_mut().find(|i| i.is(DeviceInit) && !i.consumed) {
            Some(i) => i.request_attributes = Some(attributes),
            None => s
                .framework
                .framework_log
                .push("WdfDeviceInitSetRequestAttributes on a WDFDEVICE_INIT that is not live".into()),
        });
    })
}

/// The device object behind a handle, or an invalid-handle report.
fn device_handle(s: &mut State, device: WDFDEVICE) -> Option<u64> {
    match s.framework.objects.get(&(device as u64)).map(|o| &o.kind) {
        Some(ObjectKind::Device { .. }) => Some(device as u64),
        _ => {
            invalid_handle(s, device as u64, 0);
            None
        }
    }
}

/// `WdfDeviceGetDefaultQueue`: the device's default queue, or NULL.
#[must_use]
pub unsafe extern "C" fn WdfDeviceGetDefaultQueue(_DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFQUEUE {
    enter(Routine::WdfDeviceGetDefaultQueue, std::ptr::null_mut(), || {
        with_state(|s| {
            let device = device_handle(s, Device)?;
            s.framework.objects.iter().find_map(|(h, o)| match &o.kind {
                ObjectKind::Queue(q) if q.device == device && q.default => Some(*h as WDFQUEUE),
                _ => None,
            })
        })
        .flatten()
        .unwrap_or(std::ptr::null_mut())
    })
}

/// `WdfDeviceGetDriver`: the WDFDRIVER the device belongs to.
#[must_use]
pub unsafe extern "C" fn WdfDeviceGetDriver(_DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFDRIVER {
    enter(Routine::WdfDeviceGetDriver, std::ptr::null_mut(), || {
        with_state(|s| {
            device_handle(s, Device)?;
            s.driver_object().map(|d| d as WDFDRIVER)
        })
        .flatten()
        .unwrap_or(std::ptr::null_mut())
    })
}

/// `WdfDeviceCreateSymbolicLink` (F127): a `\??` link to the device, which an
/// application opens as `\\.\X` (`Machine::open`); the framework deletes it
/// when the device goes.
///
/// # Safety
/// As the DDI: `SymbolicLinkName` null or a valid counted string.
#[must_use]
pub unsafe extern "C" fn WdfDeviceCreateSymbolicLink(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Device: WDFDEVICE,
    SymbolicLinkName: PCUNICODE_STRING,
) -> NTSTATUS {
    enter(Routine::WdfDeviceCreateSymbolicLink, STOPPED_STATUS, || {
        let name = if SymbolicLinkName.is_null() {
            None
        } else {
            // SAFETY: non-null; a counted string by the DDI's contract.
            Some(unsafe { crate::surface::strings::read_unicode(SymbolicLinkName) })
        };
        with_state(|s| s.wdf_device_create_link(Device as u64, name)).unwrap_or(STOPPED_STATUS)
    })
}
