//! The application's side of the I/O manager (F124): CreateFile by a
//! symbolic link's name, ReadFile, WriteFile, DeviceIoControl, CancelIo and
//! CloseHandle, each an IRP dispatched through the driver object's
//! `MajorFunction[]` in the application's process at PASSIVE_LEVEL; and
//! IoCancelIrp (F121), which the application's CancelIo and a driver share.

use super::irp::{File, Irp, IrpRequest};
use super::link_key;
use crate::abi::{
    _DEVICE_OBJECT, _IRP, DO_DEVICE_INITIALIZING, DO_EXCLUSIVE, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_CREATE,
    IRP_MJ_DEVICE_CONTROL, IRP_MJ_READ, IRP_MJ_WRITE, NTSTATUS, PASSIVE_LEVEL, SL_PENDING_RETURNED, STATUS_PENDING,
};
use crate::model::framework::pnp::{IoOutcome, call_driver};
use crate::model::{Engine, KERNEL_MODULE, Name, State, Stopped, with_state};

/// What a name an application opens resolves to.
enum Named {
    /// A WDM device object.
    Device(*mut _DEVICE_OBJECT),
    /// A KMDF device's devnode, through its `WdfDeviceCreateSymbolicLink`
    /// link (F127).
    Devnode(usize),
}

/// What CreateFile by name opened.
pub(crate) enum Opened {
    /// A file object (its address) on a WDM device.
    File(u64),
    /// A KMDF device's devnode: the framework's open path serves it (F127).
    Devnode(usize),
}

/// A driver's dispatch routine.
type Dispatch = unsafe extern "C" fn(*mut _DEVICE_OBJECT, *mut _IRP) -> NTSTATUS;

/// The frame name of a major function's dispatch routine.
fn dispatch_symbol(major: u32) -> &'static str {
    match major {
        IRP_MJ_CREATE => "DispatchCreate (IRP_MJ_CREATE)",
        IRP_MJ_CLEANUP => "DispatchCleanup (IRP_MJ_CLEANUP)",
        IRP_MJ_CLOSE => "DispatchClose (IRP_MJ_CLOSE)",
        IRP_MJ_READ => "DispatchRead (IRP_MJ_READ)",
        IRP_MJ_WRITE => "DispatchWrite (IRP_MJ_WRITE)",
        _ => "DispatchDeviceControl (IRP_MJ_DEVICE_CONTROL)",
    }
}

impl State {
    /// The device a name an application opens refers to (F120): `\\.\X`
    /// through the `\??` link `X` to its target device's name, or
    /// `\\?\GLOBALROOT\Device\X` directly.
    fn io_resolve(&mut self, name: &str) -> Result<Named, NTSTATUS> {
        self.io_prune_wdf_links();
        let upper = name.to_uppercase();
        let target = match upper.strip_prefix("\\\\?\\GLOBALROOT") {
            Some(rest) => rest.to_string(),
            None => {
                let k = link_key(name).ok_or(super::STATUS_OBJECT_NAME_INVALID)?;
                if let Some(devnode) = self.io_wdf_link_target(&k) {
                    return Ok(Named::Devnode(devnode));
                }
                let (_, target, _) = self.kernel.io.links.get(&k).ok_or(super::STATUS_OBJECT_NAME_NOT_FOUND)?;
                target.to_uppercase()
            }
        };
        self.kernel
            .io
            .devices
            .iter()
            .find(|d| d.name.as_ref().is_some_and(|(u, _)| *u == target))
            .map(|d| Named::Device(std::ptr::from_ref(d.object.as_ref()).cast_mut()))
            .ok_or(super::STATUS_OBJECT_NAME_NOT_FOUND)
    }

    /// Whether `request` is an IRP this I/O manager sent (outstanding or
    /// completed).
    pub(crate) fn io_knows(&self, request: u64) -> bool {
        self.kernel.io.irps.contains_key(&request) || self.kernel.io.completed.contains_key(&request)
    }

    /// How an IRP stands, if the I/O manager sent it.
    pub(crate) fn io_outcome(&self, request: u64) -> Option<IoOutcome> {
        if self.kernel.io.irps.contains_key(&request) {
            return Some(IoOutcome::Pending);
        }
        self.kernel.io.completed.get(&request).map(|(status, information, output)| IoOutcome::Completed {
            status: *status,
            information: *information,
            output: output.clone(),
        })
    }
}

