//! The kernel handle table: handle values, slot reuse, protect-from-close, and
//! the ownership record of every handle (who opened it, who closed it).
//!
//! Rules and their sources (docs/facts.md in the repository):
//! * F43/F44: kernel handles are `0xFFFFFFFF80000000 | 4*index`, index ≥ 1; the
//!   low two bits are tag bits and ignored.
//! * F46: freed slots come back — by default in ReactOS's "batched LIFO" order;
//!   LIFO, FIFO and never-reuse are switches.
//! * F39–F42, F67, F68: what `NtClose` does with a bad or protected handle;
//!   the decision is made here, the bug check is raised by the caller.

use crate::abi::{HANDLE, NTSTATUS};
use crate::model::Name;
use crate::model::call_record::RegistryAccess;
use crate::model::kernel::bugcheck::{BugCheck, OwnershipViolation, ViolationKind};
use crate::model::{KERNEL_MODULE, State};
use std::collections::VecDeque;

/// Events kept per handle slot: enough for the open/close/reuse timeline a
/// bug check shows, bounded so long stress runs keep flat memory.
const HISTORY_PER_SLOT: usize = 32;

/// High bits that mark a kernel handle on x64 (docs/facts.md#f44, ASSUMPTION
/// there: secondary sources only).
pub const KERNEL_HANDLE_BITS: u64 = 0xFFFF_FFFF_8000_0000;

/// Entries per table page. ASSUMPTION: ReactOS allocates low-level handle table
/// pages of 4 KiB / 16-byte entries = 256 entries; index 0 is never handed out.
const PAGE_ENTRIES: u32 = 256;

/// In which order the table hands freed slots out again (docs/facts.md#f46).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReusePolicy {
    /// ReactOS `ex/handle.c`: freed entries collect on a second list and are
    /// moved over (most recently freed first) only when the current free chain
    /// is used up. The default (F46).
    #[default]
    BatchedLifo,
    /// The most recently freed slot is the next one handed out.
    Lifo,
    /// The least recently freed slot is the next one handed out.
    Fifo,
    /// Never reuse a slot (a stale close then always finds a free slot).
    Never,
}

/// Who owns a handle, or who closes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HandleOwner {
    /// A component (driver image or kernel component) that opened the handle
    /// itself and is the one to close it, e.g. `"other.sys"`.
    Component(Name),
    /// The WDM handle inside a framework registry-key object (`FxRegKey`):
    /// opened by Wdf01000 for `driver`, closed by the key object (F1–F7).
    FrameworkKey {
        /// The `WDFKEY` value the driver holds.
        key: u64,
        /// The driver the key was opened for.
        driver: Name,
    },
}

impl HandleOwner {
    /// The image that executes the close (`Wdf01000.sys` for a key object).
    pub fn module(&self) -> &str {
        match self {
            HandleOwner::Component(name) => name,
            HandleOwner::FrameworkKey { .. } => crate::model::FRAMEWORK_MODULE,
        }
    }
}

impl std::fmt::Display for HandleOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandleOwner::Component(name) => write!(f, "{name}"),
            HandleOwner::FrameworkKey { key, driver } => {
                write!(f, "WDFKEY {key:#x} of {driver} (closed by Wdf01000.sys)")
            }
        }
    }
}

/// One live handle-table entry.
#[derive(Debug, Clone)]
pub struct HandleEntry {
    /// The registry key node the handle refers to.
    pub object: usize,
    /// Access granted at open.
    pub access: u32,
    /// Protected from close (`OBJ_PROTECT_CLOSE`, F40).
    pub protected: bool,
    /// Who opened it and may close it.
    pub owner: HandleOwner,
    /// Sequence number of the open; tells one occupant of a slot from the next.
    pub serial: u64,
}

