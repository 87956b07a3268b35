//! Reading the driver's counted UTF-16 strings safely.

use crate::abi::{NTSTATUS, UNICODE_STRING};
use crate::model::kernel::arguments::counted_string;
use std::borrow::Cow;

/// Copies a `UNICODE_STRING` the driver passed in, once the model's
/// argument rule (`model::kernel::arguments::counted_string`) took it.
///
/// # Safety
/// `us` is null or points to a `UNICODE_STRING` whose `Buffer` holds at least
/// `Length` readable bytes.
pub(crate) unsafe fn read_unicode(us: *const UNICODE_STRING) -> Result<String, NTSTATUS> {
    // SAFETY: forwarded from the caller's contract.
    let units = unsafe { counted_units(us) }?;
    if units.is_empty() {
        return Ok(String::new());
    }
    let mut bytes = vec![0u8; units.len()];
    if copy_ascii(units, &mut bytes) {
        // SAFETY: every byte is below 0x80 (`copy_ascii`): ASCII is UTF-8.
        return Ok(unsafe { String::from_utf8_unchecked(bytes) });
    }
    Ok(String::from_utf16_lossy(units))
}

/// Room for the text [`read_unicode_in`] reads without allocating.
pub(crate) type TextBuffer = [u8; 128];

/// [`read_unicode`], the text held in `buffer` when it is ASCII and fits
/// (every name a driver of this kind passes), else in a `String` of its own.
///
/// # Safety
/// As [`read_unicode`].
pub(crate) unsafe fn read_unicode_in<'a>(
    us: *const UNICODE_STRING,
    buffer: &'a mut TextBuffer,
) -> Result<Cow<'a, str>, NTSTATUS> {
    // SAFETY: forwarded from the caller's contract.
    let units = unsafe { counted_units(us) }?;
    if let Some(bytes) = buffer.get_mut(..units.len())
        && copy_ascii(units, bytes)
    {
        // SAFETY: every byte is below 0x80 (`copy_ascii`): ASCII is UTF-8.
        return Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) }));
    }
    Ok(Cow::Owned(String::from_utf16_lossy(units)))
}

/// The code units of a counted string, once the model's argument rule took it.
///
/// # Safety
/// As [`read_unicode`]; the units stay readable while the driver's string does.
unsafe fn counted_units<'a>(us: *const UNICODE_STRING) -> Result<&'a [u16], NTSTATUS> {
    // SAFETY: null or a UNICODE_STRING (the caller's contract).
    let s = *counted_string(unsafe { us.as_ref() })?;
    if s.Length == 0 {
        return Ok(&[]);
    }
    // SAFETY: the caller guarantees `Length` readable bytes at `Buffer` (checked non-null).
    Ok(unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length / 2)) })
}

/// Copies `units` into `bytes` (as long) one byte per unit, eight units a
/// step; whether every unit was ASCII (else `bytes` holds no text).
fn copy_ascii(units: &[u16], bytes: &mut [u8]) -> bool {
    let mut all = 0u16;
    let mut from = units.chunks_exact(8);
    let mut to = bytes.chunks_exact_mut(8);
    for (u, b) in (&mut from).zip(&mut to) {
        for (b, &u) in b.iter_mut().zip(u) {
            all |= u;
            *b = u as u8;
        }
    }
    for (&u, b) in from.remainder().iter().zip(to.into_remainder()) {
        all |= u;
        *b = u as u8;
    }
    all < 0x80
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` as a driver passes it, read back.
    fn read(text: &str) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let bytes = u16::try_from(units.len() * 2).expect("a short test text");
        let us = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_ptr().cast_mut() };
        // SAFETY: `us` describes `units`, alive for the call.
        unsafe { read_unicode(&us) }.expect("a well-formed UNICODE_STRING")
    }

    #[test]
    fn text_reads_back_whatever_its_length_and_wherever_a_non_ascii_unit_is() {
        let ascii = "ParametersTraceLevel";
        for n in 0..=ascii.len() {
            assert_eq!(read(&ascii[..n]), ascii[..n], "{n} ASCII units");
        }
        for at in 0..12 {
            // One unit above 0x7F in a whole chunk of eight or in the rest.
            let text: String = ascii.chars().take(at).chain(['é']).chain(ascii.chars().skip(at)).collect();
            assert_eq!(read(&text), text, "non-ASCII at {at}");
        }
        assert_eq!(read("Größe\u{1F600}"), "Größe\u{1F600}", "a surrogate pair");
    }

    #[test]
    fn text_read_into_a_buffer_is_the_same_text_borrowed_when_ascii_and_fits_else_owned() {
        let long = "K".repeat(200);
        for text in ["", "Parameters", "Größe\u{1F600}", &long[..128], &long[..129], &long] {
            let units: Vec<u16> = text.encode_utf16().collect();
            let bytes = u16::try_from(units.len() * 2).expect("a short test text");
            let us = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_ptr().cast_mut() };
            let mut buffer = [0u8; 128];
            // SAFETY: `us` describes `units`, alive for the call.
            let read = unsafe { read_unicode_in(&us, &mut buffer) }.expect("a well-formed UNICODE_STRING");
            assert_eq!(read, text);
            let borrowed = text.is_ascii() && text.len() <= 128;
            assert_eq!(matches!(read, Cow::Borrowed(_)), borrowed, "{} units", text.len());
        }
        let bad = UNICODE_STRING { Length: 3, MaximumLength: 4, Buffer: std::ptr::null_mut() };
        let mut buffer = [0u8; 128];
        // SAFETY: a malformed string the rule refuses before reading.
        assert_eq!(unsafe { read_unicode_in(&bad, &mut buffer) }, Err(crate::abi::STATUS_INVALID_PARAMETER));
        // SAFETY: null is allowed by the contract.
        let null = unsafe { read_unicode_in(std::ptr::null(), &mut buffer) };
        assert_eq!(null, Err(crate::abi::STATUS_INVALID_PARAMETER));
    }
}
