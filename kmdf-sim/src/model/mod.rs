//! The machine itself: its state and every rule it applies.
//!
//! * [`kernel`] — the NT kernel: handle table, registry, pool and special
//!   pool, bug checks, the simulated thread (stack, process, IRQL).
//! * [`framework`] — KMDF: object tree, driver image, PnP and power, queues
//!   and requests, timers and work items, the KMDF verifier.
//!
//! The state is per thread ([`with_state`]) and split by concern: [`State`]
//! holds the machine-wide records (settings, stop, call counts, faults,
//! debug output) and one sub-struct per layer of the machine
//! ([`kernel::Kernel`], [`framework::Framework`]). Every rule cites a fact of
//! `docs/facts.md` or is marked `ASSUMPTION`.
//!
//! The model uses only `abi` (the shared types and constants): the shims that
//! reach it and the API that drives it sit above it and are never named here.

pub(crate) mod call_record;
pub(crate) mod execution;
pub(crate) mod framework;
pub(crate) mod kernel;
mod name;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) mod native;
#[rustfmt::skip]
mod routine_table;
pub(crate) mod routines;
pub(crate) mod settings;

pub use kernel::bugcheck::Stop;
pub use name::Name;
pub(crate) use routines::Routine;
pub(crate) use settings::Settings;

use crate::abi::NTSTATUS;
use framework::Framework;
use kernel::Kernel;
use kernel::handles::{HandleEntry, HandleOwner};
use kernel::stack::Frame;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The framework's image; it executes every close a key object makes.
pub const FRAMEWORK_MODULE: &str = "Wdf01000.sys";
/// The kernel's image.
pub const KERNEL_MODULE: &str = "ntoskrnl.exe";

/// The per-thread machine state: machine-wide records, and one sub-struct
/// per layer of the machine.
pub(crate) struct State {
    pub settings: Settings,
    /// The kernel's state: handles, registry, pool, the simulated thread.
    pub kernel: Kernel,
    /// The framework's state: objects, the driver, devnodes, requests.
    pub framework: Framework,
    pub(crate) seq: u64,
    pub(crate) stop: Option<Stop>,
    /// The routines called so far, with their IRQL rules and call counts.
    pub(crate) routines: routines::Routines,
    /// The call record (off by default).
    pub(crate) recorder: call_record::Recorder,
    pub(crate) refused_calls: u64,
    /// Planned faults and how many matching calls each has seen.
    pub(crate) faults: Vec<(Fault, u64)>,
    /// Faults that were injected, in order.
    pub(crate) injected: Vec<InjectedFault>,
    /// Test hook: the next call of this DDI panics inside the simulator.
    pub(crate) panic_next: Option<String>,
    /// What drivers printed (DbgPrint / `println!`), newest last, bounded.
    pub(crate) debug_log: std::collections::VecDeque<String>,
    /// How many lines were printed in all (the log keeps the newest).
    pub(crate) debug_lines: u64,
}

/// How many debug-output lines the machine keeps.
pub(crate) const DEBUG_LINES_KEPT: usize = 4096;

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    static IN_DRIVER: Cell<bool> = const { Cell::new(false) };
    /// The running machine's driver globals (its `Box` in the framework
    /// state, stable while the machine lives; null without one): the binding
    /// macro reads it on every DDI call without borrowing the state.
    static GLOBALS: Cell<*mut crate::abi::_WDF_DRIVER_GLOBALS> = const { Cell::new(std::ptr::null_mut()) };
}

/// Runs `f` on this thread's machine state, if a machine exists.
pub(crate) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|cell| {
        // Inside, the simulator runs: its allocations are not the driver's.
        let _ = IN_DRIVER.try_with(|c| c.set(false));
        let mut slot = cell.borrow_mut();
        let r = slot.as_mut().map(f);
        let driver = slot.as_ref().is_some_and(|s| s.kernel.frames.driver_on_top());
        // Driver code runs next: frees made meanwhile become no-access now (F51).
        #[cfg(unix)]
        if driver {
            kernel::special_pool::seal_freed();
        }
        let _ = IN_DRIVER.try_with(|c| c.set(driver));
        r
    })
}

/// Like [`with_state`], for a panic hook: never panics and never waits —
/// `None` without a machine on this thread or while the simulator itself
/// holds the state.
pub(crate) fn try_with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.try_with(|cell| cell.try_borrow_mut().ok().and_then(|mut slot| slot.as_mut().map(f))).ok().flatten()
}

/// The error of a machine operation: the machine has stopped.
pub type Stopped = Box<Stop>;

