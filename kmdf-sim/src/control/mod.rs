//! The simulator's control API: machines, their settings, and what they report.
//!
//! This module is not part of the wdk-sys surface. A test creates a fresh
//! [`Machine`] (state is per thread, so tests run in parallel), runs driver code
//! through [`Machine::run`], and asserts on the stop, the ownership violations
//! and the handle history the machine recorded.
//!
//! The machine never holds a borrow of its state while driver code runs: every
//! DDI borrows the state for its own work only.

pub mod bugcheck;
mod call_record;
pub mod handles;
mod name;
pub(crate) mod objects;
pub mod pnp;
pub mod pool;
pub mod registry;
#[rustfmt::skip]
mod routine_table;
mod routines;
pub mod scenario;
#[cfg(unix)]
mod special_pool;
pub(crate) mod timers;

pub use bugcheck::{BugCheck, OwnershipViolation, Stop, ViolationKind};
pub use call_record::{CallRecord, FRAMEWORK as FRAMEWORK_CALLS, RegistryAccess};
pub use handles::{HandleEvent, HandleEventKind, HandleOwner, ReusePolicy};
pub use name::Name;
pub use pnp::{Caller, DeviceFile, DeviceId, DevnodeState, IoOutcome, RequestType};
pub use pool::PoolAllocation;
pub(crate) use routines::Routine;
pub use scenario::{Scenario, ScenarioReport, Step};
#[cfg(unix)]
pub use special_pool::{
    PROTECTION_VARIABLE as SPECIAL_POOL_PROTECTION_VARIABLE, Protection as SpecialPoolProtection,
    protection as special_pool_protection,
};

use crate::surface::types::{_WDF_DRIVER_GLOBALS, NTSTATUS};
use handles::{CloseOutcome, HandleEntry, HandleTable};
use registry::{PathError, Registry};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// How many completed requests' results the machine keeps for callers.
pub(crate) const COMPLETED_REQUESTS_KEPT: usize = 1024;

/// The framework's image; it executes every close a key object makes.
pub const FRAMEWORK_MODULE: &str = "Wdf01000.sys";
/// The kernel's image.
pub const KERNEL_MODULE: &str = "ntoskrnl.exe";

/// How the machine is configured. `Settings::default()` is the test VM the
/// scripts set up: Driver Verifier with the standard rules on the driver and
/// on wdf01000.sys (special pool, IRQL checking, miscellaneous checks), the
/// KMDF verifier on (F70), and no kernel debugger attached (F65).
/// [`Settings::without_verifiers`] is a bare machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Order in which freed handle slots come back (F46).
    pub reuse_policy: ReusePolicy,
    /// Kernel handles other components already hold when the driver loads.
    /// ASSUMPTION: 192, so that the first handle a driver gets is 0x304 — the
    /// value of the reported crash (F41); any count is as valid.
    pub boot_handles: u32,
    /// A kernel debugger is enabled (F42/F67a: with a caller process that has a
    /// PEB, a close of an invalid handle bug-checks 0x93 {h, 1, 0, 0}).
    pub kernel_debugger: bool,
    /// Driver Verifier's Miscellaneous Checks are on (F67c: a stale kernel
    /// handle close is forced to bug check 0x93 {h, 1, 0, 0}).
    pub verifier_misc_checks: bool,
    /// The KMDF verifier (`VerifierOn`, F52/F70) is on: its checks fail calls
    /// and its breaks stop the machine unless a kernel debugger is attached
    /// (F65).
    pub kmdf_verifier: bool,
    /// Driver Verifier's IRQL checking (Force IRQL Checking + DDI compliance,
    /// F49/F70) is on: a DDI or Zw routine called above its maximum IRQL is a
    /// bug check 0xC4 at the call (F66).
    pub driver_verifier_irql: bool,
    /// Driver Verifier's special pool (F51) for the verified images.
    pub special_pool: bool,
    /// wdf01000.sys is on Driver Verifier's list too (F70 recommends it), so
    /// framework allocations — objects and their contexts — are special-pooled
    /// (F51, ASSUMPTION there).
    pub wdf01000_verified: bool,
    /// Driver Verifier's Pool Tracking (F49 0x8, a standard setting): pool
    /// the driver still holds when it unloads is bug check 0xC4 {0x62, ...}
    /// (F50). Without it the leak is only in the unload report.
    pub pool_tracking: bool,
}

impl Settings {
    /// A machine with every verifier off: what a bare test machine without
    /// Driver Verifier does (stale closes of free slots are silent, F67a).
    pub fn without_verifiers() -> Self {
        Settings {
            reuse_policy: ReusePolicy::BatchedLifo,
            boot_handles: 192,
            kernel_debugger: false,
            verifier_misc_checks: false,
            kmdf_verifier: false,
            driver_verifier_irql: false,
            special_pool: false,
            wdf01000_verified: false,
            pool_tracking: false,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            verifier_misc_checks: true,
            kmdf_verifier: true,
            driver_verifier_irql: true,
            special_pool: true,
            wdf01000_verified: true,
            pool_tracking: true,
            ..Settings::without_verifiers()
        }
    }
}

/// One frame of the simulated call stack.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Image name, e.g. `Wdf01000.sys`.
    pub image: Name,
    /// Symbol as the debugger prints it, e.g. `Wdf01000!imp_WdfRegistryClose`.
    pub symbol: Name,
    /// `image` is a driver's, not the framework's or the kernel's.
    driver: bool,
}

impl Frame {
    fn new(image: Name, symbol: Name) -> Frame {
        let driver = !system_image(&image);
        Frame { image, symbol, driver }
    }
}

/// Whether `image` is the framework's or the kernel's (the images of every
/// DDI's own frame): the constants' own texts are recognised by address
/// first, any other text by comparison.
#[inline]
fn system_image(image: &str) -> bool {
    std::ptr::eq(image, FRAMEWORK_MODULE)
        || std::ptr::eq(image, KERNEL_MODULE)
        || image == FRAMEWORK_MODULE
        || image == KERNEL_MODULE
}

/// The simulated call stack.
#[derive(Debug, Default)]
pub(crate) struct Frames(Vec<Frame>);

impl Frames {
    pub(crate) fn push(&mut self, frame: Frame) {
        self.0.push(frame);
    }

    pub(crate) fn pop(&mut self) -> Option<Frame> {
        self.0.pop()
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Whether the innermost frame is a driver's (not the framework's or the kernel's).
    fn driver_on_top(&self) -> bool {
        self.0.last().is_some_and(|f| f.driver)
    }
}

/// Text of a frame: a `&'static str` or a [`Name`] is kept as it is (no
/// copy), an owned `Cow` moved in, a borrowed `String` copied.
pub(crate) trait FrameText {
    /// The text as the frame keeps it.
    fn into_frame_text(self) -> Name;
}

impl FrameText for &'static str {
    fn into_frame_text(self) -> Name {
        Name::from(self)
    }
}

impl FrameText for Name {
    fn into_frame_text(self) -> Name {
        self
    }
}

impl FrameText for &Name {
    fn into_frame_text(self) -> Name {
        self.clone()
    }
}

