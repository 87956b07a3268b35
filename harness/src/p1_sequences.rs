//! P1's two sequences — open, assign, query, close — raw and with RegKey.
//! One copy for the two programs that measure them: `bench` (time) and the
//! `p1_instructions` example (instructions, under callgrind), which includes
//! this file by path.

use kmdf_sim::*;
use std::hint::black_box;
use wdfkey::{Access, RegKey, RegName};

/// The key both sequences open (the machine must have it).
pub const PATH: &str = r"\Registry\Machine\SOFTWARE\WdfKeyBench";

/// The value both sequences assign and query.
pub const VALUE: &str = "Value";

/// A counted UTF-16 string and the buffer it points into (keep both alive).
pub fn wide(s: &str) -> (Vec<u16>, UNICODE_STRING) {
    let mut v: Vec<u16> = s.encode_utf16().collect();
    let bytes = (v.len() * 2) as u16;
    let us = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: v.as_mut_ptr() };
    (v, us)
}

/// The raw DDIs. `delete`: how the sequence ends — WdfObjectDelete, the call
/// RegKey's drop makes (docs/invariants.md#k4: allowed up to DISPATCH_LEVEL),
/// or WdfRegistryClose, as a driver written against the raw DDIs would.
/// Returns the value read.
pub fn raw(path: &UNICODE_STRING, name: &UNICODE_STRING, delete: bool) -> u32 {
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: pointers to live locals.
    let _ = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRegistryOpenKey,
            core::ptr::null_mut(),
            path,
            KEY_ALL_ACCESS,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
    let mut v = 0u32;
    // SAFETY: live key.
    let _ = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignULong, key, name, 1) };
    // SAFETY: live key.
    let _ = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, name, &mut v) };
    if delete {
        // SAFETY: live key, deleted once.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, key.cast()) };
    } else {
        // SAFETY: live key, closed once.
        unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
    }
    black_box(v)
}

/// The same with RegKey: `open_absolute`, `assign_u32`, `query_u32`, drop.
/// Returns the value read (0 if the key did not open).
pub fn typed(path: &RegName, name: &RegName) -> u32 {
    let Ok(key) = RegKey::open_absolute(path, Access::ALL) else { return 0 };
    let _ = key.assign_u32(name, 1);
    black_box(key.query_u32(name).unwrap_or(0))
}
