//! A driver that takes the one escape wdfkey leaves — `unsafe { as_raw() }`
//! — and closes the lent handle with each of the three closes. It compiles;
//! the shipped clippy configuration must flag every close (tests/adopt.rs).
#![allow(missing_docs)]

/// The driver's one door to the kernel, as in every wdfkey driver.
pub mod sys {
    pub use kmdf_sim::*;
}

use sys::ntddk::{NtClose, ObCloseHandle, ZwClose};
use sys::{KPROCESSOR_MODE, NTSTATUS, _MODE};
use wdfkey::RegKey;

pub fn close_with_zw(key: &RegKey) -> NTSTATUS {
    // SAFETY: none — this is the bug; clippy must flag the next call.
    let handle = unsafe { key.wdm_handle().as_raw() };
    // SAFETY: as above.
    unsafe { ZwClose(handle) } // ESCAPE: ZwClose
}

pub fn close_with_nt(key: &RegKey) -> NTSTATUS {
    // SAFETY: none — this is the bug; clippy must flag the next call.
    let handle = unsafe { key.wdm_handle().as_raw() };
    // SAFETY: as above.
    unsafe { NtClose(handle) } // ESCAPE: NtClose
}

pub fn close_with_ob(key: &RegKey) -> NTSTATUS {
    // SAFETY: none — this is the bug; clippy must flag the next call.
    let handle = unsafe { key.wdm_handle().as_raw() };
    // SAFETY: as above.
    unsafe { ObCloseHandle(handle, _MODE::KernelMode as KPROCESSOR_MODE) } // ESCAPE: ObCloseHandle
}
