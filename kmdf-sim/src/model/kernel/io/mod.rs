//! The WDM I/O manager as a driver meets it (F120–F125): device objects
//! (`IoCreateDevice`, `IoDeleteDevice`), symbolic links in the `\??`
//! namespace, the file objects an application's handles open, and the IRPs
//! it sends — with one stack location, buffered, direct (MDL) and neither
//! I/O — dispatched through the driver object's `MajorFunction[]`,
//! completed with `IofCompleteRequest`, pended and cancelled.
//!
//! * `irp` — an IRP's memory (the real `IRP` followed by its stack
//!   location), its buffers and MDL, completion, the cancel spin lock.
//! * `dispatch` — the application's side: open by name, read, write,
//!   DeviceIoControl, cancel, close (the machine's operations).
//!
//! What the driver reads through inline functions of the headers
//! (`IoGetCurrentIrpStackLocation`, `IoMarkIrpPending`, `IoSetCancelRoutine`,
//! `MmGetSystemAddressForMdlSafe`) is laid out as the real structures of the
//! wdk-sys bindings, so those inline bodies work unchanged.

pub(crate) mod dispatch;
pub(crate) mod irp;
pub(crate) mod wdf_link;

use crate::abi::{
    _DEVICE_OBJECT, _DRIVER_OBJECT, DO_DEVICE_HAS_NAME, DO_DEVICE_INITIALIZING, DO_EXCLUSIVE, IO_TYPE_DEVICE, NTSTATUS,
};
use crate::model::{Name, STOPPED_STATUS, State, with_state};
use std::collections::{BTreeMap, VecDeque};

/// How many completed IRPs the machine keeps (memory and results).
/// **ASSUMPTION**: bounded as for KMDF requests; a completion of an IRP
/// older than that is not recognised as a second completion.
pub(crate) const RETIRED_KEPT: usize = 1024;

/// STATUS_OBJECT_NAME_COLLISION.
pub(crate) const STATUS_OBJECT_NAME_COLLISION: NTSTATUS = 0xC000_0035_u32 as NTSTATUS;
/// STATUS_OBJECT_NAME_NOT_FOUND.
pub(crate) const STATUS_OBJECT_NAME_NOT_FOUND: NTSTATUS = 0xC000_0034_u32 as NTSTATUS;
/// STATUS_OBJECT_NAME_INVALID.
pub(crate) const STATUS_OBJECT_NAME_INVALID: NTSTATUS = 0xC000_0033_u32 as NTSTATUS;

/// A device object the driver created.
pub(crate) struct Device {
    /// The object itself, at a stable address the driver holds.
    pub(crate) object: Box<_DEVICE_OBJECT>,
    /// The device extension's memory (zeroed, 16-byte aligned).
    _extension: Vec<u128>,
    /// Its name in the object namespace (`\Device\X`), upper-cased for
    /// look-up, and as given.
    pub(crate) name: Option<(String, String)>,
    /// The image that created it.
    pub(crate) owner: Name,
    /// IoDeleteDevice was called while files were still open on it: it is
    /// gone from the namespace and freed when the last file closes (F120).
    pub(crate) delete_pending: bool,
}

/// The I/O manager's state.
#[derive(Default)]
pub(crate) struct IoManager {
    /// Live device objects, oldest first.
    pub(crate) devices: Vec<Device>,
    /// Symbolic links of `\??` (upper-cased link → (link as given, target
    /// as given, the image that created it)). Permanent objects: they
    /// outlive the driver (F120).
    pub(crate) links: BTreeMap<String, (String, String, Name)>,
    /// The links of KMDF devices (`WdfDeviceCreateSymbolicLink`, F127):
    /// upper-cased link and the WDFDEVICE.
    pub(crate) wdf_links: Vec<(String, u64)>,
    /// Names of devices a driver left behind at unload: the object stays in
    /// the namespace on Windows (F125), so a new device of that name collides.
    pub(crate) stale_names: Vec<String>,
    /// Open file objects and their IRPs (see `dispatch` and `irp`).
    pub(crate) files: Vec<irp::File>,
    /// IRPs sent and not completed, by address.
    pub(crate) irps: BTreeMap<u64, irp::Irp>,
    /// How completed IRPs ended, by address: status, Information, output —
    /// for the last [`RETIRED_KEPT`] completions.
    pub(crate) completed: BTreeMap<u64, (NTSTATUS, u64, Vec<u8>)>,
    /// The memory of the last [`RETIRED_KEPT`] completed IRPs, kept so that
    /// their addresses name no other IRP (a second completion is recognised
    /// as such, and a driver's late read of a completed IRP reads what it
    /// left).
    pub(crate) retired: VecDeque<Box<irp::IrpBlock>>,
    /// Files whose handle is closed and whose last IRP has completed: their
    /// IRP_MJ_CLOSE is due when control is back in the I/O manager.
    pub(crate) close_due: Vec<u64>,
    /// The IRQL saved by IoAcquireCancelSpinLock while the lock is held.
    pub(crate) cancel_lock: Option<u8>,
    /// Files opened so far (their order, for names in messages).
    pub(crate) opened: u64,
}

