//! The KMDF verifier and the framework's own bug checks: IRQL checks
//! (`FxVerifierCheckIrqlLevel`), verifier breaks, invalid and stale
//! handles, NULL required parameters (F19, F20, F52, F54, F65, F70, F77).

use crate::abi::*;
use crate::model::{FRAMEWORK_MODULE, IrqlVerdict, STOPPED_STATUS, State};

/// A KMDF verifier break (F33, F65): only with the KMDF verifier on; without
/// a kernel debugger it is an unhandled breakpoint — bug check 0x7E
/// SYSTEM_THREAD_EXCEPTION_NOT_HANDLED {0x80000003, ...}; with one it is
/// recorded and the call returns.
pub(crate) fn verifier_break(s: &mut State, reason: &str) {
    if !s.settings.kmdf_verifier {
        return;
    }
    if s.settings.kernel_debugger {
        s.framework.verifier_breaks.push(reason.to_string());
        return;
    }
    s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxVerifierDbgBreakPoint");
    s.bug_check(
        (
            0x7E,
            [0x8000_0003, 0, 0, 0],
            "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
            [
                "The exception code: STATUS_BREAKPOINT (a verifier break with no debugger attached).".into(),
                "The address of the exception.".into(),
                "The exception record.".into(),
                "The context record.".into(),
            ],
        ),
        None,
        Some(format!("KMDF verifier: {reason}")),
    );
    s.pop_frame();
}

/// A framework handle that names no live object of the `expected` type
/// (KMDF's type id, F90; DDIs reach this through the handle table,
/// `handle_check`). Returns the status the DDI then hands back, if the
/// machine still runs.
///
/// * Never a live object of that type: `FxObjectHandleGetPtr` fails the type
///   check → 0x10D {WDF_INVALID_HANDLE, handle, type, globals} (F20, F54).
/// * An object the framework already freed — e.g. a second WdfRegistryClose —
///   depends on the freed memory (F77): Wdf01000 under special pool faults
///   on the read → 0xD5 DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL {address,
///   0 = read, ...} (F77 d, F51); the KMDF verifier scrubbed the block →
///   an access violation through the NULL vtable in Wdf01000, 0x7E in a
///   system thread or 0x3B in a caller's process with 0xC0000005 (F77 a,
///   ASSUMPTION there); neither → the stale object is used silently (F77 b:
///   `ZwClose(NULL)` returns STATUS_INVALID_HANDLE, which is ignored).
///   Object handle values are never reused in the simulator, so F77 c (the
///   block reused by another object) does not arise.
pub(crate) fn invalid_handle(s: &mut State, handle: u64, expected: u64) -> NTSTATUS {
    let freed = s.framework.freed_objects.get(&handle);
    let cause = match freed {
        Some(kind) => {
            format!("{handle:#x} is a {kind} the framework already deleted (use after free, docs/facts.md#f77)")
        }
        None => format!("{handle:#x} is not a live framework object of the expected type"),
    };
    match freed {
        Some(_) if s.settings.special_pool && s.settings.wdf01000_verified => s.bug_check(
            (
                0xD5,
                [handle, 0, 0, 0],
                "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL",
                [
                    "The memory referenced (the freed framework object).".into(),
                    "0: read.".into(),
                    "The address that referenced it (in Wdf01000.sys).".into(),
                    String::new(),
                ],
            ),
            None,
            Some(cause),
        ),
        Some(_) if s.settings.kmdf_verifier => {
            let code = if s.in_system_process() { 0x7E } else { 0x3B };
            let name = if code == 0x7E { "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED" } else { "SYSTEM_SERVICE_EXCEPTION" };
            s.bug_check(
                (
                    code,
                    [0xC000_0005, 0, 0, 0],
                    name,
                    [
                        "The exception code: STATUS_ACCESS_VIOLATION (a call through the scrubbed object's NULL vtable).".into(),
                        "The address of the exception (in Wdf01000.sys).".into(),
                        "The exception record.".into(),
                        "The context record.".into(),
                    ],
                ),
                None,
                Some(cause),
            );
        }
        Some(kind) => {
            let message =
                format!("stale {kind} {handle:#x} used after it was deleted (silent, docs/facts.md#f77, case b)");
            s.framework.framework_log.push(message.clone());
            // Nothing on the machine notices, but the run must not read as
            // clean: the simulator records the use after free as a finding.
            s.framework.findings.push(format!("{message}: {cause}"));
            return crate::abi::STATUS_INVALID_HANDLE;
        }
        None => {
            let globals = std::ptr::from_mut(s.framework.globals.as_mut()) as u64;
            s.bug_check(
                (
                    0x10D,
                    [0x5, handle, expected, globals],
                    "WDF_VIOLATION",
                    [
                        "WDF_INVALID_HANDLE: an invalid or wrong-type framework handle was passed.".into(),
                        "The handle value.".into(),
                        "The expected object type.".into(),
                        "The driver's globals.".into(),
                    ],
                ),
                None,
                Some(cause),
            );
        }
    }
    STOPPED_STATUS
}

/// Bug check 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL, 0, return address,
/// globals} (F20, F54, F91: `FxVerifierNullBugCheck`). ASSUMPTION: the
/// driver's return address is not known to the simulator; 0.
pub(crate) fn null_parameter(s: &mut State, what: &str) {
    let globals = std::ptr::from_mut(s.framework.globals.as_mut()) as u64;
    s.bug_check(
        (
            0x10D,
            [0x4, 0, 0, globals],
            "WDF_VIOLATION",
            [
                "WDF_REQUIRED_PARAMETER_IS_NULL: a required parameter was NULL.".into(),
                String::new(),
                "The caller's return address.".into(),
                "The driver's globals.".into(),
            ],
        ),
        None,
        Some(format!("required parameter {what} was NULL")),
    );
}

impl State {
    /// The KMDF verifier's `FxVerifierCheckIrqlLevel` (F19, F66; KMDF
    /// fxverifier.h): with `VerifierOn` a wrong IRQL is traced, breaks (F65)
    /// and fails the call; without it the call goes on. F19: every
    /// WdfRegistry* DDI except WdfRegistryWdmGetHandle checks; ASSUMPTION: the
    /// other DDIs the simulator serves check too.
    pub(crate) fn kmdf_verifier_irql_check(&mut self, name: &str, max: u8) -> IrqlVerdict {
        // The KMDF verifier checks inside Wdf01000's DDIs only: a driver's
        // direct kernel calls (ZwClose, ExAllocatePool2, ...) never reach it.
        if !self.settings.kmdf_verifier
            || self.kernel.irql <= max
            || !name.starts_with("Wdf")
            || name == "WdfRegistryWdmGetHandle"
        {
            return IrqlVerdict::Proceed;
        }
        let message = format!("{name}: called at wrong IRQL; at level {}, should be at level {max}", self.kernel.irql);
        self.framework.framework_log.push(message.clone());
        verifier_break(self, &message);
        IrqlVerdict::Fail
    }
}

/// A DDI's required pointer `what` was NULL: [`null_parameter`] on this
/// thread's machine; the status the DDI returns.
pub(crate) fn required_null(what: &str) -> NTSTATUS {
    crate::model::with_state(|s| null_parameter(s, what));
    STOPPED_STATUS
}
