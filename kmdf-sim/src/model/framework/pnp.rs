//! PnP: devnodes, their driver's devices, start and removal in the order
//! KMDF runs them (F35–F38), file opens checked against the device's
//! security (F73), and IOCTLs through the default queue.
//!
//! Every driver callback runs with no borrow of the machine state held, at
//! PASSIVE_LEVEL (the PnP and power callbacks of a function driver, and the
//! I/O callbacks of a top-level queue called from an application's thread).

use super::objects::{self, ObjectKind};
use crate::abi::*;
use crate::model::{Engine, FRAMEWORK_MODULE, KERNEL_MODULE, Name, Stopped, with_state};

/// What state a devnode is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevnodeState {
    /// Added and started: the driver's device exists and is in D0.
    Started,
    /// Disabled (or surprise-removed): no device object; `enable` re-adds it.
    Disabled,
    /// Add or start failed with this status (Device Manager's Code 10).
    Failed(NTSTATUS),
}

/// One devnode of the simulated PnP tree.
#[derive(Debug, Clone)]
pub(crate) struct Devnode {
    pub hardware_id: String,
    pub instance_id: String,
    /// Whether each caller ([`Caller::index`]) gets read+write access under
    /// the INF's security descriptor (F73): the descriptor is fixed when the
    /// devnode is added, so it is evaluated then, not on every open.
    pub granted: [bool; Caller::ALL.len()],
    pub device: Option<u64>,
    pub state: DevnodeState,
    /// Device interface classes the driver registered (WdfDeviceCreateDeviceInterface).
    pub interfaces: Vec<(u32, u16, u16, [u8; 8])>,
    /// Its hardware key (`PLUGPLAY_REGKEY_DEVICE`) and software key
    /// (`PLUGPLAY_REGKEY_DRIVER`), in that order: the same paths every time
    /// the driver opens them, so made once.
    pub keys: [DevnodeKey; 2],
}

/// One of a devnode's registry keys: its path, and the registry node the
/// path resolved to when the key was last opened.
#[derive(Debug, Clone)]
pub(crate) struct DevnodeKey {
    pub path: Name,
    pub node: Option<usize>,
}

impl Devnode {
    /// The devnode numbered `id` for `hardware_id`, disabled, whose callers
    /// get the access in `granted`.
    fn new(hardware_id: &str, id: usize, granted: [bool; Caller::ALL.len()]) -> Devnode {
        let instance_id = format!(r"ROOT\{}\{:04}", hardware_id.rsplit('\\').next().unwrap_or(hardware_id), id);
        // `PLUGPLAY_REGKEY_DEVICE`: the hardware key's `Device Parameters`.
        // ASSUMPTION: the path layout of a root-enumerated devnode.
        let hardware = format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum\{instance_id}\Device Parameters");
        // `PLUGPLAY_REGKEY_DRIVER`: the software key. ASSUMPTION: one class
        // key instance per devnode, named after the instance.
        let software =
            format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Control\Class\{}", instance_id.replace('\\', "#"));
        Devnode {
            hardware_id: hardware_id.to_string(),
            instance_id,
            granted,
            device: None,
            state: DevnodeState::Disabled,
            interfaces: Vec::new(),
            keys: [hardware, software].map(|path| DevnodeKey { path: Name::from(path), node: None }),
        }
    }
}

/// A `WDFDEVICE_INIT` while EvtDriverDeviceAdd runs.
#[derive(Debug)]
pub(crate) struct DeviceInitState {
    pub devnode: usize,
    pub callbacks: WDF_PNPPOWER_EVENT_CALLBACKS,
    /// WdfDeviceInitSetRequestAttributes.
    pub request_attributes: Option<WDF_OBJECT_ATTRIBUTES>,
    /// The allocation the `PWDFDEVICE_INIT` handed out points at, holding the
    /// value the machine numbered it with. `WDFDEVICE_INIT` itself is opaque
    /// and zero-sized in the bindings (`_unused: [u8; 0]`), so a box of it
    /// would have no address of its own; the machine recognises the pointer
    /// by this allocation's address.
    pub init: Box<u64>,
    pub consumed: bool,
}

impl DeviceInitState {
    /// Whether `init` is the pointer this state handed out.
    pub fn is(&self, init: PWDFDEVICE_INIT) -> bool {
        std::ptr::from_ref(self.init.as_ref()).cast::<WDFDEVICE_INIT>() == init.cast_const()
    }
}

/// The kind of an I/O request (the IRP major function behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// `IRP_MJ_READ` (ReadFile): output only.
    Read,
    /// `IRP_MJ_WRITE` (WriteFile): input only.
    Write,
    /// `IRP_MJ_DEVICE_CONTROL` (DeviceIoControl), METHOD_BUFFERED.
    DeviceControl,
}

