//! wdk-build 0.3.x off Windows: `kmdf_sim_wdk_build`, the surface every wdk-build line shares.
#![no_std]

pub use kmdf_sim_wdk_build::*;
