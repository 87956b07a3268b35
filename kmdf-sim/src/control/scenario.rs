//! Scenarios as values: a sequence of PnP and I/O events — the cycle the
//! test-VM script runs — described in code or in a small text form, run
//! against a machine, and summed up in a report.
//!
//! Text form, one step a line (`#` starts a comment):
//!
//! ```text
//! load                          # load the installed driver (no device)
//! add Root\WdfKeyGuard          # add + start a devnode (optional: sddl=D:P(...))
//! ioctl 0x222000 in=0102 out=4  # IOCTL on the last added device
//!       as=user x10             #   (optional caller: system|admin|user; repeat)
//! disable                       # orderly removal (F35/F38)
//! enable                        # re-add and start
//! surprise-remove               # F36
//! restart                       # disable + enable
//! unload                        # unload a driver that has no device left
//! repeat 100                    # a block, run 100 times
//!   disable
//!   enable
//! end
//! ```

use super::{Caller, DeviceId, IoOutcome};
use super::{Machine, OwnershipViolation, Stop, UnloadReport};
use crate::abi::NTSTATUS;
use std::collections::BTreeMap;

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Load the installed driver without a device.
    Load,
    /// Add and start a devnode; later steps address the last one added.
    AddDevice {
        /// The hardware ID.
        hardware_id: String,
        /// The INF's security descriptor (F73), if any.
        security: Option<String>,
    },
    /// Send an IOCTL (METHOD_BUFFERED) from `app.exe`.
    Ioctl {
        /// The control code.
        code: u32,
        /// Input bytes.
        input: Vec<u8>,
        /// Output buffer length.
        output_len: usize,
        /// Who opens the device.
        caller: Caller,
    },
    /// Orderly removal (F35, F38).
    Disable,
    /// Re-add and start.
    Enable,
    /// Surprise removal (F36).
    SurpriseRemove,
    /// Disable then enable.
    Restart,
    /// Unload a driver that has no device left.
    Unload,
    /// A block run `count` times.
    Repeat {
        /// How many times.
        count: u32,
        /// The block.
        steps: Vec<Step>,
    },
}

/// A sequence of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A line of a scenario text that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "scenario, line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// One IOCTL's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoRecord {
    /// The control code.
    pub code: u32,
    /// The outcome, or the status the send failed with.
    pub outcome: Result<IoOutcome, NTSTATUS>,
}

/// What a scenario run produced: the verifier report.
#[derive(Debug, Clone, Default)]
pub struct ScenarioReport {
    /// Steps run (a repeated block counts each of its steps each time).
    pub steps_run: u64,
    /// The stop, if the machine stopped.
    pub stop: Option<Stop>,
    /// A step that could not run (e.g. `unload` with a device present).
    pub error: Option<String>,
    /// Ownership violations.
    pub violations: Vec<OwnershipViolation>,
    /// Verifier findings that are not bug checks.
    pub findings: Vec<String>,
    /// One report per unload.
    pub unloads: Vec<UnloadReport>,
    /// Every IOCTL's result, in order.
    pub io: Vec<IoRecord>,
    /// Calls per DDI and kernel routine.
    pub ddi_calls: BTreeMap<&'static str, u64>,
}