impl FrameText for Cow<'static, str> {
    fn into_frame_text(self) -> Name {
        match self {
            Cow::Borrowed(s) => Name::from(s),
            Cow::Owned(s) => Name::from(s),
        }
    }
}

impl FrameText for &String {
    fn into_frame_text(self) -> Name {
        Name::copy_of(self)
    }
}

impl std::ops::Deref for Frames {
    type Target = [Frame];
    fn deref(&self) -> &[Frame] {
        &self.0
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        let _ = IN_DRIVER.try_with(|c| c.set(false));
    }
}

/// Whether this thread is running driver code right now: outside the
/// simulator's own bookkeeping, with a driver image's frame innermost on the
/// simulated stack. Allocation-free and borrow-free, so a test's global
/// allocator may call it to account the driver's own heap (K5).
pub fn in_driver_code() -> bool {
    IN_DRIVER.try_with(Cell::get).unwrap_or(false)
}

/// The process whose context code runs in.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    name: String,
    has_peb: bool,
}

/// The driver image the machine has loaded (F27, F37).
#[derive(Debug)]
struct LoadedDriver {
    image: Name,
    service: String,
    /// `\Registry\Machine\SYSTEM\CurrentControlSet\Services\<service>`.
    service_key: Name,
    /// The WDM driver object handed to DriverEntry (wdk-sys's full
    /// `DRIVER_OBJECT`); boxed for a stable address, which is how the machine
    /// recognises it in `WdfDriverCreate`.
    object: Box<crate::_DRIVER_OBJECT>,
    /// `DriverName` (`\Driver\<service>`) and the UTF-16 it points into.
    _driver_name_buffer: Vec<u16>,
    /// `RegistryPath` handed to DriverEntry, and the UTF-16 it points into.
    registry_path: Box<crate::UNICODE_STRING>,
    _registry_path_buffer: Vec<u16>,
}

/// The per-thread machine state.
pub(crate) struct State {
    pub settings: Settings,
    pub handles: HandleTable,
    pub registry: Registry,
    seq: u64,
    frames: Frames,
    process: Process,
    pub irql: u8,
    stop: Option<Stop>,
    violations: Vec<OwnershipViolation>,
    /// Framework objects by handle value.
    pub(crate) objects: objects::ObjectTable,
    /// Handles of objects the framework freed, with their type (F77).
    pub(crate) freed_objects: objects::FreedObjects,
    /// Passive objects whose delete arrived above PASSIVE_LEVEL (F9, F34).
    pub(crate) deferred_deletes: Vec<u64>,
    driver: Option<LoadedDriver>,
    /// The driver package PnP loads on demand (image, service, entry).
    pub(crate) installed: Option<(Name, String, crate::DRIVER_INITIALIZE)>,
    /// The PnP tree.
    pub(crate) devnodes: Vec<pnp::Devnode>,
    /// WDFDEVICE_INITs handed to EvtDriverDeviceAdd.
    pub(crate) device_inits: Vec<pnp::DeviceInitState>,
    /// Requests not presented yet, with the process they came from.
    pub(crate) waiting_requests: Vec<(u64, String)>,
    /// Completed IOCTLs: status, information, output.
    pub(crate) completed_requests: BTreeMap<u64, (NTSTATUS, u64, Vec<u8>)>,
    /// Reports of unloads PnP did by itself (F37).
    pub(crate) unload_reports: Vec<UnloadReport>,
    /// Verifier findings that are not bug checks.
    pub(crate) findings: Vec<String>,
    next_object: u64,
    /// The routines called so far, with their IRQL rules and call counts.
    routines: routines::Routines,
    /// The call record (off by default).
    recorder: call_record::Recorder,
    refused_calls: u64,
    /// Messages the framework traced (its in-flight recorder, IFR).
    pub(crate) framework_log: Vec<String>,
    /// KMDF verifier breaks that a kernel debugger caught (F65).
    pub(crate) verifier_breaks: Vec<String>,
    /// Planned faults and how many matching calls each has seen.
    faults: Vec<(Fault, u64)>,
    /// Faults that were injected, in order.
    injected: Vec<InjectedFault>,
    /// Another component's open interleaved right after the next ZwClose a
    /// driver makes: (component, key path, protected).
    pub(crate) interleaved_open: Option<(String, String, bool)>,
    /// Test hook: the next call of this DDI panics inside the simulator.
    panic_next: Option<String>,
    /// Driver globals handed to the binding macro; boxed so its address is stable.
    pub globals: Box<_WDF_DRIVER_GLOBALS>,
    /// The clock: 100-ns units since boot (see `timers`).
    pub(crate) clock: u64,
    /// Kernel pool (ExAllocatePool2 and friends).
    pub(crate) pool: pool::Pool,
    /// What drivers printed (DbgPrint / `println!`), newest last, bounded.
    pub(crate) debug_log: std::collections::VecDeque<String>,
    /// How many lines were printed in all (the log keeps the newest).
    pub(crate) debug_lines: u64,
    /// Names bug checks point at (0xC4/0x62's Arg2), kept alive.
    pub(crate) bugcheck_strings: Vec<(Box<crate::UNICODE_STRING>, Vec<u16>)>,
    /// Work items enqueued and not run yet, in order.
    pub(crate) work_queue: std::collections::VecDeque<u64>,
    /// Frame names of driver code: (image, `module!name`) by the texts'
    /// addresses and lengths (see [`State::frame_names`]).
    frame_names: FrameNames,
}

/// How many driver frame names the machine keeps before it starts over.
const FRAME_NAMES_KEPT: usize = 1024;

/// Driver frame names made once: key = the addresses and lengths of the
/// image and callback texts a caller passed; a hit is confirmed by the texts.
type FrameNames = std::collections::HashMap<
    (usize, usize, usize, usize),
    (Name, Name),
    std::hash::BuildHasherDefault<name::AddressHasher>,
>;

/// How many debug-output lines the machine keeps.
pub(crate) const DEBUG_LINES_KEPT: usize = 4096;

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    static IN_DRIVER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on this thread's machine state, if a machine exists.
pub(crate) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|cell| {
        // Inside, the simulator runs: its allocations are not the driver's.
        let _ = IN_DRIVER.try_with(|c| c.set(false));
        let mut slot = cell.borrow_mut();
        let r = slot.as_mut().map(f);
        let driver = slot.as_ref().is_some_and(|s| s.frames.driver_on_top());
        let _ = IN_DRIVER.try_with(|c| c.set(driver));
        r
    })
}

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
/// ran at — `KeQuerySystemTime` is not modelled.
pub fn debug_clock() -> u64 {
    timers::now()
}

/// Appends a line to the running machine's debug output (what `DbgPrint`
/// writes; `wdk::println!` of the compat crates calls it). Without a machine
/// on this thread the text goes to standard error.
pub fn debug_print(text: &str) {
    if with_state(|s| s.debug_print(text)).is_none() {
        eprintln!("{}", text.trim_end_matches('\n'));
    }
}

