//! wdk 0.5.x off Windows: `kmdf_sim_wdk`, the surface every wdk line shares.
#![no_std]

pub use kmdf_sim_wdk::*;
