//! DPCs and kernel timers (F147): `KeInitializeDpc`, `KeInsertQueueDpc`,
//! `KeRemoveQueueDpc`, `KeFlushQueuedDpcs`; `KeInitializeTimer(Ex)`,
//! `KeSetTimer(Ex)`, `KeCancelTimer`, `KeReadStateTimer`.
//!
//! Objects are known by the address of the driver's KDPC / KTIMER. A queued
//! DPC runs at DISPATCH_LEVEL in the System process when the machine next
//! has control: when the outermost driver call returns, when a framework
//! callback returns, when time moves, or at `KeFlushQueuedDpcs` — as if on
//! another processor (ASSUMPTION, F147). Kernel timers run on the machine's
//! clock together with the framework's timers: when the test moves time,
//! every timer due fires in due-time order, and a timer with a DPC queues it.

use super::stack::Process;
use crate::model::framework::pnp::call_driver;
use crate::model::framework::timers::{TICKS_PER_MS, run_next_timer_until};
use crate::model::{KERNEL_MODULE, Name, State, with_state};
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};

thread_local! {
    /// Whether this thread's machine has DPCs queued: `run_dpcs` runs after
    /// every outermost driver call, and this keeps it from borrowing the
    /// state when there is nothing to run (the machine is per thread).
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// A `PKDEFERRED_ROUTINE`'s function.
pub(crate) type DeferredRoutine = unsafe extern "C" fn(
    *mut crate::abi::_KDPC,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
);

/// An initialized KDPC.
#[derive(Debug, Clone)]
struct Dpc {
    routine: DeferredRoutine,
    context: u64,
    image: Name,
    /// SystemArgument1/2 while it is queued.
    queued: Option<(u64, u64)>,
    /// Queued by a timer's expiry (0xC7's code 5 rather than 4).
    by_timer: bool,
}

/// An initialized KTIMER.
#[derive(Debug, Clone)]
struct Timer {
    signaled: bool,
    /// When it expires, while it is in the timer queue (clock ticks).
    due: Option<u64>,
    /// KeSetTimerEx's Period, in ticks (0: one-shot).
    period: u64,
    /// The DPC its expiry queues.
    dpc: Option<u64>,
    /// The image that set it last.
    image: Name,
}

/// The machine's DPCs, their queue and its kernel timers.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    dpcs: HashMap<u64, Dpc>,
    queue: VecDeque<u64>,
    timers: HashMap<u64, Timer>,
}

impl Deferred {
    /// No timer was ever initialized (or all were forgotten at unload).
    pub(crate) fn no_timers(&self) -> bool {
        self.timers.is_empty()
    }
}

impl State {
    fn dpc_not_modelled(&mut self, routine: &str, address: u64, what: &str) {
        self.stop_not_modelled(format!("{routine}({address:#x}) on {what} (docs/facts.md#f147)"));
    }

    /// KeInitializeDpc. Re-initializing a queued DPC is a not-modelled
    /// stop of the machine.
    pub(crate) fn ke_initialize_dpc(&mut self, dpc: u64, routine: DeferredRoutine, context: u64) -> Option<()> {
        if self.kernel.deferred.dpcs.get(&dpc).is_some_and(|d| d.queued.is_some()) {
            self.dpc_not_modelled("KeInitializeDpc", dpc, "a DPC that is queued");
            return None;
        }
        let image = self.caller_image();
        self.kernel.deferred.dpcs.insert(dpc, Dpc { routine, context, image, queued: None, by_timer: false });
        Some(())
    }

    /// KeInsertQueueDpc: whether it was queued (FALSE: it already was).
    pub(crate) fn ke_insert_queue_dpc(&mut self, dpc: u64, arguments: (u64, u64)) -> Option<bool> {
        let Some(d) = self.kernel.deferred.dpcs.get_mut(&dpc) else {
            self.dpc_not_modelled("KeInsertQueueDpc", dpc, "a KDPC KeInitializeDpc did not initialize");
            return None;
        };
        if d.queued.is_some() {
            return Some(false);
        }
        d.queued = Some(arguments);
        d.by_timer = false;
        self.kernel.deferred.queue.push_back(dpc);
        QUEUED.set(true);
        Some(true)
    }

    /// KeRemoveQueueDpc: whether it was queued.
    pub(crate) fn ke_remove_queue_dpc(&mut self, dpc: u64) -> Option<bool> {
        let Some(d) = self.kernel.deferred.dpcs.get_mut(&dpc) else {
            self.dpc_not_modelled("KeRemoveQueueDpc", dpc, "a KDPC KeInitializeDpc did not initialize");
            return None;
        };
        let was = d.queued.take().is_some();
        self.kernel.deferred.queue.retain(|q| *q != dpc);
        Some(was)
    }

