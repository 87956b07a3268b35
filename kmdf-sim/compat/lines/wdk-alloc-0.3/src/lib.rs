//! wdk-alloc 0.3.x off Windows: `kmdf_sim_wdk_alloc`, the surface every wdk-alloc line shares.
#![no_std]

pub use kmdf_sim_wdk_alloc::*;
