//! wdk-panic 0.4.x off Windows: `kmdf_sim_wdk_panic`, the (empty) crate every
//! wdk-panic line shares: no panic handler, std's is used.
#![no_std]

extern crate kmdf_sim_wdk_panic;
