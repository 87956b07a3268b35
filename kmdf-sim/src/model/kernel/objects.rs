//! Process and thread objects as a driver references them (F152–F154):
//! `ObReferenceObjectByHandle`, `ObfReferenceObject`, `ObfDereferenceObject`,
//! `PsLookupProcessByProcessId`, `PsLookupThreadByThreadId` and
//! `KeSetPriorityThread`. The processes are the System process (id 4) and
//! those `Machine::create_process` / `start_process` started and
//! `end_process` did not end; the threads are the machine's own thread and
//! those `Machine::start_thread` started. Each object is storage of its own
//! (EPROCESS and ETHREAD are opaque to a driver) whose reference count is
//! the kernel's one reference plus the references drivers took.

use super::ob_callback::ObjectKind;
use crate::abi::NTSTATUS;
use crate::model::{Name, State};
use std::collections::BTreeSet;

/// The System process's id (ASSUMPTION, F153: Windows gives it 4).
pub(crate) const SYSTEM_PROCESS_ID: u64 = 4;
/// The id of the machine's own thread, the one driver code runs on
/// (ASSUMPTION, F153).
pub(crate) const MACHINE_THREAD_ID: u64 = 8;
/// `NtCurrentProcess()`: `(HANDLE)-1` (F152).
const CURRENT_PROCESS: u64 = u64::MAX;
/// `NtCurrentThread()`: `(HANDLE)-2` (F152).
const CURRENT_THREAD: u64 = u64::MAX - 1;
/// A thread's priority before a driver sets one: the normal priority 8
/// (ASSUMPTION, F154).
const DEFAULT_PRIORITY: i32 = 8;
/// HIGH_PRIORITY, the highest KPRIORITY (F154).
const HIGH_PRIORITY: i32 = 31;

/// One object the machine handed out.
#[derive(Debug)]
struct Record {
    kind: ObjectKind,
    id: u64,
    /// The object's body: its address is the PEPROCESS / PETHREAD.
    body: Box<[u64; 32]>,
    /// One entry per reference a driver holds, naming its image.
    holders: Vec<Name>,
    /// A thread's priority.
    priority: i32,
}

impl Record {
    fn address(&self) -> u64 {
        self.body.as_ptr() as u64
    }
}

/// The objects and the live process and thread ids.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    records: Vec<Record>,
    /// Processes started and not ended.
    pub processes: BTreeSet<u64>,
    /// Threads started and not ended.
    pub threads: BTreeSet<u64>,
}

/// What `ObReferenceObjectByHandle`'s ObjectType names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TypeArgument {
    /// NULL: any type.
    Any,
    Kind(ObjectKind),
    /// Another object type, by address (a not-modelled stop where it is used).
    Other(u64),
}

impl TypeArgument {
    /// What an `ObjectType` argument (a `*PsProcessType`-like value) names.
    pub(crate) fn of(object_type: crate::abi::POBJECT_TYPE) -> TypeArgument {
        if object_type.is_null() {
            return TypeArgument::Any;
        }
        [ObjectKind::Process, ObjectKind::Thread]
            .into_iter()
            .find(|k| std::ptr::eq(k.type_object(), object_type))
            .map_or(TypeArgument::Other(object_type as u64), TypeArgument::Kind)
    }
}

impl Objects {
    fn live(&self, kind: ObjectKind, id: u64) -> bool {
        match kind {
            ObjectKind::Process => id == SYSTEM_PROCESS_ID || self.processes.contains(&id),
            ObjectKind::Thread => id == MACHINE_THREAD_ID || self.threads.contains(&id),
        }
    }

    /// The object of `kind` with `id`, made on first use; its index.
    fn object(&mut self, kind: ObjectKind, id: u64) -> usize {
        if let Some(i) = self.records.iter().position(|r| r.kind == kind && r.id == id) {
            return i;
        }
        let body = Box::new([0u64; 32]);
        self.records.push(Record { kind, id, body, holders: Vec::new(), priority: DEFAULT_PRIORITY });
        self.records.len() - 1
    }

    fn by_address(&self, address: u64) -> Option<usize> {
        self.records.iter().position(|r| r.address() == address)
    }
}

