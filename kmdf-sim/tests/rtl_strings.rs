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

/// A call with a NULL where the routine reads or writes, and what it is.
struct NullCase {
    routine: &'static str,
    call: fn(),
    /// 1: the routine writes through the NULL; 0: it reads.
    write: u64,
    /// A PASSIVE_LEVEL routine: at DISPATCH_LEVEL Driver Verifier's IRQL rule stops it first (F66).
    passive_only: bool,
}

fn init_null() {
    // SAFETY: the defect under test: a NULL destination.
    unsafe { RtlInitUnicodeString(std::ptr::null_mut(), std::ptr::null()) }
}
fn copy_null() {
    // SAFETY: the defect under test: a NULL destination.
    unsafe { RtlCopyUnicodeString(std::ptr::null_mut(), std::ptr::null()) }
}
fn append_null() {
    // SAFETY: the defect under test: a NULL destination.
    let _ = unsafe { RtlAppendUnicodeToString(std::ptr::null_mut(), std::ptr::null()) };
}
fn compare_null() {
    // SAFETY: the defect under test: NULL strings.
    let _ = unsafe { RtlCompareUnicodeString(std::ptr::null(), std::ptr::null(), 0) };
}
fn equal_null() {
    // SAFETY: the defect under test: NULL strings.
    let _ = unsafe { RtlEqualUnicodeString(std::ptr::null(), std::ptr::null(), 0) };
}

#[test]
fn a_null_string_the_routine_touches_is_the_access_violations_bug_check() {
    // F95: the Rtl string routines dereference their strings without an
    // exception handler: a NULL is an unhandled access violation — 0x7E in a
    // system thread (DriverEntry runs in the System process) — or, at
    // DISPATCH_LEVEL, 0xA {0, IRQL, read/write}.
    let cases = [
        NullCase { routine: "RtlInitUnicodeString", call: init_null, write: 1, passive_only: false },
        NullCase { routine: "RtlCopyUnicodeString", call: copy_null, write: 1, passive_only: false },
        NullCase { routine: "RtlAppendUnicodeToString", call: append_null, write: 0, passive_only: false },
        NullCase { routine: "RtlCompareUnicodeString", call: compare_null, write: 0, passive_only: true },
        NullCase { routine: "RtlEqualUnicodeString", call: equal_null, write: 0, passive_only: true },
    ];
    for case in &cases {
        let routine = case.routine;
        let m = Machine::new(Settings::default());
        let b = m.run(DRV, "DriverEntry", case.call).expect_err(routine).bug_check().expect("bug check").clone();
        assert_eq!((b.code, b.params[0]), (0x7E, 0xC000_0005), "{routine}");
        assert!(b.root_cause.as_deref().is_some_and(|c| c.contains(routine) && c.contains("f95")), "{b:?}");
        drop(m);
        let m = Machine::new(Settings::default());
        let stop = m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, case.call).expect_err(routine);
        let b = stop.bug_check().expect("bug check");
        if case.passive_only {
            assert_eq!(b.code, 0xC4, "{routine} at DISPATCH_LEVEL");
        } else {
            assert_eq!((b.code, b.params[..3].to_vec()), (0xA, vec![0, 2, case.write]), "{routine} at DISPATCH_LEVEL");
        }
    }
}

#[test]
fn the_optional_sources_may_be_null() {
    // F95: a NULL source to RtlInitUnicodeString, RtlCopyUnicodeString and
    // RtlAppendUnicodeToString is an empty string (`_In_opt_`).
    let m = Machine::new(Settings::default());
    let mut units = [0x41_u16; 4];
    let mut dest = counted(&mut units, 2);
    let appended = m
        .run(DRV, "DriverEntry", || {
            // SAFETY: a valid destination; a NULL source is documented.
            unsafe { RtlCopyUnicodeString(&mut dest, std::ptr::null()) };
            // SAFETY: as above.
            let appended = unsafe { RtlAppendUnicodeToString(&mut dest, std::ptr::null()) };
            // SAFETY: as above.
            unsafe { RtlInitUnicodeString(&mut dest, std::ptr::null()) };
            appended
        })
        .expect("no stop");
    assert_eq!(appended, STATUS_SUCCESS);
    assert_eq!((dest.Length, dest.MaximumLength), (0, 0));
}
