//! Simulated time and framework timers (wdftimer.h).
//!
//! The machine has a clock in 100-ns units since boot, as `KeQuerySystemTime`
//! counts. It moves only when a test lets it ([`Engine::advance_time`]) or
//! when simulated code waits ([`Engine::wait_for_request`],
//! `WdfIoQueueStopSynchronously`): then the timers due by then fire in order,
//! each in the System process at DISPATCH_LEVEL — the WDFTIMER page: a
//! timer's EvtTimerFunc runs at DISPATCH_LEVEL unless its ExecutionLevel is
//! WdfExecutionLevelPassive (then PASSIVE_LEVEL, F34).

use super::objects::ObjectKind;
use super::pnp::{IoOutcome, call_driver};
use crate::abi::*;
use crate::model::kernel::stack::Process;
use crate::model::{Engine, FRAMEWORK_MODULE, KERNEL_MODULE, Routine, Stopped, with_state};

/// 100-ns ticks per millisecond.
pub(crate) const TICKS_PER_MS: u64 = 10_000;

thread_local! {
    /// Whether this thread's machine may have work items queued: set when
    /// one is queued, cleared when [`run_work_items`] finds the queue empty.
    /// `run_work_items` runs after every outermost driver call; this keeps
    /// it from borrowing the state when there is nothing to run (the
    /// machine is per thread).
    static WORK_QUEUED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One WDFTIMER.
#[derive(Debug)]
pub(crate) struct TimerState {
    pub callback: unsafe extern "C" fn(WDFTIMER),
    /// `Period` in milliseconds; 0 = one-shot.
    pub period_ms: u32,
    /// When it fires next (clock ticks), if it is in the timer queue.
    pub due: Option<u64>,
    /// The parent object (`WdfTimerGetParentObject`).
    pub parent: u64,
    /// ExecutionLevel passive: EvtTimerFunc at PASSIVE_LEVEL.
    pub passive: bool,
}

/// The clock of this thread's machine (0 without one).
pub(crate) fn now() -> u64 {
    with_state(|s| s.kernel.clock).unwrap_or(0)
}

/// The due time a `WdfTimerStart` DueTime gives: negative = relative, in
/// 100-ns units; positive = absolute system time; 0 = now (KeSetTimer's
/// convention, which the WdfTimerStart page refers to).
pub(crate) fn due_from(clock: u64, due_time: i64) -> u64 {
    if due_time < 0 { clock.saturating_add(due_time.unsigned_abs()) } else { (due_time as u64).max(clock) }
}

/// Fires the earliest timer due at or before `deadline`, moving the clock
/// to its due time. Returns false when none is due by then (the clock is
/// then left where it is). Runs driver code: no borrow of the state held.
pub(crate) fn run_next_timer_until(deadline: u64) -> bool {
    let next = with_state(|s| {
        if s.is_stopped() {
            return None;
        }
        let (handle, due) = s
            .framework
            .objects
            .iter()
            .filter_map(|(h, o)| match &o.kind {
                ObjectKind::Timer(t) => t.due.map(|d| (*h, d)),
                _ => None,
            })
            .filter(|&(_, d)| d <= deadline)
            .min_by_key(|&(h, d)| (d, h))?;
        s.kernel.clock = s.kernel.clock.max(due);
        let object = s.framework.objects.get_mut(&handle)?;
        let image = object.driver.clone();
        let ObjectKind::Timer(t) = &mut object.kind else { return None };
        // A periodic timer is re-queued before its callback runs, as the
        // kernel re-inserts a periodic KTIMER when it expires.
        t.due = (t.period_ms > 0).then(|| due.saturating_add(u64::from(t.period_ms) * TICKS_PER_MS));
        let irql = if t.passive { crate::abi::PASSIVE_LEVEL as u8 } else { crate::abi::DISPATCH_LEVEL as u8 };
        let callback = t.callback;
        Some((handle, callback, irql, image))
    })
    .flatten();
    let Some((handle, callback, irql, image)) = next else { return false };
    let saved = with_state(|s| {
        let saved = (s.kernel.process.clone(), s.kernel.frames.len());
        s.kernel.process = Process { name: "System".into(), has_peb: false };
        s.push_frame(KERNEL_MODULE, "nt!KiTimerExpiration");
        s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxTimer::TimerHandler");
        saved
    });
    // SAFETY: the EvtTimerFunc the driver registered in WDF_TIMER_CONFIG,
    // called with its live WDFTIMER.
    call_driver(&image, "EvtTimerFunc", irql, || unsafe { callback(handle as WDFTIMER) });
    with_state(|s| {
        if let Some((process, depth)) = saved {
            s.kernel.frames.truncate(depth);
            s.kernel.process = process;
        }
    });
    true
}

/// Runs the queued work items, in order, each at PASSIVE_LEVEL in the
/// System process (a system worker thread; the WDFWORKITEM page: the
/// callback runs at PASSIVE_LEVEL). ASSUMPTION: the worker runs as soon as
/// the thread that queued the item returns to the simulator. Runs driver
/// code: no borrow of the state held.
pub(crate) fn run_work_items() {
    // DPCs queued meanwhile run first, at DISPATCH_LEVEL (F147).
    crate::model::kernel::dpc::run_dpcs();
    if !WORK_QUEUED.get() {
        return;
    }
    while let Some((item, callback, image)) = with_state(|s| {
        while let Some(item) = s.framework.work_queue.pop_front() {
            if s.is_stopped() {
                return None;
            }
            if let Some(o) = s.framework.objects.get(&item)
                && let ObjectKind::WorkItem { callback, .. } = &o.kind
            {
                return Some((item, *callback, o.driver.clone()));
            }
        }
        WORK_QUEUED.set(false);
        None
    })
    .flatten()
    {
        let saved = with_state(|s| {
            let saved = (s.kernel.process.clone(), s.kernel.frames.len());
            s.kernel.process = Process { name: "System".into(), has_peb: false };
            s.push_frame(KERNEL_MODULE, "nt!ExpWorkerThread");
            s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxWorkItem::WorkItemHandler");
            saved
        });
        // SAFETY: the EvtWorkItemFunc the driver registered in
        // WDF_WORKITEM_CONFIG, called with its live WDFWORKITEM.
        call_driver(&image, "EvtWorkItemFunc", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
            callback(item as WDFWORKITEM)
        });
        with_state(|s| {
            if let Some((process, depth)) = saved {
                s.kernel.frames.truncate(depth);
                s.kernel.process = process;
            }
        });
    }
}