/// What happened to a slot, in order; the history a bug check carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleEventKind {
    /// The slot was handed out.
    Opened {
        /// Owner of the new handle.
        owner: HandleOwner,
        /// Path of the key it refers to.
        object: Name,
        /// Protected from close.
        protected: bool,
    },
    /// The handle was closed and the slot freed.
    Closed {
        /// Who closed it.
        by: HandleOwner,
    },
    /// A close that found the slot free or held by someone else.
    BadClose {
        /// Who tried to close it.
        by: HandleOwner,
        /// What the table found and did.
        outcome: String,
    },
}

/// One entry of a slot's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleEvent {
    /// Machine-wide sequence number (orders events across slots).
    pub seq: u64,
    /// The handle value as the kernel reports it (kernel bits set).
    pub handle: u64,
    /// What happened.
    pub kind: HandleEventKind,
    /// The first frame outside the kernel on the simulated stack at the
    /// time: who did it (e.g. `rawclient!DriverEntry`).
    pub site: Name,
}

/// What a close found (the caller turns it into a status or a bug check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// A live, unprotected handle was closed; `entry` is what it was.
    Closed(HandleEntryInfo),
    /// The slot holds a protected handle (F40, F67b).
    Protected(HandleEntryInfo),
    /// No live handle at that value: free slot, never allocated, or not a
    /// kernel handle (F39, F42, F44, F67a).
    Invalid,
}

/// A copy of the facts about a handle entry, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleEntryInfo {
    /// Owner of the entry.
    pub owner: HandleOwner,
    /// Open serial.
    pub serial: u64,
    /// Registry key node.
    pub object: usize,
}

/// What a [`Record`] is: [`HandleEventKind`] without its texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordKind {
    Opened { protected: bool },
    Closed,
    BadClose,
}

/// One event of a slot's history as the table keeps it: flat, its texts
/// shared ([`Name`]), the slot index implied by the history it is in; made
/// into a [`HandleEvent`] only when asked for ([`HandleTable::history_of`]).
///
/// # Invariants
/// `actor` and `key` are [`Record::actor_of`] of the owner (Opened) or the
/// closer (Closed, BadClose); `detail` is the key's path (Opened), the
/// outcome (BadClose) or empty (Closed); `tag` is the handle value's two
/// low bits as the closer passed them (F43), 0 for Opened and Closed.
#[derive(Debug, Clone)]
struct Record {
    seq: u64,
    /// `Some(WDFKEY)`: the actor is [`HandleOwner::FrameworkKey`] with
    /// `actor` as the driver; `None`: [`HandleOwner::Component`] `actor`.
    key: Option<u64>,
    actor: Name,
    site: Name,
    detail: Name,
    kind: RecordKind,
    tag: u8,
}

impl Record {
    /// A [`HandleOwner`] as a record keeps it.
    #[inline]
    fn actor_of(owner: &HandleOwner) -> (Name, Option<u64>) {
        match owner {
            HandleOwner::Component(name) => (name.clone(), None),
            HandleOwner::FrameworkKey { key, driver } => (driver.clone(), Some(*key)),
        }
    }

    /// The event this record keeps, for the slot `index`.
    fn event(&self, index: u32) -> HandleEvent {
        let actor = match self.key {
            None => HandleOwner::Component(self.actor.clone()),
            Some(key) => HandleOwner::FrameworkKey { key, driver: self.actor.clone() },
        };
        let kind = match self.kind {
            RecordKind::Opened { protected } => {
                HandleEventKind::Opened { owner: actor, object: self.detail.clone(), protected }
            }
            RecordKind::Closed => HandleEventKind::Closed { by: actor },
            RecordKind::BadClose => HandleEventKind::BadClose { by: actor, outcome: self.detail.to_string() },
        };
        let handle = HandleTable::value_of(index) | u64::from(self.tag);
        HandleEvent { seq: self.seq, handle, kind, site: self.site.clone() }
    }
}

/// A slot's most recent [`HISTORY_PER_SLOT`] records, kept in place: once
/// full, each new record takes the oldest one's place.
///
/// # Invariants
/// `records.len() <= HISTORY_PER_SLOT`; `oldest < HISTORY_PER_SLOT`, and it
/// is 0 until `records` is full; in order, the records are
/// `records[oldest..]` then `records[..oldest]`.
#[derive(Debug, Default)]
struct SlotHistory {
    records: Vec<Record>,
    oldest: usize,
}

