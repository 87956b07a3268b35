//! `faults`: exhaustive fault injection over one full cycle — every
//! status-returning call the cycle makes is failed in turn, with the
//! failure statuses its DDI documents (or a representative one), and the
//! machine runs on to unload.

use crate::cycle;
use kmdf_sim::control::Settings;
use kmdf_sim::*;
use serde::Serialize;

/// A status and its name, from one token (the name cannot drift from the value).
macro_rules! named {
    ($($s:ident),* $(,)?) => { &[$(($s, stringify!($s))),*] };
}

/// Statuses to inject for a routine: what its documentation lists, and
/// `STATUS_INSUFFICIENT_RESOURCES` (the allocation failure every DDI can have).
fn statuses(routine: &str) -> &'static [(NTSTATUS, &'static str)] {
    match routine {
        "WdfRegistryQueryULong" | "WdfRegistryQueryValue" | "WdfRegistryQueryUnicodeString" => named!(
            STATUS_INSUFFICIENT_RESOURCES,
            STATUS_OBJECT_NAME_NOT_FOUND,
            STATUS_OBJECT_TYPE_MISMATCH,
            STATUS_ACCESS_DENIED,
        ),
        "WdfRegistryOpenKey"
        | "WdfRegistryCreateKey"
        | "WdfDriverOpenParametersRegistryKey"
        | "WdfDriverOpenPersistentStateRegistryKey"
        | "WdfDeviceOpenRegistryKey" => {
            named!(STATUS_INSUFFICIENT_RESOURCES, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_ACCESS_DENIED)
        }
        "WdfRegistryAssignULong" | "WdfRegistryAssignValue" | "WdfRegistryRemoveValue" => {
            named!(STATUS_INSUFFICIENT_RESOURCES, STATUS_ACCESS_DENIED)
        }
        "WdfRequestRetrieveInputBuffer" | "WdfRequestRetrieveOutputBuffer" => {
            named!(STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES)
        }
        "WdfDeviceCreate" => named!(STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_DEVICE_STATE),
        _ => named!(STATUS_INSUFFICIENT_RESOURCES),
    }
}

/// An NTSTATUS in a report: its name and its value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    /// `STATUS_INSUFFICIENT_RESOURCES`.
    pub name: &'static str,
    /// `0xC000009A`.
    pub hex: String,
}

impl Status {
    fn new((value, name): (NTSTATUS, &'static str)) -> Self {
        Status { name, hex: format!("{value:#010X}").replacen("0X", "0x", 1) }
    }
}

/// One injection point and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The routine that was failed.
    pub ddi: String,
    /// Which status-returning call of the cycle it was (1-based).
    pub call: u64,
    /// The injected status.
    pub status: Status,
    /// "pass", or what went wrong.
    pub outcome: String,
}

/// The `faults --report` file (schemas/faults-report.schema.json).
#[derive(Debug, Clone, Serialize)]
pub struct FaultsReport {
    pub tool: &'static str,
    pub version: &'static str,
    /// "pass" when every point passed, else "fail".
    pub result: &'static str,
    pub points_total: usize,
    pub points_passed: usize,
    pub points_failed: usize,
    pub points: Vec<Point>,
}

impl FaultsReport {
    /// The table a person reads, and the summary line.
    pub fn render(&self) -> String {
        let mut s = format!("{:<42} {:>5}  {:<30} {:<10}  outcome\n", "DDI", "call", "status", "");
        for p in &self.points {
            s += &format!("{:<42} {:>5}  {:<30} {:<10}  {}\n", p.ddi, p.call, p.status.name, p.status.hex, p.outcome);
        }
        s += &format!("{} points, {} passed, {} failed\n", self.points_total, self.points_passed, self.points_failed);
        s
    }
}

/// The whole sweep, as its report.
pub fn sweep_report() -> FaultsReport {
    FaultsReport::from_points(sweep())
}