impl Engine {
    /// The machine's clock: 100-ns units since boot.
    pub(crate) fn now(&self) -> u64 {
        self.with(|s| s.kernel.clock)
    }

    /// Lets `ms` milliseconds of simulated time pass: every timer due by
    /// then fires, in order, and requests that can be presented are.
    pub(crate) fn advance_time(&self, ms: u64) -> Result<(), Stopped> {
        self.check_running()?;
        let deadline = self.now().saturating_add(ms.saturating_mul(TICKS_PER_MS));
        while crate::model::kernel::dpc::run_next_due(deadline) {
            self.after_callback()?;
        }
        self.with(|s| s.kernel.clock = s.kernel.clock.max(deadline));
        self.check_running()
    }

    /// Waits as an application's synchronous ReadFile / WriteFile /
    /// DeviceIoControl does: simulated time runs (timers fire) until the
    /// request completes or `timeout_ms` has passed; then how it stands.
    pub(crate) fn wait_for_request(&self, request: u64, timeout_ms: u64) -> Result<IoOutcome, Stopped> {
        self.check_running()?;
        let deadline = self.now().saturating_add(timeout_ms.saturating_mul(TICKS_PER_MS));
        loop {
            let outcome = self.request_outcome(request);
            if outcome != IoOutcome::Pending {
                return Ok(outcome);
            }
            if !crate::model::kernel::dpc::run_next_due(deadline) {
                self.with(|s| s.kernel.clock = s.kernel.clock.max(deadline));
                return Ok(self.request_outcome(request));
            }
            self.after_callback()?;
        }
    }

    /// Timers of the loaded driver still queued: (WDFTIMER, due time).
    pub(crate) fn queued_timers(&self) -> Vec<(u64, u64)> {
        self.with(|s| {
            s.framework
                .objects
                .iter()
                .filter_map(|(h, o)| match &o.kind {
                    ObjectKind::Timer(t) => t.due.map(|d| (*h, d)),
                    _ => None,
                })
                .collect()
        })
    }

    /// What the framework does when a DPC or callback returns: present
    /// requests that can now be presented, and run the PASSIVE disposals.
    fn after_callback(&self) -> Result<(), Stopped> {
        self.check_running()?;
        run_work_items();
        self.drain_deferred_deletes();
        // A WDM file whose last IRP a DPC completed gets its IRP_MJ_CLOSE.
        self.io_close_due()?;
        self.dispatch_waiting()
    }
}

/// `WdfTimerCreate` (WdfTimerCreate page): a WDFTIMER whose EvtTimerFunc
/// runs when it expires, every `period_ms` ms when periodic. The page
/// requires `Attributes->ParentObject` (a device, a queue or, from 1.9,
/// another object); ASSUMPTION: without one the call fails with
/// STATUS_INVALID_PARAMETER (KMDF source fxtimerapi.cpp validates it).
/// `AutomaticSerialization` serializes EvtTimerFunc with the parent's
/// callbacks; the simulated machine runs one callback at a time, so that
/// holds by construction. `None`: no machine.
pub(crate) fn create_timer(
    callback: unsafe extern "C" fn(WDFTIMER),
    period_ms: u32,
    attributes: super::objects::Attributes,
) -> Option<Result<u64, NTSTATUS>> {
    let Some(parent) = attributes.parent else { return Some(Err(STATUS_INVALID_PARAMETER)) };
    with_state(|s| {
        let image = s.caller_image();
        let state = TimerState { callback, period_ms, due: None, parent, passive: attributes.passive };
        s.create_object(ObjectKind::Timer(Box::new(state)), image, attributes)
    })
}