/// Upper-cases a name for the object manager's case-insensitive look-up.
fn key(name: &str) -> String {
    name.to_uppercase()
}

/// The `\??` link a name an application opens stands for: `\\.\X` and
/// `\??\X` / `\DosDevices\X` / `\GLOBAL??\X` are the same link `X` (F120).
pub(crate) fn link_key(name: &str) -> Option<String> {
    let upper = key(name);
    ["\\\\.\\", "\\??\\", "\\DOSDEVICES\\", "\\GLOBAL??\\"]
        .iter()
        .find_map(|p| upper.strip_prefix(p))
        .filter(|rest| !rest.is_empty() && !rest.contains('\\'))
        .map(str::to_string)
}

impl State {
    /// IoCreateDevice (F120): a zeroed device object and extension, linked
    /// at the head of the driver object's device list, `DO_DEVICE_INITIALIZING`
    /// set; a name already in the namespace is STATUS_OBJECT_NAME_COLLISION.
    pub(crate) fn io_create_device(
        &mut self,
        driver: *mut _DRIVER_OBJECT,
        extension_size: u32,
        name: Option<String>,
        device_type: u32,
        characteristics: u32,
        exclusive: bool,
    ) -> Result<*mut _DEVICE_OBJECT, NTSTATUS> {
        if !self.is_loaded_driver_object(driver) {
            return Err(crate::abi::STATUS_INVALID_PARAMETER);
        }
        if let Some(n) = &name {
            if !n.starts_with('\\') || n.len() < 2 {
                return Err(STATUS_OBJECT_NAME_INVALID);
            }
            let k = key(n);
            let io = &self.kernel.io;
            if io.devices.iter().any(|d| d.name.as_ref().is_some_and(|(u, _)| *u == k)) || io.stale_names.contains(&k) {
                return Err(STATUS_OBJECT_NAME_COLLISION);
            }
        }
        let mut extension = vec![0u128; (extension_size as usize).div_ceil(16)];
        let mut flags = DO_DEVICE_INITIALIZING;
        if name.is_some() {
            flags |= DO_DEVICE_HAS_NAME;
        }
        if exclusive {
            flags |= DO_EXCLUSIVE;
        }
        // SAFETY: `driver` is the loaded driver's boxed object (checked above).
        let first = unsafe { (*driver).DeviceObject };
        let object = Box::new(_DEVICE_OBJECT {
            Type: IO_TYPE_DEVICE as i16,
            Size: (size_of::<_DEVICE_OBJECT>() + extension_size as usize) as u16,
            DriverObject: driver,
            NextDevice: first,
            Flags: flags,
            Characteristics: characteristics,
            DeviceExtension: if extension_size == 0 { std::ptr::null_mut() } else { extension.as_mut_ptr().cast() },
            DeviceType: device_type,
            StackSize: 1,
            ..Default::default()
        });
        let mut device = Device {
            object,
            _extension: extension,
            name: name.map(|n| (key(&n), n)),
            owner: self.caller_image(),
            delete_pending: false,
        };
        let address = std::ptr::from_mut(device.object.as_mut());
        // SAFETY: as above; the new object heads the driver's device list.
        unsafe { (*driver).DeviceObject = address };
        self.kernel.io.devices.push(device);
        Ok(address)
    }

    /// The device record of a device object address, if it is live.
    pub(crate) fn io_device(&self, device: *mut _DEVICE_OBJECT) -> Option<usize> {
        self.kernel.io.devices.iter().position(|d| std::ptr::eq(d.object.as_ref(), device))
    }

