//! `replay-crash`: the original report, replayed. A raw variant of the driver
//! — written the way the reported one was, never shipped — takes the WDM
//! handle out of its WDFKEY and `ZwClose`s it in a generic teardown in its
//! unload callback, leaving the key to the framework, which closes the same
//! value again when it deletes the driver's children (F7, F27).

use crate::cycle::{self, IMAGE};
use kmdf_sim::control::{BugCheck, HandleEventKind, HandleOwner, Machine, ReusePolicy, Settings, Stop};
use std::fmt::Write as _;
use wdfkey_guard::SERVICE_NAME;

/// DriverEntry of the raw variant (scripts/emulate/raw-variant, the same
/// source the emulator runs as a `.sys`): opens Parameters as a WDFKEY and
/// keeps it; its EvtDriverUnload `ZwClose`s the key's handle.
pub(crate) use wdfkey_raw_variant::driver_entry as raw_entry;

/// One replayed scenario and what came of it.
pub struct Outcome {
    pub title: &'static str,
    pub text: String,
    /// Whether the simulator caught it the way the facts say it shows.
    pub caught: bool,
}

/// Heads the ownership findings printed after a bug check's `!analyze -v`
/// view (whose HANDLE_HISTORY is the handle's history).
pub const OWNERSHIP_HEADING: &str = "OWNERSHIP (simulator):";

/// The handle's history, once: with a stop, the `!analyze -v` view (its
/// HANDLE_HISTORY and ROOT_CAUSE) and the ownership findings; without one,
/// the timeline, which carries them.
fn analysis_and_timeline(b: Option<&BugCheck>, m: &Machine, handle: u64) -> String {
    match b {
        Some(b) => format!("{}\n{OWNERSHIP_HEADING}\n{}", b.render_analyze(), ownership(m)),
        None => format!("NO BUG CHECK\n\n{}", timeline(m, handle)),
    }
}

/// The machine's ownership violations, one line each.
fn ownership(m: &Machine) -> String {
    let mut s = String::new();
    for v in m.violations() {
        let _ = writeln!(s, "  ownership: {v}");
    }
    s
}

/// Who acted at one event of the timeline: the image that made the call,
/// and for a key object's handle which key it was (the framework opens and
/// closes it, F1-F7). An event line says only what happened at that event.
fn actor(owner: &HandleOwner) -> String {
    match owner {
        HandleOwner::Component(name) => name.to_string(),
        HandleOwner::FrameworkKey { key, driver } => format!("{} for WDFKEY {key:#x} of {driver}", owner.module()),
    }
}

fn timeline(m: &Machine, handle: u64) -> String {
    let mut s = String::from("HANDLE TIMELINE (what WinDbg cannot show):\n");
    for e in m.handle_history(handle).iter().rev().take(4).rev() {
        let what = match &e.kind {
            HandleEventKind::Opened { owner, object, protected } => {
                format!(
                    "opened by {}{} -> {object}",
                    actor(owner),
                    if *protected { " [protected from close]" } else { "" }
                )
            }
            HandleEventKind::Closed { by } => format!("closed by {}", actor(by)),
            HandleEventKind::BadClose { by, outcome } => format!("closed AGAIN by {}: {outcome}", actor(by)),
        };
        let _ = writeln!(s, "  #{:<4} {:#x}  {what}  (from {})", e.seq, e.handle, e.site);
    }
    s + &ownership(m)
}

/// Loads the raw variant, lets `other.sys` open a handle right after the
/// driver's ZwClose (when `interleave` says so), and unloads.
fn run_raw(settings: Settings, interleave: Option<bool>) -> (Machine, Option<Box<Stop>>, u64) {
    let m = Machine::new(settings);
    let _ = m.registry_create_key(&format!(
        r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{SERVICE_NAME}\Parameters"
    ));
    let _ = m.load("rawclient.sys", SERVICE_NAME, Some(raw_entry));
    let key = m.live_keys().first().copied().unwrap_or_default();
    let handle = m.key_handle(key).unwrap_or_default();
    if let Some(protected) = interleave {
        m.interleave_open_after_next_close("other.sys", r"\Registry\Machine\SOFTWARE", protected);
    }
    let stop = m.unload().err();
    (m, stop, handle)
}

