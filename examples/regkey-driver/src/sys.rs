//! The one door to the kernel: `wdk_sys` in the Windows build, the simulator
//! everywhere else and with the `sim` feature (docs/design.md#two-kernels).
//! The rest of the driver names kernel items only through `crate::sys`.

#[cfg(any(not(windows), feature = "sim"))]
pub use kmdf_sim::*;

#[cfg(all(windows, not(feature = "sim")))]
pub use wdk_sys::*;