impl SlotHistory {
    #[inline(always)]
    fn push(&mut self, record: Record) {
        if self.records.len() < HISTORY_PER_SLOT {
            self.records.push(record);
        } else {
            self.records[self.oldest] = record;
            self.oldest = (self.oldest + 1) % HISTORY_PER_SLOT;
        }
    }

    /// The records, oldest first.
    fn in_order(&self) -> impl Iterator<Item = &Record> {
        let (newer, older) = self.records.split_at(self.oldest);
        older.iter().chain(newer)
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Free,
    Used(HandleEntry),
}

/// The System process's handle table (kernel handles, F44).
#[derive(Debug)]
pub struct HandleTable {
    policy: ReusePolicy,
    /// Index 0 is a placeholder that is never handed out.
    slots: Vec<Slot>,
    /// The chain allocations are served from (front first).
    first_free: VecDeque<u32>,
    /// Batched-LIFO second list: freed entries wait here (F46).
    last_free: Vec<u32>,
    /// Per slot, its most recent events (at most HISTORY_PER_SLOT).
    history: Vec<SlotHistory>,
    /// Live entries a component other than the kernel owns (see
    /// [`HandleTable::component_handles_live`]).
    component_live: usize,
}

/// `a == b`, answered without comparing texts when the names share one
/// (the usual case: a key object's owner and closer name its driver with
/// the same [`Name`]).
#[inline]
fn same_owner(a: &HandleOwner, b: &HandleOwner) -> bool {
    match (a, b) {
        (HandleOwner::FrameworkKey { key: k, driver: d }, HandleOwner::FrameworkKey { key: l, driver: e }) => {
            k == l && (d.same_text(e) || d == e)
        }
        (HandleOwner::Component(a), HandleOwner::Component(b)) => a.same_text(b) || a == b,
        _ => false,
    }
}

/// Whether an entry counts in `component_live`.
fn component_owned(owner: &HandleOwner) -> bool {
    matches!(owner, HandleOwner::Component(name)
        if !std::ptr::eq(name.as_str(), crate::model::KERNEL_MODULE) && name != crate::model::KERNEL_MODULE)
}

impl HandleTable {
    /// An empty table with the given reuse policy.
    pub fn new(policy: ReusePolicy) -> Self {
        HandleTable {
            policy,
            slots: vec![Slot::Free],
            first_free: VecDeque::new(),
            last_free: Vec::new(),
            history: vec![SlotHistory::default()],
            component_live: 0,
        }
    }

    /// The value a slot index has as a kernel handle (F44).
    pub fn value_of(index: u32) -> u64 {
        KERNEL_HANDLE_BITS | (u64::from(index) << 2)
    }

    /// The value with the kernel bits cleared, as bug check 0x93 reports it (F68).
    pub fn stripped(value: u64) -> u64 {
        value & !KERNEL_HANDLE_BITS
    }

    /// The slot index a kernel handle value names, if it is a kernel handle.
    fn index_of(value: u64) -> Option<u32> {
        if value & KERNEL_HANDLE_BITS != KERNEL_HANDLE_BITS {
            // F44: without the kernel bits the value is not a kernel handle; from
            // kernel mode in System context the close fails at once.
            return None;
        }
        // F43: the low two bits are tag bits, ignored by the system.
        let index = (Self::stripped(value) >> 2) as u32;
        (index != 0).then_some(index)
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let start = self.slots.len() as u32;
        for index in start..start + PAGE_ENTRIES {
            self.slots.push(Slot::Free);
            self.history.push(SlotHistory::default());
            if self.policy != ReusePolicy::Lifo {
                // A fresh page chains its entries in ascending order (F46).
                self.first_free.push_back(index);
            }
        }
        if self.policy == ReusePolicy::Lifo {
            // Plain LIFO keeps one stack; the lowest index must come out first.
            for index in (start..start + PAGE_ENTRIES).rev() {
                self.last_free.push(index);
            }
        }
    }

