//! `wdfkey`: an owned framework registry key for KMDF drivers in Rust.
//!
//! [`RegKey`] owns one `WDFKEY` and deletes it exactly once; the WDM handle
//! inside it is only ever lent ([`KeyHandle`]). Safe code using it cannot
//! close the handle of a WDFKEY — the bug that makes KMDF's `FxRegKey`
//! destructor close a stale handle at unload and stop the machine with bug
//! check 0x93 INVALID_KERNEL_HANDLE, blamed on Wdf01000.sys — and cannot
//! close a key twice; what `unsafe` code can still do, and what catches it,
//! is below.
//!
//! Adding it to a driver (Cargo.toml, allocator, panic handler), keys per
//! device, testing the driver on Linux under `kmdf-sim`, and migrating raw
//! WDFKEY code case by case: the crate's README, which is also this crate's
//! page on crates.io.
//!
//! # What is guaranteed
//! Safe code cannot close a key's WDM handle, cannot close a key twice, and
//! cannot use a key or its handle after the key is closed ([K1], [K2], [K3]).
//! The one way out is `unsafe`: [`KeyHandle::as_raw`] yields the raw `HANDLE`,
//! and an `unsafe` call to `ZwClose`, `NtClose` or `ObCloseHandle` on it then
//! compiles. Three tools catch that misuse: clippy with the shipped
//! `disallowed-methods` configuration (all three closes, each with its
//! reason), `wdfkey-diag scan` on the driver's source, and `kmdf-sim` at run
//! time (the framework's second close stops the simulated machine with bug
//! check 0x93). Most drivers never need the escape: key information and
//! name, enumeration and `RtlQueryRegistryValues`-style tables are methods
//! of [`RegKey`].
//!
//! # What the ids in these docs mean
//! `K1`–`K5` are the invariants the code names in its `SAFETY` comments
//! ([`docs::invariants`]): [K1] one owner; [K2] the handle is lent, never
//! owned; [K3] the parent object outlives the key; [K4] registry calls at
//! PASSIVE_LEVEL (dropping a key is allowed up to DISPATCH_LEVEL); [K5] no
//! panics, no infallible allocation. `F1`–`F77` are facts about KMDF and the
//! NT kernel, each with its public source (a KMDF source file, a Microsoft
//! documentation page), in [`docs::facts`]: every `F10` in these pages links
//! to its entry there.
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
//! [K1]: crate::docs::invariants#k1
//! [K2]: crate::docs::invariants#k2
//! [K3]: crate::docs::invariants#k3
//! [K4]: crate::docs::invariants#k4
//! [K5]: crate::docs::invariants#k5
#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// The link definitions of every invariant and fact the crate's docs cite,
/// each to its entry in [`docs`]: a doc comment that writes `[F10]` or `[K2]`
/// ends with `#[doc = doc_links!()]`. One definition per link, for the whole
/// crate (rustdoc resolves reference links per doc comment, so the
/// definitions are appended rather than repeated).
macro_rules! doc_links {
    () => {
        // Two newlines: a definition cannot continue the paragraph before it.
        "\n
[K1]: crate::docs::invariants#k1
[K2]: crate::docs::invariants#k2
[K3]: crate::docs::invariants#k3
[K4]: crate::docs::invariants#k4
[K5]: crate::docs::invariants#k5
[F2]: crate::docs::facts#f2
[F5]: crate::docs::facts#f5
[F6]: crate::docs::facts#f6
[F9]: crate::docs::facts#f9
[F10]: crate::docs::facts#f10
[F13]: crate::docs::facts#f13
[F14]: crate::docs::facts#f14
[F15]: crate::docs::facts#f15
[F16]: crate::docs::facts#f16
[F19]: crate::docs::facts#f19
[F21]: crate::docs::facts#f21
[F22]: crate::docs::facts#f22
[F23]: crate::docs::facts#f23
[F24]: crate::docs::facts#f24
[F25]: crate::docs::facts#f25
[F26]: crate::docs::facts#f26
[F27]: crate::docs::facts#f27
[F29]: crate::docs::facts#f29
[F33]: crate::docs::facts#f33
[F34]: crate::docs::facts#f34
[F39]: crate::docs::facts#f39
[F69]: crate::docs::facts#f69
[F74]: crate::docs::facts#f74
[F76]: crate::docs::facts#f76
[F77]: crate::docs::facts#f77
"
    };
}

pub mod docs;
mod enumerate;
mod error;
mod handle;
mod key;
mod name;
mod parent;
mod query;
pub mod sys;
mod value;

pub use enumerate::KeyInfo;
pub use error::{Error, Result};
pub use handle::KeyHandle;
pub use key::{Access, DeviceKey, Disposition, RegKey, Volatility};
pub use name::{IntoRegName, MAX_NAME_UNITS, RegName};
pub use parent::{ParentObject, ScopedKey, WdfHandle};
pub use query::Query;
pub use value::{MultiString, ValueInfo};
