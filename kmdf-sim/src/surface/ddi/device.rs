//! Device DDIs: `WDFDEVICE_INIT`, `WdfDeviceCreate`, device interfaces and
//! the device's registry keys (F16).

//! The rules are the model's (`model::framework::device`).

use crate::abi::*;
use crate::model::framework::device as fx_device;
use crate::model::framework::registry as fx_registry;
use crate::model::framework::verifier::required_null;
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, Required, deliver, first_null, read_versioned, with_out};

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
        // SAFETY: null or valid (its own `Size` bytes) by the DDI's contract.
        let callbacks = (!PnpPowerEventCallbacks.is_null()).then(|| unsafe { read_versioned(PnpPowerEventCallbacks) });
        fx_device::set_pnp_power_callbacks(DeviceInit, callbacks);
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
        fx_device::set_io_type(DeviceInit);
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
        // fxdeviceapi.cpp: DeviceInit, *DeviceInit, then Device (F20, F54).
        let init = if DeviceInit.is_null() {
            std::ptr::null_mut()
        } else {
            // SAFETY: non-null; the driver passes the address of its init pointer.
            unsafe { DeviceInit.read() }
        };
        if let Err(st) =
            first_null(&[Required("DeviceInit", DeviceInit.is_null()), Required("*DeviceInit", init.is_null())])
        {
            return st;
        }
        // SAFETY: `Device` null or writable, the attributes null or valid (the DDI's contract).
        let attributes =
            match unsafe { with_out(Device, "Device", false, DeviceAttributes, Parent::AsGiven, || Ok(())) } {
                Ok(a) => a,
                Err(st) => return st,
            };
        // SAFETY: `Device` checked non-null in the prologue; writable by contract.
        let status = unsafe { deliver(fx_device::create(init, attributes), Device) };
        if NT_SUCCESS(status) {
            // SAFETY: checked non-null; writable by contract.
            unsafe { DeviceInit.write(std::ptr::null_mut()) };
        }
        status
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
        // SAFETY: null or valid by contract.
        let guid = unsafe { InterfaceClassGUID.as_ref() }.map(|g| (g.Data1, g.Data2, g.Data3, g.Data4));
        fx_device::create_interface(Device, guid)
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
    let result = fx_registry::open_devnode_key(devnode, key_type, access, attributes);
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
        // fxdeviceinitapi.cpp: DeviceInit first, then Key (F94).
        let devnode = match fx_device::devnode_of_init(Routine::WdfFdoInitOpenRegistryKey, DeviceInit) {
            Ok(d) => d,
            Err(st) => return st,
        };
        if Key.is_null() {
            return required_null("Key");
        }
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
        match fx_device::devnode_of(Routine::WdfDeviceOpenRegistryKey, Device) {
            // SAFETY: forwarded from this DDI's contract.
            Ok(d) => unsafe { open_devnode_key(d, DeviceInstanceKeyType, DesiredAccess, KeyAttributes, Key) },
            Err(st) => st,
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
        // SAFETY: null or valid by the DDI's contract.
        let attributes = (!RequestAttributes.is_null()).then(|| unsafe { *RequestAttributes });
        fx_device::set_request_attributes(DeviceInit, attributes);
    })
}

/// `WdfDeviceGetDefaultQueue`: the device's default queue, or NULL.
#[must_use]
pub unsafe extern "C" fn WdfDeviceGetDefaultQueue(_DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFQUEUE {
    enter(Routine::WdfDeviceGetDefaultQueue, std::ptr::null_mut(), || fx_device::default_queue(Device) as WDFQUEUE)
}

/// `WdfDeviceGetDriver`: the WDFDRIVER the device belongs to.
#[must_use]
pub unsafe extern "C" fn WdfDeviceGetDriver(_DriverGlobals: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFDRIVER {
    enter(Routine::WdfDeviceGetDriver, std::ptr::null_mut(), || fx_device::driver_of(Device) as WDFDRIVER)
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
        crate::model::kernel::io::wdf_link::create_device_link(Device as u64, name)
    })
}