    fn take_free_index(&mut self) -> u32 {
        loop {
            match self.policy {
                ReusePolicy::Lifo => {
                    if let Some(index) = self.last_free.pop() {
                        return index;
                    }
                }
                ReusePolicy::BatchedLifo => {
                    if self.first_free.is_empty() && !self.last_free.is_empty() {
                        // ExpMoveFreeHandles: the whole second list moves over,
                        // most recently freed first (F46).
                        while let Some(index) = self.last_free.pop() {
                            self.first_free.push_back(index);
                        }
                    }
                    if let Some(index) = self.first_free.pop_front() {
                        return index;
                    }
                }
                ReusePolicy::Fifo | ReusePolicy::Never => {
                    if let Some(index) = self.first_free.pop_front() {
                        return index;
                    }
                }
            }
            self.grow();
        }
    }

    /// Appends to a slot's bounded history.
    #[inline(always)]
    fn remember(&mut self, index: u32, record: Record) {
        if let Some(h) = self.history.get_mut(index as usize) {
            h.push(record);
        }
    }

    /// Hands out a slot for `entry`; returns the kernel handle value.
    pub fn insert(&mut self, entry: HandleEntry, object_path: Name, seq: u64, site: Name) -> u64 {
        let index = self.take_free_index();
        let (actor, key) = Record::actor_of(&entry.owner);
        let record = Record {
            seq,
            key,
            actor,
            site,
            detail: object_path,
            kind: RecordKind::Opened { protected: entry.protected },
            tag: 0,
        };
        self.remember(index, record);
        self.component_live += usize::from(component_owned(&entry.owner));
        self.slots[index as usize] = Slot::Used(entry);
        Self::value_of(index)
    }

    /// The live entry behind a handle value.
    pub fn get(&self, value: u64) -> Option<&HandleEntry> {
        let index = Self::index_of(value)?;
        match self.slots.get(index as usize)? {
            Slot::Used(entry) => Some(entry),
            Slot::Free => None,
        }
    }

    /// `NtClose` on the table: closes an unprotected live handle; reports a
    /// protected or invalid one without changing anything.
    pub fn close(&mut self, value: u64, by: &HandleOwner, seq: u64, site: Name) -> CloseOutcome {
        let Some(index) = Self::index_of(value) else {
            return CloseOutcome::Invalid;
        };
        let info = match self.slots.get(index as usize) {
            Some(Slot::Used(entry)) if entry.protected => {
                let info = HandleEntryInfo { owner: entry.owner.clone(), serial: entry.serial, object: entry.object };
                return CloseOutcome::Protected(info);
            }
            Some(Slot::Used(_)) => match std::mem::replace(&mut self.slots[index as usize], Slot::Free) {
                // The entry leaves the table: its owner moves into the report.
                Slot::Used(entry) => {
                    self.component_live -= usize::from(component_owned(&entry.owner));
                    HandleEntryInfo { owner: entry.owner, serial: entry.serial, object: entry.object }
                }
                Slot::Free => return CloseOutcome::Invalid,
            },
            _ => return CloseOutcome::Invalid,
        };
        match self.policy {
            ReusePolicy::Lifo | ReusePolicy::BatchedLifo => self.last_free.push(index),
            ReusePolicy::Fifo => self.first_free.push_back(index),
            ReusePolicy::Never => {}
        }
        let (actor, key) = Record::actor_of(by);
        self.remember(
            index,
            Record { seq, key, actor, site, detail: Name::default(), kind: RecordKind::Closed, tag: 0 },
        );
        CloseOutcome::Closed(info)
    }

    /// Records a close that did not close what its caller meant to close.
    pub fn record_bad_close(&mut self, value: u64, by: &HandleOwner, outcome: String, seq: u64, site: Name) {
        if let Some(index) = Self::index_of(value) {
            let (actor, key) = Record::actor_of(by);
            let tag = (value & 3) as u8;
            self.remember(
                index,
                Record { seq, key, actor, site, detail: outcome.into(), kind: RecordKind::BadClose, tag },
            );
        }
    }

