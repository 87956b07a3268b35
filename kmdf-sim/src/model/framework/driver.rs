//! The driver image: loading it (DriverEntry), unloading it as KMDF does
//! (EvtDriverUnload, then the WDFDRIVER's subtree, F27, F37), running its
//! code in a process at an IRQL, and what it left behind.

use super::objects;
use crate::abi::NTSTATUS;
use crate::model::execution::run_driver;
use crate::model::kernel::handles::HandleOwner;
use crate::model::kernel::pool::PoolAllocation;
use crate::model::kernel::stack::Process;
use crate::model::{Engine, FRAMEWORK_MODULE, KERNEL_MODULE, Name, State, Stopped, panic_message};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The driver image the machine has loaded (F27, F37).
#[derive(Debug)]
pub(crate) struct LoadedDriver {
    pub(crate) image: Name,
    pub(crate) service: Name,
    /// `\Registry\Machine\SYSTEM\CurrentControlSet\Services\<service>`.
    pub(crate) service_key: Name,
    /// The registry node the service key was at when the driver was loaded.
    pub(crate) service_node: Option<usize>,
    /// The WDM driver object handed to DriverEntry (wdk-sys's full
    /// `DRIVER_OBJECT`); boxed for a stable address, which is how the machine
    /// recognises it in `WdfDriverCreate`.
    pub(crate) object: Box<crate::abi::_DRIVER_OBJECT>,
    /// `DriverName` (`\Driver\<service>`) and the UTF-16 it points into.
    _driver_name_buffer: Vec<u16>,
    /// `RegistryPath` handed to DriverEntry, and the UTF-16 it points into.
    pub(crate) registry_path: Box<crate::abi::UNICODE_STRING>,
    _registry_path_buffer: Vec<u16>,
    /// The `DriverUnload` the stub displaced after DriverEntry (F126).
    pub(crate) displaced_unload: crate::abi::DRIVER_UNLOAD,
}

/// What a driver left behind at unload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnloadReport {
    /// Kernel handles the driver opened itself (ZwOpenKey, ...) and never
    /// closed: value and key path. The framework closes only its own.
    pub leaked_handles: Vec<(u64, String)>,
    /// Framework objects of the driver still alive after its WDFDRIVER was
    /// deleted (held by references it never dropped, F32).
    pub leaked_objects: Vec<(u64, &'static str)>,
    /// Pool the driver allocated (ExAllocatePool2) and never freed. With
    /// Pool Tracking on this is also bug check 0xC4 {0x62, ...} (F50).
    pub leaked_pool: Vec<PoolAllocation>,
}

/// The texts a load of one service hands out, the same on every load of
/// it: made on the first and kept by the machine.
#[derive(Debug)]
pub(crate) struct ServiceTexts {
    service: Name,
    /// `\Registry\Machine\SYSTEM\CurrentControlSet\Services\<service>`.
    key: Name,
    /// `RegistryPath`'s text: the service key in the kernel's spelling.
    registry_path: Box<[u16]>,
    /// `DriverName`'s text: `\Driver\<service>`.
    driver_name: Box<[u16]>,
}

impl ServiceTexts {
    fn new(service: &str) -> ServiceTexts {
        ServiceTexts {
            service: Name::copy_of(service),
            key: Name::from(format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{service}")),
            // The kernel passes the service key in its own spelling.
            registry_path: utf16(&format!(r"\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\{service}")).into(),
            driver_name: utf16(&format!(r"\Driver\{service}")).into(),
        }
    }
}

impl State {
    /// The texts a load of `service` hands out, made on its first load.
    fn service_texts(&mut self, service: &str) -> &ServiceTexts {
        if self.framework.service_texts.as_ref().is_none_or(|t| t.service.as_str() != service) {
            self.framework.service_texts = Some(ServiceTexts::new(service));
        }
        self.framework.service_texts.as_ref().expect("made above")
    }