    /// KeInitializeTimer(Ex): not in the queue, not signalled. The timer's
    /// type matters to waits only, which the model does not serve on a timer
    /// (KeWaitForSingleObject stops as not modelled, F82).
    pub(crate) fn ke_initialize_timer(&mut self, timer: u64) -> Option<()> {
        if self.kernel.deferred.timers.get(&timer).is_some_and(|t| t.due.is_some()) {
            self.dpc_not_modelled("KeInitializeTimer", timer, "a timer that is set");
            return None;
        }
        let image = self.caller_image();
        let t = Timer { signaled: false, due: None, period: 0, dpc: None, image };
        self.kernel.deferred.timers.insert(timer, t);
        Some(())
    }

    /// KeSetTimer(Ex): `due_time` negative relative, positive absolute (100
    /// ns); `period_ms` 0 for a one-shot timer. Whether it was already set.
    pub(crate) fn ke_set_timer(&mut self, timer: u64, due_time: i64, period_ms: i32, dpc: u64) -> Option<bool> {
        let routine = if period_ms == 0 { "KeSetTimer" } else { "KeSetTimerEx" };
        if dpc != 0 && !self.kernel.deferred.dpcs.contains_key(&dpc) {
            self.dpc_not_modelled(routine, timer, "a timer whose KDPC KeInitializeDpc did not initialize");
            return None;
        }
        if period_ms < 0 {
            self.dpc_not_modelled(routine, timer, "a negative Period");
            return None;
        }
        let clock = self.kernel.clock;
        let image = self.caller_image();
        let Some(t) = self.kernel.deferred.timers.get_mut(&timer) else {
            self.dpc_not_modelled(routine, timer, "a KTIMER KeInitializeTimer(Ex) did not initialize");
            return None;
        };
        let was = t.due.is_some();
        t.due = Some(crate::model::framework::timers::due_from(clock, due_time));
        t.period = u64::from(period_ms.unsigned_abs()) * TICKS_PER_MS;
        t.dpc = (dpc != 0).then_some(dpc);
        t.signaled = false;
        t.image = image;
        Some(was)
    }

    /// KeCancelTimer: whether it was set.
    pub(crate) fn ke_cancel_timer(&mut self, timer: u64) -> Option<bool> {
        let Some(t) = self.kernel.deferred.timers.get_mut(&timer) else {
            self.dpc_not_modelled("KeCancelTimer", timer, "a KTIMER KeInitializeTimer(Ex) did not initialize");
            return None;
        };
        Some(t.due.take().is_some())
    }

    /// KeReadStateTimer: whether it is signalled.
    pub(crate) fn ke_read_state_timer(&mut self, timer: u64) -> Option<bool> {
        let Some(t) = self.kernel.deferred.timers.get(&timer) else {
            self.dpc_not_modelled("KeReadStateTimer", timer, "a KTIMER KeInitializeTimer(Ex) did not initialize");
            return None;
        };
        Some(t.signaled)
    }

    /// The earliest kernel timer due at or before `deadline`.
    fn next_kernel_timer(&self, deadline: u64) -> Option<(u64, u64)> {
        self.kernel.deferred.timers.iter().filter_map(|(a, t)| t.due.filter(|d| *d <= deadline).map(|d| (d, *a))).min()
    }

    /// A timer expires at `due`: it is signalled, re-queued when periodic,
    /// and its DPC is queued with the expiry time as its arguments
    /// (ASSUMPTION, F147).
    fn expire_timer(&mut self, timer: u64, due: u64) {
        self.kernel.clock = self.kernel.clock.max(due);
        let Some(t) = self.kernel.deferred.timers.get_mut(&timer) else { return };
        t.signaled = true;
        t.due = (t.period > 0).then(|| due.saturating_add(t.period));
        let Some(dpc) = t.dpc else { return };
        if let Some(d) = self.kernel.deferred.dpcs.get_mut(&dpc)
            && d.queued.is_none()
        {
            d.queued = Some((due & 0xFFFF_FFFF, due >> 32));
            d.by_timer = true;
            self.kernel.deferred.queue.push_back(dpc);
            QUEUED.set(true);
        }
    }

    /// Before a pool block is freed (Miscellaneous Checks): a timer still set
    /// inside it is 0xC4 {0x15, timer, pool type, address} (F147). `true`
    /// after that stop.
    pub(crate) fn freed_pool_holds_timer(&mut self, address: u64, size: usize, pool_type: u64) -> bool {
        if !self.settings.verifier_misc_checks {
            return false;
        }
        let end = address.saturating_add(size as u64);
        let Some(timer) = self
            .kernel
            .deferred
            .timers
            .iter()
            .filter(|(a, t)| t.due.is_some() && (address..end).contains(*a))
            .map(|(a, _)| *a)
            .min()
        else {
            return false;
        };
        let caller = self.caller_image();
        let notes = [String::new(), "the timer".into(), "pool type".into(), "the block freed".into()];
        self.bug_check(
            (0xC4, [0x15, timer, pool_type, address], "DRIVER_VERIFIER_DETECTED_VIOLATION", notes),
            None,
            Some(format!(
                "{caller} freed pool block {address:#x} holding the timer {timer:#x}, still set (KeCancelTimer \
                 before the free; docs/facts.md#f147)"
            )),
        );
        true
    }

