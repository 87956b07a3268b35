//! The simulator's control API: only what a test calls.
//!
//! This module is not part of the wdk-sys surface. A test creates a fresh
//! [`Machine`] (state is per thread, so tests run in parallel), runs driver code
//! through [`Machine::run`], and asserts on the stop, the ownership violations
//! and the handle history the machine recorded — read-only views of the
//! model's state. The machine itself (its state and every rule) is the
//! model's; a [`Machine`] drives it and reads it, and never decides anything.
//!
//! The machine never holds a borrow of its state while driver code runs: every
//! DDI borrows the state for its own work only.

mod kernel;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod native;
pub mod scenario;

pub use crate::model::call_record::{CallRecord, FRAMEWORK as FRAMEWORK_CALLS, RegistryAccess};
pub use crate::model::framework::driver::UnloadReport;
pub use crate::model::framework::handle_check::{HandleRule, NullCheck};
pub use crate::model::framework::pnp::{Caller, DeviceFile, DeviceId, DevnodeState, IoOutcome, RequestType};
pub use crate::model::kernel::bugcheck::{BugCheck, OwnershipViolation, Stop, ViolationKind};
pub use crate::model::kernel::handles::{HandleEvent, HandleEventKind, HandleOwner, ReusePolicy};
pub use crate::model::kernel::pool::PoolAllocation;
pub use crate::model::kernel::registry::{Checkpoint, SeedError};
#[cfg(unix)]
pub use crate::model::kernel::special_pool::{
    PROTECTION_VARIABLE as SPECIAL_POOL_PROTECTION_VARIABLE, Protection as SpecialPoolProtection,
    protection as special_pool_protection,
};
pub use crate::model::settings::Settings;
pub use crate::model::{
    FRAMEWORK_MODULE, Fault, InjectedFault, KERNEL_MODULE, Name, STOPPED_STATUS, Stopped, in_driver_code,
};
pub use scenario::{Scenario, ScenarioReport, Step};

use crate::abi::{GUID, NTSTATUS};
use crate::model::framework::objects;
use crate::model::kernel::io::dispatch::Opened;
use crate::model::{Engine, State};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The `DRIVER_INITIALIZE` of a driver linked into the test binary, found
/// by its exported symbol as the kernel's loader finds it: a driver built
/// with `#[export_name = "DriverEntry"]` (every windows-drivers-rs driver)
/// needs no change for [`Machine::install`] / [`Machine::load`].
///
/// ```text
/// m.install("echo.sys", "Echo", kmdf_sim::exported_driver_entry!());
/// m.install("other.sys", "Other", kmdf_sim::exported_driver_entry!(OtherEntry));
/// ```
///
/// Two drivers exporting the same symbol do not link into one binary: give
/// each its own test crate.
#[macro_export]
macro_rules! exported_driver_entry {
    () => {
        $crate::exported_driver_entry!(DriverEntry)
    };
    ($symbol:ident) => {{
        unsafe extern "C" {
            fn $symbol(driver: $crate::PDRIVER_OBJECT, registry_path: $crate::PUNICODE_STRING) -> $crate::NTSTATUS;
        }
        let entry: $crate::DRIVER_INITIALIZE = Some($symbol);
        entry
    }};
}

/// The running machine's clock (100-ns units since boot; 0 without a
/// machine), for driver code under test that wants the time its callback
/// ran at — `KeQuerySystemTime` is not in the surface (a driver
/// that calls it does not build against kmdf-sim).
pub fn debug_clock() -> u64 {
    crate::model::framework::timers::now()
}

/// Appends a line to the running machine's debug output (what `DbgPrint`
/// writes; `wdk::println!` of the compat crates calls it). Without a machine
/// on this thread the text goes to standard error.
pub fn debug_print(text: &str) {
    crate::model::debug_print(text);
}
/// `PAGED_CODE()` (wdk's `paged_code!` in a debug build): the code must run
/// at or below APC_LEVEL; above it the machine stops as wdk-panic would (see
/// the model's rule).
pub fn paged_code_check(file: &str, line: u32) {
    crate::model::kernel::stack::paged_code_check(file, line);
}