/// IoCancelIrp (F121): sets the IRP's `Cancel`, takes the cancel spin lock,
/// exchanges its cancel routine with NULL and, if there was one, calls it at
/// DISPATCH_LEVEL with the lock held and `CancelIrql` set; the routine must
/// release the lock (returning with it held is bug check 0x11B). Returns
/// whether a cancel routine was called. Runs driver code: no state borrow
/// may be held.
pub(crate) fn cancel_irp(irp: u64) -> bool {
    let plan = with_state(|s| {
        let device = s.kernel.io.irps.get(&irp)?.device.cast_mut();
        let old = s.io_acquire_cancel_lock()?;
        let record = s.kernel.io.irps.get_mut(&irp)?;
        record.block.irp.Cancel = 1;
        let Some(routine) = record.block.irp.CancelRoutine.take() else {
            s.kernel.io.cancel_lock = None;
            s.kernel.irql = old;
            return None;
        };
        record.block.irp.CancelIrql = old;
        let image = s.io_device(device).map(|i| s.kernel.io.devices[i].owner.clone()).unwrap_or_default();
        s.push_frame(KERNEL_MODULE, "nt!IoCancelIrp");
        Some((routine, device, image, old))
    })
    .flatten();
    let Some((routine, device, image, old)) = plan else { return false };
    let address = irp as *mut _IRP;
    // SAFETY: the cancel routine the driver set on this outstanding IRP; the
    // I/O manager calls it with the IRP's device and the IRP (F121).
    call_driver(&image, "CancelRoutine", crate::abi::DISPATCH_LEVEL as u8, || unsafe { routine(device, address) });
    with_state(|s| {
        s.pop_frame();
        if s.kernel.io.cancel_lock.is_some() && !s.is_stopped() {
            s.kernel.io.cancel_lock = None;
            s.bug_check(
                (
                    0x11B,
                    [irp, routine as usize as u64, 0, 0],
                    "DRIVER_RETURNED_HOLDING_CANCEL_LOCK",
                    ["The IRP that was cancelled.".into(), "The cancel routine.".into(), String::new(), String::new()],
                ),
                None,
                Some(format!(
                    "{image}: the cancel routine returned holding the cancel spin lock: it must call \
                     IoReleaseCancelSpinLock(Irp->CancelIrql) (docs/facts.md#f121)"
                )),
            );
        } else {
            s.kernel.irql = old;
        }
    });
    true
}

impl Engine {
    /// Sends one IRP on file `file` from `process` and calls the driver's
    /// dispatch routine (F124). Returns the IRP's address, or the status
    /// the I/O manager fails the call with before any IRP exists.
    fn io_send(&self, file: u64, process: &str, request: &IrpRequest<'_>) -> Result<Result<u64, NTSTATUS>, Stopped> {
        self.check_running()?;
        let major = request.major;
        let sent = self.with(|s| {
            let at =
                s.kernel.io.files.iter().position(|f| f.address() == file).ok_or(crate::abi::STATUS_INVALID_HANDLE)?;
            let closing = matches!(major, IRP_MJ_CLEANUP | IRP_MJ_CLOSE);
            if s.kernel.io.files[at].handle_closed && !closing {
                return Err(crate::abi::STATUS_INVALID_HANDLE);
            }
            let device = s.kernel.io.files[at].device.cast_mut();
            let image = s.io_device(device).map(|i| s.kernel.io.devices[i].owner.clone()).unwrap_or_default();
            // SAFETY: a file's device lives while it is open.
            let driver = unsafe { (*device).DriverObject };
            // SAFETY: its driver object lives while any of its devices does.
            let routine = unsafe { (*driver).MajorFunction[major as usize] };
            let irp = Irp::build(&mut s.kernel.io.files[at], routine.map_or(0, |r| r as usize as u64), request);
            let address = irp.address();
            s.kernel.io.irps.insert(address, irp);
            Ok((address, device, routine, image))
        });
        let (irp, device, routine, image) = match sent {
            Ok(v) => v,
            Err(st) => return Ok(Err(st)),
        };
        let Some(routine) = routine else {
            // No dispatch routine: the I/O manager's default completes it
            // with STATUS_INVALID_DEVICE_REQUEST (F124).
            self.with(|s| {
                if let Some(r) = s.kernel.io.irps.get_mut(&irp) {
                    r.block.irp.IoStatus.__bindgen_anon_1.Status = crate::abi::STATUS_INVALID_DEVICE_REQUEST;
                }
                s.push_frame(KERNEL_MODULE, "nt!IopInvalidDeviceRequest");
                s.io_complete(irp as *mut _IRP);
                s.pop_frame();
            });
            return Ok(Ok(irp));
        };
        self.io_call_dispatch(&image, process, major, routine, device, irp)?;
        self.io_close_due()?;
        Ok(Ok(irp))
    }

