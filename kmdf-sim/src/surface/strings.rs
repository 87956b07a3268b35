//! Reading the driver's counted UTF-16 strings safely.

use crate::abi::{NTSTATUS, UNICODE_STRING};
use crate::model::kernel::arguments::counted_string;

/// Copies a `UNICODE_STRING` the driver passed in, once the model's
/// argument rule (`model::kernel::arguments::counted_string`) took it.
///
/// # Safety
/// `us` is null or points to a `UNICODE_STRING` whose `Buffer` holds at least
/// `Length` readable bytes.
pub(crate) unsafe fn read_unicode(us: *const UNICODE_STRING) -> Result<String, NTSTATUS> {
    // SAFETY: null or a UNICODE_STRING (the caller's contract).
    let s = *counted_string(unsafe { us.as_ref() })?;
    if s.Length == 0 {
        return Ok(String::new());
    }
    // SAFETY: the caller guarantees `Length` readable bytes at `Buffer` (checked non-null).
    let units = unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length / 2)) };
    // Every unit at once (no early exit, so the check runs many units a step).
    if units.iter().fold(0, |all, &u| all | u) < 0x80 {
        // ASCII (every name a driver of this kind passes): one byte per unit.
        let bytes: Vec<u8> = units.iter().map(|&u| u as u8).collect();
        // SAFETY: every byte is below 0x80 (checked above): ASCII is UTF-8.
        return Ok(unsafe { String::from_utf8_unchecked(bytes) });
    }
    Ok(String::from_utf16_lossy(units))
}

/// The code units of a NUL-terminated UTF-16 string (without the NUL).
///
/// # Safety
/// `p` is non-null and points at a NUL-terminated UTF-16 string that stays
/// readable for `'a`.
pub(crate) unsafe fn wide_units<'a>(p: *const u16) -> &'a [u16] {
    let mut n = 0;
    loop {
        // SAFETY: unit `n` is inside the string or is its NUL: every
        // earlier unit was not the NUL.
        let unit = unsafe { p.add(n) };
        // SAFETY: as above: readable.
        if unsafe { *unit } == 0 {
            break;
        }
        n += 1;
    }
    // SAFETY: the `n` units just read.
    unsafe { core::slice::from_raw_parts(p, n) }
}