/// A simulated machine, owned by one test thread.
///
/// Creating it installs fresh state for the current thread; dropping it
/// removes that state. It is neither `Send` nor `Sync`.
pub struct Machine {
    engine: Engine,
}

impl Machine {
    /// A fresh machine with `settings` for this thread.
    ///
    /// # Panics
    /// If this thread already has a machine (a test that creates two at once
    /// is wrong, and sharing one would mix their records).
    pub fn new(settings: Settings) -> Machine {
        Machine { engine: Engine::new(settings) }
    }

    /// Reads or updates the state (no driver code runs inside `f`).
    fn state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.engine.with(f)
    }

    /// `r`, once the operation that made it has sealed its special-pool
    /// frees: when control goes back to the test, no freed page is
    /// accessible (F51) but those an unload freed after its image's last
    /// code ran, which wait for the next seal (F85).
    fn done<R>(&self, r: R) -> R {
        crate::model::seal_freed();
        r
    }

    /// Loads the installed driver.
    pub(crate) fn load_installed(&self) -> Result<NTSTATUS, Stopped> {
        self.done(self.engine.load_installed())
    }

    /// Reports of the unloads the machine did by itself: after a failed
    /// DriverEntry, and when a driver's last device went (F37).
    pub fn unload_reports(&self) -> Vec<UnloadReport> {
        self.state(|s| s.framework.unload_reports.clone())
    }

    /// Like [`Machine::unload_reports`], emptying the list (long runs).
    pub fn take_unload_reports(&self) -> Vec<UnloadReport> {
        self.state(|s| std::mem::take(&mut s.framework.unload_reports))
    }

    fn stopped(&self) -> Option<Stop> {
        self.state(|s| s.stop.clone())
    }
    /// The stop, if the machine has stopped.
    pub fn stop(&self) -> Option<Stop> {
        self.stopped()
    }

    /// What the framework traced (e.g. F14's write-open warning), in order.
    pub fn framework_log(&self) -> Vec<String> {
        self.state(|s| s.framework.framework_log.clone())
    }

    /// KMDF verifier breaks a kernel debugger caught (F65), in order.
    pub fn verifier_breaks(&self) -> Vec<String> {
        self.state(|s| s.framework.verifier_breaks.clone())
    }

    /// Every ownership violation recorded so far, in order.
    pub fn violations(&self) -> Vec<OwnershipViolation> {
        self.state(|s| s.kernel.violations.clone())
    }

    /// The history of the slot `handle` names (every occupant, oldest first).
    pub fn handle_history(&self, handle: u64) -> Vec<HandleEvent> {
        self.state(|s| s.kernel.handles.history_of(handle))
    }

    /// How often each DDI or kernel routine was called (refused calls excluded).
    pub fn ddi_calls(&self) -> BTreeMap<&'static str, u64> {
        self.state(|s| s.routines.calls())
    }

    /// How many DDI and kernel-routine calls were counted in all (the sum of
    /// [`Machine::ddi_calls`], without building the map).
    pub fn ddi_call_total(&self) -> u64 {
        self.state(|s| s.routines.total())
    }

    /// Calls refused because the machine had stopped.
    pub fn refused_calls(&self) -> u64 {
        self.state(|s| s.refused_calls)
    }

    /// Turns the call record on (cleared) or off: from then on every admitted
    /// DDI and kernel routine call is recorded in order, with its status and
    /// the registry keys and values it touched ([`Machine::call_record`]).
    pub fn record_calls(&self, on: bool) {
        self.state(|s| s.recorder.set(on, &s.kernel.registry.journal));
    }

    /// The calls recorded since [`Machine::record_calls`] turned the record on.
    pub fn call_record(&self) -> Vec<CallRecord> {
        self.state(|s| s.recorder.calls(&s.kernel.registry.journal))
    }

    /// Creates every missing key along an absolute `\Registry\...` path.
    pub fn registry_create_key(&self, path: &str) -> Result<(), NTSTATUS> {
        self.state(|s| s.kernel.registry.create_path(path).map(|_| ()).map_err(|_| crate::STATUS_OBJECT_NAME_INVALID))
    }

    /// Sets a value on the key at an absolute `\Registry\...` path, creating
    /// missing keys (machine setup, e.g. the INF's AddReg).
    pub fn registry_set_value(&self, path: &str, name: &str, kind: u32, data: &[u8]) -> Result<(), NTSTATUS> {
        self.state(|s| {
            let node = s.kernel.registry.create_path(path).map_err(|_| crate::STATUS_OBJECT_NAME_INVALID)?;
            s.kernel.registry.set_value(node, name, kind, data.to_vec());
            Ok(())
        })
    }

    /// Seeds keys and values from a `.reg`-like description — what an INF's
    /// AddReg would have written before the driver loads:
    ///
    /// ```text
    /// ; comment
    /// [\Registry\Machine\SYSTEM\CurrentControlSet\Services\wdfkey_guard\Parameters]
    /// TraceLevel = dword:3
    /// MaxValueSize = dword:0x1000
    /// Name = sz:"text with \"quotes\""
    /// Search = multi_sz:"a", "b"
    /// Blob = hex:01,02,ff
    /// ```
    ///
    /// Keys are created as needed; a value line before any `[key]` line, an
    /// unknown type or a malformed line is an error naming its line.
    pub fn registry_seed(&self, text: &str) -> Result<(), SeedError> {
        self.state(|s| s.kernel.registry.seed(text))
    }

    /// The keys and values below an absolute `\Registry\...` path, to put
    /// back with [`Machine::registry_restore`] (e.g. a driver's service key
    /// as its INF provisioned it); `None` if the key does not exist.
    pub fn registry_checkpoint(&self, path: &str) -> Option<Checkpoint> {
        self.state(|s| s.kernel.registry.checkpoint(path))
    }

    /// Puts a [`Machine::registry_checkpoint`] back: every key it had holds
    /// exactly the values it had (a key deleted since is created again), and
    /// every key created below it since is kept, with no values.
    pub fn registry_restore(&self, checkpoint: &Checkpoint) {
        self.state(|s| s.kernel.registry.restore(checkpoint));
    }

    /// Whether a key exists at an absolute `\Registry\...` path.
    pub fn registry_key_exists(&self, path: &str) -> bool {
        self.state(|s| s.kernel.registry.lookup(None, path).is_ok())
    }

    /// Reads a value (type, data) from the key at an absolute path.
    pub fn registry_value(&self, path: &str, name: &str) -> Option<(u32, Vec<u8>)> {
        self.state(|s| {
            let node = s.kernel.registry.lookup(None, path).ok()?;
            s.kernel.registry.value(node, name).map(|v| (v.kind, v.data.clone()))
        })
    }

    /// Another kernel component (`image`) opens `path` and keeps the handle;
    /// `protected` sets protect-from-close on it (F40). Returns the handle.
    pub fn open_foreign_handle(&self, image: &str, path: &str, protected: bool) -> Result<u64, NTSTATUS> {
        self.state(|s| {
            s.push_frame(
                Cow::Owned(image.to_string()),
                Cow::Owned(format!("{}!OpenKey", image.trim_end_matches(".sys"))),
            );
            let r = s.open_key_handle(
                HandleOwner::Component(Name::copy_of(image)),
                None,
                path,
                crate::KEY_READ,
                None,
                protected,
            );
            s.pop_frame();
            r.map(|(h, _)| h)
        })
    }

    /// Interleaves another thread's activity: right after the next ZwClose a
    /// driver makes, `image` opens `path` (protected from close or not) — the
    /// way another component's handle takes a freed slot in the report (F41,
    /// F46). Returns nothing; `handle_history` shows what happened.
    pub fn interleave_open_after_next_close(&self, image: &str, path: &str, protected: bool) {
        self.state(|s| s.kernel.interleaved_open = Some((image.to_string(), path.to_string(), protected)));
    }

    /// Whether `handle` is open and who owns it.
    pub fn handle_owner(&self, handle: u64) -> Option<HandleOwner> {
        self.state(|s| s.kernel.handles.get(handle).map(|e| e.owner.clone()))
    }

    /// The service name of the loaded driver, if one is loaded.
    pub fn loaded_service(&self) -> Option<String> {
        self.state(|s| s.framework.driver.as_ref().map(|d| d.service.to_string()))
    }

    /// Plans a failure: the `nth` status-returning call (from now, counting
    /// from 1) of `routine` — or of any routine when `None` — returns
    /// `status` without doing anything, as if the framework or kernel had
    /// failed it (an allocation failure, say).
    pub fn inject_fault(&self, routine: Option<&str>, nth: u64, status: NTSTATUS) {
        let fault = Fault { routine: routine.map(str::to_string), nth, status };
        self.state(|s| s.faults.push((fault, 0)));
    }

    /// The failures injected so far, in order.
    pub fn injected_faults(&self) -> Vec<InjectedFault> {
        self.state(|s| s.injected.clone())
    }

    /// Test hook for the simulator's own panic handling: the next call of
    /// `ddi` panics inside the simulator, which must become a recorded stop.
    pub fn inject_simulator_panic(&self, ddi: &str) {
        self.state(|s| s.panic_next = Some(ddi.to_string()));
    }

    /// The driver's debug output (DbgPrint, `wdk::println!`), newest last;
    /// the machine keeps the last 4096 lines.
    pub fn debug_output(&self) -> Vec<String> {
        self.state(|s| s.debug_log.iter().cloned().collect())
    }

    /// How many debug-output lines were printed in all.
    pub fn debug_lines_printed(&self) -> u64 {
        self.state(|s| s.debug_lines)
    }

    /// The live pool allocations of every image.
    pub fn pool_allocations(&self) -> Vec<PoolAllocation> {
        self.state(|s| {
            s.kernel
                .pool
                .live
                .iter()
                .map(|(a, b)| PoolAllocation { address: *a as u64, size: b.size, tag: b.tag, owner: b.owner.clone() })
                .collect()
        })
    }

    /// The `WDFKEY` values of the key objects that are still alive.
    pub fn live_keys(&self) -> Vec<u64> {
        self.state(|s| {
            s.framework
                .objects
                .iter()
                .filter(|(_, o)| matches!(o.kind, objects::ObjectKind::Key { .. }))
                .map(|(h, _)| *h)
                .collect()
        })
    }

    /// Every live framework object: handle and WDF type name.
    pub fn live_objects(&self) -> Vec<(u64, &'static str)> {
        self.state(|s| s.framework.objects.iter().map(|(h, o)| (*h, o.kind.type_name())).collect())
    }

    /// The parent of a live framework object.
    pub fn object_parent(&self, object: u64) -> Option<u64> {
        self.state(|s| s.framework.objects.get(&object).and_then(|o| o.parent))
    }

    /// The WDM handle a live key object holds (`m_Key`), if any.
    pub fn key_handle(&self, key: u64) -> Option<u64> {
        self.state(|s| match s.framework.objects.get(&key).map(|o| &o.kind) {
            Some(objects::ObjectKind::Key { handle, .. }) => *handle,
            _ => None,
        })
    }

    /// Installs a driver package for PnP (what `pnputil /add-driver
    /// /install` leaves behind): `add_device` loads it when a devnode needs
    /// it, and the last device's removal unloads it (F37).
    pub fn install(&self, image: &str, service: &str, entry: crate::DRIVER_INITIALIZE) {
        self.engine.install(image, service, entry)
    }

    /// Runs driver code as `image` (e.g. `"rawclient.sys"`) entered at
    /// `symbol` (e.g. `"DriverUnload"`), in the System process at PASSIVE_LEVEL.
    ///
    /// Returns the closure's value, or the stop if the machine stopped during
    /// the call (or had stopped before it). A panic in the closure is a driver
    /// panic: on Windows wdk-panic turns it into bug check 0x52504E43
    /// (windows-drivers-rs guide §4), and so does the machine.
    pub fn run<R>(&self, image: &str, symbol: &str, f: impl FnOnce() -> R) -> Result<R, Stopped> {
        self.done(self.engine.run(image, symbol, f))
    }

    /// Like [`Machine::run`], at `irql` (e.g. `DISPATCH_LEVEL as u8`, as in a
    /// DPC or under a spin lock). Passive objects deleted meanwhile are
    /// disposed by the PASSIVE work item when the call returns (F9, F34).
    pub fn run_at_irql<R>(&self, image: &str, symbol: &str, irql: u8, f: impl FnOnce() -> R) -> Result<R, Stopped> {
        self.done(self.engine.run_at_irql(image, symbol, irql, f))
    }

    /// Like [`Machine::run`], in the context of a user process (which has a
    /// PEB), as an IOCTL from an application runs.
    pub fn run_in_process<R>(
        &self,
        image: &str,
        symbol: &str,
        process: &str,
        f: impl FnOnce() -> R,
    ) -> Result<R, Stopped> {
        self.done(self.engine.run_in_process(image, symbol, Name::copy_of(process), f))
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
    pub fn load(&self, image: &str, service: &str, entry: crate::DRIVER_INITIALIZE) -> Result<NTSTATUS, Stopped> {
        self.done(self.engine.load(image, service, entry))
    }

    /// Unloads the loaded driver as KMDF does (F27, F37): EvtDriverUnload
    /// first, then the WDFDRIVER is deleted with all its children — default-
    /// parented keys included, whose `~FxRegKey` closes their handles (F10,
    /// F2) — and the deferred PASSIVE disposals drain (F28). Reports what the
    /// driver leaked.
    ///
    /// # Panics
    /// If no driver is loaded.
    pub fn unload(&self) -> Result<UnloadReport, Stopped> {
        self.done(self.engine.unload())
    }

    /// Adds a root-enumerated devnode with `hardware_id` (its INF's security
    /// descriptor, F73, or `None` for the default) and starts it: the
    /// installed driver is loaded if it is not (DriverEntry), then
    /// EvtDriverDeviceAdd, then start (F35's reverse: PrepareHardware, D0Entry,
    /// D0EntryPostInterruptsEnabled, SelfManagedIoInit).
    ///
    /// # Panics
    /// If no driver was [installed](Machine::install).
    pub fn add_device(&self, hardware_id: &str, security: Option<&str>) -> Result<DeviceId, Stopped> {
        self.done(self.engine.add_device(hardware_id, security))
    }

    /// A devnode's hardware ID and instance ID.
    pub fn device_ids(&self, id: DeviceId) -> Option<(String, String)> {
        self.engine.device_ids(id)
    }

    /// The devnode that registered a device interface of class `guid`, the
    /// way an application finds it (SetupDiGetClassDevs /
    /// CM_Get_Device_Interface_List on the interface GUID).
    pub fn find_interface(&self, guid: &GUID) -> Option<DeviceId> {
        self.engine.find_interface(guid)
    }

    /// The state of a devnode.
    pub fn device_state(&self, id: DeviceId) -> Option<DevnodeState> {
        self.engine.device_state(id)
    }

    /// The WDFDEVICE of a started devnode.
    pub fn device_object(&self, id: DeviceId) -> Option<u64> {
        self.engine.device_object(id)
    }

    /// Disables a devnode the way `devcon disable` / `pnputil /disable-device`
    /// does (F38: query-remove, then F35's orderly removal). When no device
    /// of the driver remains, the driver is unloaded (F37).
    pub fn disable_device(&self, id: DeviceId) -> Result<(), Stopped> {
        self.done(self.engine.disable_device(id))
    }

    /// Enables a disabled devnode: a fresh add and start (F38), reloading the
    /// driver first if it was unloaded.
    pub fn enable_device(&self, id: DeviceId) -> Result<(), Stopped> {
        self.done(self.engine.enable_device(id))
    }

    /// Surprise removal (F36): EvtDeviceSurpriseRemoval first, then the
    /// removal steps; the devnode can be enabled again (re-plugged).
    pub fn surprise_remove_device(&self, id: DeviceId) -> Result<(), Stopped> {
        self.done(self.engine.surprise_remove_device(id))
    }

    /// Restart (`pnputil /restart-device`): disable, then enable (F38, F72).
    pub fn restart_device(&self, id: DeviceId) -> Result<(), Stopped> {
        self.done(self.engine.restart_device(id))
    }

    /// Opens the device's interface as `caller` (CreateFile): checked against
    /// the devnode's security descriptor from its INF (F73).
    pub fn open_device(&self, id: DeviceId, caller: Caller) -> Result<DeviceFile, NTSTATUS> {
        self.done(self.engine.open_device(id, caller))
    }

    /// CreateFile(`name`) from `process` as `caller` (F120, F124, F127):
    /// `\\.\X` opens the device the symbolic link `\??\X` names
    /// (`\\?\GLOBALROOT\Device\X` a WDM device directly). A KMDF device's
    /// link (`WdfDeviceCreateSymbolicLink`) opens it as
    /// [`Machine::open_device`] does; for a WDM driver's device the I/O
    /// manager sends IRP_MJ_CREATE to the driver's dispatch routine. The
    /// file works with [`Machine::read`], [`Machine::write`],
    /// [`Machine::device_io_control`], [`Machine::cancel_request`] and
    /// [`Machine::close`]; `Err` is the status CreateFile fails with
    /// (STATUS_OBJECT_NAME_NOT_FOUND for an unknown name, the driver's
    /// status for a failed create).
    pub fn open(&self, name: &str, process: &str, caller: Caller) -> Result<Result<DeviceFile, NTSTATUS>, Stopped> {
        let opened = self.done(self.engine.io_open(name, process))?;
        Ok(match opened {
            Ok(Opened::File(f)) => Ok(DeviceFile::wdm(f, caller)),
            Ok(Opened::Devnode(id)) => self.open_device(id, caller),
            Err(status) => Err(status),
        })
    }

    /// CloseHandle (F124). For a WDM device: IRP_MJ_CLEANUP at once, then
    /// IRP_MJ_CLOSE when no IRP of the file is outstanding — at once, or
    /// when the driver completes (or the application cancels) the last one.
    /// A KMDF device's file needs nothing: the framework completes cleanup
    /// and close itself when the driver registers no file callbacks (the
    /// simulator has no DDI to register them).
    pub fn close(&self, file: &DeviceFile) -> Result<(), Stopped> {
        match file.wdm_file() {
            Some(f) => self.done(self.engine.io_close(f)),
            None => Ok(()),
        }
    }

    /// Sends an IOCTL (METHOD_BUFFERED) on an open file from `process`: the
    /// framework builds a request (a child of the queue) and presents it to
    /// the default queue at PASSIVE_LEVEL in that process — at once, or, on a
    /// sequential queue with a request still presented (or a stopped queue),
    /// when it can. Returns the request and how it stands when control is
    /// back; `Err` for a device that cannot take it.
    ///
    /// On a file [`Machine::open`] opened (a WDM driver's device), the I/O
    /// manager builds an IRP with the control code's method — buffered,
    /// direct (an MDL) or neither — and calls the driver's
    /// IRP_MJ_DEVICE_CONTROL routine; the request is the IRP's address
    /// (F123, F124). Reads and writes likewise use the device object's
    /// `DO_BUFFERED_IO` / `DO_DIRECT_IO`.
    pub fn device_io_control(
        &self,
        file: &DeviceFile,
        process: &str,
        code: u32,
        input: &[u8],
        output_len: usize,
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        self.done(self.engine.device_io_control(file, process, code, input, output_len))
    }

    /// Sends a write (WriteFile, buffered I/O) of `data`; as
    /// [`Machine::device_io_control`].
    pub fn write(
        &self,
        file: &DeviceFile,
        process: &str,
        data: &[u8],
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        self.done(self.engine.write(file, process, data))
    }

    /// Sends a read (ReadFile, buffered I/O) of up to `length` bytes; as
    /// [`Machine::device_io_control`]. The completed outcome's `output` is
    /// what the driver returned.
    pub fn read(
        &self,
        file: &DeviceFile,
        process: &str,
        length: usize,
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        self.done(self.engine.read(file, process, length))
    }

    /// A synchronous call as an application makes it: submit, then wait —
    /// the machine's clock runs timers (and their DPCs) — until the request
    /// completes or `timeout_ms` of simulated time has passed.
    pub fn call_sync(
        &self,
        submitted: Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped>,
        timeout_ms: u64,
    ) -> Result<Result<IoOutcome, NTSTATUS>, Stopped> {
        self.done(self.engine.call_sync(submitted, timeout_ms))
    }

    /// The application cancels a request (CancelIo → IoCancelIrp): one still
    /// waiting in the queue the framework completes with STATUS_CANCELLED
    /// (a queue with an EvtIoCanceledOnQueue stops the machine as not
    /// modelled when it is created); for one the driver holds as
    /// cancelable, the framework calls its EvtRequestCancel — ASSUMPTION: at
    /// DISPATCH_LEVEL, the highest level the EVT_WDF_REQUEST_CANCEL page
    /// allows; one the driver holds without a cancel routine is only marked
    /// (WdfRequestIsCanceled; a later WdfRequestMarkCancelableEx returns
    /// STATUS_CANCELLED).
    pub fn cancel_request(&self, request: u64) -> Result<(), Stopped> {
        self.done(self.engine.cancel_request(request))
    }

    /// How a request stands: completed (with its results) or pending.
    pub fn request_outcome(&self, request: u64) -> IoOutcome {
        self.engine.request_outcome(request)
    }

    /// Lets the framework present requests that waited behind a completed
    /// one (the simulator does it when an entry point returns).
    pub fn dispatch_requests(&self) -> Result<(), Stopped> {
        self.done(self.engine.dispatch_requests())
    }

    /// Requests presented to the driver and not completed yet (and a WDM
    /// driver's outstanding IRPs).
    pub fn pending_requests(&self) -> Vec<u64> {
        self.engine.pending_requests()
    }

    /// A process starts, a child of process `parent`: the process-notify
    /// routines drivers registered run (Create TRUE). Returns its id.
    pub fn start_process(&self, parent: u64) -> Result<u64, Stopped> {
        self.engine.start_process(parent)
    }

    /// Process `pid`, a child of `parent`, exits: the process-notify routines
    /// run (Create FALSE).
    pub fn end_process(&self, parent: u64, pid: u64) -> Result<(), Stopped> {
        self.engine.end_process(parent, pid)
    }

    /// Verifier findings that are not bug checks (e.g. a request left
    /// uncompleted at removal), in order.
    pub fn findings(&self) -> Vec<String> {
        self.engine.findings()
    }

    /// The machine's clock: 100-ns units since boot.
    pub fn now(&self) -> u64 {
        self.engine.now()
    }

    /// Lets `ms` milliseconds of simulated time pass: every timer due by
    /// then fires, in order, and requests that can be presented are.
    pub fn advance_time(&self, ms: u64) -> Result<(), Stopped> {
        self.done(self.engine.advance_time(ms))
    }

    /// Waits as an application's synchronous ReadFile / WriteFile /
    /// DeviceIoControl does: simulated time runs (timers fire) until the
    /// request completes or `timeout_ms` has passed; then how it stands.
    pub fn wait_for_request(&self, request: u64, timeout_ms: u64) -> Result<IoOutcome, Stopped> {
        self.done(self.engine.wait_for_request(request, timeout_ms))
    }

    /// Timers of the loaded driver still queued: (WDFTIMER, due time).
    pub fn queued_timers(&self) -> Vec<(u64, u64)> {
        self.engine.queued_timers()
    }
}

/// The handle table every DDI checks its handle parameters by: for each
/// DDI the simulator serves, each `WDF*` handle parameter, the object type
/// the framework resolves it as and what a NULL there is (docs/facts.md
/// F90–F92). A NULL, a deleted object or an object of another type in one
/// of them stops the machine as KMDF does.
pub fn handle_rules() -> Vec<HandleRule> {
    crate::model::framework::handle_check::rules()
}