/// The model's side of a machine: creates this thread's state, removes it
/// when dropped, and carries the operations that run driver code (load,
/// unload, PnP, I/O, time — in `framework`).
///
/// # Invariants
/// While an `Engine` lives, this thread's state exists.
pub(crate) struct Engine {
    _not_send: PhantomData<*const ()>,
}

impl Engine {
    /// Installs fresh state with `settings` for this thread.
    ///
    /// # Panics
    /// If this thread already has a machine.
    pub(crate) fn new(settings: Settings) -> Engine {
        STATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            assert!(slot.is_none(), "kmdf-sim: this thread already has a Machine; drop it before creating another");
            let state = slot.insert(State::new(settings));
            GLOBALS.set(std::ptr::from_mut(state.framework.globals.as_mut()));
        });
        kernel::driver_panic::install_hook();
        Engine { _not_send: PhantomData }
    }

    /// Runs `f` on the state (no driver code may run inside `f`).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        with_state(f).expect("a Machine's state exists while the Machine lives")
    }

    pub(crate) fn state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.with(f)
    }

    /// `Err(stop)` once the machine has stopped.
    pub(crate) fn check_running(&self) -> Result<(), Stopped> {
        // Nearly always running: asked without copying the stop.
        if self.state(|s| s.stop.is_none()) {
            return Ok(());
        }
        self.stopped().map_or(Ok(()), |stop| Err(Box::new(stop)))
    }

    /// The stop, if the machine has stopped.
    pub(crate) fn stopped(&self) -> Option<Stop> {
        self.state(|s| s.stop.clone())
    }
}

impl Drop for Engine {
    /// Forgets the thread's machine. A Machine kept in a thread-local of
    /// its own may be dropped while the thread exits, after the simulator's
    /// state is gone: then there is nothing left to forget.
    fn drop(&mut self) {
        let _ = GLOBALS.try_with(|g| g.set(std::ptr::null_mut()));
        let _ = STATE.try_with(|cell| cell.borrow_mut().take());
        // What the machine still held is freed: sealed like any free, with
        // the held frees of its last unload.
        #[cfg(unix)]
        kernel::special_pool::seal_all();
    }
}

/// Whether this thread is running driver code right now: outside the
/// simulator's own bookkeeping, with a driver image's frame innermost on the
/// simulated stack. Allocation-free and borrow-free, so a test's global
/// allocator may call it to account the driver's own heap (K5).
pub fn in_driver_code() -> bool {
    IN_DRIVER.try_with(Cell::get).unwrap_or(false)
}

/// Makes every special-pool free made since the last time no-access (F51):
/// before driver code runs (see [`with_state`]) and when a machine operation
/// returns to the test.
pub(crate) fn seal_freed() {
    #[cfg(unix)]
    kernel::special_pool::seal_freed();
}

/// The `DriverGlobals` of this thread's machine (null without one).
#[inline]
pub(crate) fn driver_globals() -> *mut crate::abi::_WDF_DRIVER_GLOBALS {
    GLOBALS.try_with(Cell::get).unwrap_or(std::ptr::null_mut())
}

/// Appends a line to the running machine's debug output (what `DbgPrint`
/// writes). Without a machine on this thread the text goes to standard error.
pub(crate) fn debug_print(text: &str) {
    if with_state(|s| s.debug_print(text)).is_none() {
        eprintln!("{}", text.trim_end_matches('\n'));
    }
}

/// A status for calls made after the machine stopped. A real machine would
/// never return, and neither does the driver's code the machine runs: it is
/// halted at the stop (`execution`). Only a routine called outside the
/// machine's driver code (a test calling it directly) returns, with this
/// failure.
pub const STOPPED_STATUS: NTSTATUS = crate::abi::STATUS_UNSUCCESSFUL;

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
        crate::abi::STATUS_INVALID_DEVICE_REQUEST
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

