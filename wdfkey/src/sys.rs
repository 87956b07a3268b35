//! The one door to the kernel: the real bindings (`wdk_sys`) in the Windows
//! build, the KMDF simulator (`kmdf_sim`) on every other host and with the
//! `sim` feature.
//!
//! Every other module of the crate names kernel items only through
//! `crate::sys`, so the code the tests run under the simulator is the code
//! the `.sys` runs (the repository's `docs/design.md#two-kernels`).
//! The switch is this `cfg`, not a per-target rename of the dependency,
//! because it must also follow the `sim` feature on Windows hosts, which a
//! target-specific rename cannot.
//!
//! Drivers use it for the types in this crate's signatures (`WDFDRIVER`,
//! `WDFDEVICE`, `PWDFDEVICE_INIT`, `NTSTATUS`, `STATUS_*`). It re-exports the
//! whole surface of the crate in use, which rustdoc shows as one re-export
//! instead of listing it: in a build for Linux (docs.rs's) that is kmdf-sim's
//! model of wdk-sys 0.5.2, whose items have wdk-sys's names and shapes.

#[cfg(any(not(windows), feature = "sim"))]
#[doc(no_inline)]
pub use kmdf_sim::*;

#[cfg(all(windows, not(feature = "sim")))]
#[doc(no_inline)]
pub use wdk_sys::*;