    /// Forgets the unloaded driver and reports what it left behind: kernel
    /// handles it opened itself and framework objects still alive.
    pub(crate) fn finish_unload(&mut self, image: &str) -> UnloadReport {
        let leaked_handles = if self.kernel.handles.component_handles_live() {
            self.kernel
                .handles
                .live_entries()
                .filter(|(_, e)| matches!(&e.owner, HandleOwner::Component(name) if name == image))
                .map(|(h, e)| (h, self.kernel.registry.path_of(e.object)))
                .collect()
        } else {
            Vec::new()
        };
        let leaked_objects = self
            .framework
            .objects
            .iter()
            .filter(|(_, o)| o.driver == image)
            .map(|(h, o)| (*h, o.kind.type_name()))
            .collect();
        self.kernel_leak_checks(image);
        self.io_unload_check(image);
        let leaked_pool = self.kernel.pool.owned_by(image);
        self.kernel.pool.orphan(image);
        self.framework.driver = None;
        self.framework.globals.Driver = std::ptr::null_mut();
        self.forget_driver_flags();
        if self.settings.pool_tracking && !leaked_pool.is_empty() && !self.is_stopped() {
            self.pool_leak_bug_check(image, leaked_pool.len());
        }
        UnloadReport { leaked_handles, leaked_objects, leaked_pool }
    }

    /// The image of the loaded driver.
    pub(crate) fn driver_image(&self) -> Option<Name> {
        self.framework.driver.as_ref().map(|d| d.image.clone())
    }

    /// Whether `object` is the driver object handed to the loaded driver.
    pub(crate) fn is_loaded_driver_object(&self, object: *mut crate::abi::_DRIVER_OBJECT) -> bool {
        self.framework.driver.as_ref().is_some_and(|d| std::ptr::eq(d.object.as_ref(), object))
    }
}

impl Engine {
    /// Installs a driver package for PnP (what `pnputil /add-driver
    /// /install` leaves behind): `add_device` loads it when a devnode needs
    /// it, and the last device's removal unloads it (F37).
    pub(crate) fn install(&self, image: &str, service: &str, entry: crate::abi::DRIVER_INITIALIZE) {
        self.state(|s| s.framework.installed = Some((Name::copy_of(image), Name::copy_of(service), entry)));
    }

    /// Loads the installed driver.
    pub(crate) fn load_installed(&self) -> Result<NTSTATUS, Stopped> {
        let (image, service, entry) =
            self.state(|s| s.framework.installed.clone()).expect("kmdf-sim: no driver is installed");
        self.load(&image, &service, entry)
    }

    /// Runs driver code as `image` (e.g. `"rawclient.sys"`) entered at
    /// `symbol` (e.g. `"DriverUnload"`), in the System process at PASSIVE_LEVEL.
    ///
    /// Returns the closure's value, or the stop if the machine stopped during
    /// the call (or had stopped before it). A panic in the closure is a driver
    /// panic: on Windows wdk-panic turns it into bug check 0x52504E43
    /// (windows-drivers-rs guide §4), and so does the machine.
    pub(crate) fn run<R>(&self, image: &str, symbol: &str, f: impl FnOnce() -> R) -> Result<R, Stopped> {
        self.run_in(image, symbol, Name::from("System"), false, 0, f)
    }

    /// Like [`Engine::run`], at `irql` (e.g. `DISPATCH_LEVEL as u8`, as in a
    /// DPC or under a spin lock). Passive objects deleted meanwhile are
    /// disposed by the PASSIVE work item when the call returns (F9, F34).
    pub(crate) fn run_at_irql<R>(
        &self,
        image: &str,
        symbol: &str,
        irql: u8,
        f: impl FnOnce() -> R,
    ) -> Result<R, Stopped> {
        let result = self.run_in(image, symbol, Name::from("System"), false, irql, f);
        if result.is_ok() {
            self.drain_deferred_deletes();
        }
        result.and_then(|r| self.check_running().map(|()| r))
    }

    /// Like [`Engine::run`], in the context of a user process (which has a
    /// PEB), as an IOCTL from an application runs.
    pub(crate) fn run_in_process<R>(
        &self,
        image: &str,
        symbol: &str,
        process: Name,
        f: impl FnOnce() -> R,
    ) -> Result<R, Stopped> {
        self.run_in(image, symbol, process, true, 0, f)
    }

