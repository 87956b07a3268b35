//! `wdfkey`: an owned framework registry key for KMDF drivers in Rust.
//!
//! [`RegKey`] owns one `WDFKEY` and deletes it exactly once; the WDM handle
//! inside it is only ever lent ([`KeyHandle`]). So a driver written with it
//! cannot `ZwClose` the handle of a WDFKEY — the bug that makes KMDF's
//! `FxRegKey` destructor close a stale handle at unload and stop the machine
//! with bug check 0x93 INVALID_KERNEL_HANDLE, blamed on Wdf01000.sys — and
//! cannot close a key twice.
//!
//! Adding it to a driver (Cargo.toml, allocator, panic handler), testing the
//! driver on Linux under `kmdf-sim`, and migrating raw WDFKEY code case by
//! case: the crate's [README](https://github.com/wdfkey-guard/wdfkey-guard/blob/main/wdfkey/README.md).
//!
//! # What the ids in these docs mean
//! `K1`–`K5` are the invariants the code names in its `SAFETY` comments
//! ([docs/invariants.md](https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md)): [K1] one owner; [K2] the handle is
//! lent, never owned; [K3] the parent object outlives the key; [K4] registry
//! calls at PASSIVE_LEVEL (dropping a key is allowed up to DISPATCH_LEVEL);
//! [K5] no panics, no infallible allocation. `F1`–`F77` are facts about KMDF
//! and the NT kernel, each with its public source (a KMDF source file, a
//! Microsoft documentation page) in [docs/facts.md](https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/facts.md): `F10` is
//! [docs/facts.md#f10](https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/facts.md#f10), `F67c` is
//! [docs/facts.md#f67c](https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/facts.md#f67c).
//!
//! # Example
//! ```no_run
//! use wdfkey::{Access, RegKey};
//! use wdfkey::sys::{NTSTATUS, WDFDRIVER};
//!
//! /// Reads the driver's trace level (default 3) and counts this load.
//! fn read_config(driver: WDFDRIVER) -> Result<u32, NTSTATUS> {
//!     // SAFETY: `driver` is this driver's live WDFDRIVER.
//!     let params = unsafe { RegKey::open_parameters(driver) }?;
//!     let level = params.query_u32("TraceLevel").unwrap_or(3);
//!     drop(params); // closed here, exactly once
//!
//!     // SAFETY: as above.
//!     let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
//!     let loads = state.query_u32("LoadCount").unwrap_or(0);
//!     state.assign_u32("LoadCount", loads.wrapping_add(1))?;
//!     Ok(level)
//! }
//! ```
//!
//! [K1]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k1
//! [K2]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k2
//! [K3]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k3
//! [K4]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k4
//! [K5]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k5
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod enumerate;
mod error;
mod handle;
mod key;
mod name;
mod parent;
pub mod sys;
mod value;

pub use enumerate::KeyInfo;
pub use error::{Error, Result};
pub use handle::KeyHandle;
pub use key::{Access, DeviceKey, Disposition, RegKey, Volatility};
pub use name::{IntoRegName, MAX_NAME_UNITS, RegName};
pub use parent::{ParentObject, ScopedKey, WdfHandle};
pub use value::{MultiString, ValueInfo};
