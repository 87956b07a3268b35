//! Delays and clocks (F141): the rules are the model's `kernel::timing`.

use super::gated;
use crate::abi::*;
use crate::model::Routine;

/// `KeDelayExecutionThread` (F141): the thread sleeps for `Interval`
/// (negative: relative, in 100-ns units) — the machine's clock moves on.
///
/// # Safety
/// `Interval` points at a valid LARGE_INTEGER.
#[must_use]
pub unsafe extern "C" fn KeDelayExecutionThread(
    _WaitMode: KPROCESSOR_MODE,
    _Alertable: BOOLEAN,
    Interval: PLARGE_INTEGER,
) -> NTSTATUS {
    // SAFETY: null or a valid LARGE_INTEGER (the routine's contract).
    let Some(interval) = (unsafe { Interval.as_ref() }) else { return crate::STATUS_INVALID_PARAMETER };
    // SAFETY: every bit pattern of the union is a valid i64.
    let interval = unsafe { interval.QuadPart };
    gated(Routine::KeDelayExecutionThread, crate::model::STOPPED_STATUS, |s| Some(s.ke_delay_execution(interval)))
}

/// `KeQueryPerformanceCounter` (F141): the counter, and its frequency in
/// `*PerformanceFrequency` when that is not null.
///
/// # Safety
/// `PerformanceFrequency` null or writable.
pub unsafe extern "C" fn KeQueryPerformanceCounter(PerformanceFrequency: PLARGE_INTEGER) -> LARGE_INTEGER {
    let (counter, frequency) =
        gated(Routine::KeQueryPerformanceCounter, (0, 0), |s| Some(s.ke_query_performance_counter()));
    // SAFETY: null or writable (the routine's contract).
    if let Some(out) = unsafe { PerformanceFrequency.as_mut() } {
        out.QuadPart = frequency;
    }
    LARGE_INTEGER { QuadPart: counter }
}

/// `KeQueryTimeIncrement` (F141): 100-ns units added to the system time per
/// clock interrupt.
///
/// # Safety
/// None; `unsafe` as wdk-sys declares it.
pub unsafe extern "C" fn KeQueryTimeIncrement() -> ULONG {
    gated(Routine::KeQueryTimeIncrement, 0, |_| Some(crate::model::kernel::timing::TIME_INCREMENT))
}
