//! Bug checks as values, machine stops, ownership violations, and the
//! `!analyze -v`-style rendering of a stop.
//!
//! A bug check cannot be a panic: it would have to unwind through the driver's
//! `extern "C"` frames, where Rust aborts the process (design.md). The machine
//! records the first one, refuses every later call, and hands it to the test
//! when control is back at the simulator's entry point.

use super::handles::{HandleEvent, HandleEventKind, HandleOwner, HandleTable};
use crate::model::{KERNEL_MODULE, State};
use std::fmt::Write as _;

/// A bug check the simulated machine raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BugCheck {
    /// The stop code, e.g. `0x93`.
    pub code: u32,
    /// The four parameters.
    pub params: [u64; 4],
    /// The stop code's symbolic name, e.g. `INVALID_KERNEL_HANDLE`.
    pub name: &'static str,
    /// One line per parameter, explaining it as the debugger does.
    pub param_notes: [String; 4],
    /// The image `!analyze` blames: the first non-kernel module on the stack,
    /// e.g. `Wdf01000.sys`.
    pub blamed: String,
    /// The simulated stack at the stop, innermost first (`module!symbol`).
    pub stack: Vec<String>,
    /// The process the stop happened in (`System` for driver load/unload).
    pub process: String,
    /// IRQL at the stop.
    pub irql: u8,
    /// History of the handle involved (every occupant of its slot), if any.
    pub handle_history: Vec<HandleEvent>,
    /// The simulator's own diagnosis: which component really caused it.
    pub root_cause: Option<String>,
}

/// Why the machine stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The simulated kernel bug-checked.
    BugCheck(Box<BugCheck>),
    /// The simulator itself panicked inside a DDI; recorded instead of
    /// unwinding into driver frames. Always a simulator defect.
    SimulatorPanic {
        /// The DDI or entry point that was running.
        location: String,
        /// The panic message.
        message: String,
    },
    /// The driver used a behaviour the model does not serve (a routine's
    /// information class, a callback, a queue kind): the machine stops
    /// rather than invent a result or skip the driver's code. A gap in the
    /// simulator, never a pass.
    NotModelled {
        /// What was used, e.g. `ZwQueryKey KeyInformationClass 2`.
        what: String,
        /// The driver routine that used it (the innermost frame outside the
        /// kernel).
        location: String,
    },
}

impl Stop {
    /// The bug check, if this stop is one.
    pub fn bug_check(&self) -> Option<&BugCheck> {
        match self {
            Stop::BugCheck(b) => Some(b),
            Stop::SimulatorPanic { .. } | Stop::NotModelled { .. } => None,
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::BugCheck(b) => write!(f, "{}", b.render_analyze()),
            Stop::SimulatorPanic { location, message } => {
                write!(f, "simulator panic in {location}: {message} (a simulator defect, not a driver bug)")
            }
            Stop::NotModelled { what, location } => write!(
                f,
                "not modelled: {what}, used by {location}: kmdf-sim stopped the machine rather than answer for \
                 what it does not model (a gap in the simulator, not a driver bug; run the driver on a test VM)"
            ),
        }
    }
}

/// What kind of ownership rule a close broke (simulator-only check; a real
/// kernel keeps no such record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationKind {
    /// A live handle was closed by someone other than its owner. When the
    /// owner is a framework key object, this is the driver closing the WDM
    /// handle of a `WDFKEY` — the root cause of the original crash.
    ClosedForeignHandle,
    /// A close of a value whose slot was free (or never a handle).
    StaleCloseFreeSlot,
    /// A close of a value whose slot now belongs to another handle: the
    /// victim's handle is the one that was (or would have been) closed.
    StaleCloseReusedSlot,
}

/// One ownership violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipViolation {
    /// What rule was broken.
    pub kind: ViolationKind,
    /// The handle value passed to the close (kernel bits set).
    pub handle: u64,
    /// Who closed.
    pub closer: HandleOwner,
    /// Whose handle was hit: the owner of the live entry, if any.
    pub victim: Option<HandleOwner>,
    /// What the kernel did about it (status or bug check).
    pub outcome: String,
    /// Machine-wide sequence number of the close.
    pub seq: u64,
}

impl std::fmt::Display for OwnershipViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = self.handle;
        match (&self.kind, &self.victim) {
            (ViolationKind::ClosedForeignHandle, Some(v)) => {
                write!(f, "{} closed handle {h:#x}, which belongs to {v}; {}", self.closer, self.outcome)
            }
            (ViolationKind::StaleCloseReusedSlot, Some(v)) => write!(
                f,
                "{} closed stale handle {h:#x}; its slot was reused by {v}, whose handle was hit; {}",
                self.closer, self.outcome
            ),
            _ => write!(f, "{} closed handle {h:#x}, which is not open (free slot); {}", self.closer, self.outcome),
        }
    }
}

fn describe_event(e: &HandleEvent) -> String {
    // Who acted at this event, and for whom: the framework opens and closes
    // a key object's handle (F1-F7). Nothing about other events.
    let actor = |o: &HandleOwner| match o {
        HandleOwner::Component(name) => name.to_string(),
        HandleOwner::FrameworkKey { key, driver } => format!("{} for WDFKEY {key:#x} of {driver}", o.module()),
    };
    let what = match &e.kind {
        HandleEventKind::Opened { owner, object, protected } => {
            format!("OPEN  by {}{} -> {object}", actor(owner), if *protected { " [protected]" } else { "" })
        }
        HandleEventKind::Closed { by } => format!("CLOSE by {}", actor(by)),
        HandleEventKind::BadClose { by, outcome } => format!("BAD CLOSE by {}: {outcome}", actor(by)),
    };
    let via = if e.site.is_empty() { String::new() } else { format!("  (from {})", e.site) };
    format!("  #{:<5} {:#018x}  {what}{via}", e.seq, e.handle)
}

