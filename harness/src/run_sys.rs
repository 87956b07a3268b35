//! `run-sys`: the stress cycle on a KMDF driver image (`.sys`, x64 PE)
//! loaded natively by the simulator (Linux x86_64): the package installed,
//! then each cycle adds (first cycle) or enables a root-enumerated devnode —
//! which loads the driver — disables and enables it, and disables it again,
//! which unloads the driver (F37). Every verifier is on; the run stops at the
//! first cycle with a bug check, an ownership violation, a leak or a finding.

use crate::report::{BugCheckRecord, LeakRecord, StressReport, ViolationRecord};
use indicatif::ProgressBar;
use kmdf_sim::control::native::NativeImage;
use kmdf_sim::control::{DeviceId, Machine, Settings};
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
}

/// One cycle's steps on `m`; the device is added on the first.
fn cycle(m: &Machine, device: &mut Option<DeviceId>, hardware_id: &str) -> Result<(), String> {
    let stopped = |s: Box<kmdf_sim::control::Stop>| format!("stopped: {}", s.to_string().lines().next().unwrap_or(""));
    match *device {
        None => *device = Some(m.add_device(hardware_id, None).map_err(stopped)?),
        Some(id) => m.enable_device(id).map_err(stopped)?,
    }
    let id = device.ok_or("no device")?;
    m.disable_device(id).map_err(stopped)?;
    m.enable_device(id).map_err(stopped)?;
    m.disable_device(id).map_err(stopped)?;
    Ok(())
}

/// Runs the cycles. `Err` when the image cannot be loaded at all (before
/// any cycle): what is wrong with it.
pub fn run(o: &Options, bar: &ProgressBar) -> Result<StressReport, String> {
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
    for c in 0..o.cycles {
        let result = cycle(&m, &mut device, &hardware_id);
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
    Ok(report)
}
