//! More Rtl string routines (F148): ANSI strings, the conversions between
//! ANSI and Unicode (into the caller's buffer or one they allocate, freed by
//! the Rtl free routines), integers to and from Unicode strings, appending a
//! counted string, prefixes — and the finding for a conversion's buffer
//! never freed.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

/// A UNICODE_STRING over `buffer` holding its first `len` units.
fn unicode(buffer: &mut [u16], len: usize) -> UNICODE_STRING {
    UNICODE_STRING { Length: (len * 2) as u16, MaximumLength: (buffer.len() * 2) as u16, Buffer: buffer.as_mut_ptr() }
}

fn text(s: &UNICODE_STRING) -> String {
    // SAFETY: Buffer holds Length bytes.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2) })
}

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

#[test]
fn ansi_and_unicode_convert_both_ways_and_allocated_buffers_are_freed() {
    let m = Machine::new(Settings::default());
    m.run("rtl.sys", "DriverEntry", || {
        let mut ansi = STRING { Length: 0, MaximumLength: 0, Buffer: std::ptr::null_mut() };
        // SAFETY: a NUL-terminated static source.
        unsafe { RtlInitAnsiString(&raw mut ansi, c"caf\xe9".as_ptr()) };
        assert_eq!((ansi.Length, ansi.MaximumLength), (4, 5));
        let mut wide = UNICODE_STRING { Length: 0, MaximumLength: 0, Buffer: std::ptr::null_mut() };
        // SAFETY: valid strings; the destination is allocated by the routine.
        let st = unsafe { RtlAnsiStringToUnicodeString(&raw mut wide, &raw mut ansi, 1) };
        assert_eq!((st, text(&wide), wide.MaximumLength), (STATUS_SUCCESS, "café".to_string(), 10));
        let mut back = STRING { Length: 0, MaximumLength: 0, Buffer: std::ptr::null_mut() };
        // SAFETY: as above.
        let st = unsafe { RtlUnicodeStringToAnsiString(&raw mut back, &raw const wide, 1) };
        // SAFETY: Buffer holds Length bytes and a NUL.
        let bytes = unsafe { std::slice::from_raw_parts(back.Buffer.cast::<u8>(), usize::from(back.Length) + 1) };
        assert_eq!((st, bytes), (STATUS_SUCCESS, &b"caf\xe9\0"[..]));
        // Into the caller's buffer: too small, then large enough.
        let mut small = [0u8; 3];
        let mut into = STRING { Length: 0, MaximumLength: 3, Buffer: small.as_mut_ptr().cast() };
        // SAFETY: a 3-byte writable buffer.
        let st = unsafe { RtlUnicodeStringToAnsiString(&raw mut into, &raw const wide, 0) };
        assert_eq!((st as u32, into.Length), (0x8000_0005, 0), "STATUS_BUFFER_OVERFLOW, unchanged");
        // SAFETY: buffers the conversions allocated.
        unsafe { RtlFreeUnicodeString(&raw mut wide) };
        // SAFETY: as above.
        unsafe { RtlFreeAnsiString(&raw mut back) };
        assert!(wide.Buffer.is_null() && back.Buffer.is_null() && wide.MaximumLength == 0);
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn integers_append_and_prefix() {
    let m = Machine::new(Settings::default());
    m.run("rtl.sys", "DriverEntry", || {
        let mut buffer = [0u16; 8];
        let mut s = unicode(&mut buffer, 0);
        // SAFETY: a valid string over an 8-unit buffer.
        assert_eq!(unsafe { RtlIntegerToUnicodeString(255, 16, &raw mut s) }, STATUS_SUCCESS);
        assert_eq!(text(&s), "FF");
        // SAFETY: as above.
        assert_eq!(unsafe { RtlInt64ToUnicodeString(1 << 40, 10, &raw mut s) } as u32, 0x8000_0005, "13 digits");
        // SAFETY: as above.
        assert_eq!(unsafe { RtlIntegerToUnicodeString(1, 7, &raw mut s) }, STATUS_INVALID_PARAMETER);
        let mut digits = w(" -0x10");
        let number = unicode(&mut digits, 6);
        let mut value = 0u32;
        // SAFETY: valid string and output.
        let st = unsafe { RtlUnicodeStringToInteger(&raw const number, 0, &raw mut value) };
        assert_eq!((st, value), (STATUS_SUCCESS, 16u32.wrapping_neg()));
        let mut tail = w("EF");
        let tail = unicode(&mut tail, 2);
        // SAFETY: valid strings; "FF" + "EF" fits 8 units.
        assert_eq!(unsafe { RtlAppendUnicodeStringToString(&raw mut s, &raw const tail) }, STATUS_SUCCESS);
        assert_eq!(text(&s), "FFEF");
        let mut full = w("abcdefgh");
        let full = unicode(&mut full, 8);
        // SAFETY: as above; 4 + 8 units do not fit 8.
        assert_eq!(unsafe { RtlAppendUnicodeStringToString(&raw mut s, &raw const full) }, STATUS_BUFFER_TOO_SMALL);
        let mut pre = w("FFe");
        let pre = unicode(&mut pre, 3);
        // SAFETY: valid strings.
        let sensitive = unsafe { RtlPrefixUnicodeString(&raw const pre, &raw const s, 0) };
        // SAFETY: as above.
        let insensitive = unsafe { RtlPrefixUnicodeString(&raw const pre, &raw const s, 1) };
        assert_eq!((sensitive, insensitive), (0, 1));
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

extern "C" fn keeps_a_converted_string(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    let mut ansi = STRING { Length: 0, MaximumLength: 0, Buffer: std::ptr::null_mut() };
    // SAFETY: a static source.
    unsafe { RtlInitString(&raw mut ansi, c"kept".as_ptr()) };
    let mut wide = UNICODE_STRING { Length: 0, MaximumLength: 0, Buffer: std::ptr::null_mut() };
    // SAFETY: valid strings; the allocated buffer is never freed (the case
    // under test).
    unsafe { RtlAnsiStringToUnicodeString(&raw mut wide, &raw mut ansi, 1) }
}

#[test]
fn a_converted_string_never_freed_is_a_finding_at_unload() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("keep.sys", "keep", Some(keeps_a_converted_string)).expect("no stop"), STATUS_SUCCESS);
    m.unload().expect("no bug check");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.starts_with("keep.sys unloaded without RtlFreeUnicodeString")), "{findings:?}");
}

#[test]
fn conversions_are_passive_level_only_and_foreign_buffers_are_not_modelled() {
    let m = Machine::new(Settings::default());
    let mut source = w("x");
    let source = unicode(&mut source, 1);
    let _ = m.run_at_irql("rtl.sys", "EvtDpc", DISPATCH_LEVEL as u8, || {
        let mut out = STRING { Length: 0, MaximumLength: 0, Buffer: std::ptr::null_mut() };
        // SAFETY: valid strings; the IRQL is the case under test.
        unsafe { RtlUnicodeStringToAnsiString(&raw mut out, &raw const source, 1) }
    });
    assert_eq!(m.stop().expect("a stop").bug_check().map(|b| b.code), Some(0xC4));
    drop(m);
    let m = Machine::new(Settings::default());
    let mut mine = w("mine");
    let mut s = unicode(&mut mine, 4);
    // SAFETY: a string over the test's own buffer: the case under test.
    let _ = m.run("rtl.sys", "DriverEntry", || unsafe { RtlFreeUnicodeString(&raw mut s) });
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}