    /// IoDeleteDevice (F120): unlinks it from its driver's device list and
    /// the namespace; its memory goes when no file is open on it. A device
    /// the I/O manager does not know (never created, or deleted already) is
    /// what Enhanced I/O Verification monitors (F122); its error code is not
    /// in the public documentation, so it is a finding here, not a made-up
    /// bug check parameter.
    pub(crate) fn io_delete_device(&mut self, device: *mut _DEVICE_OBJECT) {
        let Some(at) = self.io_device(device).filter(|&i| !self.kernel.io.devices[i].delete_pending) else {
            let image = self.caller_image();
            self.framework.findings.push(format!(
                "{image}: IoDeleteDevice({:#x}) of a device object that does not exist or was deleted already \
                 (docs/facts.md#f122)",
                device as u64
            ));
            return;
        };
        let driver = self.kernel.io.devices[at].object.DriverObject;
        // Unlink it from the driver's list.
        // SAFETY: the device's driver object is the loaded driver's, alive
        // while any of its devices is.
        let mut link: *mut *mut _DEVICE_OBJECT = unsafe { &raw mut (*driver).DeviceObject };
        // SAFETY: `link` points at the list head or at a live device's
        // NextDevice field; the list holds only live devices of this driver.
        while !unsafe { *link }.is_null() {
            // SAFETY: as above.
            let current = unsafe { *link };
            if std::ptr::eq(current, device) {
                // SAFETY: `current` is a live device of the list.
                let next = unsafe { (*current).NextDevice };
                // SAFETY: `link` points at the head or a live NextDevice field.
                unsafe { *link = next };
                break;
            }
            // SAFETY: `current` is a live device of the list.
            link = unsafe { &raw mut (*current).NextDevice };
        }
        let open = self.kernel.io.files.iter().any(|f| std::ptr::eq(f.device, device));
        if open {
            let d = &mut self.kernel.io.devices[at];
            d.delete_pending = true;
            d.name = None;
        } else {
            self.kernel.io.devices.remove(at);
        }
    }

    /// IoCreateSymbolicLink (F120): a permanent `\??` link to a device name.
    pub(crate) fn io_create_link(&mut self, link: &str, target: &str) -> NTSTATUS {
        let Some(k) = link_key(link) else { return STATUS_OBJECT_NAME_INVALID };
        self.io_prune_wdf_links();
        if target.is_empty() {
            return STATUS_OBJECT_NAME_INVALID;
        }
        if self.kernel.io.links.contains_key(&k) {
            return STATUS_OBJECT_NAME_COLLISION;
        }
        let owner = self.caller_image();
        self.kernel.io.links.insert(k, (link.to_string(), target.to_string(), owner));
        crate::abi::STATUS_SUCCESS
    }

    /// IoDeleteSymbolicLink (F120).
    pub(crate) fn io_delete_link(&mut self, link: &str) -> NTSTATUS {
        let Some(k) = link_key(link) else { return STATUS_OBJECT_NAME_INVALID };
        match self.kernel.io.links.remove(&k) {
            Some(_) => crate::abi::STATUS_SUCCESS,
            None => STATUS_OBJECT_NAME_NOT_FOUND,
        }
    }

    /// After DriverEntry returned: the I/O manager clears
    /// `DO_DEVICE_INITIALIZING` on the device objects created in it (F120).
    pub(crate) fn io_driver_entry_returned(&mut self, image: &str) {
        for d in self.kernel.io.devices.iter_mut().filter(|d| d.owner.as_str() == image) {
            d.object.Flags &= !DO_DEVICE_INITIALIZING;
        }
    }

