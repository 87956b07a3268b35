//! `kmdf-sim`: a host-side model of KMDF and the NT kernel, behind the same
//! Rust surface as `wdk-sys` 0.5.2.
//!
//! A driver crate's `src/sys.rs` re-exports this crate where it would re-export
//! `wdk_sys`, so the driver's own source runs unchanged in `cargo test`.
//!
//! * The crate root and [`ntddk`] hold only what wdk-sys has: types,
//!   constants, [`NT_SUCCESS`], [`call_unsafe_wdf_function_binding!`] and the
//!   kernel routines. The types and bindgen's constants are generated from
//!   the real wdk-sys 0.5.2 bindings (`surface/types.rs`, by kmdf-sim-gen);
//!   every item is also proven against its wdk-sys shape at compile time
//!   (`surface/conformance.rs`, generated from `data/wdk-sys-0.5.2-shapes.tsv`).
//!   One addition: [`ntddk::ObCloseHandle`], which wdk-sys does not bind, with
//!   its documented signature.
//! * [`control`] is the simulator's own API: machines, settings, stops,
//!   ownership violations and histories.
//!
//! Every rule the machine applies cites a fact of the repository's `docs/facts.md` (`F12`) or
//! is marked `ASSUMPTION` where it is modelled.

pub mod control;
#[doc(hidden)]
pub mod ddi;
pub mod ntddk;
mod strings;
mod surface;

#[doc(hidden)]
pub use ddi as __ddi;
pub use surface::consts::*;
pub use surface::types::*;

/// `NT_SUCCESS`: a status is a success or informational value (wdk-sys
/// hand-writes it as a `const fn`; it is a C macro in the headers).
#[allow(non_snake_case)]
#[must_use]
pub const fn NT_SUCCESS(nt_status: NTSTATUS) -> bool {
    nt_status >= 0
}

/// Calls a KMDF DDI by its C name, minus `DriverGlobals` — the same invocation
/// as wdk-sys's macro (guide §7.2): it must sit inside `unsafe`, arguments get
/// ordinary call-site coercions, and value-returning DDIs are `#[must_use]`.
#[macro_export]
macro_rules! call_unsafe_wdf_function_binding {
    ($name:ident $(,)?) => {
        $crate::__ddi::$name($crate::__ddi::driver_globals())
    };
    ($name:ident, $($arg:expr),+ $(,)?) => {
        $crate::__ddi::$name($crate::__ddi::driver_globals(), $($arg),+)
    };
}
