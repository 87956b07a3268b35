//! The one door to the kernel: the real bindings on Windows, the simulator elsewhere.
//!
//! The switch is this `cfg`, not a per-target rename of the dependency,
//! because it must also follow the `sim` feature on Windows hosts, which a
//! target-specific rename cannot (docs/design.md#two-kernels). Every other
//! module of the crate names kernel items only through `crate::sys`.

#[cfg(any(not(windows), feature = "sim"))]
pub use kmdf_sim::*;

#[cfg(all(windows, not(feature = "sim")))]
pub use wdk_sys::*;
