//! The device DDIs' rules: `WDFDEVICE_INIT` (F35, F36), `WdfDeviceCreate`
//! (F10, F33), device interfaces, the device's default queue and driver.

use super::objects::{Attributes, ObjectKind};
use super::verifier::{null_parameter, verifier_break};
use crate::abi::*;
use crate::model::{Routine, STOPPED_STATUS, State, with_state};

/// The devnode behind a `PWDFDEVICE_INIT` handed to EvtDriverDeviceAdd and not
/// consumed yet. ASSUMPTION: any other pointer fails with
/// STATUS_INVALID_PARAMETER (KMDF would read through it).
pub(crate) fn init_devnode(s: &State, init: PWDFDEVICE_INIT) -> Result<usize, NTSTATUS> {
    s.framework
        .device_inits
        .iter()
        .find(|i| i.is(init) && !i.consumed)
        .map(|i| i.devnode)
        .ok_or(STATUS_INVALID_PARAMETER)
}

/// How `routine` resolves its `DeviceInit` (F94): NULL is
/// `FxPointerNotNull`'s 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL}; a pointer
/// that is not a live init — consumed by WdfDeviceCreate, or from an add
/// that has returned — is read through by KMDF: the simulator records it as
/// a finding (never a clean run) and the DDI does nothing
/// (STATUS_INVALID_PARAMETER where it returns a status; ASSUMPTION).
fn live_init(s: &mut State, routine: Routine, init: PWDFDEVICE_INIT) -> Result<usize, NTSTATUS> {
    if init.is_null() {
        null_parameter(s, &format!("DeviceInit of {}", routine.name()));
        return Err(STOPPED_STATUS);
    }
    init_devnode(s, init).inspect_err(|_| {
        let message = format!(
            "{} on a WDFDEVICE_INIT {init:p} that is not live (consumed by WdfDeviceCreate, or its \
             EvtDriverDeviceAdd has returned): the framework reads memory it no longer owns (docs/facts.md#f94)",
            routine.name()
        );
        s.framework.framework_log.push(message.clone());
        s.framework.findings.push(message);
    })
}

/// [`live_init`] on this thread's machine (`Err(STOPPED_STATUS)` without one).
pub(crate) fn devnode_of_init(routine: Routine, init: PWDFDEVICE_INIT) -> Result<usize, NTSTATUS> {
    with_state(|s| live_init(s, routine, init)).unwrap_or(Err(STOPPED_STATUS))
}

/// `WdfDeviceInitSetPnpPowerEventCallbacks` (F35, F36, F94): the PnP and
/// power callbacks the device will get. `callbacks` is `None` for a NULL
/// pointer (0x10D {WDF_REQUIRED_PARAMETER_IS_NULL}, after the init's check),
/// else the structure as read up to its `Size` (F93's rule; current or
/// V1_9), or the status of a `Size` KMDF does not take: then, as
/// when both usage-notification callbacks are given, a verifier break and
/// nothing is set.
pub(crate) fn set_pnp_power_callbacks(
    init: PWDFDEVICE_INIT,
    callbacks: Option<Result<WDF_PNPPOWER_EVENT_CALLBACKS, NTSTATUS>>,
) {
    let routine = Routine::WdfDeviceInitSetPnpPowerEventCallbacks;
    with_state(|s| {
        let Ok(devnode) = live_init(s, routine, init) else { return };
        let Some(callbacks) = callbacks else {
            null_parameter(s, "PnpPowerEventCallbacks");
            return;
        };
        let callbacks = match callbacks {
            Ok(c) if c.EvtDeviceUsageNotification.is_some() && c.EvtDeviceUsageNotificationEx.is_some() => {
                verifier_break(
                    s,
                    "WdfDeviceInitSetPnpPowerEventCallbacks: both EvtDeviceUsageNotification and EvtDeviceUsageNotificationEx",
                );
                return;
            }
            Ok(c) => c,
            Err(_) => {
                verifier_break(
                    s,
                    "WdfDeviceInitSetPnpPowerEventCallbacks: PnpPowerEventCallbacks->Size is not a size KMDF takes",
                );
                return;
            }
        };
        if let Some(i) = s.framework.device_inits.iter_mut().find(|i| i.devnode == devnode) {
            i.callbacks = callbacks;
        }
    });
}

/// `WdfDeviceInitSetIoType`: buffered I/O is what the simulator's requests
/// use (METHOD_BUFFERED IOCTLs do not depend on it); the init is checked (F94).
pub(crate) fn set_io_type(init: PWDFDEVICE_INIT) {
    with_state(|s| {
        let _ = live_init(s, Routine::WdfDeviceInitSetIoType, init);
    });
}