/// LONG_PTR routines (ObfReferenceObject): 0.
impl CheckFailure for i64 {
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
pub(crate) enum IrqlVerdict {
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
}

/// The entry of every DDI and kernel routine of the surface: counts the call,
/// refuses it when the machine has stopped, applies the IRQL rules, pushes
/// `symbol` on the simulated stack, and turns a panic of the simulator into a
/// recorded stop. When the machine has stopped by the time the routine would
/// return (or had stopped before the call), the driver's code that called it
/// is halted and never returned to ([`execution::halt`]).
pub(crate) fn enter<R: CheckFailure>(routine: Routine, refused: R, body: impl FnOnce() -> R) -> R {
    let name = routine.name();
    let injectable = R::injected(0).is_some();
    let admitted = with_state(|s| {
        if s.stop.is_some() {
            s.refused_calls += 1;
            return None;
        }
        s.routines.count(routine);
        s.recorder.begin(name, &s.kernel.registry.journal);
        // Both IRQL rules pass at or below the routine's maximum: only a
        // call above it goes through them.
        let above = routine.max_irql().filter(|&max| s.kernel.irql > max);
        if let Some(max) = above
            && s.driver_verifier_irql_check(name, max) == IrqlVerdict::Fail
        {
            return Some((IrqlVerdict::Fail, 0, false));
        }
        s.kernel.frames.push(Frame::new(Name::from(routine.image()), Name::from(routine.symbol())));
        if let Some(max) = above
            && s.kmdf_verifier_irql_check(name, max) == IrqlVerdict::Fail
        {
            s.kernel.frames.pop();
            return Some((IrqlVerdict::Fail, 0, false));
        }
        if injectable
            && !s.faults.is_empty()
            && let Some(status) = s.planned_fault(name)
        {
            s.kernel.frames.pop();
            return Some((IrqlVerdict::Inject(status), 0, false));
        }
        // The frame just pushed goes when the body returns; the test hook's
        // panic is decided here, in the same borrow.
        let inject = s.panic_next.take_if(|n| n == name).is_some();
        Some((IrqlVerdict::Proceed, s.kernel.frames.len() - 1, inject))
    });
    let (depth, inject) = match admitted {
        None => {
            eprintln!(
                "kmdf-sim: {name} was called on a thread with no simulated machine; \
                 create a kmdf_sim::control::Machine first (the call fails)"
            );
            return refused;
        }
        Some(None) => {
            // The machine had stopped: the driver's code goes no further.
            execution::halt();
            return refused;
        }
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
    match result {
        Ok(r) => {
            // The frame goes and the call record ends in one borrow; a call
            // that stopped the machine halts the driver's code that made it
            // (F110).
            let status = r.status();
            let stopped = with_state(|s| {
                s.kernel.frames.truncate(depth);
                s.recorder.end(status, &s.kernel.registry.journal);
                s.stop.is_some()
            });
            if stopped == Some(true) {
                execution::halt();
            }
            r
        }
        Err(payload) => {
            with_state(|s| s.kernel.frames.truncate(depth));
            let message = panic_message(payload.as_ref());
            with_state(|s| s.record_stop(Stop::SimulatorPanic { location: name.to_string(), message }));
            recorded(refused)
        }
    }
}

/// Ends the innermost call of the call record with `result`'s status; when
/// the call stopped the machine, the driver's code that made it is halted
/// (no driver code runs after a bug check, F110).
fn recorded<R: CheckFailure>(result: R) -> R {
    let stopped = with_state(|s| {
        s.recorder.end(result.status(), &s.kernel.registry.journal);
        s.stop.is_some()
    });
    if stopped == Some(true) {
        execution::halt();
    }
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
            kernel: Kernel::new(&settings),
            framework: Framework::default(),
            settings,
            seq: 0,
            stop: None,
            routines: routines::Routines::default(),
            recorder: call_record::Recorder::default(),
            refused_calls: 0,
            faults: Vec::new(),
            injected: Vec::new(),
            panic_next: None,
            debug_log: std::collections::VecDeque::new(),
            debug_lines: 0,
        };
        let owner = HandleOwner::Component(KERNEL_MODULE.into());
        for _ in 0..s.settings.boot_handles {
            let serial = s.next_seq();
            let entry = HandleEntry { object: 0, access: 0, protected: false, owner: owner.clone(), serial };
            s.kernel.handles.insert(entry, r"\Registry".into(), serial, "nt!Phase1Initialization".into());
        }
        s
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh framework object handle value (never reused in this model).
    pub fn new_object_value(&mut self) -> u64 {
        let id = self.framework.next_object;
        self.framework.next_object += 1;
        // ASSUMPTION: any non-null, pointer-like value; WDF handles are object
        // addresses XOR a mask (F77), which the driver never dereferences.
        0xFFFF_B000_0000_0000 | (id << 4)
    }

    /// DbgPrint: a line of the driver's debug output.
    pub(crate) fn debug_print(&mut self, text: &str) {
        self.debug_lines += 1;
        self.debug_log.push_back(text.trim_end_matches('\n').to_string());
        if self.debug_log.len() > DEBUG_LINES_KEPT {
            self.debug_log.pop_front();
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// Stops the machine: the driver used `what`, which the model does not
    /// serve. Never a silent success or an invented result.
    pub(crate) fn stop_not_modelled(&mut self, what: String) {
        let location = self.site().to_string();
        self.record_stop(Stop::NotModelled { what, location });
    }

    pub(crate) fn record_stop(&mut self, stop: Stop) {
        if self.stop.is_none() {
            self.stop = Some(stop);
        }
    }
}