    /// Runs `f` as driver code on the driver stack (`execution`), in
    /// `process` (with a PEB or not) at an IRQL.
    fn run_in<R>(
        &self,
        image: &str,
        symbol: &str,
        process: Name,
        has_peb: bool,
        irql: u8,
        f: impl FnOnce() -> R,
    ) -> Result<R, Stopped> {
        let saved = self.state(|s| {
            if let Some(stop) = &s.stop {
                return Err(Box::new(stop.clone()));
            }
            let process = std::mem::replace(&mut s.kernel.process, Process { name: process, has_peb });
            let saved = (process, s.kernel.irql);
            s.kernel.irql = irql;
            s.push_driver_frame(image, symbol);
            Ok((saved, s.kernel.frames.len() - 1))
        })?;
        // Whether this entry point is the outermost one (its frame the only
        // one on the stack): work items run when the simulated thread that
        // queued them yields, not inside nested framework calls.
        let outermost = saved.1 == 0;
        // `None`: the machine stopped inside and the driver's code was halted.
        let result = run_driver(|| catch_unwind(AssertUnwindSafe(f)));
        let result = match result {
            Some(result) => result,
            None => {
                let stop = self.state(|s| {
                    s.kernel.frames.truncate(saved.1);
                    (s.kernel.process, s.kernel.irql) = saved.0;
                    s.stop.clone()
                });
                return Err(Box::new(stop.expect("a halted driver means a stopped machine")));
            }
        };
        if result.is_ok() && outermost {
            super::timers::run_work_items();
        }
        let stop = self.state(|s| {
            if let Err(payload) = &result {
                let message = panic_message(payload.as_ref());
                s.rust_panic_stop(format!(
                    "{image} panicked: {message} (K5: the driver must return an NTSTATUS instead)"
                ));
            }
            s.kernel.frames.truncate(saved.1);
            (s.kernel.process, s.kernel.irql) = saved.0;
            s.stop.clone()
        });
        match (stop, result) {
            (Some(stop), _) => Err(Box::new(stop)),
            (None, Ok(r)) => Ok(r),
            (None, Err(_)) => unreachable!("a driver panic always records a stop"),
        }
    }

    /// Loads a driver: creates its service key (if missing), a driver object
    /// and its `RegistryPath`, and calls `entry` — the driver's
    /// `DRIVER_INITIALIZE`, handed in, never looked up by symbol — in the
    /// System process at PASSIVE_LEVEL. Returns DriverEntry's status.
    ///
    /// When DriverEntry fails, the framework deletes the WDFDRIVER it may have
    /// created, without EvtDriverUnload, and the image is unloaded.
    /// ASSUMPTION: the failure path of FxDriverEntry is not in the facts.
    ///
    /// # Panics
    /// If a driver is already loaded on this machine (one driver per machine).
    pub(crate) fn load(
        &self,
        image: &str,
        service: &str,
        entry: crate::abi::DRIVER_INITIALIZE,
    ) -> Result<NTSTATUS, Stopped> {
        let loaded = self.state(|s| {
            if let Some(stop) = &s.stop {
                return Err(Box::new(stop.clone()));
            }
            let Some(entry) = entry else { return Ok(None) };
            assert!(s.framework.driver.is_none(), "kmdf-sim: a driver is already loaded; unload it first");
            let texts = s.service_texts(service);
            let (service, key) = (texts.service.clone(), texts.key.clone());
            let mut buffer = texts.registry_path.to_vec();
            let mut name = texts.driver_name.to_vec();
            let service_node = s.kernel.registry.create_path(&key).ok();
            let bytes = u16::try_from(buffer.len() * 2).unwrap_or(0xFFFE);
            let registry_path = Box::new(crate::abi::UNICODE_STRING {
                Length: bytes,
                MaximumLength: bytes,
                Buffer: buffer.as_mut_ptr(),
            });
            // The driver object is numbered in the machine's object sequence
            // (its first value), so WDF handle values in histories stay the
            // same from run to run.
            let _ = s.new_object_value();
            let name_bytes = u16::try_from(name.len() * 2).unwrap_or(0xFFFE);
            // What the I/O manager fills in before DriverEntry that a KMDF
            // driver could read: type, size, name, entry point. ASSUMPTION
            // (DRIVER_OBJECT, learn.microsoft.com/windows-hardware/drivers/ddi/wdm/ns-wdm-_driver_object):
            // DeviceObject, DriverExtension, DriverUnload and MajorFunction
            // start null; a DriverUnload the driver sets is called at unload
            // (F80).
            let object = crate::abi::_DRIVER_OBJECT {
                Type: crate::abi::IO_TYPE_DRIVER as crate::abi::CSHORT,
                Size: core::mem::size_of::<crate::abi::_DRIVER_OBJECT>() as crate::abi::CSHORT,
                DriverName: crate::abi::UNICODE_STRING {
                    Length: name_bytes,
                    MaximumLength: name_bytes,
                    Buffer: name.as_mut_ptr(),
                },
                DriverInit: Some(entry),
                ..Default::default()
            };
            let mut loaded = LoadedDriver {
                // The name the driver's frames carry (one text for the load).
                image: s.frame_names(image, "DriverEntry").0,
                service,
                service_key: key,
                service_node,
                object: Box::new(object),
                _driver_name_buffer: name,
                registry_path,
                _registry_path_buffer: buffer,
                displaced_unload: None,
            };
            let object = std::ptr::from_mut(loaded.object.as_mut());
            let path = std::ptr::from_mut(loaded.registry_path.as_mut());
            s.framework.driver = Some(loaded);
            Ok(Some((object, path, entry)))
        })?;
        let Some((object, path, entry)) = loaded else {
            return Ok(crate::abi::STATUS_INVALID_PARAMETER);
        };
        // SAFETY: `entry` is the driver's DRIVER_INITIALIZE; both pointers point
        // into boxes the machine keeps alive until the driver is unloaded.
        let status = self.run(image, "DriverEntry", || unsafe { entry(object, path) })?;
        let running = self.state(|s| {
            s.io_driver_entry_returned(image);
            if crate::abi::NT_SUCCESS(status) {
                s.displace_driver_unload();
            }
            s.stop.is_none()
        });
        if running && crate::abi::NT_SUCCESS(status) {
            return Ok(status);
        }
        if !crate::abi::NT_SUCCESS(status) {
            if let Some(driver) = self.state(|s| s.driver_object()) {
                objects::delete_subtree(driver);
            }
            // The image is unloaded after a failed DriverEntry: what it left
            // behind is reported like any unload's leaks.
            self.state(|s| {
                let report = s.finish_unload(image);
                s.framework.unload_reports.push(report);
            });
        }
        self.check_running().map(|()| status)
    }

