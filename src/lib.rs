//! `wdfkey-guard`: the reference KMDF driver of this project.
//!
//! It holds every registry key it opens through [`wdfkey::RegKey`] — from
//! DriverEntry to unload, per device, and per request — so every unload path
//! closes each key exactly once and never a WDM handle the framework owns
//! (docs/design.md#parts). Its own source runs on Windows against `wdk-sys` and
//! everywhere else against the KMDF simulator ([`sys`]).
//!
//! * DriverEntry: WdfDriverCreate; the service `Parameters` key read-only,
//!   held in the driver context until EvtDriverUnload (`MaxValueSize`,
//!   `TraceLevel`); `LoadCount` incremented in the persistent-state key.
//! * EvtDriverDeviceAdd: one device for [`HARDWARE_ID`], the interface
//!   [`GUID_DEVINTERFACE_WDFKEY_GUARD`], the device's hardware and software
//!   keys in its context until its cleanup, a sequential default queue.
//! * EvtIoDeviceControl: the IOCTLs of [`wire`] over `<state>\Store`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

extern crate alloc;

#[cfg(all(windows, not(feature = "sim"), not(test)))]
extern crate wdk_panic;

#[cfg(all(windows, not(feature = "sim"), not(test)))]
#[global_allocator]
static GLOBAL_ALLOCATOR: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;

mod context;
mod device;
mod driver;
mod io;
pub mod sys;
pub mod wire;

pub use device::{DEVICE_SDDL, GUID_DEVINTERFACE_WDFKEY_GUARD, HARDWARE_ID};
pub use driver::{DEFAULT_MAX_VALUE_SIZE, DEFAULT_TRACE_LEVEL, MAX_VALUE_SIZE_LIMIT, STORE_KEY, driver_entry};

/// The service (and `.sys`, INF) name the package installs.
pub const SERVICE_NAME: &str = "wdfkey_guard";

/// Traces when the configured level reaches `level`: `wdk::println!` in the
/// Windows build, nothing under the simulator (the arguments are still
/// type-checked).
#[macro_export]
#[doc(hidden)]
macro_rules! trace {
    ($configured:expr, $level:expr, $($arg:tt)*) => {
        if $configured >= $level {
            #[cfg(all(windows, not(feature = "sim")))]
            wdk::println!($($arg)*);
            #[cfg(not(all(windows, not(feature = "sim"))))]
            let _ = format_args!($($arg)*);
        }
    };
}
