//! The Rtl counted-string routines (F83) on the driver's own buffers.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

const DRV: &str = "rtl.sys";

/// A UNICODE_STRING over `buffer`, holding its first `units` units.
fn counted(buffer: &mut [u16], units: usize) -> UNICODE_STRING {
    UNICODE_STRING { Length: (units * 2) as u16, MaximumLength: (buffer.len() * 2) as u16, Buffer: buffer.as_mut_ptr() }
}

fn text(s: &UNICODE_STRING) -> String {
    // SAFETY: Buffer holds Length bytes.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2) })
}

#[test]
fn copy_append_compare_and_equal_follow_the_counts() {
    let m = Machine::new(Settings::default());
    let mut src_units: Vec<u16> = "Device".encode_utf16().collect();
    let n = src_units.len();
    let source = counted(&mut src_units, n);
    let mut dest_units = [0xFFFF_u16; 10];
    let mut dest = counted(&mut dest_units, 0);
    let suffix: Vec<u16> = "Key".encode_utf16().chain([0]).collect();
    let too_long: Vec<u16> = "TooLong".encode_utf16().chain([0]).collect();
    let mut upper_units: Vec<u16> = "DEVICEKEY".encode_utf16().collect();
    let upper = counted(&mut upper_units, 9);
    let (appended, refused, equal_ci, equal_cs, order) = m
        .run(DRV, "DriverEntry", || {
            // SAFETY: both strings are valid; the destination's buffer is writable.
            unsafe { RtlCopyUnicodeString(&mut dest, &source) };
            // SAFETY: as above; `suffix` is NUL-terminated.
            let appended = unsafe { RtlAppendUnicodeToString(&mut dest, suffix.as_ptr()) };
            // SAFETY: as above.
            let refused = unsafe { RtlAppendUnicodeToString(&mut dest, too_long.as_ptr()) };
            // SAFETY: valid strings.
            let equal_ci = unsafe { RtlEqualUnicodeString(&dest, &upper, 1) };
            // SAFETY: valid strings.
            let equal_cs = unsafe { RtlEqualUnicodeString(&dest, &upper, 0) };
            // SAFETY: valid strings.
            let order = unsafe { RtlCompareUnicodeString(&source, &dest, 0) };
            (appended, refused, equal_ci, equal_cs, order)
        })
        .expect("no stop");
    assert_eq!(text(&dest), "DeviceKey");
    assert_eq!(dest_units[9], 0, "NUL-terminated when room is left");
    assert_eq!((appended, refused), (STATUS_SUCCESS, STATUS_BUFFER_TOO_SMALL));
    assert_eq!((equal_ci, equal_cs), (1, 0));
    assert!(order < 0, "a prefix orders first");

    // Truncation: a 4-unit destination takes the first 4 units, no NUL.
    let mut small_units = [0xFFFF_u16; 4];
    let mut small = counted(&mut small_units, 0);
    // SAFETY: valid strings.
    m.run(DRV, "DriverEntry", || unsafe { RtlCopyUnicodeString(&mut small, &source) }).expect("no stop");
    assert_eq!(text(&small), "Devi");
    assert_eq!(m.ddi_calls().get("RtlCopyUnicodeString"), Some(&2));
}

#[test]
fn comparing_above_passive_level_is_the_irql_violation() {
    let m = Machine::new(Settings::default());
    let mut units: Vec<u16> = "a".encode_utf16().collect();
    let s = counted(&mut units, 1);
    // SAFETY: valid strings.
    let _ = m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || unsafe { RtlEqualUnicodeString(&s, &s, 0) });
    let stop = m.stop().expect("Driver Verifier's IRQL check");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xC4, 0x20004), "{stop}");
}