    /// Sets or clears protect-from-close on a live handle (F40).
    #[cfg(test)]
    pub fn set_protected(&mut self, value: u64, protected: bool) -> bool {
        let Some(index) = Self::index_of(value) else { return false };
        match self.slots.get_mut(index as usize) {
            Some(Slot::Used(entry)) => {
                entry.protected = protected;
                true
            }
            _ => false,
        }
    }

    /// The history of the slot a handle value names (all its occupants).
    pub fn history_of(&self, value: u64) -> Vec<HandleEvent> {
        let Some(index) = Self::index_of(value) else { return Vec::new() };
        let Some(h) = self.history.get(index as usize) else { return Vec::new() };
        h.in_order().map(|r| r.event(index)).collect()
    }

    /// Whether any live handle is owned by a component other than the
    /// kernel (a driver's own ZwOpenKey, another component's handle): when
    /// none is, an unload has no handle of its own to report.
    pub fn component_handles_live(&self) -> bool {
        self.component_live > 0
    }

    /// Live handles without copying them: (value, entry), in slot order.
    pub fn live_entries(&self) -> impl Iterator<Item = (u64, &HandleEntry)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Used(e) => Some((Self::value_of(i as u32), e)),
            Slot::Free => None,
        })
    }
}

impl State {
    /// `NtClose` from kernel mode (F39–F46, F67, F68). `expected_serial` is the
    /// open the closer believes it holds (known for key objects), so a close
    /// of a reused slot is told from a close of a foreign handle.
    pub fn nt_close(&mut self, value: u64, closer: HandleOwner, expected_serial: Option<u64>) -> NTSTATUS {
        // A file handle (F150) closes in the file namespace.
        if let Some(status) = self.close_file_handle(value) {
            return status;
        }
        let seq = self.next_seq();
        // The acting frame: the kernel's own frames below are skipped.
        let site = self.site();
        let outcome = self.kernel.handles.close(value, &closer, seq, site);
        match outcome {
            CloseOutcome::Closed(info) => {
                self.kernel
                    .registry
                    .journal
                    .note(|| RegistryAccess::Close { path: self.kernel.registry.path_of(info.object) });
                let stale = expected_serial.is_some_and(|s| s != info.serial);
                if stale || !same_owner(&info.owner, &closer) {
                    self.closed_someone_elses(value, closer, info.owner, stale, seq);
                }
                crate::abi::STATUS_SUCCESS
            }
            CloseOutcome::Protected(info) => self.close_protected(value, closer, expected_serial, info, seq),
            CloseOutcome::Invalid => self.close_invalid(value, closer, seq),
        }
    }

    /// A close that closed a handle its closer did not own: the slot was
    /// reused (`stale`, F67) or the handle is another component's.
    #[cold]
    #[inline(never)]
    fn closed_someone_elses(&mut self, value: u64, closer: HandleOwner, victim: HandleOwner, stale: bool, seq: u64) {
        let kind = if stale { ViolationKind::StaleCloseReusedSlot } else { ViolationKind::ClosedForeignHandle };
        let outcome = if stale {
            "the victim's handle was closed silently (docs/facts.md#f67: slot reused by an unprotected handle)"
        } else {
            "closed; its owner will close the same value again later"
        };
        self.kernel.violations.push(OwnershipViolation {
            kind,
            handle: value,
            closer,
            victim: Some(victim),
            outcome: outcome.into(),
            seq,
        });
    }

