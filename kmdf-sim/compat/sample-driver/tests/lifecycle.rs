//! The sample driver on the simulator, as PnP and an application drive it:
//! load, add the device, write / read / IOCTL / cancel, disable and enable
//! it, unload — with every verifier on, nothing may be reported; and the
//! deliberate leak must be reported the way Driver Verifier reports it.

use compat_sample_driver::{
    GUID_DEVINTERFACE_SAMPLE, IOCTL_SAMPLE_LEAK, IOCTL_SAMPLE_MEMORY_ECHO, IOCTL_SAMPLE_WRITE_COUNT, POOL_TAG,
};
use kmdf_sim::control::{Caller, DeviceFile, IoOutcome, Machine, Settings};
use kmdf_sim::{NTSTATUS, STATUS_CANCELLED, STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS};

const IMAGE: &str = "compat_sample_driver.sys";

fn machine(settings: Settings) -> (Machine, usize) {
    let m = Machine::new(settings);
    // The driver's exported DriverEntry, found by symbol as the kernel finds it.
    m.install(IMAGE, "CompatSample", kmdf_sim::exported_driver_entry!());
    let id = m.add_device(r"Root\CompatSample", None).expect("the device starts");
    assert_eq!(m.find_interface(&GUID_DEVINTERFACE_SAMPLE), Some(id), "the driver registered its interface");
    (m, id)
}

fn completed(outcome: Result<Result<IoOutcome, NTSTATUS>, kmdf_sim::control::Stopped>) -> (NTSTATUS, u64, Vec<u8>) {
    match outcome.expect("no stop").expect("the device takes the request") {
        IoOutcome::Completed { status, information, output } => (status, information, output),
        IoOutcome::Pending => panic!("the request did not complete"),
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn write_read(m: &Machine, file: &DeviceFile, n: usize) {
    let data = pattern(n);
    let (status, info, _) = completed(m.call_sync(m.write(file, "app.exe", &data), 1000));
    assert_eq!((status, info), (STATUS_SUCCESS, n as u64), "write of {n} bytes");
    let (status, info, out) = completed(m.call_sync(m.read(file, "app.exe", n), 1000));
    assert_eq!((status, info), (STATUS_SUCCESS, n as u64), "read of {n} bytes");
    assert_eq!(out, data, "the read returns what was written");
}

#[test]
fn serves_io_survives_100_restarts_and_unloads_clean_with_every_verifier() {
    let (m, id) = machine(Settings::default());
    for round in 0..100 {
        let file = m.open_device(id, Caller::Administrator).expect("open");
        write_read(&m, &file, 512);
        if round % 25 == 0 {
            write_read(&m, &file, 30 * 1024);
        }
        let (status, info, out) =
            completed(m.call_sync(m.device_io_control(&file, "app.exe", IOCTL_SAMPLE_WRITE_COUNT, &[], 4), 100));
        assert_eq!((status, info), (STATUS_SUCCESS, 4));
        assert!(u32::from_le_bytes(out.try_into().expect("4 bytes")) >= 1, "the write count");
        let (status, _, out) =
            completed(m.call_sync(m.device_io_control(&file, "app.exe", IOCTL_SAMPLE_MEMORY_ECHO, b"hello", 5), 100));
        assert_eq!((status, out.as_slice()), (STATUS_SUCCESS, &b"hello"[..]));
        let (status, _, _) = completed(m.call_sync(m.device_io_control(&file, "app.exe", 0x0022_2FFC, &[], 0), 100));
        assert_eq!(status, STATUS_INVALID_DEVICE_REQUEST);
        m.disable_device(id).expect("disable");
        m.enable_device(id).expect("enable");
    }
    m.disable_device(id).expect("the last disable unloads the driver");
    assert!(m.stop().is_none(), "{:?}", m.stop());
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.findings().is_empty(), "{:?}", m.findings());
    let reports = m.unload_reports();
    assert_eq!(reports.len(), 101, "one unload per disable");
    for r in &reports {
        assert!(r.leaked_pool.is_empty() && r.leaked_objects.is_empty() && r.leaked_handles.is_empty(), "{r:?}");
    }
    assert!(m.pool_allocations().is_empty());
    assert!(m.debug_output().iter().any(|l| l.contains("Kernel Mode Driver Framework version 1.33")));
    assert!(m.debug_output().iter().any(|l| l.contains("available != 0") && l.contains("true")), "dbg! output");
}

#[test]
fn a_held_request_is_cancelled_through_its_cancel_routine() {
    let (m, id) = machine(Settings::default());
    let file = m.open_device(id, Caller::Administrator).expect("open");
    let (request, outcome) = m.write(&file, "app.exe", &pattern(16)).expect("no stop").expect("sent");
    assert_eq!(outcome, IoOutcome::Pending, "the timer completes writes, not the write callback");
    m.cancel_request(request).expect("no stop");
    assert!(matches!(m.request_outcome(request), IoOutcome::Completed { status: STATUS_CANCELLED, .. }));
    m.advance_time(500).expect("the timer runs on with nothing held");
    write_read(&m, &file, 8);
    m.disable_device(id).expect("disable");
    assert!(m.stop().is_none() && m.findings().is_empty(), "{:?} {:?}", m.stop(), m.findings());
}

#[test]
fn a_leak_is_driver_verifiers_0xc4_0x62_at_unload() {
    let (m, id) = machine(Settings::default());
    let file = m.open_device(id, Caller::Administrator).expect("open");
    let (status, _, _) = completed(m.call_sync(m.device_io_control(&file, "app.exe", IOCTL_SAMPLE_LEAK, &[], 0), 100));
    assert_eq!(status, STATUS_SUCCESS);
    let stop = m.disable_device(id).expect_err("pool tracking stops the machine at unload");
    let bc = stop.bug_check().expect("a bug check");
    assert_eq!((bc.code, bc.params[0], bc.params[3]), (0xC4, 0x62, 1), "{bc:?}");
    assert_eq!(bc.blamed, IMAGE);
    assert!(bc.param_notes[1].contains(IMAGE), "Arg2 names the driver: {:?}", bc.param_notes);
}

#[test]
fn without_pool_tracking_the_leak_is_only_in_the_unload_report() {
    let (m, id) = machine(Settings { pool_tracking: false, ..Settings::default() });
    let file = m.open_device(id, Caller::Administrator).expect("open");
    let _ = completed(m.call_sync(m.device_io_control(&file, "app.exe", IOCTL_SAMPLE_LEAK, &[], 0), 100));
    m.disable_device(id).expect("no stop without pool tracking");
    let report = m.unload_reports().pop().expect("the unload was reported");
    assert_eq!(report.leaked_pool.len(), 1);
    assert_eq!((report.leaked_pool[0].size, report.leaked_pool[0].tag), (64, POOL_TAG));
}