    /// Calls a dispatch routine and applies I/O Verification's checks to
    /// what it did (F122).
    fn io_call_dispatch(
        &self,
        image: &Name,
        process: &str,
        major: u32,
        routine: Dispatch,
        device: *mut _DEVICE_OBJECT,
        irp: u64,
    ) -> Result<(), Stopped> {
        let (status, irql) = self.run_in_process(image, dispatch_symbol(major), Name::copy_of(process), || {
            // SAFETY: the driver's dispatch routine for this major function,
            // with its device object and an IRP the I/O manager built (F124).
            let status = unsafe { routine(device, irp as *mut _IRP) };
            (status, with_state(|s| s.kernel.irql).unwrap_or(0))
        })?;
        self.with(|s| {
            if s.settings.io_verification && irql != PASSIVE_LEVEL as u8 {
                s.push_driver_frame(image, dispatch_symbol(major));
                s.io_verifier_stop(
                    [0x5, device as u64, u64::from(PASSIVE_LEVEL), u64::from(irql)],
                    ["The IRQL changed across a dispatch routine.", "The device object.", "The IRQL before."],
                    format!("{} returned at IRQL {irql}, entered at PASSIVE_LEVEL", dispatch_symbol(major)),
                );
                s.pop_frame();
                return;
            }
            let Some(record) = s.kernel.io.irps.get(&irp) else { return };
            let marked = record.block.stack.Control & SL_PENDING_RETURNED as u8 != 0;
            let finding = match (status == STATUS_PENDING, marked) {
                (true, false) => Some("returned STATUS_PENDING without IoMarkIrpPending"),
                (false, true) => Some("called IoMarkIrpPending but did not return STATUS_PENDING"),
                (false, false) => Some("returned without completing the IRP and without STATUS_PENDING"),
                (true, true) => None,
            };
            if let Some(what) = finding
                && s.settings.io_verification
            {
                s.framework.findings.push(format!(
                    "{image}: {} {what} (IRP {irp:#x}, status {status:#x}): a dispatch routine returns STATUS_PENDING \
                     if and only if it marked the IRP pending (docs/facts.md#f122)",
                    dispatch_symbol(major)
                ));
            }
        });
        self.check_running()
    }

    /// Sends IRP_MJ_CLOSE for files whose handle is closed and whose last
    /// IRP has completed, and forgets them (F124).
    pub(crate) fn io_close_due(&self) -> Result<(), Stopped> {
        while let Some(file) = self.with(|s| s.kernel.io.close_due.pop()) {
            self.io_finish_close(file)?;
        }
        Ok(())
    }

    fn io_finish_close(&self, file: u64) -> Result<(), Stopped> {
        let process = self.with(|s| s.kernel.io.files.iter().find(|f| f.address() == file).map(|f| f.process.clone()));
        let Some(process) = process else { return Ok(()) };
        let close = IrpRequest { major: IRP_MJ_CLOSE, code: 0, input: &[], output_len: 0 };
        if let Ok(irp) = self.io_send(file, &process, &close)? {
            self.io_require_completed(irp, "IRP_MJ_CLOSE")?;
        }
        self.with(|s| {
            let Some(at) = s.kernel.io.files.iter().position(|f| f.address() == file) else { return };
            let device = s.kernel.io.files.remove(at).device;
            if let Some(i) = s.io_device(device.cast_mut()) {
                let d = &mut s.kernel.io.devices[i];
                d.object.ReferenceCount -= 1;
                let unused = !s.kernel.io.files.iter().any(|f| std::ptr::eq(f.device, device));
                if s.kernel.io.devices[i].delete_pending && unused {
                    s.kernel.io.devices.remove(i);
                }
            }
        });
        Ok(())
    }

    /// A create, cleanup or close left pending stops the machine as not
    /// modelled: the application's thread would wait in CreateFile /
    /// CloseHandle.
    fn io_require_completed(&self, irp: u64, what: &str) -> Result<(), Stopped> {
        self.with(|s| {
            if s.kernel.io.irps.contains_key(&irp) {
                s.kernel.io.irps.remove(&irp);
                s.stop_not_modelled(format!("an {what} IRP left pending by the driver (the caller would wait for it)"));
            }
        });
        self.check_running()
    }