impl FaultsReport {
    /// The report of these points: counts, and "fail" if any failed.
    pub fn from_points(points: Vec<Point>) -> Self {
        let failed = points.iter().filter(|p| p.outcome != "pass").count();
        FaultsReport {
            tool: "wdfkey-harness faults",
            version: env!("CARGO_PKG_VERSION"),
            result: if failed == 0 { "pass" } else { "fail" },
            points_total: points.len(),
            points_passed: points.len() - failed,
            points_failed: failed,
            points,
        }
    }
}

/// Runs the cycle with call `k` failed with `status`; returns the routine
/// failed (None once `k` is past the cycle's last call) and the outcome.
fn run_point(k: u64, status: NTSTATUS) -> Option<(String, String)> {
    let m = cycle::vm(Settings::default());
    m.inject_fault(None, k, status);
    let mut device = None;
    let result = cycle::run_ops(&m, &mut device, &cycle::fixed_cycle(0));
    let routine = m.injected_faults().first()?.routine.clone();
    // Run on to unload whatever state the failure left.
    let mut reports = Vec::new();
    if m.loaded_service().is_some() && m.stop().is_none() {
        match device {
            Some(id) if m.device_object(id).is_some() => {
                let _ = m.disable_device(id);
            }
            _ => reports.extend(m.unload().ok()),
        }
    }
    reports.extend(m.take_unload_reports());
    let mut problems = Vec::new();
    if let Some(stop) = m.stop() {
        problems.push(format!(
            "stopped: {}",
            stop.bug_check().map_or("simulator panic".into(), |b| format!("bug check {:#x}", b.code))
        ));
    }
    if let Err(e) = result
        && !e.contains("open refused")
    {
        problems.push(e);
    }
    if !m.violations().is_empty() {
        problems.push(format!("{} ownership violation(s)", m.violations().len()));
    }
    if !m.findings().is_empty() {
        problems.push(format!("findings: {:?}", m.findings()));
    }
    if reports.iter().any(|r| !r.leaked_handles.is_empty() || !r.leaked_objects.is_empty()) {
        problems.push("leak at unload".into());
    }
    if m.loaded_service().is_some() {
        problems.push("the driver is still loaded".into());
    }
    Some((routine, if problems.is_empty() { "pass".into() } else { problems.join("; ") }))
}

/// The whole sweep.
pub fn sweep() -> Vec<Point> {
    const FIRST: (NTSTATUS, &str) = named!(STATUS_INSUFFICIENT_RESOURCES)[0];
    let mut points = Vec::new();
    for k in 1.. {
        let Some((routine, outcome)) = run_point(k, FIRST.0) else { break };
        points.push(Point { ddi: routine.clone(), call: k, status: Status::new(FIRST), outcome });
        for &status in statuses(&routine).iter().filter(|&&(s, _)| s != FIRST.0) {
            if let Some((r, outcome)) = run_point(k, status.0) {
                points.push(Point { ddi: r, call: k, status: Status::new(status), outcome });
            }
        }
    }
    points
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `faults` exits 1 exactly when the report says "fail" (main.rs);
    /// every point of the shipped driver passes, so a failing point is made here.
    pub(crate) fn a_failed_point_fails_the_report() {
        let point = |outcome: &str| Point {
            ddi: "WdfRegistryOpenKey".into(),
            call: 3,
            status: Status::new(named!(STATUS_ACCESS_DENIED)[0]),
            outcome: outcome.into(),
        };
        let r = FaultsReport::from_points(vec![point("pass"), point("leak at unload")]);
        assert_eq!((r.result, r.points_total, r.points_passed, r.points_failed), ("fail", 2, 1, 1));
        assert_eq!(r.points[0].status, Status { name: "STATUS_ACCESS_DENIED", hex: "0xC0000022".into() });
        let text = r.render();
        assert!(text.contains("STATUS_ACCESS_DENIED           0xC0000022  leak at unload"), "{text}");
        assert!(text.ends_with("2 points, 1 passed, 1 failed\n"), "{text}");
        assert_eq!(FaultsReport::from_points(vec![point("pass")]).result, "pass");
    }
}
