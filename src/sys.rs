//! The one door to the kernel: the real bindings on Windows, the simulator elsewhere.
//!
//! Cargo cannot point one dependency name at different packages per target, so the
//! switch is this `cfg` (design.md, "One driver source, two kernels"). Every other
//! module of the crate names kernel items only through `crate::sys`.

#[cfg(any(not(windows), feature = "sim"))]
pub use kmdf_sim::*;

#[cfg(all(windows, not(feature = "sim")))]
pub use wdk_sys::*;
