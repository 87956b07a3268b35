//! The device DDIs' rules: `WDFDEVICE_INIT` (F35, F36), `WdfDeviceCreate`
//! (F10, F33), device interfaces, the device's default queue and driver.

use super::objects::{Attributes, ObjectKind};
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

/// [`init_devnode`] on this thread's machine (`Err(STOPPED_STATUS)` without one).
pub(crate) fn devnode_of_init(init: PWDFDEVICE_INIT) -> Result<usize, NTSTATUS> {
    with_state(|s| init_devnode(s, init)).unwrap_or(Err(STOPPED_STATUS))
}

/// `WdfDeviceInitSetPnpPowerEventCallbacks`: the PnP and power callbacks the
/// device will get (F35, F36).
pub(crate) fn set_pnp_power_callbacks(init: PWDFDEVICE_INIT, callbacks: WDF_PNPPOWER_EVENT_CALLBACKS) {
    with_state(|s| {
        if let Some(i) = s.framework.device_inits.iter_mut().find(|i| i.is(init) && !i.consumed) {
            i.callbacks = callbacks;
        }
    });
}

/// `WdfDeviceInitSetIoType`: buffered I/O is what the simulator's requests
/// use (METHOD_BUFFERED IOCTLs do not depend on it); a dead init is traced.
pub(crate) fn set_io_type(init: PWDFDEVICE_INIT) {
    with_state(|s| {
        if init_devnode(s, init).is_err() {
            s.framework.framework_log.push("WdfDeviceInitSetIoType on a WDFDEVICE_INIT that is not live".into());
        }
    });
}

/// `WdfDeviceInitSetRequestAttributes`: the attributes — above all the
/// context type — of every request the framework creates for the device
/// (the DDI page). They are read when each request is created.
pub(crate) fn set_request_attributes(init: PWDFDEVICE_INIT, attributes: WDF_OBJECT_ATTRIBUTES) {
    with_state(|s| match s.framework.device_inits.iter_mut().find(|i| i.is(init) && !i.consumed) {
        Some(i) => i.request_attributes = Some(attributes),
        None => s
            .framework
            .framework_log
            .push("WdfDeviceInitSetRequestAttributes on a WDFDEVICE_INIT that is not live".into()),
    });
}

/// `WdfDeviceCreate`: consumes the `WDFDEVICE_INIT` and creates the PnP
/// device object, a NoDeleteDDI child of the driver (F33, F10), with the
/// callbacks and request attributes the init collected. `None`: no machine.
pub(crate) fn create(init: PWDFDEVICE_INIT, attributes: Attributes) -> Option<Result<u64, NTSTATUS>> {
    with_state(|s| {
        let devnode = init_devnode(s, init)?;
        let (callbacks, request_attributes) = s
            .framework
            .device_inits
            .iter()
            .find(|i| i.devnode == devnode)
            .map(|i| (i.callbacks, i.request_attributes))
            .unwrap_or_default();
        let image = s.caller_image();
        let h = s.create_object(ObjectKind::Device { devnode, callbacks, request_attributes }, image, attributes)?;
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
/// the device's files are opened through.
pub(crate) fn create_interface(device: WDFDEVICE, guid: (u32, u16, u16, [u8; 8])) -> NTSTATUS {
    with_state(|s| {
        let devnode = devnode(s, Routine::WdfDeviceCreateDeviceInterface, device)?;
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