    /// At unload, after DriverUnload returned (F125): an IRP still
    /// outstanding is bug check 0xCE naming the driver code it will run
    /// (its cancel routine, else its dispatch routine); a file still open on
    /// one of its devices is a finding (Windows would not have called
    /// DriverUnload yet); a device object not
    /// deleted and a symbolic link to one of the driver's devices not
    /// deleted are findings, and stay in the namespace: a device's name
    /// collides at the next IoCreateDevice, a link's at the next
    /// IoCreateSymbolicLink. The machine then forgets the driver's devices.
    pub(crate) fn io_unload_check(&mut self, image: &str) {
        self.io_prune_wdf_links();
        let io = &self.kernel.io;
        if io.devices.is_empty() && io.links.is_empty() && io.irps.is_empty() && io.files.is_empty() {
            // A driver that never used the I/O manager (the common KMDF case).
            self.kernel.io.cancel_lock = None;
            return;
        }
        let mine: Vec<*const _DEVICE_OBJECT> = self
            .kernel
            .io
            .devices
            .iter()
            .filter(|d| d.owner.as_str() == image)
            .map(|d| std::ptr::from_ref(d.object.as_ref()))
            .collect();
        let pending = self
            .kernel
            .io
            .irps
            .iter()
            .find(|(_, irp)| mine.iter().any(|d| std::ptr::eq(*d, irp.device)))
            .map(|(address, irp)| (*address, irp.driver_code()));
        if let Some((address, code)) = pending
            && !self.is_stopped()
        {
            self.bug_check(
                (
                    0xCE,
                    [code, 0, code, 0],
                    "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS",
                    [
                        "The driver code the pending IRP will run (its cancel routine, else its dispatch routine)."
                            .into(),
                        "0: read (an instruction fetch).".into(),
                        "The address that references it.".into(),
                        String::new(),
                    ],
                ),
                None,
                Some(format!(
                    "{image} unloaded with IRP {address:#x} still pending: it must complete or cancel every IRP it \
                     holds before DriverUnload returns (docs/facts.md#f125)"
                )),
            );
        }
        let mut findings = Vec::new();
        let open = self.kernel.io.files.iter().filter(|f| mine.iter().any(|d| std::ptr::eq(*d, f.device))).count();
        if open > 0 {
            findings.push(format!(
                "{image}: unloaded with {open} file object(s) still open on its devices: the I/O manager calls \
                 DriverUnload only when no file is open (the application must close its handles first) \
                 (docs/facts.md#f125)"
            ));
        }
        for d in self.kernel.io.devices.iter().filter(|d| d.owner.as_str() == image && !d.delete_pending) {
            let name = d.name.as_ref().map_or("(unnamed)", |(_, n)| n.as_str());
            findings.push(format!(
                "{image}: device object {:#x} {name} was not deleted at unload: IoDeleteDevice belongs in \
                 DriverUnload; the object and its name stay (docs/facts.md#f125)",
                std::ptr::from_ref(d.object.as_ref()) as u64
            ));
            if let Some((upper, _)) = &d.name {
                self.kernel.io.stale_names.push(upper.clone());
            }
        }
        for (link, target, _) in self.kernel.io.links.values().filter(|(_, _, owner)| owner.as_str() == image) {
            findings.push(format!(
                "{image}: symbolic link {link} -> {target} was not deleted at unload: IoDeleteSymbolicLink \
                 belongs in DriverUnload; the link stays and the next IoCreateSymbolicLink of it fails with \
                 STATUS_OBJECT_NAME_COLLISION (docs/facts.md#f125)"
            ));
        }
        self.framework.findings.extend(findings);
        let io = &mut self.kernel.io;
        io.irps.retain(|_, irp| !mine.iter().any(|d| std::ptr::eq(*d, irp.device)));
        io.files.retain(|f| !mine.iter().any(|d| std::ptr::eq(*d, f.device)));
        io.devices.retain(|d| d.owner.as_str() != image);
        io.cancel_lock = None;
    }
}

// The I/O manager's routines on this thread's machine (the surface's
// `wdm.rs` calls these; `None` when there is no machine).

/// `IoCreateDevice`: [`State::io_create_device`].
pub(crate) fn create_device(
    driver: *mut _DRIVER_OBJECT,
    extension_size: u32,
    name: Option<String>,
    device_type: u32,
    characteristics: u32,
    exclusive: bool,
) -> Option<Result<*mut _DEVICE_OBJECT, NTSTATUS>> {
    with_state(|s| s.io_create_device(driver, extension_size, name, device_type, characteristics, exclusive))
}

/// `IoDeleteDevice`: [`State::io_delete_device`].
pub(crate) fn delete_device(device: *mut _DEVICE_OBJECT) {
    with_state(|s| s.io_delete_device(device));
}

/// `IoCreateSymbolicLink`: [`State::io_create_link`].
pub(crate) fn create_link(link: &str, target: &str) -> NTSTATUS {
    with_state(|s| s.io_create_link(link, target)).unwrap_or(STOPPED_STATUS)
}

/// `IoDeleteSymbolicLink`: [`State::io_delete_link`].
pub(crate) fn delete_link(link: &str) -> NTSTATUS {
    with_state(|s| s.io_delete_link(link)).unwrap_or(STOPPED_STATUS)
}

/// `IofCompleteRequest`: [`State::io_complete`].
pub(crate) fn complete(irp: *mut crate::abi::_IRP) {
    with_state(|s| s.io_complete(irp));
}

/// `IoAcquireCancelSpinLock`: [`State::io_acquire_cancel_lock`] (the IRQL
/// to restore; `None` after a stop).
pub(crate) fn acquire_cancel_lock() -> Option<u8> {
    with_state(|s| s.io_acquire_cancel_lock()).flatten()
}

/// `IoReleaseCancelSpinLock`: [`State::io_release_cancel_lock`].
pub(crate) fn release_cancel_lock(irql: u8) {
    with_state(|s| s.io_release_cancel_lock(irql));
}