    /// At unload: a timer the image set and did not cancel, or a DPC of its
    /// still queued, is TIMER_OR_DPC_INVALID (0xC7 {0 timer | 1 DPC, object,
    /// range start, range end}); the machine has no image range, so both are
    /// 0 (ASSUMPTION, F147).
    pub(crate) fn timer_and_dpc_leak_check(&mut self, image: &str) {
        let d = &mut self.kernel.deferred;
        let timer =
            d.timers.iter().filter(|(_, t)| t.due.is_some() && t.image.as_str() == image).map(|(a, _)| *a).min();
        let dpc = d.dpcs.iter().filter(|(_, p)| p.queued.is_some() && p.image.as_str() == image).map(|(a, _)| *a).min();
        d.timers.retain(|_, t| t.image.as_str() != image);
        d.dpcs.retain(|_, p| p.image.as_str() != image);
        let dpcs = &d.dpcs;
        d.queue.retain(|q| dpcs.contains_key(q));
        let (kind, object, what) = match (timer, dpc) {
            (Some(t), _) => (0, t, format!("the timer {t:#x} still set (KeCancelTimer in its unload path)")),
            (None, Some(p)) => (1, p, format!("the DPC {p:#x} still queued (KeRemoveQueueDpc or KeFlushQueuedDpcs)")),
            (None, None) => return,
        };
        if self.is_stopped() {
            return;
        }
        let notes = ["0: a timer, 1: a DPC.".into(), "the object".into(), "range start".into(), "range end".into()];
        self.bug_check(
            (0xC7, [kind, object, 0, 0], "TIMER_OR_DPC_INVALID", notes),
            None,
            Some(format!("{image} unloaded with {what} (docs/facts.md#f147)")),
        );
    }
}

/// Runs every queued DPC, in order, at DISPATCH_LEVEL in the System process.
/// A DPC routine that leaves the critical-region count changed is 0xC7 {4,
/// routine, before, after} (5 for a timer's DPC, F147). Runs driver code: no
/// borrow of the state held.
pub(crate) fn run_dpcs() {
    if !QUEUED.get() {
        return;
    }
    while let Some((dpc, d)) = with_state(|s| {
        if s.is_stopped() {
            return None;
        }
        let Some(dpc) = s.kernel.deferred.queue.pop_front() else {
            QUEUED.set(false);
            return None;
        };
        let d = s.kernel.deferred.dpcs.get_mut(&dpc)?;
        let args = d.queued.take()?;
        Some((dpc, (d.clone(), args)))
    })
    .flatten()
    {
        let (d, (a1, a2)) = d;
        let saved = with_state(|s| {
            let saved = (s.kernel.process.clone(), s.kernel.frames.len(), s.kernel.sync.critical_regions);
            s.kernel.process = Process { name: "System".into(), has_peb: false };
            s.push_frame(KERNEL_MODULE, "nt!KiRetireDpcList");
            saved
        });
        // SAFETY: the routine the driver gave KeInitializeDpc, called with
        // its KDPC, context and the queue's arguments (F147).
        call_driver(&d.image, "DeferredRoutine", crate::abi::DISPATCH_LEVEL as u8, || unsafe {
            (d.routine)(dpc as *mut _, d.context as *mut _, a1 as *mut _, a2 as *mut _);
        });
        with_state(|s| {
            let Some((process, depth, before)) = saved else { return };
            s.kernel.frames.truncate(depth);
            s.kernel.process = process;
            let after = s.kernel.sync.critical_regions;
            if after != before && !s.is_stopped() {
                let code = if d.by_timer { 5 } else { 4 };
                let routine = d.routine as *const () as u64;
                let notes = [String::new(), "the DPC routine".into(), "before".into(), "after".into()];
                s.bug_check(
                    (0xC7, [code, routine, before as u64, after as u64], "TIMER_OR_DPC_INVALID", notes),
                    None,
                    Some(format!(
                        "{}'s DPC routine {routine:#x} changed the critical-region count from {before} to {after} \
                         (docs/facts.md#f147)",
                        d.image
                    )),
                );
            }
        });
    }
}

/// Fires the earliest timer, kernel or framework, due at or before
/// `deadline` (a kernel timer first on a tie); false when none is due.
pub(crate) fn run_next_due(deadline: u64) -> bool {
    let next = with_state(|s| if s.is_stopped() { None } else { s.next_kernel_timer(deadline) }).flatten();
    match next {
        None => run_next_timer_until(deadline),
        Some((due, timer)) => {
            if run_next_timer_until(due.saturating_sub(1)) {
                return true;
            }
            with_state(|s| s.expire_timer(timer, due));
            run_dpcs();
            true
        }
    }
}