impl State {
    /// A referenced pointer to the live object `kind` `id` for the calling
    /// image: PsLookupProcessByProcessId / PsLookupThreadByThreadId (F153).
    /// An id no live object has is STATUS_INVALID_PARAMETER, as both
    /// routines' pages document.
    pub(crate) fn ps_lookup(&mut self, kind: ObjectKind, id: u64) -> Result<u64, NTSTATUS> {
        if !self.kernel.objects.live(kind, id) {
            return Err(crate::abi::STATUS_INVALID_PARAMETER);
        }
        Ok(self.take_reference(kind, id))
    }

    fn take_reference(&mut self, kind: ObjectKind, id: u64) -> u64 {
        let image = self.caller_image();
        let objects = &mut self.kernel.objects;
        let i = objects.object(kind, id);
        objects.records[i].holders.push(image);
        objects.records[i].address()
    }

    /// ObReferenceObjectByHandle (F152): `NtCurrentProcess()` is the System
    /// process, `NtCurrentThread()` the machine's thread; a live handle of
    /// the kernel's table (a key or a file) asked for as a process or thread
    /// is STATUS_OBJECT_TYPE_MISMATCH; any other value STATUS_INVALID_HANDLE.
    /// `None` after a not-modelled stop (a key or file object, another
    /// object type).
    pub(crate) fn ob_reference_by_handle(
        &mut self,
        handle: u64,
        wanted: TypeArgument,
    ) -> Option<Result<u64, NTSTATUS>> {
        if let TypeArgument::Other(address) = wanted {
            self.stop_not_modelled(format!(
                "ObReferenceObjectByHandle for the object type at {address:#x}: only NULL, *PsProcessType and \
                 *PsThreadType are modelled (docs/facts.md#f152)"
            ));
            return None;
        }
        let found = match handle {
            CURRENT_PROCESS => Some((ObjectKind::Process, SYSTEM_PROCESS_ID)),
            CURRENT_THREAD => Some((ObjectKind::Thread, MACHINE_THREAD_ID)),
            _ => None,
        };
        let Some((kind, id)) = found else {
            if self.kernel.handles.get(handle).is_none() && !self.kernel.files.is_open(handle) {
                return Some(Err(crate::abi::STATUS_INVALID_HANDLE));
            }
            if let TypeArgument::Kind(_) = wanted {
                return Some(Err(crate::abi::STATUS_OBJECT_TYPE_MISMATCH));
            }
            self.stop_not_modelled(format!(
                "ObReferenceObjectByHandle({handle:#x}) with ObjectType NULL: the objects behind key and file \
                 handles are not modelled (docs/facts.md#f152)"
            ));
            return None;
        };
        if let TypeArgument::Kind(k) = wanted
            && k != kind
        {
            return Some(Err(crate::abi::STATUS_OBJECT_TYPE_MISMATCH));
        }
        Some(Ok(self.take_reference(kind, id)))
    }

    /// ObfReferenceObject (F152): one more reference to an object the machine
    /// handed out; the new count (the kernel's reference included). `None`
    /// after a not-modelled stop (an address the machine never handed out).
    pub(crate) fn ob_reference(&mut self, address: u64) -> Option<i64> {
        let image = self.caller_image();
        let i = self.known_object("ObfReferenceObject", address)?;
        let record = &mut self.kernel.objects.records[i];
        record.holders.push(image);
        Some(1 + record.holders.len() as i64)
    }

    /// ObfDereferenceObject (F152): drops a reference a driver holds (the
    /// calling image's first). With none held, the count would fall to the
    /// kernel's own reference's release while the process or thread is in
    /// use: bug check 0x18 REFERENCE_BY_POINTER {object type, object, 0, 0}
    /// (ASSUMPTION, F152: the stop comes at this dereference).
    pub(crate) fn ob_dereference(&mut self, address: u64) -> Option<i64> {
        let image = self.caller_image();
        let i = self.known_object("ObfDereferenceObject", address)?;
        let record = &mut self.kernel.objects.records[i];
        let Some(at) = record.holders.iter().position(|h| *h == image).or((!record.holders.is_empty()).then_some(0))
        else {
            let kind = record.kind;
            let object_type = kind.type_object() as u64;
            let cause = format!(
                "{image} dereferenced the {} object {address:#x} (id {}) once more than it referenced it \
                 (docs/facts.md#f152)",
                kind.label(),
                record.id
            );
            self.bug_check(
                (
                    0x18,
                    [object_type, address, 0, 0],
                    "REFERENCE_BY_POINTER",
                    [
                        "Object type of the object whose reference count is being lowered.".into(),
                        "Object whose reference count is being lowered.".into(),
                        "Reserved".into(),
                        "Reserved".into(),
                    ],
                ),
                None,
                Some(cause),
            );
            return None;
        };
        record.holders.remove(at);
        Some(1 + record.holders.len() as i64)
    }

