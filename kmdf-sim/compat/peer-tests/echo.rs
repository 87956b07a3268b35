//! microsoft/Windows-rust-driver-samples' `general/echo/kmdf/driver/DriverSync`
//! on kmdf-sim, unmodified (built by `kmdf-sim/scripts/peer-samples.sh`).
//!
//! The application side follows the sample's own `exe` (echo app): find the
//! device by its interface GUID, open it, write a 512-byte and a 30 KiB
//! pattern and read each back (synchronous I/O); its `-Async` mode's
//! cancelation is exercised too, and an IOCTL the driver has no handler for.
//! Then PnP disables and enables the device 100 times, with I/O each time,
//! and the last disable unloads the driver — all with every verifier on.

mod clean;

use echo_2 as _;
use kmdf_sim::control::{Caller, DeviceFile, IoOutcome, Machine, Settings};
use kmdf_sim::{GUID, NTSTATUS, STATUS_CANCELLED, STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS};

/// The echo sample's interface class, {CDC35B6E-0BE4-4936-BF5F-5537380A7C1A}
/// (the public value the sample's exe looks the device up by).
const GUID_DEVINTERFACE_ECHO: GUID =
    GUID { Data1: 0xCDC3_5B6E, Data2: 0x0BE4, Data3: 0x4936, Data4: [0xBF, 0x5F, 0x55, 0x37, 0x38, 0x0A, 0x7C, 0x1A] };

/// The exe's timeout-free synchronous wait, bounded: the driver's timer
/// completes a request within its 10 s period.
const WAIT_MS: u64 = 30_000;

fn done(outcome: Result<Result<IoOutcome, NTSTATUS>, kmdf_sim::control::Stopped>, what: &str) -> (NTSTATUS, Vec<u8>) {
    match outcome.unwrap_or_else(|stop| panic!("{what}: the machine stopped:\n{stop}")) {
        Ok(IoOutcome::Completed { status, information, output }) => {
            assert!(output.len() as u64 <= information);
            (status, output)
        }
        Ok(IoOutcome::Pending) => panic!("{what}: not completed within {WAIT_MS} ms of simulated time"),
        Err(st) => panic!("{what}: the device refused it: {st:#x}"),
    }
}

/// The exe's `create_pattern_buffer`: 0, 1, 2, ... wrapping at 256.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| i as u8).collect()
}

/// The exe's `perform_write_read_test`.
fn write_read(m: &Machine, file: &DeviceFile, n: usize) {
    let data = pattern(n);
    let (status, _) = done(m.call_sync(m.write(file, "echoapp.exe", &data), WAIT_MS), "WriteFile");
    assert_eq!(status, STATUS_SUCCESS, "WriteFile of {n} bytes");
    let (status, read) = done(m.call_sync(m.read(file, "echoapp.exe", n), WAIT_MS), "ReadFile");
    assert_eq!(status, STATUS_SUCCESS, "ReadFile of {n} bytes");
    assert_eq!(read.len(), n, "bytes read is the test length");
    assert_eq!(read, data, "the pattern comes back");
}

#[test]
fn driver_sync_serves_the_echo_app_restarts_100_times_and_unloads_clean() {
    let m = Machine::new(Settings::default());
    m.install("echo_2.sys", "echo_2", kmdf_sim::exported_driver_entry!());
    let id = m.add_device(r"Root\ECHO", None).expect("the device starts");
    let mut rounds = 0;
    for round in 0..=100 {
        let id_found = m.find_interface(&GUID_DEVINTERFACE_ECHO).expect("the driver registered its interface");
        assert_eq!(id_found, id);
        let file = m.open_device(id, Caller::Administrator).expect("CreateFile");
        write_read(&m, &file, 512);
        write_read(&m, &file, 30 * 1024);
        // -Async: a write the application cancels while the driver holds it.
        let (request, pending) = m.write(&file, "echoapp.exe", &pattern(64)).expect("no stop").expect("sent");
        assert_eq!(pending, IoOutcome::Pending, "the timer DPC completes writes");
        m.cancel_request(request).expect("no stop");
        assert!(
            matches!(m.request_outcome(request), IoOutcome::Completed { status: STATUS_CANCELLED, .. }),
            "{:?}",
            m.request_outcome(request)
        );
        // No EvtIoDeviceControl: the framework fails an IOCTL itself.
        let (status, _) =
            done(m.call_sync(m.device_io_control(&file, "echoapp.exe", 0x0022_2003, &[1, 2], 4), WAIT_MS), "IOCTL");
        assert_eq!(status, STATUS_INVALID_DEVICE_REQUEST);
        rounds += 1;
        if round < 100 {
            m.disable_device(id).expect("disable");
            m.enable_device(id).expect("enable");
        }
    }
    m.disable_device(id).expect("the last disable unloads the driver");
    clean::assert_clean(&m, 101);
    let reports = m.unload_reports();
    assert!(m.pool_allocations().is_empty(), "{:?}", m.pool_allocations());
    assert!(m.live_objects().is_empty(), "{:?}", m.live_objects());
    clean::print_clean_figures(
        &m,
        &format!(
            "echo run: {rounds} rounds (2 write/read pairs, 1 cancel, 1 IOCTL each), 100 disable/enable, {} loads",
            reports.len()
        ),
    );
}