/// The three scenarios of F41/F67 and the same cycle with RegKey.
pub fn replay() -> Vec<Outcome> {
    let mut out = Vec::new();
    let lifo = Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() };

    // 1. Another component's protected handle takes the freed slot.
    let (m, stop, h) = run_raw(lifo.clone(), Some(true));
    let b = stop.as_ref().and_then(|s| s.bug_check().cloned());
    let caught =
        b.as_ref().is_some_and(|b| b.code == 0x93 && b.params[1..] == [0, 0, 0] && b.params[0] == h & 0x7FFF_FFFF);
    out.push(Outcome {
        title: "1. a protected handle took the freed slot -> bug check 0x93 {h, 0, 0, 0} (the report's shape)",
        text: analysis_and_timeline(b.as_ref(), &m, h),
        caught,
    });
    drop(m);

    // 2a. The slot stays free, on a machine without Driver Verifier.
    let (m, stop, h) = run_raw(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::without_verifiers() }, None);
    let silent = stop.is_none() && m.violations().iter().any(|v| v.outcome.contains("STATUS_INVALID_HANDLE"));
    out.push(Outcome {
        title: "2a. the slot is still free, no Driver Verifier -> a silent STATUS_INVALID_HANDLE (docs/facts.md#f67a)",
        text: format!("no bug check: ~FxRegKey ignores ZwClose's status (docs/facts.md#f2)\n{}", timeline(&m, h)),
        caught: silent,
    });
    drop(m);

    // 2b. The same with Driver Verifier's miscellaneous checks on.
    let (m, stop, h) = run_raw(lifo.clone(), None);
    let b = stop.as_ref().and_then(|s| s.bug_check().cloned());
    let caught = b.as_ref().is_some_and(|b| b.code == 0x93 && b.params[1] == 1);
    out.push(Outcome {
        title: "2b. the slot is still free, Driver Verifier misc checks on -> bug check 0x93 {h, 1, 0, 0} (docs/facts.md#f67c)",
        text: analysis_and_timeline(b.as_ref(), &m, h),
        caught,
    });
    drop(m);

    // 3. An unprotected handle takes the slot: the victim's handle is closed.
    let (m, stop, h) = run_raw(lifo.clone(), Some(false));
    let victim_closed = stop.is_none()
        && m.handle_owner(h).is_none()
        && m.violations().iter().any(|v| v.victim.as_ref().is_some_and(|v| v.to_string() == "other.sys"));
    out.push(Outcome {
        title: "3. an unprotected handle took the slot -> no bug check; other.sys's handle closed behind its back",
        text: format!("no bug check: the close succeeded — on the wrong handle\n{}", timeline(&m, h)),
        caught: victim_closed,
    });
    drop(m);

    // The same cycle with RegKey: the shipped driver, the same machine.
    let m = cycle::vm(lifo);
    let mut device = None;
    let other = m.open_foreign_handle("other.sys", r"\Registry\Machine\SOFTWARE", true);
    let result = cycle::run_ops(&m, &mut device, &cycle::fixed_cycle(0));
    let _ = other;
    let clean = result.is_ok()
        && m.stop().is_none()
        && m.violations().is_empty()
        && m.unload_reports().iter().all(|r| r.leaked_handles.is_empty() && r.leaked_objects.is_empty());
    out.push(Outcome {
        title: "4. the same cycle with RegKey (wdfkey-guard) -> clean",
        text: format!(
            "{IMAGE}: load, add, I/O, disable, enable, I/O, unload: {}; ownership violations: {}\n",
            if clean { "no bug check, no leak" } else { "FAILED" },
            m.violations().len()
        ),
        caught: clean,
    });
    out
}