/// Runs `f` on `routine`'s live WDFTIMER `timer` with the clock (F91's
/// check first); `None` when the check failed it.
fn with_timer<R>(routine: Routine, timer: WDFTIMER, f: impl FnOnce(&mut TimerState, u64) -> R) -> Option<R> {
    with_state(|s| {
        let clock = s.kernel.clock;
        match &mut s.fx_object(routine, 0, timer as u64).ok()?.kind {
            ObjectKind::Timer(t) => Some(f(t, clock)),
            _ => unreachable!("the handle table admits only timers for a WDFTIMER"),
        }
    })
    .flatten()
}

/// `WdfTimerStart`: queues the timer for `due_time` (negative: relative, in
/// 100-ns units; positive: absolute system time). TRUE if it was already
/// queued (it is then re-queued for the new time) — the DDI page.
pub(crate) fn timer_start(timer: WDFTIMER, due_time: i64) -> bool {
    with_timer(Routine::WdfTimerStart, timer, |t, clock| t.due.replace(due_from(clock, due_time)).is_some())
        .unwrap_or(false)
}

/// `WdfTimerStop`: takes the timer out of the queue; TRUE if it was queued
/// (the DDI page). With `wait` the caller waits for a running EvtTimerFunc
/// to return — the simulated machine runs one callback at a time, so none
/// is running. `Wait` must be used at PASSIVE_LEVEL (the DDI page): above
/// it, with the KMDF verifier on, the framework breaks and returns FALSE
/// with the timer left as it was (`WdfTimerStop` in fxtimerapi.cpp through
/// `FxVerifierCheckIrqlLevel`, and `FxTimer::Stop` in fxtimer.cpp, F65).
/// ASSUMPTION: with the verifier off the framework goes on to stop the
/// timer, and the wait, with no callback running on the machine, returns
/// at once (`data/ddi-irql-overrides.tsv` lets Wait = FALSE run at
/// DISPATCH).
pub(crate) fn timer_stop(timer: WDFTIMER, wait: bool) -> bool {
    if wait {
        let refused = with_state(|s| {
            if s.kernel.irql == PASSIVE_LEVEL as u8 || !s.settings.kmdf_verifier {
                return false;
            }
            let message = format!("WdfTimerStop with Wait = TRUE at IRQL {}; it must be PASSIVE_LEVEL", s.kernel.irql);
            s.framework.framework_log.push(message.clone());
            super::verifier::verifier_break(s, &message);
            true
        });
        if refused != Some(false) {
            return false;
        }
    }
    with_timer(Routine::WdfTimerStop, timer, |t, _| t.due.take().is_some()).unwrap_or(false)
}

/// `WdfTimerGetParentObject`: the timer's parent (0 when the check failed).
pub(crate) fn timer_parent(timer: WDFTIMER) -> u64 {
    with_timer(Routine::WdfTimerGetParentObject, timer, |t, _| t.parent).unwrap_or(0)
}

/// `WdfWorkItemCreate` (the DDI page): a work item whose EvtWorkItemFunc
/// runs at PASSIVE_LEVEL in a system worker thread after WdfWorkItemEnqueue.
/// `Attributes->ParentObject` is required (the page: a device, a queue or
/// another framework object); ASSUMPTION: without one,
/// STATUS_INVALID_PARAMETER. `None`: no machine.
pub(crate) fn create_work_item(
    callback: unsafe extern "C" fn(WDFWORKITEM),
    attributes: super::objects::Attributes,
) -> Option<Result<u64, NTSTATUS>> {
    let Some(parent) = attributes.parent else { return Some(Err(STATUS_INVALID_PARAMETER)) };
    with_state(|s| {
        let image = s.caller_image();
        s.create_object(ObjectKind::WorkItem { callback, parent }, image, attributes)
    })
}

/// `WdfWorkItemEnqueue`: queues the item; an item already queued is not
/// queued again (the DDI page).
pub(crate) fn work_item_enqueue(item: WDFWORKITEM) {
    with_state(|s| {
        if s.fx_check(Routine::WdfWorkItemEnqueue, 0, item as u64).is_ok()
            && !s.framework.work_queue.contains(&(item as u64))
        {
            s.framework.work_queue.push_back(item as u64);
            WORK_QUEUED.set(true);
        }
    });
}

/// `WdfWorkItemFlush`: returns once the item's callback, if queued, has run
/// (the DDI page) — here it runs the queued items now.
pub(crate) fn work_item_flush(item: WDFWORKITEM) {
    let live = with_state(|s| s.fx_check(Routine::WdfWorkItemFlush, 0, item as u64).is_ok());
    if live == Some(true) {
        run_work_items();
    }
}

/// `WdfWorkItemGetParentObject` (0 when the check failed).
pub(crate) fn work_item_parent(item: WDFWORKITEM) -> u64 {
    with_state(|s| match s.fx_object(Routine::WdfWorkItemGetParentObject, 0, item as u64).ok()?.kind {
        ObjectKind::WorkItem { parent, .. } => Some(parent),
        _ => unreachable!("the handle table admits only work items for a WDFWORKITEM"),
    })
    .flatten()
    .unwrap_or(0)
}