    /// The index of the object at `address`; an address the machine never
    /// handed out stops it as not modelled (F152).
    fn known_object(&mut self, routine: &str, address: u64) -> Option<usize> {
        let found = self.kernel.objects.by_address(address);
        if found.is_none() {
            self.unknown_object(routine, address);
        }
        found
    }

    fn unknown_object(&mut self, routine: &str, address: u64) {
        self.stop_not_modelled(format!(
            "{routine}({address:#x}) of an object the machine did not hand out: only the process and thread \
             objects of ObReferenceObjectByHandle and PsLookup* are modelled (docs/facts.md#f152)"
        ));
    }

    /// KeSetPriorityThread (F154): the thread's old priority. A thread the
    /// machine did not hand out, or a priority outside LOW_PRIORITY + 1 ..=
    /// HIGH_PRIORITY (LOW_PRIORITY is reserved for the system), is not
    /// modelled. `None` after that stop.
    pub(crate) fn set_priority_thread(&mut self, address: u64, priority: i32) -> Option<i32> {
        let thread = self.kernel.objects.by_address(address).filter(|&i| {
            let r = &self.kernel.objects.records[i];
            r.kind == ObjectKind::Thread
        });
        let Some(i) = thread else {
            self.stop_not_modelled(format!(
                "KeSetPriorityThread({address:#x}) of an object that is not a thread the machine handed out \
                 (docs/facts.md#f154)"
            ));
            return None;
        };
        if !(1..=HIGH_PRIORITY).contains(&priority) {
            self.stop_not_modelled(format!(
                "KeSetPriorityThread({address:#x}, {priority}): a priority outside 1..=HIGH_PRIORITY (31) \
                 (docs/facts.md#f154)"
            ));
            return None;
        }
        let record = &mut self.kernel.objects.records[i];
        Some(std::mem::replace(&mut record.priority, priority))
    }

    /// At unload: references the image still holds are a finding (F152: no
    /// bug check is documented for them; the objects never go away).
    pub(crate) fn object_reference_leak_check(&mut self, image: &str) {
        let mut left = 0;
        let mut first = None;
        for r in &mut self.kernel.objects.records {
            let before = r.holders.len();
            r.holders.retain(|h| h.as_str() != image);
            let n = before - r.holders.len();
            if n > 0 && first.is_none() {
                first = Some((r.kind.label(), r.id, r.address()));
            }
            left += n;
        }
        if let Some((label, id, address)) = first {
            self.framework.findings.push(format!(
                "{image} unloaded holding {left} object reference(s), the first to the {label} object \
                 {address:#x} (id {id}): ObDereferenceObject each one (docs/facts.md#f152)"
            ));
        }
    }
}

// The routines on this thread's machine (the surface's shims call these;
// `None` after a stop or with no machine).

/// `PsLookupProcessByProcessId` / `PsLookupThreadByThreadId` (F153).
pub(crate) fn lookup(kind: ObjectKind, id: u64) -> Option<Result<u64, NTSTATUS>> {
    crate::model::with_state(|s| s.ps_lookup(kind, id))
}

/// `ObReferenceObjectByHandle` (F152).
pub(crate) fn reference_by_handle(handle: u64, wanted: TypeArgument) -> Option<Result<u64, NTSTATUS>> {
    crate::model::with_state(|s| s.ob_reference_by_handle(handle, wanted)).flatten()
}

/// `ObfReferenceObject` (F152).
pub(crate) fn reference(address: u64) -> Option<i64> {
    crate::model::with_state(|s| s.ob_reference(address)).flatten()
}

/// `ObfDereferenceObject` (F152).
pub(crate) fn dereference(address: u64) -> Option<i64> {
    crate::model::with_state(|s| s.ob_dereference(address)).flatten()
}

/// `KeSetPriorityThread` (F154).
pub(crate) fn set_priority(address: u64, priority: i32) -> Option<i32> {
    crate::model::with_state(|s| s.set_priority_thread(address, priority)).flatten()
}
