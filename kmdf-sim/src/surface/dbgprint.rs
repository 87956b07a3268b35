//! The Rust side of `DbgPrint` / `DbgPrintEx` (F81): `csrc/dbgprint.c`
//! collects the variadic arguments into a `va_list` and calls
//! [`kmdf_sim_dbg_vprint`], which reads the format and each argument the
//! conversion asks for, and hands the text to the model.

use crate::model::kernel::dbgprint::{Arguments, format};
use crate::model::{Routine, count_call};
use core::ffi::{c_char, c_void};

unsafe extern "C" {
    fn kmdf_sim_va_u32(args: *mut c_void) -> u32;
    fn kmdf_sim_va_u64(args: *mut c_void) -> u64;
    fn kmdf_sim_va_f64(args: *mut c_void) -> f64;
}

/// `ANSI_STRING` (wdm.h's `STRING`), which the surface has no type for.
#[repr(C)]
#[allow(non_snake_case, reason = "wdm.h's field names")]
struct AnsiString {
    Length: u16,
    MaximumLength: u16,
    Buffer: *mut c_char,
}

/// Where a DbgPrint call's variadic arguments are read from, one by one.
pub(crate) trait ArgumentSlots {
    /// The next argument as a 32-bit integer.
    fn u32(&mut self) -> u32;
    /// The next argument as a 64-bit integer or pointer.
    fn u64(&mut self) -> u64;
    /// The next argument as a `double`.
    fn f64(&mut self) -> f64;
}

/// A DbgPrint call's arguments and the driver memory its string conversions
/// point at.
///
/// # Invariants
/// The slots are a running call's; the format asks for an argument only
/// where the caller passed one, each string argument pointing at what its
/// conversion reads (C's printf contract, the driver's to keep).
pub(crate) struct DriverArguments<S>(pub S);

impl<S: ArgumentSlots> Arguments for DriverArguments<S> {
    fn next_u32(&mut self) -> u32 {
        self.0.u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.u64()
    }

    fn next_f64(&mut self) -> f64 {
        self.0.f64()
    }

    fn c_string(&mut self, p: u64) -> Vec<u8> {
        // SAFETY: `%s` points at a NUL-terminated string (the type's invariant).
        unsafe { core::ffi::CStr::from_ptr(p as *const c_char) }.to_bytes().to_vec()
    }

    fn wide_string(&mut self, p: u64) -> Vec<u16> {
        // SAFETY: `%ws` points at a NUL-terminated UTF-16 string (the type's invariant).
        unsafe { crate::surface::strings::wide_units(p as *const u16) }.to_vec()
    }

    fn ansi_string(&mut self, p: u64) -> Vec<u8> {
        // SAFETY: `%Z` points at an ANSI_STRING (the type's invariant).
        let s = unsafe { &*(p as *const AnsiString) };
        if s.Buffer.is_null() {
            return Vec::new();
        }
        // SAFETY: Buffer holds Length bytes (the ANSI_STRING contract).
        unsafe { core::slice::from_raw_parts(s.Buffer.cast::<u8>(), usize::from(s.Length)) }.to_vec()
    }

    fn unicode_string(&mut self, p: u64) -> Vec<u16> {
        // SAFETY: `%wZ` points at a UNICODE_STRING (the type's invariant).
        let s = unsafe { &*(p as *const crate::abi::UNICODE_STRING) };
        if s.Buffer.is_null() {
            return Vec::new();
        }
        // SAFETY: Buffer holds Length bytes of UTF-16 (the UNICODE_STRING contract).
        unsafe { core::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2) }.to_vec()
    }
}

/// A live `va_list` of a DbgPrint call.
///
/// # Invariants
/// `self.0` points at the `va_list` of a C call that is still running, at
/// an argument of the type read.
struct VaList(*mut c_void);

impl ArgumentSlots for VaList {
    fn u32(&mut self) -> u32 {
        // SAFETY: a live va_list (the type's invariant), at an int-sized argument.
        unsafe { kmdf_sim_va_u32(self.0) }
    }

    fn u64(&mut self) -> u64 {
        // SAFETY: a live va_list, at a 64-bit or pointer argument.
        unsafe { kmdf_sim_va_u64(self.0) }
    }

    fn f64(&mut self) -> f64 {
        // SAFETY: a live va_list, at a double argument.
        unsafe { kmdf_sim_va_f64(self.0) }
    }
}

/// Called by `csrc/dbgprint.c` with the call's `va_list`: formats and prints.
/// `ex` is 1 for DbgPrintEx. Returns STATUS_SUCCESS, as the routines do.
///
/// # Safety
/// `format` null or a NUL-terminated string; `args` the live `va_list` of
/// the C entry point, holding what `format` asks for.
#[unsafe(no_mangle)]
unsafe extern "C" fn kmdf_sim_dbg_vprint(
    ex: u32,
    component: u32,
    level: u32,
    format_string: *const c_char,
    args: *mut c_void,
) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { print(ex == 1, component, level, format_string, &mut DriverArguments(VaList(args))) }
}

/// Formats and prints one DbgPrint (`ex`: DbgPrintEx) call whose variadic
/// arguments `args` gives; STATUS_SUCCESS, as the routines return.
///
/// # Safety
/// `format_string` null or a NUL-terminated string; `args` holds what it
/// asks for, each string argument pointing at what its conversion reads.
pub(crate) unsafe fn print(
    ex: bool,
    component: u32,
    level: u32,
    format_string: *const c_char,
    args: &mut impl Arguments,
) -> u32 {
    count_call(if ex { Routine::DbgPrintEx } else { Routine::DbgPrint });
    if format_string.is_null() {
        return crate::abi::STATUS_SUCCESS as u32;
    }
    // SAFETY: non-null, NUL-terminated (the routines' contract).
    let bytes = unsafe { core::ffi::CStr::from_ptr(format_string) }.to_bytes();
    let (text, unicode) = format(bytes, args);
    let level = ex.then_some((component, level));
    if !crate::model::kernel::dbgprint::print(&text, unicode, level) {
        eprintln!("{}", text.trim_end_matches('\n'));
    }
    crate::abi::STATUS_SUCCESS as u32
}