    /// A close of a protected handle (F67b): bug check 0x93 {h, 0, 0, 0}
    /// from kernel mode (F41, the report's shape); Arg1 stripped (F68).
    #[cold]
    #[inline(never)]
    fn close_protected(
        &mut self,
        value: u64,
        closer: HandleOwner,
        expected_serial: Option<u64>,
        info: HandleEntryInfo,
        seq: u64,
    ) -> NTSTATUS {
        let stale = expected_serial.is_some_and(|s| s != info.serial);
        let outcome = "bug check 0x93 (protected handle closed)".to_string();
        if stale || info.owner != closer {
            let kind = if stale { ViolationKind::StaleCloseReusedSlot } else { ViolationKind::ClosedForeignHandle };
            self.kernel.violations.push(OwnershipViolation {
                kind,
                handle: value,
                closer: closer.clone(),
                victim: Some(info.owner.clone()),
                outcome: outcome.clone(),
                seq,
            });
        }
        self.kernel.handles.record_bad_close(
            value,
            &closer,
            format!("slot held by protected handle of {}; {outcome}", info.owner),
            seq,
            self.site(),
        );
        let cause = self.root_cause_for(value, &closer);
        self.with_service_frames(|s| {
            s.bug_check(BugCheck::invalid_kernel_handle(value, true), Some(value), cause);
        });
        crate::abi::STATUS_HANDLE_NOT_CLOSABLE
    }

    /// A close of a value that names no live handle (F67a): free slot →
    /// STATUS_INVALID_HANDLE, unless a kernel debugger is on and the
    /// caller's process has a PEB (F42), or Driver Verifier's misc checks
    /// force the bug check (F67c).
    #[cold]
    #[inline(never)]
    fn close_invalid(&mut self, value: u64, closer: HandleOwner, seq: u64) -> NTSTATUS {
        let fatal =
            (self.settings.kernel_debugger && self.kernel.process.has_peb) || self.settings.verifier_misc_checks;
        let outcome = if fatal {
            "bug check 0x93 (invalid handle closed)".to_string()
        } else {
            "STATUS_INVALID_HANDLE returned (silent unless a debugger or Driver Verifier is on, docs/facts.md#f67)"
                .to_string()
        };
        self.kernel.violations.push(OwnershipViolation {
            kind: ViolationKind::StaleCloseFreeSlot,
            handle: value,
            closer: closer.clone(),
            victim: None,
            outcome: outcome.clone(),
            seq,
        });
        let site = self.site();
        self.kernel.handles.record_bad_close(value, &closer, format!("no open handle; {outcome}"), seq, site);
        if fatal {
            let cause = self.root_cause_for(value, &closer);
            self.with_service_frames(|s| {
                s.bug_check(BugCheck::invalid_kernel_handle(value, false), Some(value), cause);
            });
        }
        crate::abi::STATUS_INVALID_HANDLE
    }

    /// Runs `f` with the frames ZwClose enters the kernel through on the
    /// stack — the system-service stub, which the reported crash shows
    /// under KeBugCheckEx (F41). Only a bug check reads them (every other
    /// record of a close names the acting frame below them, [`State::site`]),
    /// so they are pushed where one is raised.
    fn with_service_frames(&mut self, f: impl FnOnce(&mut State)) {
        self.push_frame(KERNEL_MODULE, "nt!KiServiceLinkage");
        self.push_frame(KERNEL_MODULE, "nt!KiSystemServiceCopyEnd");
        f(self);
        self.pop_frame();
        self.pop_frame();
    }

    /// Who closed `closer`'s handle before `closer` did, from the violations
    /// recorded so far: the sentence a developer needs and a dump cannot give.
    fn root_cause_for(&self, value: u64, closer: &HandleOwner) -> Option<String> {
        let slot = HandleTable::stripped(value) >> 2;
        self.kernel.violations
            .iter()
            .rev()
            .find(|v| {
                v.kind == ViolationKind::ClosedForeignHandle
                    && HandleTable::stripped(v.handle) >> 2 == slot
                    && v.victim.as_ref() == Some(closer)
            })
            .map(|v| {
                format!(
                    "{} closed handle {:#x} (event #{}), which belonged to {}; the second close, by {}, is the one that stopped the machine",
                    v.closer,
                    v.handle,
                    v.seq,
                    closer,
                    closer.module()
                )
            })
    }
}