impl BugCheck {
    /// Renders the stop the way WinDbg's `!analyze -v` lays it out, plus the
    /// simulator's handle history and root-cause section.
    pub fn render_analyze(&self) -> String {
        let mut s = String::new();
        let bar = "*".repeat(79);
        let _ = writeln!(s, "{bar}");
        let _ = writeln!(s, "*{:^77}*", "");
        let _ = writeln!(s, "*{:^77}*", "Bugcheck Analysis");
        let _ = writeln!(s, "*{:^77}*", "");
        let _ = writeln!(s, "{bar}");
        let _ = writeln!(s);
        let _ = writeln!(s, "{} ({:x})", self.name, self.code);
        let _ = writeln!(s, "Arguments:");
        for (i, (p, note)) in self.params.iter().zip(self.param_notes.iter()).enumerate() {
            if note.is_empty() {
                let _ = writeln!(s, "Arg{}: {p:016x}", i + 1);
            } else {
                let _ = writeln!(s, "Arg{}: {p:016x}, {note}", i + 1);
            }
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "BUGCHECK_CODE:  {:x}", self.code);
        for (i, p) in self.params.iter().enumerate() {
            let _ = writeln!(s, "BUGCHECK_P{}: {p:x}", i + 1);
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "PROCESS_NAME:  {}", self.process);
        let _ = writeln!(s, "CURRENT_IRQL:  {:x}", self.irql);
        let _ = writeln!(s);
        let _ = writeln!(s, "STACK_TEXT:");
        for frame in &self.stack {
            let _ = writeln!(s, "  {frame}");
        }
        let _ = writeln!(s);
        let faulting = self.stack.iter().find(|f| !f.starts_with("nt!")).cloned().unwrap_or_default();
        let module = self.blamed.trim_end_matches(".sys");
        let _ = writeln!(s, "SYMBOL_NAME:  {faulting}");
        let _ = writeln!(s, "MODULE_NAME: {module}");
        let _ = writeln!(s, "IMAGE_NAME:  {}", self.blamed);
        let bucket: String =
            faulting.chars().map(|c| if c.is_ascii_alphanumeric() || c == '!' || c == ':' { c } else { '_' }).collect();
        let _ = writeln!(s, "FAILURE_BUCKET_ID:  0x{:X}_{bucket}", self.code);
        let _ = writeln!(s);
        let _ = writeln!(s, "Probably caused by : {} ( {faulting} )", self.blamed);
        if !self.handle_history.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "HANDLE_HISTORY (simulator; every occupant of the slot, oldest first):");
            for e in &self.handle_history {
                let _ = writeln!(s, "{}", describe_event(e));
            }
        }
        if let Some(cause) = &self.root_cause {
            let _ = writeln!(s);
            let _ = writeln!(s, "ROOT_CAUSE (simulator):  {cause}");
        }
        s
    }

    /// Bug check 0x93 INVALID_KERNEL_HANDLE for a close of `handle` (F41, F68:
    /// Arg1 is the value with the kernel bits stripped).
    pub(crate) fn invalid_kernel_handle(handle: u64, protected: bool) -> (u32, [u64; 4], &'static str, [String; 4]) {
        let arg1 = HandleTable::stripped(handle);
        let arg2 = if protected { 0 } else { 1 };
        let note2 =
            if protected { "means a protected handle was closed." } else { "means an invalid handle was closed." };
        (
            0x93,
            [arg1, arg2, 0, 0],
            "INVALID_KERNEL_HANDLE",
            ["The handle that NtClose was called with.".into(), note2.into(), String::new(), String::new()],
        )
    }
}

impl State {
    /// wdk-panic's stop: KeBugCheckEx(0x52504E43 "RPNC", file, len, line, col)
    /// (guide §4); the simulator does not model the four parameters.
    pub(crate) fn rust_panic_stop(&mut self, root_cause: String) {
        self.bug_check(
            (
                0x5250_4E43,
                [0; 4],
                "RUST_PANIC (wdk-panic)",
                [String::new(), String::new(), String::new(), String::new()],
            ),
            None,
            Some(root_cause),
        );
    }

    /// Raises a bug check: snapshots the stack and blames the first module on
    /// it that is not the kernel, as `!analyze` does.
    pub fn bug_check(
        &mut self,
        (code, params, name, param_notes): (u32, [u64; 4], &'static str, [String; 4]),
        handle: Option<u64>,
        root_cause: Option<String>,
    ) {
        let mut stack = vec!["nt!KeBugCheckEx".to_string()];
        stack.extend(self.stack());
        let blamed = self
            .kernel
            .frames
            .iter()
            .rev()
            .map(|f| f.image.to_string())
            .find(|i| i != KERNEL_MODULE)
            .unwrap_or_else(|| KERNEL_MODULE.into());
        let handle_history = handle.map(|h| self.kernel.handles.history_of(h)).unwrap_or_default();
        self.record_stop(Stop::BugCheck(Box::new(BugCheck {
            code,
            params,
            name,
            param_notes,
            blamed,
            stack,
            process: self.kernel.process.name.to_string(),
            irql: self.kernel.irql,
            handle_history,
            root_cause,
        })));
    }
}
