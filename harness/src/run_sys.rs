//! `run-sys`: the stress cycle on a KMDF driver image (`.sys`, x64 PE)
//! loaded natively by the simulator (Linux x86_64): the package installed,
//! then each cycle adds (first cycle) or enables a root-enumerated devnode —
//! which loads the driver — disables and enables it, and disables it again,
//! which unloads the driver (F37). Every verifier is on; the run stops at the
//! first cycle with a bug check, an ownership violation, a leak or a finding.
//!
//! With `--io ROUNDS`, each time the device has started an application
//! opens its interface and, ROUNDS times, writes a pattern, reads as many
//! bytes back and sends an IOCTL, each synchronously (simulated time runs,
//! so the driver's timers fire, until the request completes). A request
//! still pending after that time fails the cycle (the application would
//! hang); with `--expect-echo`, so does a read that does not return the
//! bytes just written.

use crate::report::{BugCheckRecord, LeakRecord, StressReport, ViolationRecord};
use indicatif::ProgressBar;
use kmdf_sim::NTSTATUS;
use kmdf_sim::control::native::NativeImage;
use kmdf_sim::control::{Caller, DeviceId, IoOutcome, Machine, Settings};
use std::path::PathBuf;
use std::time::Instant;

/// What `run-sys` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The image.
    pub driver: PathBuf,
    /// How many cycles.
    pub cycles: u64,
    /// The service name (default: the image's file stem).
    pub service: Option<String>,
    /// The devnode's hardware ID (default: `Root\<service>`).
    pub hardware_id: Option<String>,
    /// Application I/O rounds after each start (0: none).
    pub io_rounds: u64,
    /// The IOCTL code the application sends.
    pub ioctl: u32,
    /// Whether a read must return the bytes just written.
    pub expect_echo: bool,
}

/// What the application's I/O did over the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Requests sent and completed (writes, reads, IOCTLs).
    pub writes: u64,
    pub reads: u64,
    pub ioctls: u64,
    /// Reads that returned exactly the bytes of the write before them.
    pub echoed: u64,
    /// Completion statuses and how many requests had each.
    pub statuses: std::collections::BTreeMap<u32, u64>,
}

impl IoStats {
    /// One line: what was served.
    pub fn summary(&self) -> String {
        let statuses = self.statuses.iter().map(|(s, n)| format!("{s:#010X} x{n}")).collect::<Vec<_>>().join(", ");
        format!(
            "application I/O: {} requests completed ({} writes, {} reads, {} IOCTLs); {} of {} reads returned \
             the bytes just written; statuses: {}",
            self.writes + self.reads + self.ioctls,
            self.writes,
            self.reads,
            self.ioctls,
            self.echoed,
            self.reads,
            if statuses.is_empty() { "none".into() } else { statuses }
        )
    }
}

/// How long (simulated ms) the application waits for one request.
const IO_TIMEOUT_MS: u64 = 10_000;

/// The application's rounds on the started device `id`.
fn application_io(m: &Machine, id: DeviceId, o: &Options, round: u64, io: &mut IoStats) -> Result<(), String> {
    if o.io_rounds == 0 {
        return Ok(());
    }
    let file = m.open_device(id, Caller::Administrator).map_err(|st| format!("CreateFile refused: {st:#010X}"))?;
    let stopped = |s: Box<kmdf_sim::control::Stop>| format!("stopped: {}", s.to_string().lines().next().unwrap_or(""));
    let mut done =
        |what: &str, r: Result<Result<IoOutcome, NTSTATUS>, Box<kmdf_sim::control::Stop>>| match r.map_err(stopped)? {
            Err(st) => Err(format!("{what} refused: {st:#010X}")),
            Ok(IoOutcome::Pending) => Err(format!("{what} still pending after {IO_TIMEOUT_MS} ms of simulated time")),
            Ok(IoOutcome::Completed { status, output, .. }) => {
                *io.statuses.entry(status as u32).or_default() += 1;
                Ok((status, output))
            }
        };
    for r in 0..o.io_rounds {
        let data: Vec<u8> = format!("round {round}.{r}: the application's bytes").into_bytes();
        done("WriteFile", m.call_sync(m.write(&file, "app.exe", &data), IO_TIMEOUT_MS))?;
        io.writes += 1;
        let (_, output) = done("ReadFile", m.call_sync(m.read(&file, "app.exe", data.len()), IO_TIMEOUT_MS))?;
        io.reads += 1;
        if output == data {
            io.echoed += 1;
        } else if o.expect_echo {
            return Err(format!("ReadFile returned {output:?}, not the {} bytes just written", data.len()));
        }
        done(
            "DeviceIoControl",
            m.call_sync(m.device_io_control(&file, "app.exe", o.ioctl, &data, data.len()), IO_TIMEOUT_MS),
        )?;
        io.ioctls += 1;
    }
    Ok(())
}