/// `WdfDeviceInitSetRequestAttributes`: the attributes — above all the
/// context type — of every request the framework creates for the device
/// (the DDI page). They are read when each request is created. NULL
/// attributes are 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL} after the init's
/// check; attributes
/// of another `Size`, or naming a `ParentObject` (the framework parents
/// every request itself), are a verifier break and not set (F94).
pub(crate) fn set_request_attributes(init: PWDFDEVICE_INIT, attributes: Option<WDF_OBJECT_ATTRIBUTES>) {
    with_state(|s| {
        let Ok(devnode) = live_init(s, Routine::WdfDeviceInitSetRequestAttributes, init) else { return };
        let Some(attributes) = attributes else {
            null_parameter(s, "RequestAttributes");
            return;
        };
        if attributes.Size as usize != size_of::<WDF_OBJECT_ATTRIBUTES>() || !attributes.ParentObject.is_null() {
            verifier_break(
                s,
                "WdfDeviceInitSetRequestAttributes: the attributes' Size is wrong or they name a ParentObject",
            );
            return;
        }
        if let Some(i) = s.framework.device_inits.iter_mut().find(|i| i.devnode == devnode) {
            i.request_attributes = Some(attributes);
        }
    });
}

/// `WdfDeviceCreate`: consumes the `WDFDEVICE_INIT` and creates the PnP
/// device object, a NoDeleteDDI child of the driver (F33, F10), with the
/// callbacks and request attributes the init collected. `None`: no machine.
pub(crate) fn create(init: PWDFDEVICE_INIT, attributes: Attributes) -> Option<Result<u64, NTSTATUS>> {
    with_state(|s| {
        let devnode = live_init(s, Routine::WdfDeviceCreate, init)?;
        let (callbacks, request_attributes) = s
            .framework
            .device_inits
            .iter()
            .find(|i| i.devnode == devnode)
            .map(|i| (i.callbacks, i.request_attributes))
            .unwrap_or_default();
        let image = s.caller_image();
        let pnp = Box::new(super::objects::DevicePnp { callbacks, request_attributes });
        let h = s.create_object(ObjectKind::Device { devnode, pnp }, image, attributes)?;
        s.framework.devnodes[devnode].device = Some(h);
        if let Some(i) = s.framework.device_inits.iter_mut().find(|i| i.devnode == devnode) {
            i.consumed = true;
        }
        Ok(h)
    })
}

/// The devnode of `routine`'s WDFDEVICE `device` (F91's check).
fn devnode(s: &mut State, routine: Routine, device: WDFDEVICE) -> Result<usize, NTSTATUS> {
    match s.fx_object(routine, 0, device as u64)?.kind {
        ObjectKind::Device { devnode, .. } => Ok(devnode),
        _ => unreachable!("the handle table admits only devices for a WDFDEVICE"),
    }
}

/// [`devnode`] on this thread's machine.
pub(crate) fn devnode_of(routine: Routine, device: WDFDEVICE) -> Result<usize, NTSTATUS> {
    with_state(|s| devnode(s, routine, device)).unwrap_or(Err(STOPPED_STATUS))
}

/// `WdfDeviceCreateDeviceInterface`: registers an interface (by class GUID)
/// the device's files are opened through. The device is checked first, then
/// the GUID (`None`: a NULL pointer, 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL},
/// F91; fxdeviceinterfaceapi.cpp).
pub(crate) fn create_interface(device: WDFDEVICE, guid: Option<(u32, u16, u16, [u8; 8])>) -> NTSTATUS {
    with_state(|s| {
        let devnode = devnode(s, Routine::WdfDeviceCreateDeviceInterface, device)?;
        let Some(guid) = guid else {
            null_parameter(s, "InterfaceClassGUID");
            return Err(STOPPED_STATUS);
        };
        let interfaces = &mut s.framework.devnodes[devnode].interfaces;
        if !interfaces.contains(&guid) {
            interfaces.push(guid);
        }
        Ok(STATUS_SUCCESS)
    })
    .map_or(STOPPED_STATUS, |r| r.unwrap_or_else(|st| st))
}

/// `WdfDeviceGetDefaultQueue`: the device's default queue, or 0.
pub(crate) fn default_queue(device: WDFDEVICE) -> u64 {
    with_state(|s| {
        s.fx_check(Routine::WdfDeviceGetDefaultQueue, 0, device as u64).ok()?;
        s.framework.objects.iter().find_map(|(h, o)| match &o.kind {
            ObjectKind::Queue(q) if q.device == device as u64 && q.default => Some(*h),
            _ => None,
        })
    })
    .flatten()
    .unwrap_or(0)
}

/// `WdfDeviceGetDriver`: the WDFDRIVER the device belongs to, or 0.
pub(crate) fn driver_of(device: WDFDEVICE) -> u64 {
    with_state(|s| {
        s.fx_check(Routine::WdfDeviceGetDriver, 0, device as u64).ok()?;
        s.driver_object()
    })
    .flatten()
    .unwrap_or(0)
}