/// `PAGED_CODE()` (wdk's `paged_code!` in a debug build): the code must run
/// at or below APC_LEVEL. Above it, the real macro's `debug_assert!` fails
/// and wdk-panic stops the machine (guide §4: bug check 0x52504E43); the
/// simulator records that stop without unwinding through the driver's
/// `extern "C"` frames, and the driver's code runs on along its paths.
pub fn paged_code_check(file: &str, line: u32) {
    with_state(|s| {
        if s.irql > crate::APC_LEVEL as u8 && !s.is_stopped() {
            let image = s.frames.last().map_or_else(|| KERNEL_MODULE.to_string(), |f| f.image.to_string());
            let irql = s.irql;
            s.rust_panic_stop(format!(
                "{image}: paged_code!() at {file}:{line} ran at IRQL {irql} (it allows at most APC_LEVEL)"
            ));
        }
    });
}

/// Whether the entry point that is returning is the outermost one (work
/// items run when the simulated thread that queued them yields, not inside
/// nested framework calls).
fn depth_is_outermost(m: &Machine) -> bool {
    m.state(|s| s.frames.len() <= 1)
}

/// A status for calls made after the machine stopped. A real machine would
/// never return; the simulator lets the driver's code run out along its error
/// paths (design.md), so it answers every later call with a failure.
pub const STOPPED_STATUS: NTSTATUS = crate::STATUS_UNSUCCESSFUL;

/// What a routine returns when a check fails it before it does anything.
pub(crate) trait CheckFailure {
    /// The value: STATUS_INVALID_DEVICE_REQUEST for status-returning DDIs
    /// (F19), NULL for pointers, nothing for `VOID` DDIs (F19: WdfRegistryClose
    /// returns without closing).
    fn check_failure() -> Self;

    /// An injected failure status as this routine's result, if the routine
    /// returns a status (only those can be failed by fault injection).
    fn injected(_status: NTSTATUS) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }

    /// The status this result is, for the call record (status-returning
    /// routines only).
    fn status(&self) -> Option<NTSTATUS> {
        None
    }
}

impl CheckFailure for NTSTATUS {
    fn check_failure() -> Self {
        crate::STATUS_INVALID_DEVICE_REQUEST
    }

    fn injected(status: NTSTATUS) -> Option<Self> {
        Some(status)
    }

    fn status(&self) -> Option<NTSTATUS> {
        Some(*self)
    }
}

impl CheckFailure for () {
    fn check_failure() -> Self {}
}

/// BOOLEAN DDIs: FALSE when a check fails them.
impl CheckFailure for u8 {
    fn check_failure() -> Self {
        0
    }
}

/// ULONG_PTR DDIs (WdfRequestGetInformation): 0.
impl CheckFailure for u64 {
    fn check_failure() -> Self {
        0
    }
}

impl<T> CheckFailure for *mut T {
    fn check_failure() -> Self {
        std::ptr::null_mut()
    }
}

/// A planned failure: the `nth` status-returning call of `routine` (or of any
/// routine when `None`) fails with `status` without doing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The DDI or kernel routine, e.g. `"WdfRegistryOpenKey"`; `None` = any.
    pub routine: Option<String>,
    /// Which call, counting from 1 from the time the fault was planned.
    pub nth: u64,
    /// The status the call returns.
    pub status: NTSTATUS,
}

/// A failure that was injected: which routine, its call number, the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    /// The routine that was failed.
    pub routine: String,
    /// The status it returned.
    pub status: NTSTATUS,
    /// Machine-wide sequence number of the call.
    pub seq: u64,
}

/// Whether a routine may run: at the current IRQL, and not failed by fault
/// injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IrqlVerdict {
    Proceed,
    Fail,
    Inject(NTSTATUS),
}

impl State {
    /// Consumes a planned fault that matches this status-returning call.
    fn planned_fault(&mut self, name: &str) -> Option<NTSTATUS> {
        let mut hit = None;
        for (fault, seen) in &mut self.faults {
            if fault.routine.as_deref().is_none_or(|r| r == name) {
                *seen += 1;
                if *seen == fault.nth && hit.is_none() {
                    hit = Some(fault.status);
                }
            }
        }
        let status = hit?;
        let seq = self.next_seq();
        self.injected.push(InjectedFault { routine: name.to_string(), status, seq });
        Some(status)
    }

    /// Driver Verifier's IRQL rule at the call (F66: with the KMDF verifier
    /// off, only Driver Verifier catches a wrong IRQL). ASSUMPTION: reported
    /// as 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION with Arg1 0x20004 (the DDI
    /// compliance rule ids are not in the facts), Arg2 the IRQL, Arg3 the
    /// maximum.
    fn driver_verifier_irql_check(&mut self, name: &str, max: u8) -> IrqlVerdict {
        if !self.settings.driver_verifier_irql || self.irql <= max {
            return IrqlVerdict::Proceed;
        }
        // The routine's own frame is not on the stack yet: the innermost
        // frame is its caller's, the driver that made the call.
        let caller = self.frames.last().map_or_else(|| KERNEL_MODULE.to_string(), |f| f.image.to_string());
        self.bug_check(
            (
                0xC4,
                [0x20004, u64::from(self.irql), u64::from(max), 0],
                "DRIVER_VERIFIER_DETECTED_VIOLATION",
                [
                    "DDI compliance: a routine was called above its maximum IRQL (rule id ASSUMPTION).".into(),
                    "The current IRQL.".into(),
                    "The highest IRQL the routine allows.".into(),
                    String::new(),
                ],
            ),
            None,
            Some(format!("{caller} called {name} at IRQL {} (its maximum is {max})", self.irql)),
        );
        IrqlVerdict::Fail
    }

    /// The KMDF verifier's `FxVerifierCheckIrqlLevel` (F19, F66; KMDF
    /// fxverifier.h): with `VerifierOn` a wrong IRQL is traced, breaks (F65)
    /// and fails the call; without it the call goes on. F19: every
    /// WdfRegistry* DDI except WdfRegistryWdmGetHandle checks; ASSUMPTION: the
    /// other DDIs the simulator serves check too.
    fn kmdf_verifier_irql_check(&mut self, name: &str, max: u8) -> IrqlVerdict {
        // The KMDF verifier checks inside Wdf01000's DDIs only: a driver's
        // direct kernel calls (ZwClose, ExAllocatePool2, ...) never reach it.
        if !self.settings.kmdf_verifier
            || self.irql <= max
            || !name.starts_with("Wdf")
            || name == "WdfRegistryWdmGetHandle"
        {
            return IrqlVerdict::Proceed;
        }
        let message = format!("{name}: called at wrong IRQL; at level {}, should be at level {max}", self.irql);
        self.framework_log.push(message.clone());
        crate::ddi::verifier_break(self, &message);
        IrqlVerdict::Fail
    }
}

