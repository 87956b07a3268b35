//! The call record: every admitted DDI and kernel routine call in the order
//! the driver made it, with its status and the registry keys and values it
//! touched. It is what an outside model of the same driver — an emulator
//! running the linked `.sys` — is compared with. Off unless
//! `Machine::record_calls` turns it on.
//!
//! Self-contained: the machine calls [`Recorder::begin`] and
//! [`Recorder::end`] around each routine (`model::enter`), and the
//! registry and handle table call [`Journal::note`] where a key or value is
//! touched.

use crate::abi::NTSTATUS;
use std::cell::RefCell;
use std::fmt;

/// One admitted call of a DDI or kernel routine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The routine's name, e.g. `WdfRegistryQueryULong`.
    pub routine: &'static str,
    /// 0 for a call made while no other routine ran; n for one made from a
    /// driver callback that a routine at depth n-1 invoked (e.g. a cleanup
    /// callback run by `WdfObjectDelete`).
    pub depth: usize,
    /// What it returned, for routines that return an `NTSTATUS`.
    pub status: Option<NTSTATUS>,
    /// The registry keys and values it touched, in order.
    pub registry: Vec<RegistryAccess>,
}

/// A registry key or value a routine touched. Paths are absolute
/// (`\Registry\Machine\...`), as the configuration manager names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAccess {
    /// A handle to the key was opened (created: the key did not exist).
    Open {
        /// The key.
        path: String,
        /// Whether the open created it.
        created: bool,
    },
    /// A handle to the key was closed.
    Close {
        /// The key.
        path: String,
    },
    /// A value was read.
    Read {
        /// The key.
        path: String,
        /// The value's name.
        name: String,
        /// Its type and data, `None` when absent.
        found: Option<(u32, Vec<u8>)>,
    },
    /// A value was written.
    Write {
        /// The key.
        path: String,
        /// The value's name.
        name: String,
        /// Its type.
        kind: u32,
        /// Its data.
        data: Vec<u8>,
    },
    /// A value was removed (`removed`: it existed).
    Remove {
        /// The key.
        path: String,
        /// The value's name.
        name: String,
        /// Whether there was one.
        removed: bool,
    },
    /// The key's values were enumerated.
    EnumerateValues {
        /// The key.
        path: String,
    },
    /// The key's subkeys were enumerated.
    EnumerateSubkeys {
        /// The key.
        path: String,
    },
    /// The key was deleted (`deleted`: it had no subkeys).
    DeleteKey {
        /// The key.
        path: String,
        /// Whether it was.
        deleted: bool,
    },
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// One line a differential check compares: the verb, the path in lower case
/// (the registry is case-insensitive), the value name as written.
impl fmt::Display for RegistryAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryAccess::Open { path, created } => {
                write!(f, "{} {}", if *created { "create" } else { "open" }, path.to_lowercase())
            }
            RegistryAccess::Close { path } => write!(f, "close {}", path.to_lowercase()),
            RegistryAccess::Read { path, name, found: Some((kind, data)) } => {
                write!(f, "read {}:{name} = {kind}:{}", path.to_lowercase(), hex(data))
            }
            RegistryAccess::Read { path, name, found: None } => write!(f, "read {}:{name} absent", path.to_lowercase()),
            RegistryAccess::Write { path, name, kind, data } => {
                write!(f, "write {}:{name} = {kind}:{}", path.to_lowercase(), hex(data))
            }
            RegistryAccess::Remove { path, name, removed } => {
                write!(f, "remove {}:{name}{}", path.to_lowercase(), if *removed { "" } else { " absent" })
            }
            RegistryAccess::EnumerateValues { path } => write!(f, "enumerate-values {}", path.to_lowercase()),
            RegistryAccess::EnumerateSubkeys { path } => write!(f, "enumerate-subkeys {}", path.to_lowercase()),
            RegistryAccess::DeleteKey { path, deleted } => {
                write!(f, "delete-key {}{}", path.to_lowercase(), if *deleted { "" } else { " refused" })
            }
        }
    }
}

/// Registry accesses not yet given to a call. Lives in the registry, whose
/// read paths take `&self`, hence the cell; empty and idle while the record
/// is off.
#[derive(Debug, Default, Clone)]
pub struct Journal(RefCell<Option<Vec<RegistryAccess>>>);

impl Journal {
    /// Notes an access (made lazily: nothing is built while the record is off).
    #[inline]
    pub fn note(&self, access: impl FnOnce() -> RegistryAccess) {
        if let Some(j) = self.0.borrow_mut().as_mut() {
            j.push(access());
        }
    }

    fn set(&self, on: bool) {
        *self.0.borrow_mut() = on.then(Vec::new);
    }