impl ScenarioReport {
    /// No stop, no error, no violation, no finding, no leak.
    pub fn is_clean(&self) -> bool {
        self.stop.is_none()
            && self.error.is_none()
            && self.violations.is_empty()
            && self.findings.is_empty()
            && self.unloads.iter().all(|u| u.leaked_handles.is_empty() && u.leaked_objects.is_empty())
    }
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl Scenario {
    /// Reads the text form (see the module docs).
    ///
    /// # Errors
    /// A [`ScenarioError`] naming the line and what to write instead.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let mut stack: Vec<(u32, Vec<Step>, usize)> = vec![(1, Vec::new(), 0)];
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let err = |message: String| ScenarioError { line: i + 1, message };
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let verb = words.next().unwrap_or("");
            let step = match verb {
                "load" => Step::Load,
                "disable" => Step::Disable,
                "enable" => Step::Enable,
                "surprise-remove" => Step::SurpriseRemove,
                "restart" => Step::Restart,
                "unload" => Step::Unload,
                "add" => {
                    let hardware_id = words
                        .next()
                        .ok_or_else(|| err("add needs a hardware ID, e.g. add Root\\WdfKeyGuard".into()))?;
                    let mut security = None;
                    for w in words.by_ref() {
                        security = Some(
                            w.strip_prefix("sddl=")
                                .ok_or_else(|| err(format!("unknown add option {w:?}; use sddl=D:P(...)")))?
                                .to_string(),
                        );
                    }
                    Step::AddDevice { hardware_id: hardware_id.to_string(), security }
                }
                "ioctl" => {
                    let code = words.next().and_then(parse_number).and_then(|c| u32::try_from(c).ok());
                    let code = code.ok_or_else(|| err("ioctl needs a control code, e.g. ioctl 0x222000".into()))?;
                    let (mut input, mut output_len, mut caller, mut times) = (Vec::new(), 0usize, Caller::System, 1u32);
                    for w in words.by_ref() {
                        if let Some(hex) = w.strip_prefix("in=") {
                            input = parse_hex_bytes(hex)
                                .ok_or_else(|| err(format!("in={hex}: expected hex bytes, e.g. in=0a0b")))?;
                        } else if let Some(n) = w.strip_prefix("out=") {
                            output_len = parse_number(n)
                                .and_then(|n| usize::try_from(n).ok())
                                .ok_or_else(|| err(format!("out={n}: expected a length")))?;
                        } else if let Some(who) = w.strip_prefix("as=") {
                            caller = match who {
                                "system" => Caller::System,
                                "admin" => Caller::Administrator,
                                "user" => Caller::User,
                                _ => return Err(err(format!("as={who}: use system, admin or user"))),
                            };
                        } else if let Some(n) = w.strip_prefix('x') {
                            times = n.parse().map_err(|_| err(format!("{w}: expected a repeat count like x10")))?;
                        } else {
                            return Err(err(format!("unknown ioctl option {w:?}; use in=HEX out=N as=WHO xN")));
                        }
                    }
                    let step = Step::Ioctl { code, input, output_len, caller };
                    if times == 1 { step } else { Step::Repeat { count: times, steps: vec![step] } }
                }
                "repeat" => {
                    let count = words
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| err("repeat needs a count, e.g. repeat 100".into()))?;
                    stack.push((count, Vec::new(), i + 1));
                    continue;
                }
                "end" => {
                    if stack.len() < 2 {
                        return Err(err("end without repeat".into()));
                    }
                    let (count, steps, _) = stack.pop().expect("checked above");
                    Step::Repeat { count, steps }
                }
                other => {
                    return Err(err(format!(
                        "unknown step {other:?}; use load, add, ioctl, disable, enable, surprise-remove, restart, unload, repeat N ... end"
                    )));
                }
            };
            if let Some(extra) = words.next() {
                return Err(err(format!("unexpected {extra:?} after {verb}")));
            }
            stack.last_mut().expect("the outer block").1.push(step);
        }
        if stack.len() > 1 {
            let line = stack.last().map(|b| b.2).unwrap_or(0);
            return Err(ScenarioError { line, message: "repeat without end".into() });
        }
        Ok(Scenario { steps: stack.pop().map(|b| b.1).unwrap_or_default() })
    }

    /// Runs the scenario on `m`, whose driver must be
    /// [installed](Machine::install). Stops at the first stop or error.
    pub fn run(&self, m: &Machine) -> ScenarioReport {
        let mut report = ScenarioReport::default();
        let mut device = None;
        let _ = run_steps(&self.steps, m, &mut device, &mut report);
        report.stop = m.stop();
        report.violations = m.violations();
        report.findings = m.findings();
        report.unloads.extend(m.unload_reports());
        report.ddi_calls = m.ddi_calls();
        report
    }
}

/// Runs steps; `Err(())` ends the run (the report says why).
fn run_steps(
    steps: &[Step],
    m: &Machine,
    device: &mut Option<DeviceId>,
    report: &mut ScenarioReport,
) -> Result<(), ()> {
    for step in steps {
        if let Step::Repeat { count, steps } = step {
            for _ in 0..*count {
                run_steps(steps, m, device, report)?;
            }
            continue;
        }
        report.steps_run += 1;
        let need_device = |d: &Option<DeviceId>, report: &mut ScenarioReport| {
            d.ok_or_else(|| report.error = Some(format!("{step:?} needs a device: add one first")))
        };
        let result = match step {
            Step::Load => m.load_installed().map(|st| {
                if !crate::NT_SUCCESS(st) {
                    report.error = Some(format!("DriverEntry failed: {st:#010X}"));
                }
            }),
            Step::AddDevice { hardware_id, security } => {
                m.add_device(hardware_id, security.as_deref()).map(|id| *device = Some(id))
            }
            Step::Disable => m.disable_device(need_device(device, report)?),
            Step::Enable => m.enable_device(need_device(device, report)?),
            Step::SurpriseRemove => m.surprise_remove_device(need_device(device, report)?),
            Step::Restart => m.restart_device(need_device(device, report)?),
            Step::Unload => {
                if m.loaded_service().is_none() {
                    Ok(())
                } else if m.state(|s| s.framework.devnodes.iter().any(|d| d.device.is_some())) {
                    report.error = Some("unload with a device present: disable or remove it first".into());
                    return Err(());
                } else {
                    m.unload().map(|r| report.unloads.push(r))
                }
            }
            Step::Ioctl { code, input, output_len, caller } => {
                let id = need_device(device, report)?;
                match m.open_device(id, *caller) {
                    Err(status) => {
                        report.io.push(IoRecord { code: *code, outcome: Err(status) });
                        Ok(())
                    }
                    Ok(file) => m.device_io_control(&file, "app.exe", *code, input, *output_len).map(|r| {
                        report.io.push(IoRecord { code: *code, outcome: r.map(|(_, o)| o) });
                    }),
                }
            }
            Step::Repeat { .. } => unreachable!("handled above"),
        };
        if result.is_err() || report.error.is_some() {
            return Err(());
        }
    }
    Ok(())
}