/// One cycle's steps on `m`; the device is added on the first.
fn cycle(
    m: &Machine,
    device: &mut Option<DeviceId>,
    hardware_id: &str,
    o: &Options,
    c: u64,
    io: &mut IoStats,
) -> Result<(), String> {
    let stopped = |s: Box<kmdf_sim::control::Stop>| format!("stopped: {}", s.to_string().lines().next().unwrap_or(""));
    match *device {
        None => *device = Some(m.add_device(hardware_id, None).map_err(stopped)?),
        Some(id) => m.enable_device(id).map_err(stopped)?,
    }
    let id = device.ok_or("no device")?;
    application_io(m, id, o, 2 * c, io)?;
    m.disable_device(id).map_err(stopped)?;
    m.enable_device(id).map_err(stopped)?;
    application_io(m, id, o, 2 * c + 1, io)?;
    m.disable_device(id).map_err(stopped)?;
    Ok(())
}

/// Runs the cycles. `Err` when the image cannot be loaded at all (before
/// any cycle): what is wrong with it.
pub fn run(o: &Options, bar: &ProgressBar) -> Result<(StressReport, IoStats), String> {
    let image = NativeImage::open(&o.driver).map_err(|e| e.to_string())?;
    let service = o.service.clone().unwrap_or_else(|| {
        o.driver.file_stem().map_or_else(|| "Driver".into(), |s| s.to_string_lossy().replace(['-', '.', ' '], "_"))
    });
    let hardware_id = o.hardware_id.clone().unwrap_or_else(|| format!(r"Root\{service}"));
    let settings = Settings::default();
    let m = Machine::new(settings.clone());
    // The driver's service key with an empty Parameters subkey, as an INF's
    // AddService leaves it.
    let _ =
        m.registry_create_key(&format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{service}\Parameters"));
    m.install(image.name(), &service, image.driver_entry());
    let start = Instant::now();
    let mut report = StressReport::new("wdfkey-harness run-sys", &settings, o.cycles, 0, false, 1);
    if !image.unmodelled_imports().is_empty() {
        eprintln!(
            "note: {} imports routines the simulator does not model (the machine stops if one is called): {}",
            image.name(),
            image.unmodelled_imports().join(", ")
        );
    }
    let mut device = None;
    let mut io = IoStats::default();
    for c in 0..o.cycles {
        let result = cycle(&m, &mut device, &hardware_id, o, c, &mut io);
        report.cycles_done += 1;
        bar.inc(1);
        let mut failed = false;
        if let Some(stop) = m.stop() {
            if let Some(b) = stop.bug_check() {
                report.bug_checks.push(BugCheckRecord::new(c, b));
            }
            report.errors.push(format!("cycle {c}: {stop}"));
            failed = true;
        } else if let Err(e) = result {
            report.errors.push(format!("cycle {c}: {e}"));
            failed = true;
        }
        let violations = m.violations();
        report.violations.extend(violations.iter().map(|v| ViolationRecord::new(c, v)));
        let findings = m.findings();
        report.findings.extend(findings.into_iter().map(|x| format!("cycle {c}: {x}")));
        for r in m.take_unload_reports() {
            report.leaks.extend(LeakRecord::from_unload(c, &r));
        }
        if failed || !report.violations.is_empty() || !report.findings.is_empty() || !report.leaks.is_empty() {
            report.result = "fail".into();
            report.reproduce = Some(format!("wdfkey-harness run-sys {} --cycles {}", o.driver.display(), c + 1));
            break;
        }
    }
    let elapsed = start.elapsed();
    report.duration_ms = elapsed.as_millis() as u64;
    report.cycles_per_second = report.cycles_done as f64 / elapsed.as_secs_f64().max(1e-9);
    report.ddi_calls = m.ddi_calls().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    drop(m);
    drop(image);
    Ok((report, io))
}