    /// Unloads the loaded driver as KMDF does (F27, F37, F126): the routine
    /// in its driver object — for a KMDF driver the stub's, which calls the
    /// framework's (EvtDriverUnload) or the driver's own — and then the
    /// WDFDRIVER is deleted with all its children — default-
    /// parented keys included, whose `~FxRegKey` closes their handles (F10,
    /// F2) — and the deferred PASSIVE disposals drain (F28). Reports what the
    /// driver leaked.
    ///
    /// # Panics
    /// If no driver is loaded.
    pub(crate) fn unload(&self) -> Result<UnloadReport, Stopped> {
        let (image, depth, plan) = self.state(|s| {
            if let Some(stop) = &s.stop {
                return Err(Box::new(stop.clone()));
            }
            let image = s.framework.driver.as_ref().map(|d| d.image.clone()).expect("kmdf-sim: no driver is loaded");
            let depth = s.kernel.frames.len();
            s.push_frame(KERNEL_MODULE, "nt!IopLoadUnloadDriver");
            Ok((image, depth, s.driver_unload_plan()))
        })?;
        // The routine the driver object holds: the stub's, the framework's
        // or the driver's own (F80, F126). Without one the driver cannot be
        // unloaded while the system runs and Driver Verifier fails it: the
        // simulator unloads it to end the run, and says so (a finding, never
        // a clean unload).
        match plan {
            Some(plan) => super::displace::run_driver_unload(&image, plan),
            None => self.state(|s| {
                s.framework.findings.push(format!(
                    "{image} set no DriverUnload in its driver object: a driver without one cannot be unloaded \
                     while the system runs, and Driver Verifier fails it; the simulator unloaded it to end the run \
                     (docs/facts.md#f80)"
                ));
            }),
        }
        super::displace::after_driver_unload();
        self.drain_deferred_deletes();
        let (report, driver_waits) = self.state(|s| {
            s.kernel.frames.truncate(depth);
            (s.finish_unload(&image), s.kernel.frames.driver_below())
        });
        // The image ran its last code: what it freed since is held (F85) —
        // unless driver code is still on the stack, to be returned to.
        #[cfg(unix)]
        if !driver_waits {
            crate::model::kernel::special_pool::hold_unloaded_frees();
        }
        self.check_running().map(|()| report)
    }

    /// Runs the PASSIVE work item that disposes passive objects whose delete
    /// arrived above PASSIVE_LEVEL (F9, F34).
    pub(crate) fn drain_deferred_deletes(&self) {
        while let Some(h) = self.state(|s| s.framework.deferred_deletes.pop()) {
            self.state(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxDisposeList::DrainListLocked"));
            objects::delete_subtree(h);
            self.state(|s| s.pop_frame());
        }
    }
}

/// `text` in UTF-16, in a buffer allocated once (never more units than
/// UTF-8 bytes).
fn utf16(text: &str) -> Vec<u16> {
    if text.is_ascii() {
        // One unit per byte: a loop the compiler can widen.
        return text.bytes().map(u16::from).collect();
    }
    let mut units = Vec::with_capacity(text.len());
    units.extend(text.encode_utf16());
    units
}