    fn take(&self) -> Vec<RegistryAccess> {
        self.0.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// The machine's record of calls.
///
/// # Invariants
/// `open` holds indices into `calls` of the calls in progress, innermost
/// last; empty while the record is off.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    on: bool,
    calls: Vec<CallRecord>,
    open: Vec<usize>,
}

impl Recorder {
    /// Turns the record on (cleared) or off; the journal follows.
    pub(crate) fn set(&mut self, on: bool, journal: &Journal) {
        self.on = on;
        self.calls.clear();
        self.open.clear();
        journal.set(on);
    }

    /// A call of `routine` starts: what the journal holds belongs to the call
    /// around it (if any).
    #[inline]
    pub(crate) fn begin(&mut self, routine: &'static str, journal: &Journal) {
        if !self.on {
            return;
        }
        self.flush(journal);
        self.open.push(self.calls.len());
        self.calls.push(CallRecord { routine, depth: self.open.len() - 1, status: None, registry: Vec::new() });
    }

    /// The innermost call returned `status`.
    #[inline]
    pub(crate) fn end(&mut self, status: Option<NTSTATUS>, journal: &Journal) {
        if !self.on {
            return;
        }
        self.flush(journal);
        if let Some(call) = self.open.pop().and_then(|i| self.calls.get_mut(i)) {
            call.status = status;
        }
    }

    /// Gives the journal's accesses to the innermost open call; with none
    /// open they were the framework's own (e.g. its teardown of a driver's
    /// keys at unload), recorded as a call of [`FRAMEWORK`].
    fn flush(&mut self, journal: &Journal) {
        let accesses = journal.take();
        if accesses.is_empty() {
            return;
        }
        match self.open.last().and_then(|&i| self.calls.get_mut(i)) {
            Some(call) => call.registry.extend(accesses),
            None => self.calls.push(CallRecord { routine: FRAMEWORK, depth: 0, status: None, registry: accesses }),
        }
    }

    /// The record so far.
    pub(crate) fn calls(&mut self, journal: &Journal) -> Vec<CallRecord> {
        if self.open.is_empty() {
            self.flush(journal);
        }
        self.calls.clone()
    }
}

/// The routine name of registry accesses made by the machine outside any
/// routine: the framework's and the kernel's own work (a test's seeding is
/// done before the record is turned on).
pub const FRAMEWORK: &str = "(framework)";

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> RegistryAccess {
        RegistryAccess::Read { path: path.into(), name: "V".into(), found: Some((4, vec![1, 0, 0, 0])) }
    }

    #[test]
    fn calls_are_recorded_in_order_with_depth_status_and_their_accesses() {
        let (mut r, j) = (Recorder::default(), Journal::default());
        r.set(true, &j);
        r.begin("WdfObjectDelete", &j);
        j.note(|| RegistryAccess::Close { path: r"\Registry\A".into() });
        r.begin("WdfRegistryQueryULong", &j); // from a cleanup callback the delete ran
        j.note(|| read(r"\Registry\B"));
        r.end(Some(0), &j);
        j.note(|| RegistryAccess::Close { path: r"\Registry\C".into() });
        r.end(None, &j);
        let calls = r.calls(&j);
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].routine, calls[0].depth, calls[0].status), ("WdfObjectDelete", 0, None));
        assert_eq!(
            calls[0].registry.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [r"close \registry\a", r"close \registry\c"]
        );
        assert_eq!((calls[1].routine, calls[1].depth, calls[1].status), ("WdfRegistryQueryULong", 1, Some(0)));
        assert_eq!(calls[1].registry[0].to_string(), r"read \registry\b:V = 4:01000000");
    }

    #[test]
    fn accesses_outside_any_call_are_the_frameworks_and_nothing_is_kept_while_off() {
        let (mut r, j) = (Recorder::default(), Journal::default());
        j.note(|| read(r"\Registry\A"));
        r.begin("ZwClose", &j);
        r.end(Some(0), &j);
        assert!(r.calls(&j).is_empty(), "off: nothing recorded");
        r.set(true, &j);
        j.note(|| RegistryAccess::Close { path: r"\Registry\K".into() });
        r.begin("ZwClose", &j);
        r.end(Some(-1_073_741_816), &j);
        let calls = r.calls(&j);
        assert_eq!(calls.iter().map(|c| c.routine).collect::<Vec<_>>(), [FRAMEWORK, "ZwClose"]);
        assert_eq!(calls[0].registry[0].to_string(), r"close \registry\k");
        r.set(false, &j);
        assert!(r.calls(&j).is_empty(), "turning it off clears it");
    }
}