/// A close with previous mode KernelMode, as the calling driver (ZwClose,
/// ObCloseHandle(KernelMode), NtClose in a system thread).
pub(crate) fn close_in_kernel_mode(s: &mut crate::model::State, handle: HANDLE) -> NTSTATUS {
    let closer = HandleOwner::Component(s.caller_image());
    let status = s.nt_close(handle as u64, closer, None);
    if let Some((image, path, protected)) = s.kernel.interleaved_open.take() {
        // Another thread of another component, right after this close.
        s.push_driver_frame(&image, "Worker");
        let owner = HandleOwner::Component(Name::copy_of(&image));
        let _ = s.open_key_handle(owner, None, &path, crate::abi::KEY_READ, None, protected);
        s.pop_frame();
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: u64) -> HandleEntry {
        HandleEntry { object: 0, access: 0, protected: false, owner: HandleOwner::Component("t.sys".into()), serial }
    }

    fn open(t: &mut HandleTable, serial: u64) -> u64 {
        t.insert(entry(serial), Name::default(), serial, Name::default())
    }

    #[test]
    fn values_are_kernel_handles_from_four() {
        let mut t = HandleTable::new(ReusePolicy::BatchedLifo);
        assert_eq!(open(&mut t, 1), 0xFFFF_FFFF_8000_0004);
        assert_eq!(open(&mut t, 2), 0xFFFF_FFFF_8000_0008);
        assert_eq!(HandleTable::stripped(0xFFFF_FFFF_8000_0304), 0x304);
    }

    #[test]
    fn batched_lifo_reuses_only_after_the_free_chain_is_used_up() {
        let mut t = HandleTable::new(ReusePolicy::BatchedLifo);
        let a = open(&mut t, 1);
        let b = open(&mut t, 2);
        let owner = HandleOwner::Component("t.sys".into());
        assert!(matches!(t.close(a, &owner, 3, Name::default()), CloseOutcome::Closed(_)));
        assert!(matches!(t.close(b, &owner, 4, Name::default()), CloseOutcome::Closed(_)));
        // The rest of the first page comes first.
        let mut next = Vec::new();
        for s in 0..(PAGE_ENTRIES - 2) {
            next.push(open(&mut t, 10 + u64::from(s)));
        }
        assert!(!next.contains(&a) && !next.contains(&b));
        // Then the freed ones, most recently freed first.
        assert_eq!(open(&mut t, 1000), b);
        assert_eq!(open(&mut t, 1001), a);
    }

    #[test]
    fn lifo_fifo_and_never() {
        let owner = HandleOwner::Component("t.sys".into());
        let mut lifo = HandleTable::new(ReusePolicy::Lifo);
        let (a, b) = (open(&mut lifo, 1), open(&mut lifo, 2));
        let _ = lifo.close(a, &owner, 3, Name::default());
        let _ = lifo.close(b, &owner, 4, Name::default());
        assert_eq!(open(&mut lifo, 5), b);

        let mut fifo = HandleTable::new(ReusePolicy::Fifo);
        let (a, b) = (open(&mut fifo, 1), open(&mut fifo, 2));
        let _ = fifo.close(a, &owner, 3, Name::default());
        let _ = fifo.close(b, &owner, 4, Name::default());
        for s in 0..(PAGE_ENTRIES - 2) {
            let _ = open(&mut fifo, 10 + u64::from(s));
        }
        assert_eq!(open(&mut fifo, 1000), a);

        let mut never = HandleTable::new(ReusePolicy::Never);
        let a = open(&mut never, 1);
        let _ = never.close(a, &owner, 2, Name::default());
        for s in 0..(3 * PAGE_ENTRIES) {
            assert_ne!(open(&mut never, 10 + u64::from(s)), a);
        }
    }

    #[test]
    fn protected_and_invalid_closes_change_nothing() {
        let owner = HandleOwner::Component("t.sys".into());
        let mut t = HandleTable::new(ReusePolicy::Lifo);
        let a = open(&mut t, 1);
        assert!(t.set_protected(a, true));
        assert!(matches!(t.close(a, &owner, 2, Name::default()), CloseOutcome::Protected(_)));
        assert!(t.get(a).is_some());
        assert_eq!(t.close(0x304, &owner, 3, Name::default()), CloseOutcome::Invalid, "no kernel bits");
        assert_eq!(t.close(0, &owner, 3, Name::default()), CloseOutcome::Invalid);
        assert_eq!(t.close(HandleTable::value_of(77), &owner, 3, Name::default()), CloseOutcome::Invalid, "free slot");
        assert_eq!(
            t.close(HandleTable::value_of(100_000), &owner, 3, Name::default()),
            CloseOutcome::Invalid,
            "beyond the table"
        );
        // Tag bits are ignored (F43).
        assert!(t.set_protected(a, false));
        assert!(matches!(t.close(a | 3, &owner, 4, Name::default()), CloseOutcome::Closed(_)));
    }

    #[test]
    fn a_slot_keeps_its_last_events_in_order_with_their_texts() {
        let mut t = HandleTable::new(ReusePolicy::Lifo);
        let driver = Name::copy_of("d.sys");
        let key = HandleOwner::FrameworkKey { key: 0x40, driver: driver.clone() };
        let other = HandleOwner::Component("o.sys".into());
        let mut expected = Vec::new();
        let mut seq = 0;
        let mut value = 0;
        // 3 events a round, a number of rounds that wraps the history at
        // other than its start.
        for round in 0..(HISTORY_PER_SLOT as u64 + 5) {
            seq += 1;
            let path = Name::from(format!(r"\Registry\K{round}"));
            let e = HandleEntry { object: 1, access: 2, protected: false, owner: key.clone(), serial: seq };
            value = t.insert(e, path.clone(), seq, Name::from("d!Open"));
            let opened = HandleEventKind::Opened { owner: key.clone(), object: path, protected: false };
            expected.push(HandleEvent { seq, handle: value, kind: opened, site: "d!Open".into() });
            seq += 1;
            // A close by someone else, through a tagged value (F43): the
            // value is kept as passed.
            t.record_bad_close(value | 1, &other, format!("bad {round}"), seq, "o!Close".into());
            let bad = HandleEventKind::BadClose { by: other.clone(), outcome: format!("bad {round}") };
            expected.push(HandleEvent { seq, handle: value | 1, kind: bad, site: "o!Close".into() });
            seq += 1;
            assert!(matches!(t.close(value, &key, seq, "d!Close".into()), CloseOutcome::Closed(_)));
            expected.push(HandleEvent {
                seq,
                handle: value,
                kind: HandleEventKind::Closed { by: key.clone() },
                site: "d!Close".into(),
            });
        }
        let history = t.history_of(value | 3);
        assert_eq!(history.len(), HISTORY_PER_SLOT, "bounded");
        assert_eq!(history, expected[expected.len() - HISTORY_PER_SLOT..], "the last events, oldest first");
        assert!(t.history_of(HandleTable::value_of(2)).is_empty(), "another slot has its own");
        assert!(t.history_of(0x304).is_empty(), "not a kernel handle");
    }

    #[test]
    fn component_handles_are_counted_until_closed() {
        let mut t = HandleTable::new(ReusePolicy::BatchedLifo);
        let kernel = HandleEntry { owner: HandleOwner::Component(crate::model::KERNEL_MODULE.into()), ..entry(1) };
        t.insert(kernel, Name::default(), 1, Name::default());
        let key = HandleEntry { owner: HandleOwner::FrameworkKey { key: 0x10, driver: "t.sys".into() }, ..entry(2) };
        t.insert(key, Name::default(), 2, Name::default());
        assert!(!t.component_handles_live(), "the kernel's and key objects' handles are not a component's own");
        let own = open(&mut t, 3);
        assert!(t.component_handles_live());
        let owner = HandleOwner::Component("t.sys".into());
        assert!(matches!(t.close(own, &owner, 4, Name::default()), CloseOutcome::Closed(_)));
        assert!(!t.component_handles_live());
    }
}
