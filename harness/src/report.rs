//! The stress report: JSON (schema: schemas/stress-report.schema.json) and
//! a short summary a person reads.

use kmdf_sim::control::{BugCheck, OwnershipViolation, Settings, UnloadReport};
use serde::Serialize;
use std::collections::BTreeMap;

/// The verifier settings of the run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifierSettings {
    pub kmdf_verifier: bool,
    pub special_pool: bool,
    pub irql_checking: bool,
    pub misc_checks: bool,
    pub wdf01000_verified: bool,
    pub kernel_debugger: bool,
    pub handle_reuse: String,
}

impl From<&Settings> for VerifierSettings {
    fn from(s: &Settings) -> Self {
        VerifierSettings {
            kmdf_verifier: s.kmdf_verifier,
            special_pool: s.special_pool,
            irql_checking: s.driver_verifier_irql,
            misc_checks: s.verifier_misc_checks,
            wdf01000_verified: s.wdf01000_verified,
            kernel_debugger: s.kernel_debugger,
            handle_reuse: format!("{:?}", s.reuse_policy),
        }
    }
}

/// A bug check in the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BugCheckRecord {
    pub cycle: u64,
    pub code: String,
    pub name: String,
    pub parameters: [String; 4],
    pub blamed: String,
    pub analysis: String,
}

impl BugCheckRecord {
    pub fn new(cycle: u64, b: &BugCheck) -> Self {
        BugCheckRecord {
            cycle,
            code: format!("{:#x}", b.code),
            name: b.name.to_string(),
            parameters: b.params.map(|p| format!("{p:#x}")),
            blamed: b.blamed.clone(),
            analysis: b.render_analyze(),
        }
    }
}

/// An ownership violation in the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ViolationRecord {
    pub cycle: u64,
    pub kind: String,
    pub handle: String,
    pub closer: String,
    pub victim: Option<String>,
    pub outcome: String,
}

impl ViolationRecord {
    pub fn new(cycle: u64, v: &OwnershipViolation) -> Self {
        ViolationRecord {
            cycle,
            kind: format!("{:?}", v.kind),
            handle: format!("{:#x}", v.handle),
            closer: v.closer.to_string(),
            victim: v.victim.as_ref().map(ToString::to_string),
            outcome: v.outcome.clone(),
        }
    }
}

/// What an unload left behind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LeakRecord {
    pub cycle: u64,
    pub handles: Vec<String>,
    pub objects: Vec<String>,
}

impl LeakRecord {
    pub fn from_unload(cycle: u64, r: &UnloadReport) -> Option<Self> {
        if r.leaked_handles.is_empty() && r.leaked_objects.is_empty() {
            return None;
        }
        Some(LeakRecord {
            cycle,
            handles: r.leaked_handles.iter().map(|(h, p)| format!("{h:#x} {p}")).collect(),
            objects: r.leaked_objects.iter().map(|(h, t)| format!("{h:#x} {t}")).collect(),
        })
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct StressReport {
    pub tool: String,
    pub version: String,
    pub result: String,
    pub seed: u64,
    pub random: bool,
    /// Machines (threads) that ran the cycles (`--jobs`).
    pub jobs: u64,
    pub cycles_requested: u64,
    pub cycles_done: u64,
    pub duration_ms: u64,
    pub cycles_per_second: f64,
    pub verifier: VerifierSettings,
    pub bug_checks: Vec<BugCheckRecord>,
    pub violations: Vec<ViolationRecord>,
    pub leaks: Vec<LeakRecord>,
    pub findings: Vec<String>,
    pub errors: Vec<String>,
    pub ddi_calls: BTreeMap<String, u64>,
    pub reproduce: Option<String>,
}

impl StressReport {
    /// A passing report of `tool` with nothing found yet: `cycles` asked
    /// for, none done, under `settings`.
    pub fn new(tool: &str, settings: &Settings, cycles: u64, seed: u64, random: bool, jobs: u64) -> Self {
        StressReport {
            tool: tool.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            result: "pass".into(),
            seed,
            random,
            jobs,
            cycles_requested: cycles,
            cycles_done: 0,
            duration_ms: 0,
            cycles_per_second: 0.0,
            verifier: settings.into(),
            bug_checks: Vec::new(),
            violations: Vec::new(),
            leaks: Vec::new(),
            findings: Vec::new(),
            errors: Vec::new(),
            ddi_calls: BTreeMap::new(),
            reproduce: None,
        }
    }

    /// The summary lines a person reads.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} — {} of {} cycles in {:.2} s ({:.0} cycles/s), seed {}{}{}\n",
            self.tool,
            self.result.to_uppercase(),
            self.cycles_done,
            self.cycles_requested,
            self.duration_ms as f64 / 1000.0,
            self.cycles_per_second,
            self.seed,
            if self.random { ", random sequences" } else { "" },
            if self.jobs > 1 { format!(", {} machines", self.jobs) } else { String::new() }
        );
        s += &format!(
            "  bug checks: {}  ownership violations: {}  leaks: {}  findings: {}  DDI calls: {}\n",
            self.bug_checks.len(),
            self.violations.len(),
            self.leaks.len(),
            self.findings.len(),
            self.ddi_calls.values().sum::<u64>()
        );
        for e in &self.errors {
            s += &format!("  error: {e}\n");
        }
        if let Some(r) = &self.reproduce {
            s += &format!("  reproduce: {r}\n");
        }
        s
    }
}
