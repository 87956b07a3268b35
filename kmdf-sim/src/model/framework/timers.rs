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
use crate::model::{Engine, FRAMEWORK_MODULE, KERNEL_MODULE, Stopped, with_state};

/// 100-ns ticks per millisecond.
pub(crate) const TICKS_PER_MS: u64 = 10_000;

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
        self.dispatch_waiting()
    }
}