/// The entry of every DDI and kernel routine of the surface: counts the call,
/// refuses it when the machine has stopped, applies the IRQL rules, pushes
/// `symbol` on the simulated stack, and turns a panic of the simulator into a
/// recorded stop.
pub(crate) fn enter<R: CheckFailure>(
    routine: Routine,
    image: &'static str,
    symbol: &'static str,
    refused: R,
    body: impl FnOnce() -> R,
) -> R {
    let name = routine.name();
    let injectable = R::injected(0).is_some();
    let admitted = with_state(|s| {
        if s.stop.is_some() {
            s.refused_calls += 1;
            return None;
        }
        s.routines.count(routine);
        s.recorder.begin(name, &s.registry.journal);
        // Both IRQL rules pass at or below the routine's maximum: only a
        // call above it goes through them.
        let above = routine.max_irql().filter(|&max| s.irql > max);
        if let Some(max) = above
            && s.driver_verifier_irql_check(name, max) == IrqlVerdict::Fail
        {
            return Some((IrqlVerdict::Fail, 0, false));
        }
        s.frames.push(Frame::new(Name::from(image), Name::from(symbol)));
        if let Some(max) = above
            && s.kmdf_verifier_irql_check(name, max) == IrqlVerdict::Fail
        {
            s.frames.pop();
            return Some((IrqlVerdict::Fail, 0, false));
        }
        if injectable
            && !s.faults.is_empty()
            && let Some(status) = s.planned_fault(name)
        {
            s.frames.pop();
            return Some((IrqlVerdict::Inject(status), 0, false));
        }
        // The frame just pushed goes when the body returns; the test hook's
        // panic is decided here, in the same borrow.
        let inject = s.panic_next.take_if(|n| n == name).is_some();
        Some((IrqlVerdict::Proceed, s.frames.len() - 1, inject))
    });
    let (depth, inject) = match admitted {
        None => {
            eprintln!(
                "kmdf-sim: {name} was called on a thread with no simulated machine; \
                 create a kmdf_sim::control::Machine first (the call fails)"
            );
            return refused;
        }
        Some(None) => return refused,
        Some(Some((IrqlVerdict::Fail, ..))) => return recorded(R::check_failure()),
        Some(Some((IrqlVerdict::Inject(status), ..))) => {
            return recorded(R::injected(status).unwrap_or_else(R::check_failure));
        }
        Some(Some((IrqlVerdict::Proceed, depth, inject))) => (depth, inject),
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        assert!(!inject, "injected simulator panic in {name}");
        body()
    }));
    with_state(|s| s.frames.truncate(depth));
    match result {
        Ok(r) => recorded(r),
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            with_state(|s| s.record_stop(Stop::SimulatorPanic { location: name.to_string(), message }));
            recorded(refused)
        }
    }
}

/// Ends the innermost call of the call record with `result`'s status.
fn recorded<R: CheckFailure>(result: R) -> R {
    with_state(|s| s.recorder.end(result.status(), &s.registry.journal));
    result
}