    /// CreateFile(`name`) from `process` (F120, F124): resolves the name;
    /// for a WDM device creates a file object and sends IRP_MJ_CREATE.
    /// Returns the file object's address (or the KMDF devnode a link names,
    /// F127), or the failure status.
    pub(crate) fn io_open(&self, name: &str, process: &str) -> Result<Result<Opened, NTSTATUS>, Stopped> {
        self.check_running()?;
        let opened = self.with(|s| {
            let device = match s.io_resolve(name)? {
                Named::Device(d) => d,
                Named::Devnode(id) => return Ok(Opened::Devnode(id)),
            };
            // SAFETY: a device of the namespace is live.
            let flags = unsafe { (*device).Flags };
            if flags & DO_DEVICE_INITIALIZING != 0 {
                return Err(crate::abi::STATUS_NO_SUCH_DEVICE);
            }
            let busy = s.kernel.io.files.iter().any(|f| std::ptr::eq(f.device, device));
            if flags & DO_EXCLUSIVE != 0 && busy {
                return Err(crate::abi::STATUS_ACCESS_DENIED);
            }
            let file = File::new(device, process);
            let address = file.address();
            s.kernel.io.files.push(file);
            s.kernel.io.opened += 1;
            Ok(Opened::File(address))
        });
        let file = match opened {
            Ok(Opened::File(f)) => f,
            Ok(devnode) => return Ok(Ok(devnode)),
            Err(st) => return Ok(Err(st)),
        };
        let create = IrpRequest { major: IRP_MJ_CREATE, code: 0, input: &[], output_len: 0 };
        let irp = match self.io_send(file, process, &create)? {
            Ok(irp) => irp,
            Err(st) => return Ok(Err(st)),
        };
        self.io_require_completed(irp, "IRP_MJ_CREATE")?;
        let status = self.with(|s| s.kernel.io.completed.get(&irp).map_or(crate::abi::STATUS_UNSUCCESSFUL, |c| c.0));
        self.with(|s| {
            let at = s.kernel.io.files.iter().position(|f| f.address() == file);
            match at {
                Some(i) if !crate::abi::NT_SUCCESS(status) => {
                    s.kernel.io.files.remove(i);
                }
                Some(i) => {
                    let device = s.kernel.io.files[i].device.cast_mut();
                    // SAFETY: the device of an open file is live.
                    unsafe { (*device).ReferenceCount += 1 };
                }
                None => {}
            }
        });
        Ok(if crate::abi::NT_SUCCESS(status) { Ok(Opened::File(file)) } else { Err(status) })
    }

    /// ReadFile / WriteFile / DeviceIoControl on an open file (F123): the
    /// IRP and how it stands when the dispatch routine has returned.
    pub(crate) fn io_submit(
        &self,
        file: u64,
        process: &str,
        major: u32,
        code: u32,
        input: &[u8],
        output_len: usize,
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        debug_assert!(matches!(major, IRP_MJ_READ | IRP_MJ_WRITE | IRP_MJ_DEVICE_CONTROL));
        let request = IrpRequest { major, code, input, output_len };
        Ok(self.io_send(file, process, &request)?.map(|irp| {
            let outcome = self.with(|s| s.io_outcome(irp)).unwrap_or(IoOutcome::Pending);
            (irp, outcome)
        }))
    }

    /// CancelIo of one IRP (F121): IoCancelIrp, then any close that was
    /// waiting for it.
    pub(crate) fn io_cancel(&self, irp: u64) -> Result<(), Stopped> {
        self.check_running()?;
        cancel_irp(irp);
        self.check_running()?;
        self.io_close_due()
    }

    /// CloseHandle (F124): IRP_MJ_CLEANUP now; IRP_MJ_CLOSE once no IRP of
    /// the file is outstanding (at once, or when its last IRP completes).
    pub(crate) fn io_close(&self, file: u64) -> Result<(), Stopped> {
        self.check_running()?;
        let process = self.with(|s| {
            let f = s.kernel.io.files.iter_mut().find(|f| f.address() == file && !f.handle_closed)?;
            f.handle_closed = true;
            Some(f.process.clone())
        });
        let Some(process) = process else { return Ok(()) };
        let cleanup = IrpRequest { major: IRP_MJ_CLEANUP, code: 0, input: &[], output_len: 0 };
        if let Ok(irp) = self.io_send(file, &process, &cleanup)? {
            self.io_require_completed(irp, "IRP_MJ_CLEANUP")?;
        }
        let idle = self.with(|s| !s.kernel.io.irps.values().any(|i| i.file == file));
        if idle {
            self.io_finish_close(file)?;
        }
        Ok(())
    }
}