/// A request the framework presented (or will present) to the driver.
#[derive(Debug)]
pub struct RequestState {
    pub(crate) kind: RequestType,
    pub(crate) code: u32,
    /// Presented to the driver's callback (a sequential queue presents one
    /// request at a time; the others wait).
    pub(crate) presented: bool,
    pub(crate) input_len: usize,
    pub(crate) output_len: usize,
    /// Buffered I/O: one system buffer, input copied in, output read back.
    pub(crate) buffer: Vec<u64>,
    pub(crate) completed: Option<(NTSTATUS, u64)>,
    pub(crate) queue: u64,
    /// `WdfRequestSetInformation`'s value, used by `WdfRequestComplete`.
    pub(crate) information: u64,
    /// The driver's EvtRequestCancel while the request is cancelable.
    pub(crate) cancel: PFN_WDF_REQUEST_CANCEL,
    /// The I/O manager cancelled it (the application's CancelIo).
    pub(crate) canceled: bool,
    /// WDFMEMORY objects handed out for the input and the output buffer.
    pub(crate) memory: [Option<u64>; 2],
}

impl RequestState {
    pub(crate) fn buffer_ptr(&mut self) -> *mut u8 {
        self.buffer.as_mut_ptr().cast()
    }
}

/// Who opens the device (the token's groups that matter for F73).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// LocalSystem: SY, and member of BUILTIN\Administrators.
    System,
    /// An elevated administrator: BA.
    Administrator,
    /// A standard user: BU.
    User,
}

impl Caller {
    /// Every caller, in [`Caller::index`] order.
    const ALL: [Caller; 3] = [Caller::System, Caller::Administrator, Caller::User];

    /// The caller's position in [`Caller::ALL`].
    fn index(self) -> usize {
        match self {
            Caller::System => 0,
            Caller::Administrator => 1,
            Caller::User => 2,
        }
    }

    /// The SDDL SID aliases in the caller's token.
    fn sids(self) -> &'static [&'static str] {
        match self {
            Caller::System => &["SY", "BA", "WD", "AU"],
            Caller::Administrator => &["BA", "BU", "WD", "AU", "IU"],
            Caller::User => &["BU", "WD", "AU", "IU"],
        }
    }
}

/// The security a device gets when its INF sets none. ASSUMPTION: the
/// devobj default for a root-enumerated PDO, `SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R`.
const DEFAULT_DEVICE_SDDL: &str = "D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)";

const RIGHT_READ: u32 = 1;
const RIGHT_WRITE: u32 = 2;
const RIGHT_EXECUTE: u32 = 4;
const RIGHT_ALL: u32 = 7;

/// Whether `caller` gets read+write access under `sddl` (a DACL of
/// allow/deny ACEs with generic or file rights). Deny ACEs win.
/// Malformed SDDL grants nothing.
pub(crate) fn access_allowed(sddl: &str, caller: Caller) -> bool {
    let Some(dacl) = sddl.strip_prefix("D:") else { return false };
    let dacl = dacl.trim_start_matches(|c: char| c.is_ascii_uppercase() && c != '(');
    let (mut allowed, mut denied) = (0u32, 0u32);
    for ace in dacl.split(')').filter(|a| !a.is_empty()) {
        let Some(ace) = ace.strip_prefix('(') else { return false };
        let fields: Vec<&str> = ace.split(';').collect();
        let [kind, _flags, rights, _obj, _inherit, sid] = fields[..] else { return false };
        if !caller.sids().contains(&sid) {
            continue;
        }
        let mut mask = 0;
        let mut r = rights;
        while r.len() >= 2 {
            mask |= match &r[..2] {
                "GA" | "FA" => RIGHT_ALL,
                "GR" | "FR" => RIGHT_READ,
                "GW" | "FW" => RIGHT_WRITE,
                "GX" | "FX" => RIGHT_EXECUTE,
                _ => 0,
            };
            r = &r[2..];
        }
        match kind {
            "A" => allowed |= mask,
            "D" => denied |= mask,
            _ => return false,
        }
    }
    let wanted = RIGHT_READ | RIGHT_WRITE;
    allowed & !denied & wanted == wanted
}

/// Cancels a request as [`Engine::cancel_request`] describes. Runs driver
/// code: call it with no borrow of the state held.
pub(crate) fn cancel(request: u64) {
    let action = with_state(|s| match s.framework.objects.get_mut(&request).map(|o| &mut o.kind) {
        Some(ObjectKind::Request(r)) if r.completed.is_none() => {
            r.canceled = true;
            Some(if r.presented { Some(r.cancel.take()) } else { None })
        }
        _ => None,
    })
    .flatten();
    match action {
        None | Some(Some(None)) => {}
        Some(None) => {
            with_state(|s| {
                s.framework.waiting_requests.retain(|(w, _)| *w != request);
                s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxIoQueue::CancelForQueue");
            });
            crate::model::framework::queue::complete_request(
                request as WDFREQUEST,
                crate::abi::STATUS_CANCELLED,
                Some(0),
            );
            with_state(|s| s.pop_frame());
        }
        Some(Some(Some(cancel))) => {
            let image = with_state(|s| s.driver_image().unwrap_or_default()).unwrap_or_default();
            with_state(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRequest::_FxRequestCancelRoutine"));
            // SAFETY: the EvtRequestCancel the driver registered with
            // WdfRequestMarkCancelable(Ex) for this live request.
            call_driver(&image, "EvtRequestCancel", crate::abi::DISPATCH_LEVEL as u8, || unsafe {
                cancel(request as WDFREQUEST)
            });
            with_state(|s| s.pop_frame());
        }
    }
}

/// An open file on a device (the handle an application got from CreateFile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFile {
    target: FileTarget,
    caller: Caller,
}

