//! `wdk-sys` off Windows: the names of wdk-sys 0.5.2, backed by `kmdf-sim`.
//!
//! Types, constants, `NT_SUCCESS`, `call_unsafe_wdf_function_binding!` and
//! `ntddk::*` are kmdf-sim's surface (each checked against its wdk-sys shape
//! by kmdf-sim's conformance tests); a DDI or kernel routine the simulator
//! does not implement is a compile error naming it, never a silent stub.
//! What wdk-sys defines by hand is here: `NT_INFORMATION`, `NT_WARNING`,
//! `NT_ERROR`, `PAGED_CODE!` and the `WdfDriverGlobals` static.
#![allow(non_snake_case, non_upper_case_globals)]

pub use kmdf_sim::*;

/// `WdfDriverGlobals`: the running machine's `WDF_DRIVER_GLOBALS`.
///
/// In wdk-sys it is an `extern static mut PWDF_DRIVER_GLOBALS`; machines are
/// per thread here, so it is a static that dereferences to the globals of
/// the machine on the current thread: `(*wdk_sys::WdfDriverGlobals).Driver`
/// reads as it does on Windows. Code that copies the pointer itself
/// (`let g: PWDF_DRIVER_GLOBALS = WdfDriverGlobals`) does not compile here.
pub static WdfDriverGlobals: DriverGlobals = DriverGlobals(());

/// The type of [`WdfDriverGlobals`].
#[derive(Debug)]
pub struct DriverGlobals(());

/// All-zero globals for a thread without a machine (`Driver` is NULL).
struct NoGlobals(WDF_DRIVER_GLOBALS);
// SAFETY: never written; a NULL pointer and zeros are safe to share (K5).
unsafe impl Sync for NoGlobals {}
static NO_GLOBALS: NoGlobals = NoGlobals(WDF_DRIVER_GLOBALS {
    Driver: core::ptr::null_mut(),
    DriverFlags: 0,
    DriverTag: 0,
    DriverName: [0; 32],
    DisplaceDriverUnload: 0,
});

impl core::ops::Deref for DriverGlobals {
    type Target = WDF_DRIVER_GLOBALS;

    fn deref(&self) -> &WDF_DRIVER_GLOBALS {
        let globals = kmdf_sim::__ddi::driver_globals();
        if globals.is_null() {
            return &NO_GLOBALS.0;
        }
        // SAFETY: the machine boxes its globals and keeps them for its
        // lifetime (K1: it outlives every driver call on its thread); the
        // driver reads them through `&` only, as the framework's are read.
        unsafe { &*globals }
    }
}

/// `NT_INFORMATION`: severity 1 (wdk-sys hand-writes it).
#[must_use]
pub const fn NT_INFORMATION(nt_status: NTSTATUS) -> bool {
    (nt_status as u32 >> 30) == 1
}

/// `NT_WARNING`: severity 2.
#[must_use]
pub const fn NT_WARNING(nt_status: NTSTATUS) -> bool {
    (nt_status as u32 >> 30) == 2
}

/// `NT_ERROR`: severity 3.
#[must_use]
pub const fn NT_ERROR(nt_status: NTSTATUS) -> bool {
    (nt_status as u32 >> 30) == 3
}

/// `PAGED_CODE!()`: in a debug build, the code must run at or below
/// APC_LEVEL; the simulator records the stop wdk-panic would raise
/// (`kmdf_sim::control::paged_code_check`).
#[macro_export]
macro_rules! PAGED_CODE {
    () => {
        if cfg!(debug_assertions) {
            $crate::control::paged_code_check(file!(), line!());
        }
    };
}
