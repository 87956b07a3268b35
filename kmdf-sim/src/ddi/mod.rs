//! The KMDF DDIs the simulator implements, reached only through
//! `call_unsafe_wdf_function_binding!` (as wdk-sys reaches the real ones
//! through the framework's function table, docs/facts.md#f62).
//!
//! Each has exactly the signature of its `PFN_WDF*` type in wdk-sys 0.5.2,
//! `DriverGlobals` first; `conformance.rs` checks it. One file per object
//! type: `device.rs`, `driver.rs`, `object.rs`, `queue.rs` (queues and
//! requests), `registry.rs`.
#![allow(non_snake_case)]

mod device;
mod driver;
mod memory;
mod object;
mod queue;
mod registry;
mod timer;

pub use device::*;
pub use driver::*;
pub use memory::*;
pub(crate) use object::verifier_break;
pub use object::*;
pub(crate) use queue::complete_request;
pub use queue::*;
pub use registry::*;
pub use timer::*;

use crate::control::State;
use crate::control::with_state;
use crate::surface::types::*;

/// The `DriverGlobals` the binding macro passes: the running machine's.
#[doc(hidden)]
pub fn driver_globals() -> PWDF_DRIVER_GLOBALS {
    with_state(|s| std::ptr::from_mut(s.globals.as_mut())).unwrap_or(std::ptr::null_mut())
}

/// FX_TYPE_REG_KEY, the type id KMDF checks a WDFKEY against (F77).
pub(crate) const FX_TYPE_REG_KEY: u64 = 0x1006;

/// A WDFKEY that names no live key object; see [`invalid_handle`].
pub(crate) fn invalid_key(s: &mut State, key: WDFKEY) -> NTSTATUS {
    invalid_handle(s, key as u64, FX_TYPE_REG_KEY)
}

/// A framework handle that names no live object of the expected type
/// (`expected` 0 = any object; ASSUMPTION: KMDF's other type ids are not in
/// the facts). Returns the status the DDI then hands back, if the machine
/// still runs.
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
    let freed = s.freed_objects.get(&handle);
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
            s.framework_log.push(message.clone());
            // Nothing on the machine notices, but the run must not read as
            // clean: the simulator records the use after free as a finding.
            s.findings.push(format!("{message}: {cause}"));
            return crate::STATUS_INVALID_HANDLE;
        }
        None => {
            let globals = std::ptr::from_mut(s.globals.as_mut()) as u64;
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
    crate::control::STOPPED_STATUS
}

/// Bug check 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL, ...} (F20, F54).
pub(crate) fn null_parameter(s: &mut State, what: &str) {
    s.bug_check(
        (
            0x10D,
            [0x4, 0, 0, 0],
            "WDF_VIOLATION",
            [
                "WDF_REQUIRED_PARAMETER_IS_NULL: a required parameter was NULL.".into(),
                String::new(),
                String::new(),
                String::new(),
            ],
        ),
        None,
        Some(format!("required parameter {what} was NULL")),
    );
}
