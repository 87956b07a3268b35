//! The KMDF DDIs the simulator implements, reached only through
//! `call_unsafe_wdf_function_binding!` (as wdk-sys reaches the real ones
//! through the framework's function table, kmdf-facts.md F62).
//!
//! Each has exactly the signature of its `PFN_WDF*` type in wdk-sys 0.5.2,
//! `DriverGlobals` first; `conformance.rs` checks it. One file per object
//! type: `driver.rs`, `object.rs`, `registry.rs`.
#![allow(non_snake_case)]

mod driver;
mod object;
mod registry;

pub use driver::*;
pub(crate) use object::verifier_break;
pub use object::*;
pub use registry::*;

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

/// Bug check 0x10D WDF_VIOLATION {WDF_INVALID_HANDLE, handle, type, globals}
/// for a WDFKEY that names no live key object (F20, F54, F77). ASSUMPTION: a
/// destroyed key is reported this way; F77's freed-memory variants
/// (scrubbed, stale, reused) are not modelled yet.
pub(crate) fn invalid_key(s: &mut State, key: WDFKEY) {
    invalid_handle(s, key as u64, FX_TYPE_REG_KEY);
}

/// Bug check 0x10D {WDF_INVALID_HANDLE, handle, expected type, globals}.
/// `expected` 0 stands for "any object" (ASSUMPTION: KMDF's FX_TYPE_OBJECT id
/// is not in the facts).
pub(crate) fn invalid_handle(s: &mut State, handle: u64, expected: u64) {
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
        Some(format!("{handle:#x} is not a live framework object (closed, deleted or never created)")),
    );
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