/// Counts a call of a routine that has no machine state to refuse (pure
/// library routines such as `RtlInitUnicodeString` keep working after a stop,
/// so the driver's error paths never read an unwritten result).
pub(crate) fn count_call(routine: Routine) {
    with_state(|s| s.routines.count(routine));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

impl State {
    fn new(settings: Settings) -> Self {
        let mut s = State {
            handles: HandleTable::new(settings.reuse_policy),
            registry: Registry::new(),
            settings,
            seq: 0,
            frames: Frames::default(),
            process: Process { name: "System".into(), has_peb: false },
            irql: 0,
            stop: None,
            violations: Vec::new(),
            objects: objects::ObjectTable::default(),
            deferred_deletes: Vec::new(),
            freed_objects: objects::FreedObjects::default(),
            driver: None,
            installed: None,
            devnodes: Vec::new(),
            device_inits: Vec::new(),
            completed_requests: BTreeMap::new(),
            waiting_requests: Vec::new(),
            unload_reports: Vec::new(),
            findings: Vec::new(),
            next_object: 1,
            routines: routines::Routines::default(),
            recorder: call_record::Recorder::default(),
            refused_calls: 0,
            panic_next: None,
            interleaved_open: None,
            faults: Vec::new(),
            injected: Vec::new(),
            verifier_breaks: Vec::new(),
            framework_log: Vec::new(),
            globals: Box::default(),
            clock: 0,
            pool: pool::Pool::default(),
            debug_log: std::collections::VecDeque::new(),
            debug_lines: 0,
            bugcheck_strings: Vec::new(),
            work_queue: std::collections::VecDeque::new(),
            frame_names: FrameNames::default(),
        };
        let owner = HandleOwner::Component(KERNEL_MODULE.into());
        for _ in 0..s.settings.boot_handles {
            let serial = s.next_seq();
            let entry = HandleEntry { object: 0, access: 0, protected: false, owner: owner.clone(), serial };
            s.handles.insert(entry, r"\Registry".into(), serial, "nt!Phase1Initialization".into());
        }
        s
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh framework object handle value (never reused in this model).
    pub fn new_object_value(&mut self) -> u64 {
        let id = self.next_object;
        self.next_object += 1;
        // ASSUMPTION: any non-null, pointer-like value; WDF handles are object
        // addresses XOR a mask (F77), which the driver never dereferences.
        0xFFFF_B000_0000_0000 | (id << 4)
    }

    /// The first frame outside the kernel on the stack: who is acting.
    pub fn site(&self) -> Name {
        self.frames.iter().rev().find(|f| f.image != KERNEL_MODULE).map(|f| f.symbol.clone()).unwrap_or_default()
    }

    /// The current stack, innermost first, as `module!symbol` lines.
    pub fn stack(&self) -> Vec<String> {
        self.frames.iter().rev().map(|f| f.symbol.to_string()).collect()
    }

    /// Pushes a frame: `image` (e.g. `Wdf01000.sys`) and `symbol` (e.g.
    /// `Wdf01000!imp_WdfRegistryClose`), each a `&'static str` (kept without
    /// a copy), a `&String` (copied) or a `Cow` (an owned text moved in).
    pub fn push_frame(&mut self, image: impl FrameText, symbol: impl FrameText) {
        self.frames.push(Frame::new(image.into_frame_text(), symbol.into_frame_text()));
    }

    /// The frame of driver code `image` entered at `name`: the image and
    /// `module!name` (module = image without `.sys`), made once per pair and
    /// shared from then on.
    pub(crate) fn frame_names(&mut self, image: &str, name: &str) -> (Name, Name) {
        let key = (image.as_ptr() as usize, image.len(), name.as_ptr() as usize, name.len());
        if let Some((i, n)) = self.frame_names.get(&key)
            // The addresses may be of texts that are gone: the texts decide.
            && i.as_str() == image
            && n.len() == image.strip_suffix(".sys").unwrap_or(image).len() + 1 + name.len()
            && n.ends_with(name)
        {
            return (i.clone(), n.clone());
        }
        if self.frame_names.len() >= FRAME_NAMES_KEPT {
            self.frame_names.clear();
        }
        let module = image.strip_suffix(".sys").unwrap_or(image);
        let names = (Name::copy_of(image), Name::from(format!("{module}!{name}")));
        self.frame_names.insert(key, names.clone());
        names
    }

    /// Pushes the frame of driver code `image` entered at `name` (see
    /// [`State::frame_names`]).
    pub(crate) fn push_driver_frame(&mut self, image: &str, name: &str) {
        let (image, symbol) = self.frame_names(image, name);
        self.frames.push(Frame::new(image, symbol));
    }

    pub fn pop_frame(&mut self) {
        self.frames.pop();
    }

    /// The image of the caller of the routine at the top of the stack.
    pub fn caller_image(&self) -> Name {
        let n = self.frames.len();
        if n >= 2 { self.frames[n - 2].image.clone() } else { KERNEL_MODULE.into() }
    }

    /// Forgets the unloaded driver and reports what it left behind: kernel
    /// handles it opened itself and framework objects still alive.
    fn finish_unload(&mut self, image: &str) -> UnloadReport {
        let leaked_handles = if self.handles.component_handles_live() {
            self.handles
                .live_entries()
                .filter(|(_, e)| matches!(&e.owner, HandleOwner::Component(name) if name == image))
                .map(|(h, e)| (h, self.registry.path_of(e.object)))
                .collect()
        } else {
            Vec::new()
        };
        let leaked_objects =
            self.objects.iter().filter(|(_, o)| o.driver == image).map(|(h, o)| (*h, o.kind.type_name())).collect();
        let leaked_pool = self.pool.owned_by(image);
        self.pool.orphan(image);
        self.driver = None;
        self.globals.Driver = std::ptr::null_mut();
        if self.settings.pool_tracking && !leaked_pool.is_empty() && !self.is_stopped() {
            self.pool_leak_bug_check(image, leaked_pool.len());
        }
        UnloadReport { leaked_handles, leaked_objects, leaked_pool }
    }

    /// Driver Verifier's pool tracking at unload (F50): bug check 0xC4
    /// {0x62, the driver's name, reserved, allocations not freed}, blamed on
    /// the driver (Arg2 names it). ASSUMPTION: the kernel frames are those of
    /// the unload path (MmUnloadSystemImage); their exact names are not in
    /// the facts.
    fn pool_leak_bug_check(&mut self, image: &str, count: usize) {
        let mut units: Vec<u16> = image.encode_utf16().collect();
        let bytes = u16::try_from(units.len() * 2).unwrap_or(0xFFFE);
        let name = Box::new(crate::UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() });
        let name_address = std::ptr::from_ref(name.as_ref()) as u64;
        self.bugcheck_strings.push((name, units));
        let depth = self.frames.len();
        self.push_frame(KERNEL_MODULE, "nt!MmUnloadSystemImage");
        self.push_frame(KERNEL_MODULE, "nt!VfPoolCheckForLeaks");
        self.bug_check(
            (
                0xC4,
                [0x62, name_address, 0, count as u64],
                "DRIVER_VERIFIER_DETECTED_VIOLATION",
                [
                    "0x62: a driver is unloading without first freeing its pool allocations (Pool Tracking).".into(),
                    format!("The name of the driver: {image}."),
                    "Reserved.".into(),
                    format!("The number of allocations not freed: {count}."),
                ],
            ),
            None,
            Some(format!(
                "{image} unloaded with {count} pool allocation(s) it never freed (see the unload report's leaked_pool)"
            )),
        );
        self.frames.truncate(depth);
        if let Some(Stop::BugCheck(b)) = self.stop.as_mut() {
            b.blamed = image.to_string();
        }
    }

    /// DbgPrint: a line of the driver's debug output.
    pub(crate) fn debug_print(&mut self, text: &str) {
        self.debug_lines += 1;
        self.debug_log.push_back(text.trim_end_matches('\n').to_string());
        if self.debug_log.len() > DEBUG_LINES_KEPT {
            self.debug_log.pop_front();
        }
    }

    /// The image of the loaded driver.
    pub(crate) fn driver_image(&self) -> Option<Name> {
        self.driver.as_ref().map(|d| d.image.clone())
    }

    /// The loaded driver's service key, `\Registry\Machine\...\Services\<svc>`.
    pub(crate) fn loaded_service_key(&self) -> Option<Name> {
        self.driver.as_ref().map(|d| d.service_key.clone())
    }

    /// Whether `object` is the driver object handed to the loaded driver.
    pub(crate) fn is_loaded_driver_object(&self, object: *mut crate::_DRIVER_OBJECT) -> bool {
        self.driver.as_ref().is_some_and(|d| std::ptr::eq(d.object.as_ref(), object))
    }

    /// Whether code runs in the System process (driver load, unload, work
    /// items) rather than in an application's.
    pub(crate) fn process_name(&self) -> String {
        self.process.name.clone()
    }

    pub(crate) fn in_system_process(&self) -> bool {
        !self.process.has_peb
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_some()
    }

    fn record_stop(&mut self, stop: Stop) {
        if self.stop.is_none() {
            self.stop = Some(stop);
        }
    }

    /// wdk-panic's stop: KeBugCheckEx(0x52504E43 "RPNC", file, len, line, col)
    /// (guide §4); the simulator does not model the four parameters.
    fn rust_panic_stop(&mut self, root_cause: String) {
        self.bug_check(
            (
                0x5250_4E43,
                [0; 4],
                "RUST_PANIC (wdk-panic)",
                [String::new(), String::new(), String::new(), String::new()],
            ),
            None,
            Some(root_cause),
        );
    }

    /// Raises a bug check: snapshots the stack and blames the first module on
    /// it that is not the kernel, as `!analyze` does.
    pub fn bug_check(
        &mut self,
        (code, params, name, param_notes): (u32, [u64; 4], &'static str, [String; 4]),
        handle: Option<u64>,
        root_cause: Option<String>,
    ) {
        let mut stack = vec!["nt!KeBugCheckEx".to_string()];
        stack.extend(self.stack());
        let blamed = self
            .frames
            .iter()
            .rev()
            .map(|f| f.image.to_string())
            .find(|i| i != KERNEL_MODULE)
            .unwrap_or_else(|| KERNEL_MODULE.into());
        let handle_history = handle.map(|h| self.handles.history_of(h)).unwrap_or_default();
        self.record_stop(Stop::BugCheck(Box::new(BugCheck {
            code,
            params,
            name,
            param_notes,
            blamed,
            stack,
            process: self.process.name.clone(),
            irql: self.irql,
            handle_history,
            root_cause,
        })));
    }

    /// `NtClose` from kernel mode (F39–F46, F67, F68). `expected_serial` is the
    /// open the closer believes it holds (known for key objects), so a close
    /// of a reused slot is told from a close of a foreign handle.
    pub fn nt_close(&mut self, value: u64, closer: HandleOwner, expected_serial: Option<u64>) -> NTSTATUS {
        // ZwClose enters the kernel through the system-service stub; these are
        // the frames the reported crash shows under KeBugCheckEx (F41).
        self.push_frame(KERNEL_MODULE, "nt!KiServiceLinkage");
        self.push_frame(KERNEL_MODULE, "nt!KiSystemServiceCopyEnd");
        let seq = self.next_seq();
        let outcome = self.handles.close(value, &closer, seq, self.site());
        let status = match outcome {
            CloseOutcome::Closed(info) => {
                self.registry.journal.note(|| RegistryAccess::Close { path: self.registry.path_of(info.object) });
                let stale = expected_serial.is_some_and(|s| s != info.serial);
                if stale || info.owner != closer {
                    let kind =
                        if stale { ViolationKind::StaleCloseReusedSlot } else { ViolationKind::ClosedForeignHandle };
                    let outcome = if stale {
                        "the victim's handle was closed silently (docs/facts.md#f67: slot reused by an unprotected handle)"
                    } else {
                        "closed; its owner will close the same value again later"
                    };
                    self.violations.push(OwnershipViolation {
                        kind,
                        handle: value,
                        closer: closer.clone(),
                        victim: Some(info.owner),
                        outcome: outcome.into(),
                        seq,
                    });
                }
                crate::STATUS_SUCCESS
            }
            CloseOutcome::Protected(info) => {
                // F67b: a protected handle closed from kernel mode bug-checks
                // 0x93 {h, 0, 0, 0} (F41, the report's shape); Arg1 stripped (F68).
                let stale = expected_serial.is_some_and(|s| s != info.serial);
                let outcome = "bug check 0x93 (protected handle closed)".to_string();
                if stale || info.owner != closer {
                    let kind =
                        if stale { ViolationKind::StaleCloseReusedSlot } else { ViolationKind::ClosedForeignHandle };
                    self.violations.push(OwnershipViolation {
                        kind,
                        handle: value,
                        closer: closer.clone(),
                        victim: Some(info.owner.clone()),
                        outcome: outcome.clone(),
                        seq,
                    });
                }
                self.handles.record_bad_close(
                    value,
                    &closer,
                    format!("slot held by protected handle of {}; {outcome}", info.owner),
                    seq,
                    self.site(),
                );
                let cause = self.root_cause_for(value, &closer);
                self.bug_check(BugCheck::invalid_kernel_handle(value, true), Some(value), cause);
                crate::STATUS_HANDLE_NOT_CLOSABLE
            }
            CloseOutcome::Invalid => {
                // F67a: free slot → STATUS_INVALID_HANDLE, unless a kernel
                // debugger is on and the caller's process has a PEB (F42), or
                // Driver Verifier's misc checks force the bug check (F67c).
                let fatal =
                    (self.settings.kernel_debugger && self.process.has_peb) || self.settings.verifier_misc_checks;
                let outcome = if fatal {
                    "bug check 0x93 (invalid handle closed)".to_string()
                } else {
                    "STATUS_INVALID_HANDLE returned (silent unless a debugger or Driver Verifier is on, docs/facts.md#f67)"
                        .to_string()
                };
                self.violations.push(OwnershipViolation {
                    kind: ViolationKind::StaleCloseFreeSlot,
                    handle: value,
                    closer: closer.clone(),
                    victim: None,
                    outcome: outcome.clone(),
                    seq,
                });
                let site = self.site();
                self.handles.record_bad_close(value, &closer, format!("no open handle; {outcome}"), seq, site);
                if fatal {
                    let cause = self.root_cause_for(value, &closer);
                    self.bug_check(BugCheck::invalid_kernel_handle(value, false), Some(value), cause);
                }
                crate::STATUS_INVALID_HANDLE
            }
        };
        self.pop_frame();
        self.pop_frame();
        status
    }

    /// Who closed `closer`'s handle before `closer` did, from the violations
    /// recorded so far: the sentence a developer needs and a dump cannot give.
    fn root_cause_for(&self, value: u64, closer: &HandleOwner) -> Option<String> {
        let slot = HandleTable::stripped(value) >> 2;
        self.violations
            .iter()
            .rev()
            .find(|v| {
                v.kind == ViolationKind::ClosedForeignHandle
                    && HandleTable::stripped(v.handle) >> 2 == slot
                    && v.victim.as_ref() == Some(closer)
            })
            .map(|v| {
                format!(
                    "{} closed handle {:#x} (event #{}), which belonged to {}; the second close, by {}, is the one that stopped the machine",
                    v.closer,
                    v.handle,
                    v.seq,
                    closer,
                    closer.module()
                )
            })
    }

    /// Opens a registry key for `owner` and enters it in the handle table
    /// (ZwOpenKey/ZwCreateKey semantics; F8: kernel handles).
    pub fn open_key_handle(
        &mut self,
        owner: HandleOwner,
        base: Option<usize>,
        name: &str,
        access: u32,
        create: Option<bool>,
        protected: bool,
    ) -> Result<(u64, bool), NTSTATUS> {
        let result = match create {
            None => self.registry.lookup(base, name).map(|n| (n, false)),
            Some(volatile) => self.registry.create(base, name, volatile),
        };
        let (node, created) = result.map_err(|e| match e {
            PathError::NotFound => crate::STATUS_OBJECT_NAME_NOT_FOUND,
            PathError::Invalid => crate::STATUS_OBJECT_NAME_INVALID,
        })?;
        let serial = self.next_seq();
        let path = self.registry.path_name(node);
        self.registry.journal.note(|| RegistryAccess::Open { path: path.to_string(), created });
        let site = self.site();
        let access = map_generic_key_access(access);
        let entry = HandleEntry { object: node, access, protected, owner, serial };
        Ok((self.handles.insert(entry, path, serial, site), created))
    }
}

/// Maps generic rights to key rights as the configuration manager's generic
/// mapping does (ASSUMPTION: from the "Registry Key Security and Access Rights"
/// page, not yet in docs/facts.md: GENERIC_READ = KEY_READ, GENERIC_WRITE =
/// KEY_WRITE, GENERIC_EXECUTE = KEY_EXECUTE, GENERIC_ALL = KEY_ALL_ACCESS).
fn map_generic_key_access(access: u32) -> u32 {
    const GENERIC_EXECUTE: u32 = 0x2000_0000;
    let mut mapped = access & !(crate::GENERIC_READ | crate::GENERIC_WRITE | GENERIC_EXECUTE | crate::GENERIC_ALL);
    for (generic, specific) in [
        (crate::GENERIC_READ, crate::KEY_READ),
        (crate::GENERIC_WRITE, crate::KEY_WRITE),
        (GENERIC_EXECUTE, crate::KEY_EXECUTE),
        (crate::GENERIC_ALL, crate::KEY_ALL_ACCESS),
    ] {
        if access & generic != 0 {
            mapped |= specific;
        }
    }
    mapped
}

/// A simulated machine, owned by one test thread.
///
/// Creating it installs fresh state for the current thread; dropping it
/// removes that state. It is neither `Send` nor `Sync`.
pub struct Machine {
    _not_send: PhantomData<*const ()>,
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

/// The error of a control call: the machine has stopped.
pub type Stopped = Box<Stop>;

impl Machine {
    /// A fresh machine with `settings` for this thread.
    ///
    /// # Panics
    /// If this thread already has a machine (a test that creates two at once
    /// is wrong, and sharing one would mix their records).
    pub fn new(settings: Settings) -> Machine {
        STATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            assert!(slot.is_none(), "kmdf-sim: this thread already has a Machine; drop it before creating another");
            *slot = Some(State::new(settings));
        });
        Machine { _not_send: PhantomData }
    }

    fn state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        with_state(f).expect("a Machine's state exists while the Machine lives")
    }

    /// Runs `f` on the state (no driver code may run inside `f`).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.state(f)
    }

    /// `Err(stop)` once the machine has stopped.
    pub(crate) fn check_running(&self) -> Result<(), Stopped> {
        self.stopped().map_or(Ok(()), |stop| Err(Box::new(stop)))
    }

    /// Installs a driver package for PnP (what `pnputil /add-driver
    /// /install` leaves behind): `add_device` loads it when a devnode needs
    /// it, and the last device's removal unloads it (F37).
    pub fn install(&self, image: &str, service: &str, entry: crate::DRIVER_INITIALIZE) {
        self.state(|s| s.installed = Some((Name::copy_of(image), service.to_string(), entry)));
    }

    /// Loads the installed driver.
    pub(crate) fn load_installed(&self) -> Result<NTSTATUS, Stopped> {
        let (image, service, entry) = self.state(|s| s.installed.clone()).expect("kmdf-sim: no driver is installed");
        self.load(&image, &service, entry)
    }

    /// Reports of the unloads the machine did by itself: after a failed
    /// DriverEntry, and when a driver's last device went (F37).
    pub fn unload_reports(&self) -> Vec<UnloadReport> {
        self.state(|s| s.unload_reports.clone())
    }

    /// Like [`Machine::unload_reports`], emptying the list (long runs).
    pub fn take_unload_reports(&self) -> Vec<UnloadReport> {
        self.state(|s| std::mem::take(&mut s.unload_reports))
    }

    fn stopped(&self) -> Option<Stop> {
        self.state(|s| s.stop.clone())
    }

    /// Runs driver code as `image` (e.g. `"rawclient.sys"`) entered at
    /// `symbol` (e.g. `"DriverUnload"`), in the System process at PASSIVE_LEVEL.
    ///
    /// Returns the closure's value, or the stop if the machine stopped during
    /// the call (or had stopped before it). A panic in the closure is a driver
    /// panic: on Windows wdk-panic turns it into bug check 0x52504E43
    /// (windows-drivers-rs guide §4), and so does the machine.
    pub fn run<R>(&self, image: &str, symbol: &str, f: impl FnOnce() -> R) -> Result<R, Stopped> {
        self.run_in(image, symbol, "System", false, 0, f)
    }

    /// Like [`Machine::run`], at `irql` (e.g. `DISPATCH_LEVEL as u8`, as in a
    /// DPC or under a spin lock). Passive objects deleted meanwhile are
    /// disposed by the PASSIVE work item when the call returns (F9, F34).
    pub fn run_at_irql<R>(&self, image: &str, symbol: &str, irql: u8, f: impl FnOnce() -> R) -> Result<R, Stopped> {
        let result = self.run_in(image, symbol, "System", false, irql, f);
        if result.is_ok() {
            self.drain_deferred_deletes();
        }
        result.and_then(|r| self.stopped().map_or(Ok(r), |stop| Err(Box::new(stop))))
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
        self.run_in(image, symbol, process, true, 0, f)
    }

    fn run_in<R>(
        &self,
        image: &str,
        symbol: &str,
        process: &str,
        has_peb: bool,
        irql: u8,
        f: impl FnOnce() -> R,
    ) -> Result<R, Stopped> {
        if let Some(stop) = self.stopped() {
            return Err(Box::new(stop));
        }
        let saved = self.state(|s| {
            let saved = (s.process.clone(), s.irql);
            s.process = Process { name: process.into(), has_peb };
            s.irql = irql;
            s.push_driver_frame(image, symbol);
            (saved, s.frames.len() - 1)
        });
        let result = catch_unwind(AssertUnwindSafe(f));
        if result.is_ok() && depth_is_outermost(self) {
            timers::run_work_items();
        }
        self.state(|s| {
            if let Err(payload) = &result {
                let message = panic_message(payload.as_ref());
                s.rust_panic_stop(format!(
                    "{image} panicked: {message} (K5: the driver must return an NTSTATUS instead)"
                ));
            }
            s.frames.truncate(saved.1);
            (s.process, s.irql) = saved.0;
        });
        match (self.stopped(), result) {
            (Some(stop), _) => Err(Box::new(stop)),
            (None, Ok(r)) => Ok(r),
            (None, Err(_)) => unreachable!("a driver panic always records a stop"),
        }
    }

    /// The stop, if the machine has stopped.
    pub fn stop(&self) -> Option<Stop> {
        self.stopped()
    }

    /// What the framework traced (e.g. F14's write-open warning), in order.
    pub fn framework_log(&self) -> Vec<String> {
        self.state(|s| s.framework_log.clone())
    }

    /// KMDF verifier breaks a kernel debugger caught (F65), in order.
    pub fn verifier_breaks(&self) -> Vec<String> {
        self.state(|s| s.verifier_breaks.clone())
    }

    /// Every ownership violation recorded so far, in order.
    pub fn violations(&self) -> Vec<OwnershipViolation> {
        self.state(|s| s.violations.clone())
    }

    /// The history of the slot `handle` names (every occupant, oldest first).
    pub fn handle_history(&self, handle: u64) -> Vec<HandleEvent> {
        self.state(|s| s.handles.history_of(handle))
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

    /// Turns the call record on (cleared) or off: from then on every admitted
    /// DDI and kernel routine call is recorded in order, with its status and
    /// the registry keys and values it touched ([`Machine::call_record`]).
    pub fn record_calls(&self, on: bool) {
        self.state(|s| s.recorder.set(on, &s.registry.journal));
    }

    /// The calls recorded since [`Machine::record_calls`] turned the record on.
    pub fn call_record(&self) -> Vec<CallRecord> {
        self.state(|s| s.recorder.calls(&s.registry.journal))
    }

    /// Calls refused because the machine had stopped.
    pub fn refused_calls(&self) -> u64 {
        self.state(|s| s.refused_calls)
    }

    /// Creates every missing key along an absolute `\Registry\...` path.
    pub fn registry_create_key(&self, path: &str) -> Result<(), NTSTATUS> {
        self.state(|s| s.registry.create_path(path).map(|_| ()).map_err(|_| crate::STATUS_OBJECT_NAME_INVALID))
    }

    /// Sets a value on the key at an absolute `\Registry\...` path, creating
    /// missing keys (machine setup, e.g. the INF's AddReg).
    pub fn registry_set_value(&self, path: &str, name: &str, kind: u32, data: &[u8]) -> Result<(), NTSTATUS> {
        self.state(|s| {
            let node = s.registry.create_path(path).map_err(|_| crate::STATUS_OBJECT_NAME_INVALID)?;
            s.registry.set_value(node, name, kind, data.to_vec());
            Ok(())
        })
    }

    /// Seeds keys and values from a `.reg`-like description (see
    /// [`registry::Registry::seed`]), e.g. the values an INF's AddReg writes.
    pub fn registry_seed(&self, text: &str) -> Result<(), registry::SeedError> {
        self.state(|s| s.registry.seed(text))
    }

    /// The keys and values below an absolute `\Registry\...` path, to put
    /// back with [`Machine::registry_restore`] (e.g. a driver's service key
    /// as its INF provisioned it); `None` if the key does not exist.
    pub fn registry_checkpoint(&self, path: &str) -> Option<registry::Checkpoint> {
        self.state(|s| s.registry.checkpoint(path))
    }

    /// Puts a [`Machine::registry_checkpoint`] back (see
    /// [`registry::Registry::restore`]).
    pub fn registry_restore(&self, checkpoint: &registry::Checkpoint) {
        self.state(|s| s.registry.restore(checkpoint));
    }

    /// Whether a key exists at an absolute `\Registry\...` path.
    pub fn registry_key_exists(&self, path: &str) -> bool {
        self.state(|s| s.registry.lookup(None, path).is_ok())
    }

    /// Reads a value (type, data) from the key at an absolute path.
    pub fn registry_value(&self, path: &str, name: &str) -> Option<(u32, Vec<u8>)> {
        self.state(|s| {
            let node = s.registry.lookup(None, path).ok()?;
            s.registry.value(node, name).map(|v| (v.kind, v.data.clone()))
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
        self.state(|s| s.interleaved_open = Some((image.to_string(), path.to_string(), protected)));
    }

    /// Whether `handle` is open and who owns it.
    pub fn handle_owner(&self, handle: u64) -> Option<HandleOwner> {
        self.state(|s| s.handles.get(handle).map(|e| e.owner.clone()))
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
        if let Some(stop) = self.stopped() {
            return Err(Box::new(stop));
        }
        let Some(entry) = entry else {
            return Ok(crate::STATUS_INVALID_PARAMETER);
        };
        let (object, path) = self.state(|s| {
            assert!(s.driver.is_none(), "kmdf-sim: a driver is already loaded; unload it first");
            let key = format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{service}");
            let _ = s.registry.create_path(&key);
            // The kernel passes the service key in its own spelling.
            let mut buffer: Vec<u16> =
                format!(r"\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\{service}").encode_utf16().collect();
            let bytes = u16::try_from(buffer.len() * 2).unwrap_or(0xFFFE);
            let registry_path =
                Box::new(crate::UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: buffer.as_mut_ptr() });
            // The driver object is numbered in the machine's object sequence
            // (its first value), so WDF handle values in histories stay the
            // same from run to run.
            let _ = s.new_object_value();
            let mut name: Vec<u16> = format!(r"\Driver\{service}").encode_utf16().collect();
            let name_bytes = u16::try_from(name.len() * 2).unwrap_or(0xFFFE);
            // What the I/O manager fills in before DriverEntry that a KMDF
            // driver could read: type, size, name, entry point. ASSUMPTION
            // (DRIVER_OBJECT, learn.microsoft.com/windows-hardware/drivers/ddi/wdm/ns-wdm-_driver_object):
            // no WDM dispatch is modelled, so DeviceObject, DriverExtension,
            // DriverUnload and MajorFunction stay null — KMDF owns them.
            let object = crate::_DRIVER_OBJECT {
                Type: crate::IO_TYPE_DRIVER as crate::CSHORT,
                Size: core::mem::size_of::<crate::_DRIVER_OBJECT>() as crate::CSHORT,
                DriverName: crate::UNICODE_STRING {
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
                service: service.to_string(),
                service_key: Name::from(key.clone()),
                object: Box::new(object),
                _driver_name_buffer: name,
                registry_path,
                _registry_path_buffer: buffer,
            };
            let object = std::ptr::from_mut(loaded.object.as_mut());
            let path = std::ptr::from_mut(loaded.registry_path.as_mut());
            s.driver = Some(loaded);
            (object, path)
        });
        // SAFETY: `entry` is the driver's DRIVER_INITIALIZE; both pointers point
        // into boxes the machine keeps alive until the driver is unloaded.
        let status = self.run(image, "DriverEntry", || unsafe { entry(object, path) })?;
        if !crate::NT_SUCCESS(status) {
            if let Some(driver) = self.state(|s| s.driver_object()) {
                objects::delete_subtree(driver);
            }
            // The image is unloaded after a failed DriverEntry: what it left
            // behind is reported like any unload's leaks.
            self.state(|s| {
                let report = s.finish_unload(image);
                s.unload_reports.push(report);
            });
        }
        self.stopped().map_or(Ok(status), |stop| Err(Box::new(stop)))
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
        if let Some(stop) = self.stopped() {
            return Err(Box::new(stop));
        }
        let (image, depth) = self.state(|s| {
            let image = s.driver.as_ref().map(|d| d.image.clone()).expect("kmdf-sim: no driver is loaded");
            let depth = s.frames.len();
            s.push_frame(KERNEL_MODULE, "nt!IopLoadUnloadDriver");
            s.push_driver_frame(&image, "FxStubDriverUnload");
            s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxDriver::Unload");
            (image, depth)
        });
        let driver = self.state(|s| s.driver_object());
        if let Some(driver) = driver {
            let unload = self.state(|s| match s.objects.get(&driver).map(|o| &o.kind) {
                Some(objects::ObjectKind::Driver { unload, .. }) => *unload,
                _ => None,
            });
            if let Some(unload) = unload {
                self.state(|s| s.push_driver_frame(&image, "EvtDriverUnload"));
                // SAFETY: the driver registered EvtDriverUnload in its
                // WDF_DRIVER_CONFIG; KMDF calls it with the WDFDRIVER first (F27).
                unsafe { unload(driver as crate::WDFDRIVER) };
                self.state(|s| s.pop_frame());
            }
            self.state(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxObject::DeleteObject"));
            objects::delete_subtree(driver);
            self.state(|s| s.pop_frame());
        }
        self.drain_deferred_deletes();
        let report = self.state(|s| {
            s.frames.truncate(depth);
            s.finish_unload(&image)
        });
        self.stopped().map_or(Ok(report), |stop| Err(Box::new(stop)))
    }

    /// Runs the PASSIVE work item that disposes passive objects whose delete
    /// arrived above PASSIVE_LEVEL (F9, F34).
    fn drain_deferred_deletes(&self) {
        while let Some(h) = self.state(|s| s.deferred_deletes.pop()) {
            self.state(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxDisposeList::DrainListLocked"));
            objects::delete_subtree(h);
            self.state(|s| s.pop_frame());
        }
    }

    /// The service name of the loaded driver, if one is loaded.
    pub fn loaded_service(&self) -> Option<String> {
        self.state(|s| s.driver.as_ref().map(|d| d.service.clone()))
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
            s.pool
                .live
                .iter()
                .map(|(a, b)| PoolAllocation { address: *a as u64, size: b.size, tag: b.tag, owner: b.owner.clone() })
                .collect()
        })
    }

    /// The `WDFKEY` values of the key objects that are still alive.
    pub fn live_keys(&self) -> Vec<u64> {
        self.state(|s| {
            s.objects
                .iter()
                .filter(|(_, o)| matches!(o.kind, objects::ObjectKind::Key { .. }))
                .map(|(h, _)| *h)
                .collect()
        })
    }

    /// Every live framework object: handle and WDF type name.
    pub fn live_objects(&self) -> Vec<(u64, &'static str)> {
        self.state(|s| s.objects.iter().map(|(h, o)| (*h, o.kind.type_name())).collect())
    }

    /// The parent of a live framework object.
    pub fn object_parent(&self, object: u64) -> Option<u64> {
        self.state(|s| s.objects.get(&object).and_then(|o| o.parent))
    }

    /// The WDM handle a live key object holds (`m_Key`), if any.
    pub fn key_handle(&self, key: u64) -> Option<u64> {
        self.state(|s| match s.objects.get(&key).map(|o| &o.kind) {
            Some(objects::ObjectKind::Key { handle, .. }) => *handle,
            _ => None,
        })
    }
}

impl Drop for Machine {
    /// Forgets the thread's machine. A Machine kept in a thread-local of
    /// its own may be dropped while the thread exits, after the simulator's
    /// state is gone: then there is nothing left to forget.
    fn drop(&mut self) {
        let _ = STATE.try_with(|cell| cell.borrow_mut().take());
    }
}
