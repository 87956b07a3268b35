//! DPCs and kernel timers (F147): the rules are the model's `kernel::dpc`.
//! The shims pass the KDPC's and KTIMER's addresses (the model knows them by
//! address; their contents are the kernel's and are left as they are).

use super::gated;
use crate::abi::*;
use crate::model::Routine;

/// `KeInitializeDpc` (F147).
///
/// # Safety
/// `Dpc` points at the driver's KDPC; `DeferredRoutine` stays callable while
/// the DPC can run.
pub unsafe extern "C" fn KeInitializeDpc(Dpc: PRKDPC, DeferredRoutine: PKDEFERRED_ROUTINE, DeferredContext: PVOID) {
    let (dpc, context) = (Dpc as u64, DeferredContext as u64);
    gated(Routine::KeInitializeDpc, (), |s| match DeferredRoutine {
        Some(routine) => s.ke_initialize_dpc(dpc, routine, context),
        None => {
            s.stop_not_modelled(format!("KeInitializeDpc({dpc:#x}) with a NULL routine (docs/facts.md#f147)"));
            None
        }
    });
}

/// `KeInsertQueueDpc` (F147): TRUE when queued, FALSE when it already was.
///
/// # Safety
/// `Dpc` a KDPC `KeInitializeDpc` initialized.
pub unsafe extern "C" fn KeInsertQueueDpc(Dpc: PRKDPC, SystemArgument1: PVOID, SystemArgument2: PVOID) -> BOOLEAN {
    let arguments = (SystemArgument1 as u64, SystemArgument2 as u64);
    BOOLEAN::from(gated(Routine::KeInsertQueueDpc, false, |s| s.ke_insert_queue_dpc(Dpc as u64, arguments)))
}

/// `KeRemoveQueueDpc` (F147): TRUE when it was queued.
///
/// # Safety
/// As `KeInsertQueueDpc`.
pub unsafe extern "C" fn KeRemoveQueueDpc(Dpc: PRKDPC) -> BOOLEAN {
    BOOLEAN::from(gated(Routine::KeRemoveQueueDpc, false, |s| s.ke_remove_queue_dpc(Dpc as u64)))
}

/// `KeFlushQueuedDpcs` (F147): returns once every queued DPC has run.
///
/// # Safety
/// None; `unsafe` as wdk-sys declares it.
pub unsafe extern "C" fn KeFlushQueuedDpcs() {
    if gated(Routine::KeFlushQueuedDpcs, false, |_| Some(true)) {
        crate::model::kernel::dpc::run_dpcs();
    }
}

/// `KeInitializeTimer` (F147): a notification timer.
///
/// # Safety
/// `Timer` points at the driver's KTIMER.
pub unsafe extern "C" fn KeInitializeTimer(Timer: PKTIMER) {
    gated(Routine::KeInitializeTimer, (), |s| s.ke_initialize_timer(Timer as u64));
}

/// `KeInitializeTimerEx` (F147): a notification or synchronization timer
/// (the type matters to waits only, which the model does not serve on a
/// timer).
///
/// # Safety
/// As `KeInitializeTimer`.
pub unsafe extern "C" fn KeInitializeTimerEx(Timer: PKTIMER, _Type: TIMER_TYPE) {
    gated(Routine::KeInitializeTimerEx, (), |s| s.ke_initialize_timer(Timer as u64));
}

/// `KeSetTimer` (F147): a one-shot timer due at `DueTime` (negative:
/// relative, 100-ns units); TRUE when it was already set.
///
/// # Safety
/// `Timer` initialized; `Dpc` null or an initialized KDPC.
pub unsafe extern "C" fn KeSetTimer(Timer: PKTIMER, DueTime: LARGE_INTEGER, Dpc: PKDPC) -> BOOLEAN {
    // SAFETY: every bit pattern of the union is a valid i64.
    let due = unsafe { DueTime.QuadPart };
    BOOLEAN::from(gated(Routine::KeSetTimer, false, |s| s.ke_set_timer(Timer as u64, due, 0, Dpc as u64)))
}

/// `KeSetTimerEx` (F147): as `KeSetTimer`, re-queued every `Period` ms.
///
/// # Safety
/// As `KeSetTimer`.
pub unsafe extern "C" fn KeSetTimerEx(Timer: PKTIMER, DueTime: LARGE_INTEGER, Period: LONG, Dpc: PKDPC) -> BOOLEAN {
    // SAFETY: every bit pattern of the union is a valid i64.
    let due = unsafe { DueTime.QuadPart };
    BOOLEAN::from(gated(Routine::KeSetTimerEx, false, |s| s.ke_set_timer(Timer as u64, due, Period, Dpc as u64)))
}

/// `KeCancelTimer` (F147): TRUE when it was set.
///
/// # Safety
/// As `KeInitializeTimer`.
pub unsafe extern "C" fn KeCancelTimer(arg1: PKTIMER) -> BOOLEAN {
    BOOLEAN::from(gated(Routine::KeCancelTimer, false, |s| s.ke_cancel_timer(arg1 as u64)))
}

/// `KeReadStateTimer` (F147): TRUE once it has expired.
///
/// # Safety
/// As `KeInitializeTimer`.
pub unsafe extern "C" fn KeReadStateTimer(Timer: PKTIMER) -> BOOLEAN {
    BOOLEAN::from(gated(Routine::KeReadStateTimer, false, |s| s.ke_read_state_timer(Timer as u64)))
}
