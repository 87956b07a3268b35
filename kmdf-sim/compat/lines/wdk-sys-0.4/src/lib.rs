//! wdk-sys 0.4.x off Windows: `kmdf_sim_wdk_sys`, the surface every wdk-sys line shares.
#![no_std]

pub use kmdf_sim_wdk_sys::*;
