//! The KMDF DDIs the simulator implements, reached only through
//! `call_unsafe_wdf_function_binding!` (as wdk-sys reaches the real ones
//! through the framework's function table, docs/facts.md#f62).
//!
//! Each has exactly the signature of its `PFN_WDF*` type in wdk-sys 0.5.2,
//! `DriverGlobals` first; `conformance.rs` checks it. One file per object
//! type: `device.rs`, `driver.rs`, `object.rs`, `queue.rs` (queues and
//! requests), `registry.rs`.
#![allow(non_snake_case)]

mod device;
mod driver;
mod memory;
mod object;
mod queue;
mod registry;
mod timer;

pub use device::*;
pub use driver::*;
pub use memory::*;
pub use object::*;
pub use queue::*;
pub use registry::*;
pub use timer::*;

use crate::abi::*;

/// The `DriverGlobals` the binding macro passes: the running machine's.
#[doc(hidden)]
pub fn driver_globals() -> PWDF_DRIVER_GLOBALS {
    crate::model::driver_globals()
}