/// What a [`DeviceFile`] is open on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileTarget {
    /// A KMDF devnode's interface.
    Devnode(usize),
    /// A WDM file object (its address), opened by name.
    Wdm(u64),
}

impl DeviceFile {
    /// A file the I/O manager opened by name (its file object's address).
    pub(crate) fn wdm(file: u64, caller: Caller) -> DeviceFile {
        DeviceFile { target: FileTarget::Wdm(file), caller }
    }

    /// The WDM file object's address, for a file opened by name.
    pub(crate) fn wdm_file(&self) -> Option<u64> {
        match self.target {
            FileTarget::Wdm(f) => Some(f),
            FileTarget::Devnode(_) => None,
        }
    }
}

/// How an IOCTL ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoOutcome {
    /// The driver completed it.
    Completed {
        /// The completion status.
        status: NTSTATUS,
        /// `Information` (bytes written, for METHOD_BUFFERED).
        information: u64,
        /// The first `information` bytes of the output buffer.
        output: Vec<u8>,
    },
    /// Not completed yet: kept by the driver, or waiting behind another
    /// request on a sequential queue.
    Pending,
}

/// Identifies a devnode: the order it was added in, from 0.
pub type DeviceId = usize;

/// A driver callback run as the framework runs it: with its frame on the
/// simulated stack, at `irql`, no state borrow held, on the driver stack
/// (`execution`). `None` when the machine had stopped, or stopped inside the
/// callback (which is then halted; the simulated stack is back at its depth).
pub(crate) fn call_driver<R>(image: &str, name: &str, irql: u8, f: impl FnOnce() -> R) -> Option<R> {
    call_driver_and_check(image, name, irql, f).0
}

/// [`call_driver`], and whether the machine still runs after it (read in
/// the borrow that ends the call).
fn call_driver_and_check<R>(image: &str, name: &str, irql: u8, f: impl FnOnce() -> R) -> (Option<R>, bool) {
    let entered = with_state(|s| {
        if s.is_stopped() {
            return None;
        }
        let saved = s.kernel.irql;
        s.kernel.irql = irql;
        let depth = s.kernel.frames.len();
        s.push_driver_frame(image, name);
        Some((saved, depth))
    })
    .flatten();
    let Some((saved, depth)) = entered else { return (None, false) };
    let r = crate::model::execution::run_driver(f);
    let running = with_state(|s| {
        s.kernel.frames.truncate(depth);
        s.kernel.irql = saved;
        !s.is_stopped()
    });
    (r, running == Some(true))
}

/// The device of `devnode`, if it has one, and its PnP and power callbacks.
fn device_callbacks(s: &crate::model::State, devnode: usize) -> Option<(u64, &WDF_PNPPOWER_EVENT_CALLBACKS)> {
    let device = s.framework.devnodes.get(devnode)?.device?;
    match s.framework.objects.get(&device).map(|o| &o.kind) {
        Some(ObjectKind::Device { pnp, .. }) => Some((device, &pnp.callbacks)),
        _ => None,
    }
}

impl Engine {
    /// A PnP or power callback of the driver's device, at PASSIVE_LEVEL
    /// ([`call_driver`]); `Err(stop)` when the machine stopped.
    fn device_callback<R>(&self, image: &str, name: &str, f: impl FnOnce() -> R) -> Result<Option<R>, Stopped> {
        match call_driver_and_check(image, name, 0, f) {
            (r, true) => Ok(r),
            (r, false) => self.check_running().map(|()| r),
        }
    }

    /// Adds a root-enumerated devnode with `hardware_id` (its INF's security
    /// descriptor, F73, or `None` for the default) and starts it: the
    /// installed driver is loaded if it is not (DriverEntry), then
    /// EvtDriverDeviceAdd, then start (F35's reverse: PrepareHardware, D0Entry,
    /// D0EntryPostInterruptsEnabled, SelfManagedIoInit).
    ///
    /// # Panics
    /// If no driver was [installed](Engine::install).
    pub(crate) fn add_device(&self, hardware_id: &str, security: Option<&str>) -> Result<DeviceId, Stopped> {
        self.check_running()?;
        let id = self.with(|s| {
            let id = s.framework.devnodes.len();
            let granted = Caller::ALL.map(|c| access_allowed(security.unwrap_or(DEFAULT_DEVICE_SDDL), c));
            s.framework.devnodes.push(Devnode::new(hardware_id, id, granted));
            id
        });
        self.start_devnode(id)?;
        Ok(id)
    }

    /// A devnode's hardware ID and instance ID.
    pub(crate) fn device_ids(&self, id: DeviceId) -> Option<(String, String)> {
        self.with(|s| s.framework.devnodes.get(id).map(|d| (d.hardware_id.clone(), d.instance_id.clone())))
    }

