//! Delays and clocks (F141): `KeDelayExecutionThread` moves the machine's
//! clock, `KeQueryPerformanceCounter` reads it at 10 MHz,
//! `KeQueryTimeIncrement` is constant; a delay above APC_LEVEL is Driver
//! Verifier's IRQL violation.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{KeDelayExecutionThread, KeQueryPerformanceCounter, KeQueryTimeIncrement};
use kmdf_sim::*;

fn delay(interval: i64) -> NTSTATUS {
    let mut at = LARGE_INTEGER { QuadPart: interval };
    // SAFETY: a valid LARGE_INTEGER for the call.
    unsafe { KeDelayExecutionThread(_MODE::KernelMode as KPROCESSOR_MODE, 0, &raw mut at) }
}

fn counter() -> (i64, i64) {
    let mut frequency = LARGE_INTEGER { QuadPart: 0 };
    // SAFETY: a writable LARGE_INTEGER.
    let now = unsafe { KeQueryPerformanceCounter(&raw mut frequency) };
    // SAFETY: every bit pattern of the union is an i64.
    let now = unsafe { now.QuadPart };
    // SAFETY: as above.
    (now, unsafe { frequency.QuadPart })
}

#[test]
fn a_delay_moves_the_clock_and_the_counter_reads_it() {
    let m = Machine::new(Settings::default());
    let before = m.now();
    let (c0, f) = m.run("time.sys", "DriverEntry", counter).expect("no stop");
    assert_eq!(f, 10_000_000, "10 MHz");
    // 5 ms relative, then an absolute time 1 s after boot.
    let status = m.run("time.sys", "DriverEntry", || delay(-50_000)).expect("no stop");
    assert_eq!(status, STATUS_SUCCESS);
    assert_eq!(m.now(), before + 50_000);
    let (c1, _) = m.run("time.sys", "DriverEntry", counter).expect("no stop");
    assert_eq!(c1 - c0, 50_000, "one tick per 100 ns");
    m.run("time.sys", "DriverEntry", || delay(10_000_000)).expect("no stop");
    assert_eq!(m.now(), 10_000_000.max(before + 50_000));
    // An absolute time in the past does not move the clock back.
    m.run("time.sys", "DriverEntry", || delay(1)).expect("no stop");
    assert_eq!(m.now(), 10_000_000.max(before + 50_000));
    // SAFETY: no arguments.
    let increment = m.run("time.sys", "DriverEntry", || unsafe { KeQueryTimeIncrement() }).expect("no stop");
    assert_eq!(increment, 156_250);
    // A null interval is refused without a stop.
    // SAFETY: a null interval is the case under test.
    let null = unsafe { KeDelayExecutionThread(0, 0, std::ptr::null_mut()) };
    assert_eq!(null, STATUS_INVALID_PARAMETER);
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_delay_at_dispatch_level_is_the_irql_violation_and_the_counter_is_not() {
    let m = Machine::new(Settings::default());
    let (c, _) = m.run_at_irql("time.sys", "EvtDpc", DISPATCH_LEVEL as u8, counter).expect("any IRQL");
    assert!(c >= 0);
    let _ = m.run_at_irql("time.sys", "EvtDpc", DISPATCH_LEVEL as u8, || delay(-10));
    let stop = m.stop().expect("Driver Verifier's IRQL check");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[1], b.params[2]), (0xC4, 0x20004, 2, 1), "{stop}");
}
