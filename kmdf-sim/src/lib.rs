//! `kmdf-sim`: a host-side model of KMDF and the NT kernel, behind the same
//! Rust surface as `wdk-sys` 0.5.2.
//!
//! A driver crate's `src/sys.rs` re-exports this crate where it would re-export
//! `wdk_sys`, so the driver's own source runs unchanged in `cargo test`.
//!
//! The crate is three layers over a shared vocabulary; arrows point one way
//! (the README's "Layering" section has the table):
//!
//! * `abi` — the wdk-sys 0.5.2 types and constants (generated from the real
//!   bindings by kmdf-sim-gen) and [`NT_SUCCESS`]: what both sides of the
//!   driver boundary speak. No behaviour.
//! * `model` — the machine itself: the kernel (handle table, registry, pool
//!   and special pool, bug checks, IRQL, processes) and the framework (object
//!   tree, PnP and power, queues and requests, timers and work items, the
//!   KMDF verifier). It owns the state and holds every rule with its fact id
//!   or `ASSUMPTION`. It uses only `abi`.
//! * `surface` — what a driver links against: the crate root and [`ntddk`]
//!   (types, constants, [`call_unsafe_wdf_function_binding!`], the kernel
//!   routines) and the DDIs, as thin shims that check arguments the way the
//!   real routine does, enter the model and translate the result. Every item
//!   is proven against its wdk-sys shape at compile time
//!   (`surface/conformance.rs`, generated from `data/wdk-sys-0.5.2-shapes.tsv`).
//!   One addition: [`ntddk::ObCloseHandle`], which wdk-sys does not bind, with
//!   its documented signature.
//! * [`control`] — only what a test calls: machines, settings, scenarios,
//!   and read-only views of stops, ownership violations, histories and leaks.
//! * [`testing`] — scaffolding shared by the tests of every crate that runs
//!   drivers on the simulator (uses `control` and the surface).
//!
//! Every rule the machine applies cites a fact of the repository's `docs/facts.md` (`F12`) or
//! is marked `ASSUMPTION` where it is modelled.

mod abi;
pub mod control;
mod model;
mod surface;
pub mod testing;

pub use abi::NT_SUCCESS;
pub use abi::consts::*;
pub use abi::types::*;
#[doc(hidden)]
pub use surface::ddi;
#[doc(hidden)]
pub use surface::ddi as __ddi;
pub use surface::ntddk;
/// The kernel's exported object-type variables live at wdk-sys's root, as
/// in its bindings' constants.rs (F151).
pub use surface::ntddk::{PsProcessType, PsThreadType};

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