    /// The devnode that registered a device interface of class `guid`, the
    /// way an application finds it (SetupDiGetClassDevs /
    /// CM_Get_Device_Interface_List on the interface GUID).
    pub(crate) fn find_interface(&self, guid: &GUID) -> Option<DeviceId> {
        self.with(|s| {
            s.framework.devnodes.iter().position(|d| {
                d.state == DevnodeState::Started
                    && d.interfaces.contains(&(guid.Data1, guid.Data2, guid.Data3, guid.Data4))
            })
        })
    }

    /// The state of a devnode.
    pub(crate) fn device_state(&self, id: DeviceId) -> Option<DevnodeState> {
        self.with(|s| s.framework.devnodes.get(id).map(|d| d.state))
    }

    /// The WDFDEVICE of a started devnode.
    pub(crate) fn device_object(&self, id: DeviceId) -> Option<u64> {
        self.with(|s| s.framework.devnodes.get(id).and_then(|d| d.device))
    }

    /// Loads the driver if needed, calls EvtDriverDeviceAdd and starts the device.
    fn start_devnode(&self, id: DeviceId) -> Result<(), Stopped> {
        if self.with(|s| s.framework.driver.is_none()) {
            let status = self.load_installed()?;
            if !crate::abi::NT_SUCCESS(status) {
                self.with(|s| s.framework.devnodes[id].state = DevnodeState::Failed(status));
                return self.check_running();
            }
        }
        let plan = self.with(|s| {
            let driver = s.driver_object();
            let add = driver.and_then(|d| match s.framework.objects.get(&d).map(|o| &o.kind) {
                Some(ObjectKind::Driver { device_add, .. }) => *device_add,
                _ => None,
            });
            let (Some(driver), Some(device_add)) = (driver, add) else {
                // A driver without EvtDriverDeviceAdd cannot drive a devnode.
                s.framework.devnodes[id].state = DevnodeState::Failed(crate::abi::STATUS_NOT_SUPPORTED);
                return None;
            };
            let mut init = Box::new(s.new_object_value());
            let ptr = std::ptr::from_mut(init.as_mut()).cast::<WDFDEVICE_INIT>();
            s.framework.device_inits.push(DeviceInitState {
                devnode: id,
                callbacks: WDF_PNPPOWER_EVENT_CALLBACKS::default(),
                request_attributes: None,
                init,
                consumed: false,
            });
            s.push_frame(KERNEL_MODULE, "nt!PnpCallAddDevice");
            s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxDriver::AddDevice");
            Some((s.driver_image().unwrap_or_default(), driver, device_add, ptr))
        });
        let Some((image, driver, device_add, init_ptr)) = plan else { return self.check_running() };
        // SAFETY: EvtDriverDeviceAdd as registered in WDF_DRIVER_CONFIG, called
        // with the WDFDRIVER and a live WDFDEVICE_INIT (F27 family).
        let status =
            call_driver(&image, "EvtDriverDeviceAdd", 0, || unsafe { device_add(driver as WDFDRIVER, init_ptr) });
        // Whether the device was created (with its callbacks), once the
        // machine still runs.
        let created = self.with(|s| {
            s.pop_frame();
            s.pop_frame();
            s.framework.device_inits.retain(|i| i.devnode != id);
            s.stop.is_none().then(|| {
                let created = s.framework.devnodes[id].device.is_some();
                (created, created.then(|| device_callbacks(s, id).map(|(d, cb)| (d, *cb))).flatten())
            })
        });
        let Some((has_device, callbacks)) = created else { return self.check_running() };
        let status = status.unwrap_or(crate::model::STOPPED_STATUS);
        if !crate::abi::NT_SUCCESS(status) || !has_device {
            let status = if crate::abi::NT_SUCCESS(status) { crate::abi::STATUS_UNSUCCESSFUL } else { status };
            // The framework deletes a device created before a failed add.
            if let Some(device) = self.with(|s| s.framework.devnodes[id].device.take()) {
                objects::delete_subtree(device);
            }
            self.with(|s| s.framework.devnodes[id].state = DevnodeState::Failed(status));
            self.check_running()?;
            return self.unload_if_unused();
        }
        let (device, cb) = callbacks.expect("the device was just created");
        let d = device as WDFDEVICE;
        let d3 = _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3Final;
        // Start: F35's steps in reverse; a failure removes the device again.
        macro_rules! start_step {
            ($field:ident $(, $arg:expr)*) => {
                if let Some(f) = cb.$field {
                    // SAFETY: a callback the driver registered for this device,
                    // called as KMDF calls it at start (coming from D3Final).
                    let status = self.device_callback(&image, stringify!($field), || unsafe { f(d $(, $arg)*) })?
                        .unwrap_or(crate::model::STOPPED_STATUS);
                    if !crate::abi::NT_SUCCESS(status) {
                        self.teardown_device(id, false)?;
                        self.with(|s| s.framework.devnodes[id].state = DevnodeState::Failed(status));
                        return self.unload_if_unused();
                    }
                }
            };
        }
        start_step!(EvtDevicePrepareHardware, core::ptr::null_mut(), core::ptr::null_mut());
        start_step!(EvtDeviceD0Entry, d3);
        start_step!(EvtDeviceD0EntryPostInterruptsEnabled, d3);
        start_step!(EvtDeviceSelfManagedIoInit);
        self.with(|s| s.framework.devnodes[id].state = DevnodeState::Started);
        self.dispatch_waiting()
    }

