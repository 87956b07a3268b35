//! `WdfDeviceCreateSymbolicLink` (F127): a KMDF device's symbolic link in
//! the I/O manager's `\??` namespace, so an application opens a KMDF device
//! by its link as it opens a WDM driver's.

use super::link_key;
use crate::abi::{NT_SUCCESS, NTSTATUS, STATUS_INVALID_DEVICE_REQUEST};
use crate::model::framework::objects::ObjectKind;
use crate::model::framework::verifier::null_parameter;
use crate::model::{Routine, STOPPED_STATUS, State};

impl State {
    /// `WdfDeviceCreateSymbolicLink` (F127; fxdeviceapi.cpp, fxdevicekm.cpp):
    /// the WDFDEVICE is validated first, then the name — NULL is the KMDF
    /// verifier's break, an empty one STATUS_INVALID_DEVICE_REQUEST, a
    /// malformed one its status — and a device that has a link already is
    /// STATUS_INVALID_DEVICE_REQUEST. The link names the device's PDO (the
    /// simulator has no `WdfDeviceInitAssignName`).
    pub(crate) fn wdf_device_create_link(&mut self, device: u64, name: Option<Result<String, NTSTATUS>>) -> NTSTATUS {
        let devnode = match self.fx_object(Routine::WdfDeviceCreateSymbolicLink, 0, device) {
            Ok(object) => match object.kind {
                ObjectKind::Device { devnode, .. } => devnode,
                _ => unreachable!("the handle table admits only devices for a WDFDEVICE"),
            },
            Err(status) => return status,
        };
        let Some(name) = name else {
            null_parameter(self, "SymbolicLinkName");
            return STOPPED_STATUS;
        };
        let link = match name {
            Ok(l) if l.is_empty() => return STATUS_INVALID_DEVICE_REQUEST,
            Ok(l) => l,
            Err(status) => return status,
        };
        self.io_prune_wdf_links();
        if self.kernel.io.wdf_links.iter().any(|(_, d)| *d == device) {
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        let status = self.io_create_link(&link, &pdo_name(devnode));
        if NT_SUCCESS(status)
            && let Some(k) = link_key(&link)
        {
            self.kernel.io.wdf_links.push((k, device));
        }
        status
    }

    /// The framework deletes a device's link when the device is removed or
    /// destroyed (F127): the links of WDFDEVICEs that are gone go.
    pub(crate) fn io_prune_wdf_links(&mut self) {
        if self.kernel.io.wdf_links.is_empty() {
            return;
        }
        let objects = &self.framework.objects;
        let io = &mut self.kernel.io;
        let gone: Vec<String> = io
            .wdf_links
            .iter()
            .filter(|(_, d)| !matches!(objects.get(d).map(|o| &o.kind), Some(ObjectKind::Device { .. })))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            io.links.remove(&k);
            io.wdf_links.retain(|(l, _)| *l != k);
        }
    }

    /// The devnode a `\??` link of a KMDF device opens (F127).
    pub(crate) fn io_wdf_link_target(&self, key: &str) -> Option<usize> {
        let &(_, device) = self.kernel.io.wdf_links.iter().find(|(k, _)| k == key)?;
        match self.framework.objects.get(&device).map(|o| &o.kind) {
            Some(ObjectKind::Device { devnode, .. }) => Some(*devnode),
            _ => None,
        }
    }
}

/// The name of devnode `devnode`'s PDO. **ASSUMPTION**: the PnP manager's
/// `\Device\NNNNNNNN` with eight hexadecimal digits, numbered from 1 in the
/// order devnodes were added.
fn pdo_name(devnode: usize) -> String {
    format!(r"\Device\{:08x}", devnode + 1)
}

/// [`State::wdf_device_create_link`] on this thread's machine.
pub(crate) fn create_device_link(device: u64, name: Option<Result<String, NTSTATUS>>) -> NTSTATUS {
    crate::model::with_state(|s| s.wdf_device_create_link(device, name)).unwrap_or(STOPPED_STATUS)
}
