//! A kernel routine that reads or writes through a NULL pointer its caller
//! passed (F95): the routine has no exception handler of its own, so the
//! access violation is the bug check of whatever thread the driver runs on.

use crate::model::{Routine, State};

/// Bug check for `routine` touching its NULL parameter `parameter`
/// (`write`: it writes through it) on this thread (F95): at
/// DISPATCH_LEVEL or above, 0xA IRQL_NOT_LESS_OR_EQUAL {0, IRQL, write, 0};
/// below it, the unhandled STATUS_ACCESS_VIOLATION — 0x7E in a system
/// thread (the System process: DriverEntry, unload, PnP callbacks), 0x3B in
/// a system call (an application's thread: its I/O).
pub(crate) fn null_dereference(s: &mut State, routine: Routine, parameter: &str, write: bool) {
    let cause = format!(
        "{} {} its NULL {parameter} (the caller passed NULL; docs/facts.md#f95)",
        routine.name(),
        if write { "wrote through" } else { "read through" }
    );
    let irql = s.kernel.irql;
    let access = u64::from(write);
    let (code, params, name, notes): (u32, [u64; 4], &'static str, [String; 4]) = if irql >= 2 {
        (
            0xA,
            [0, u64::from(irql), access, 0],
            "IRQL_NOT_LESS_OR_EQUAL",
            [
                "The memory referenced: NULL.".into(),
                "The IRQL at the time of the reference.".into(),
                if write { "1: write.".into() } else { "0: read.".into() },
                format!("The address that referenced it (nt!{}).", routine.name()),
            ],
        )
    } else {
        let (code, name) = if s.in_system_process() {
            (0x7E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED")
        } else {
            (0x3B, "SYSTEM_SERVICE_EXCEPTION")
        };
        (
            code,
            [0xC000_0005, 0, 0, 0],
            name,
            [
                "The exception code: STATUS_ACCESS_VIOLATION.".into(),
                format!("The address of the exception (nt!{}).", routine.name()),
                "The exception record.".into(),
                "The context record.".into(),
            ],
        )
    };
    s.bug_check((code, params, name, notes), None, Some(cause));
}

/// [`null_dereference`] on this thread's machine when `pointer` is NULL:
/// whether it stopped.
pub(crate) fn stops_on_null<T>(routine: Routine, pointer: *const T, parameter: &str, write: bool) -> bool {
    if !pointer.is_null() {
        return false;
    }
    crate::model::with_state(|s| null_dereference(s, routine, parameter, write));
    true
}