    /// Removal: F35's orderly sequence (or F36's after a surprise removal),
    /// then the device object is deleted — its children first (F29).
    fn teardown_device(&self, id: DeviceId, surprise: bool) -> Result<(), Stopped> {
        let removal = self.with(|s| {
            let (device, cb) = device_callbacks(s, id).map(|(d, cb)| (d, *cb))?;
            let depth = s.kernel.frames.len();
            s.push_frame(KERNEL_MODULE, "nt!PnpProcessRemoveDevice");
            s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxPkgPnp::PnpEventRemove");
            Some((device, cb, s.driver_image().unwrap_or_default(), depth))
        });
        let Some((device, cb, image, depth)) = removal else { return self.check_running() };
        let d = device as WDFDEVICE;
        let d3 = _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3Final;
        macro_rules! step {
            ($field:ident $(, $arg:expr)*) => {
                if let Some(f) = cb.$field {
                    // SAFETY: a callback the driver registered for this device,
                    // called as KMDF calls it during removal (F35, F36).
                    self.device_callback(&image, stringify!($field), || unsafe { f(d $(, $arg)*) })?;
                }
            };
        }
        if surprise {
            step!(EvtDeviceSurpriseRemoval);
        }
        step!(EvtDeviceSelfManagedIoSuspend);
        self.stop_queues(device);
        step!(EvtDeviceD0ExitPreInterruptsDisabled, d3);
        step!(EvtDeviceD0Exit, d3);
        step!(EvtDeviceReleaseHardware, core::ptr::null_mut());
        step!(EvtDeviceSelfManagedIoFlush);
        step!(EvtDeviceSelfManagedIoCleanup);
        self.with(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxDevice::DeleteDeviceFromFailedCreate"));
        objects::delete_subtree(device);
        self.with(|s| {
            s.kernel.frames.truncate(depth);
            s.framework.devnodes[id].device = None;
            s.framework.devnodes[id].state = DevnodeState::Disabled;
        });
        self.check_running()
    }

    /// Power-managed queues stop at removal (F35 step 2): requests still
    /// waiting are cancelled; a request the driver was given and still holds
    /// is a verifier finding, and the framework cancels it too.
    fn stop_queues(&self, device: u64) {
        self.with(|s| {
            let on_device = |s: &crate::model::State, queue: u64| {
                matches!(s.framework.objects.get(&queue).map(|q| &q.kind), Some(ObjectKind::Queue(q)) if q.device == device)
            };
            let open: Vec<(u64, bool)> = s
                .framework.objects
                .iter()
                .filter_map(|(h, o)| match &o.kind {
                    ObjectKind::Request(r) if r.completed.is_none() && on_device(s, r.queue) => Some((*h, r.presented)),
                    _ => None,
                })
                .collect();
            for (h, presented) in open {
                if presented {
                    s.framework.findings.push(format!(
                        "request {h:#x} was still uncompleted when its device was removed (the driver must complete \
                         every request it was given before removal finishes; ASSUMPTION: reported as a verifier finding)"
                    ));
                }
                if let Some(ObjectKind::Request(r)) = s.framework.objects.get_mut(&h).map(|o| &mut o.kind) {
                    r.completed = Some((crate::abi::STATUS_CANCELLED, 0));
                }
                s.framework.completed_requests.insert(h, crate::abi::STATUS_CANCELLED, 0, &[]);
                s.framework.waiting_requests.retain(|(w, _)| *w != h);
            }
        });
    }

    /// Disables a devnode the way `devcon disable` / `pnputil /disable-device`
    /// does (F38: query-remove, then F35's orderly removal). When no device
    /// of the driver remains, the driver is unloaded (F37).
    pub(crate) fn disable_device(&self, id: DeviceId) -> Result<(), Stopped> {
        let query = self.with(|s| match &s.stop {
            Some(stop) => Err(Box::new(stop.clone())),
            None => Ok(device_callbacks(s, id).and_then(|(device, cb)| {
                cb.EvtDeviceQueryRemove.map(|query| (device, query, s.driver_image().unwrap_or_default()))
            })),
        })?;
        if let Some((device, query, image)) = query {
            // SAFETY: the driver's EvtDeviceQueryRemove for this device (F35).
            let status =
                self.device_callback(&image, "EvtDeviceQueryRemove", || unsafe { query(device as WDFDEVICE) })?;
            if status.is_some_and(|st| !crate::abi::NT_SUCCESS(st)) {
                // F35: the query can veto the removal.
                return Ok(());
            }
        }
        self.teardown_device(id, false)?;
        self.unload_if_unused()
    }

    /// Enables a disabled devnode: a fresh add and start (F38), reloading the
    /// driver first if it was unloaded.
    pub(crate) fn enable_device(&self, id: DeviceId) -> Result<(), Stopped> {
        let state = self.with(|s| match &s.stop {
            Some(stop) => Err(Box::new(stop.clone())),
            None => Ok(s.framework.devnodes.get(id).map(|d| d.state)),
        })?;
        if state != Some(DevnodeState::Disabled) {
            return Ok(());
        }
        self.start_devnode(id)
    }

    /// Surprise removal (F36): EvtDeviceSurpriseRemoval first, then the
    /// removal steps; the devnode can be enabled again (re-plugged).
    pub(crate) fn surprise_remove_device(&self, id: DeviceId) -> Result<(), Stopped> {
        self.check_running()?;
        self.teardown_device(id, true)?;
        self.unload_if_unused()
    }

    /// Restart (`pnputil /restart-device`): disable, then enable (F38, F72).
    pub(crate) fn restart_device(&self, id: DeviceId) -> Result<(), Stopped> {
        self.disable_device(id)?;
        self.enable_device(id)
    }

    /// F37: the PnP manager unloads the driver once none of its devices is
    /// left (ASSUMPTION there).
    fn unload_if_unused(&self) -> Result<(), Stopped> {
        let unused = self.with(|s| {
            s.framework.driver.is_some()
                && s.framework.installed.is_some()
                && s.framework.devnodes.iter().all(|d| d.device.is_none())
        });
        if unused {
            let report = self.unload()?;
            self.with(|s| s.framework.unload_reports.push(report));
        }
        Ok(())
    }

    /// Opens the device's interface as `caller` (CreateFile): checked against
    /// the devnode's security descriptor from its INF (F73).
    pub(crate) fn open_device(&self, id: DeviceId, caller: Caller) -> Result<DeviceFile, NTSTATUS> {
        self.with(|s| {
            let node = s.framework.devnodes.get(id).ok_or(crate::abi::STATUS_NO_SUCH_DEVICE)?;
            if node.state != DevnodeState::Started {
                return Err(crate::abi::STATUS_NO_SUCH_DEVICE);
            }
            if !node.granted[caller.index()] {
                return Err(crate::abi::STATUS_ACCESS_DENIED);
            }
            Ok(DeviceFile { target: FileTarget::Devnode(id), caller })
        })
    }

    /// Sends an IOCTL (METHOD_BUFFERED) on an open file from `process`: the
    /// framework builds a request (a child of the queue) and presents it to
    /// the default queue at PASSIVE_LEVEL in that process — at once, or, on a
    /// sequential queue with a request still presented (or a stopped queue),
    /// when it can. Returns the request and how it stands when control is
    /// back; `Err` for a device that cannot take it.
    pub(crate) fn device_io_control(
        &self,
        file: &DeviceFile,
        process: &str,
        code: u32,
        input: &[u8],
        output_len: usize,
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        self.submit(file, process, RequestType::DeviceControl, code, input, output_len)
    }

    /// Sends a write (WriteFile, buffered I/O) of `data`; as
    /// [`Engine::device_io_control`].
    pub(crate) fn write(
        &self,
        file: &DeviceFile,
        process: &str,
        data: &[u8],
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        self.submit(file, process, RequestType::Write, 0, data, 0)
    }

    /// Sends a read (ReadFile, buffered I/O) of up to `length` bytes; as
    /// [`Engine::device_io_control`]. The completed outcome's `output` is
    /// what the driver returned.
    pub(crate) fn read(
        &self,
        file: &DeviceFile,
        process: &str,
        length: usize,
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        self.submit(file, process, RequestType::Read, 0, &[], length)
    }

    /// A synchronous call as an application makes it: submit, then wait —
    /// the machine's clock runs timers (and their DPCs) — until the request
    /// completes or `timeout_ms` of simulated time has passed.
    pub(crate) fn call_sync(
        &self,
        submitted: Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped>,
        timeout_ms: u64,
    ) -> Result<Result<IoOutcome, NTSTATUS>, Stopped> {
        match submitted? {
            Err(st) => Ok(Err(st)),
            Ok((request, _)) => self.wait_for_request(request, timeout_ms).map(Ok),
        }
    }

    fn submit(
        &self,
        file: &DeviceFile,
        process: &str,
        kind: RequestType,
        code: u32,
        input: &[u8],
        output_len: usize,
    ) -> Result<Result<(u64, IoOutcome), NTSTATUS>, Stopped> {
        let devnode = match file.target {
            FileTarget::Devnode(d) => d,
            FileTarget::Wdm(f) => {
                self.check_running()?;
                let major = match kind {
                    RequestType::Read => crate::abi::IRP_MJ_READ,
                    RequestType::Write => crate::abi::IRP_MJ_WRITE,
                    RequestType::DeviceControl => crate::abi::IRP_MJ_DEVICE_CONTROL,
                };
                return self.io_submit(f, process, major, code, input, output_len);
            }
        };
        // A queue WdfDeviceConfigureRequestDispatching named for the type,
        // else the default queue; with neither the framework fails it (ASSUMPTION:
        // STATUS_INVALID_DEVICE_REQUEST, as for a request type without a
        // handler). WdfDeviceInitSetRequestAttributes gives every request of
        // the device its context (its parent stays the queue here).
        let target = |s: &crate::model::State| {
            let node = s.framework.devnodes.get(devnode).ok_or(crate::abi::STATUS_NO_SUCH_DEVICE)?;
            let device = node.device.ok_or(crate::abi::STATUS_NO_SUCH_DEVICE)?;
            // One pass: the first configured queue, else the first default one.
            let mut default = None;
            let mut configured = None;
            for (h, o) in s.framework.objects.iter() {
                if let ObjectKind::Queue(q) = &o.kind
                    && q.device == device
                {
                    if q.dispatch.contains(&kind) {
                        configured = Some(*h);
                        break;
                    }
                    if q.default && default.is_none() {
                        default = Some(*h);
                    }
                }
            }
            let queue = configured.or(default).ok_or(crate::abi::STATUS_INVALID_DEVICE_REQUEST)?;
            let request_attributes = match s.framework.objects.get(&device).map(|o| &o.kind) {
                Some(ObjectKind::Device { pnp, .. }) => pnp.request_attributes,
                _ => None,
            };
            Ok((queue, request_attributes))
        };
        let target = self.with(|s| match &s.stop {
            Some(stop) => Err(Box::new(stop.clone())),
            None => Ok(target(s)),
        })?;
        let (queue, mut request_attributes) = match target {
            Ok(t) => t,
            Err(st) => return Ok(Err(st)),
        };
        let attrs = match request_attributes.as_mut() {
            // SAFETY: a copy of the attributes the driver passed, whose
            // ContextTypeInfo points to the driver's static type info.
            Some(a) => unsafe { objects::read_attributes(std::ptr::from_mut(a)) },
            None => Ok(objects::Attributes::default()),
        };
        let mut attrs = match attrs {
            Ok(a) => a,
            Err(st) => return Ok(Err(st)),
        };
        attrs.parent = Some(queue);
        let created = self.with(|s| {
            let words = input.len().max(output_len).div_ceil(8);
            let mut buffer = vec![0u64; words];
            // SAFETY: `buffer` holds at least `input.len()` bytes.
            unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), buffer.as_mut_ptr().cast::<u8>(), input.len()) };
            let request = RequestState {
                kind,
                code,
                presented: false,
                input_len: input.len(),
                output_len,
                buffer,
                completed: None,
                queue,
                information: 0,
                cancel: None,
                canceled: false,
                memory: [None, None],
            };
            let driver = s.driver_image().unwrap_or_default();
            let h = s.create_object(ObjectKind::Request(Box::new(request)), driver, attrs)?;
            if *s.framework.request_process != *process {
                s.framework.request_process = Name::copy_of(process);
            }
            let process = s.framework.request_process.clone();
            s.framework.waiting_requests.push((h, process));
            Ok(h)
        });
        let request = match created {
            Ok(h) => h,
            Err(st) => return Ok(Err(st)),
        };
        let _ = file.caller;
        self.dispatch_waiting()?;
        Ok(Ok((request, self.request_outcome(request))))
    }

    /// Presents waiting requests whose queue can take one (started; a
    /// sequential queue presents one at a time), until none can be presented.
    /// A request with no handler, or a zero-length read or write the queue
    /// does not allow, the framework completes itself (WDF_IO_QUEUE_CONFIG:
    /// STATUS_INVALID_DEVICE_REQUEST and STATUS_SUCCESS; ASSUMPTION, from the
    /// WDF_IO_QUEUE_CONFIG and "Request Handlers" pages).
    pub(crate) fn dispatch_waiting(&self) -> Result<(), Stopped> {
        enum Next {
            Present(u64, Name, u64, RequestType, u32, usize, usize, Handler, Name),
            FrameworkCompletes(u64, NTSTATUS),
            Skip,
            /// Nothing can be presented; whether the machine runs.
            Idle(bool),
        }
        #[derive(Clone, Copy)]
        enum Handler {
            Default(unsafe extern "C" fn(WDFQUEUE, WDFREQUEST)),
            ReadWrite(unsafe extern "C" fn(WDFQUEUE, WDFREQUEST, usize)),
            Control(unsafe extern "C" fn(WDFQUEUE, WDFREQUEST, usize, usize, ULONG)),
        }
        loop {
            let next = self.with(|s| {
                let busy = |s: &crate::model::State, queue: u64| {
                    s.framework.objects.values().any(|o| {
                        matches!(&o.kind, ObjectKind::Request(r)
                        if r.queue == queue && r.presented && r.completed.is_none())
                    })
                };
                let pos = s.framework.waiting_requests.iter().position(|(h, _)| {
                    let queue = match s.framework.objects.get(h).map(|o| &o.kind) {
                        Some(ObjectKind::Request(r)) => r.queue,
                        _ => return true, // gone: drop it from the list below
                    };
                    match s.framework.objects.get(&queue).map(|o| &o.kind) {
                        Some(ObjectKind::Queue(q)) => q.started && !(q.sequential && busy(s, queue)),
                        _ => true,
                    }
                });
                let Some(pos) = pos else { return Next::Idle(!s.is_stopped()) };
                let (h, process) = s.framework.waiting_requests.remove(pos);
                let Some(ObjectKind::Request(r)) = s.framework.objects.get(&h).map(|o| &o.kind) else {
                    return Next::Skip;
                };
                let (queue, kind, code, input_len, output_len) = (r.queue, r.kind, r.code, r.input_len, r.output_len);
                let Some(ObjectKind::Queue(q)) = s.framework.objects.get(&queue).map(|o| &o.kind) else {
                    return Next::FrameworkCompletes(h, crate::abi::STATUS_INVALID_DEVICE_REQUEST);
                };
                let length = if kind == RequestType::Read { output_len } else { input_len };
                if kind != RequestType::DeviceControl && length == 0 && !q.zero_length {
                    return Next::FrameworkCompletes(h, crate::abi::STATUS_SUCCESS);
                }
                let handler = match kind {
                    RequestType::Read => q.read.map(Handler::ReadWrite),
                    RequestType::Write => q.write.map(Handler::ReadWrite),
                    RequestType::DeviceControl => q.device_control.map(Handler::Control),
                }
                .or(q.io_default.map(Handler::Default));
                let Some(handler) = handler else {
                    return Next::FrameworkCompletes(h, crate::abi::STATUS_INVALID_DEVICE_REQUEST);
                };
                if let Some(ObjectKind::Request(r)) = s.framework.objects.get_mut(&h).map(|o| &mut o.kind) {
                    r.presented = true;
                }
                let image = s.driver_image().unwrap_or_default();
                Next::Present(h, process, queue, kind, code, input_len, output_len, handler, image)
            });
            match next {
                Next::Idle(true) => return Ok(()),
                Next::Idle(false) => return self.check_running(),
                Next::Skip => continue,
                Next::FrameworkCompletes(request, status) => {
                    self.with(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxIoQueue::DispatchEvents"));
                    crate::model::framework::queue::complete_request(request as WDFREQUEST, status, None);
                    self.with(|s| s.pop_frame());
                    self.check_running()?;
                }
                Next::Present(request, process, queue, kind, code, input_len, output_len, handler, image) => {
                    let (q, r) = (queue as WDFQUEUE, request as WDFREQUEST);
                    let symbol = match (handler, kind) {
                        (Handler::Default(_), _) => "EvtIoDefault",
                        (_, RequestType::Read) => "EvtIoRead",
                        (_, RequestType::Write) => "EvtIoWrite",
                        (_, RequestType::DeviceControl) => "EvtIoDeviceControl",
                    };
                    self.run_in_process(&image, symbol, process, || match handler {
                        // SAFETY: the queue's registered handler for this
                        // request type, with a live request and its lengths.
                        Handler::Default(cb) => unsafe { cb(q, r) },
                        // SAFETY: as above (EvtIoRead / EvtIoWrite: the length).
                        Handler::ReadWrite(cb) => unsafe {
                            cb(q, r, if kind == RequestType::Read { output_len } else { input_len })
                        },
                        // SAFETY: as above (EvtIoDeviceControl, METHOD_BUFFERED).
                        Handler::Control(cb) => unsafe { cb(q, r, output_len, input_len, code) },
                    })?;
                }
            }
        }
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
    pub(crate) fn cancel_request(&self, request: u64) -> Result<(), Stopped> {
        if self.with(|s| s.io_knows(request)) {
            return self.io_cancel(request);
        }
        self.check_running()?;
        cancel(request);
        self.check_running()?;
        self.dispatch_waiting()
    }

    /// How a request stands: completed (with its results) or pending.
    pub(crate) fn request_outcome(&self, request: u64) -> IoOutcome {
        self.with(|s| match s.framework.completed_requests.get(request) {
            None if s.io_knows(request) => s.io_outcome(request).unwrap_or(IoOutcome::Pending),
            Some((status, information, output)) => {
                IoOutcome::Completed { status, information, output: output.to_vec() }
            }
            None => IoOutcome::Pending,
        })
    }

    /// Lets the framework present requests that waited behind a completed
    /// one (the simulator does it when an entry point returns).
    pub(crate) fn dispatch_requests(&self) -> Result<(), Stopped> {
        self.dispatch_waiting()
    }

    /// Requests presented to the driver and not completed yet (a WDM
    /// driver's outstanding IRPs too).
    pub(crate) fn pending_requests(&self) -> Vec<u64> {
        self.with(|s| {
            s.framework
                .objects
                .iter()
                .filter(|(_, o)| matches!(&o.kind, ObjectKind::Request(r) if r.completed.is_none()))
                .map(|(h, _)| *h)
                .chain(s.kernel.io.irps.keys().copied())
                .collect()
        })
    }

    /// Verifier findings that are not bug checks (e.g. a request left
    /// uncompleted at removal), in order.
    pub(crate) fn findings(&self) -> Vec<String> {
        self.with(|s| s.framework.findings.clone())
    }
}
