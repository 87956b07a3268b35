//! The KMDF object tree: framework objects, their parents and children,
//! references, and the delete sequence KMDF runs.
//!
//! Rules (docs/facts.md in the repository):
//! * F10/F16: an object created without `ParentObject` is a child of the
//!   driver object.
//! * F29: deletion disposes children before parents — every child's
//!   EvtCleanupCallback runs before its parent's.
//! * F30/F31: EvtCleanupCallback, then EvtDestroyCallback, then the object's
//!   destructor; the context stays valid through EvtDestroyCallback and is
//!   freed after it. For a WDFKEY the destructor is `~FxRegKey` (F2).
//! * F32: extra references (WdfObjectReference) postpone the destroy until the
//!   last WdfObjectDereference; dropping to zero without a delete is 0x10D {7}.
//! * F33: objects marked NoDeleteDDI (the driver, ...) ignore WdfObjectDelete
//!   and the KMDF verifier breaks.
//! * F9/F34: WDFKEY is a passive object: a delete above PASSIVE_LEVEL is
//!   deferred to a PASSIVE work item; every callback of a key runs at PASSIVE.

use crate::abi::*;
use crate::model::{FRAMEWORK_MODULE, State, with_state};

/// How many freed object handles the machine remembers for F77's use-after-free rules.
const FREED_OBJECTS_KEPT: usize = 65_536;

/// The distance between consecutive handle values ([`State::new_object_value`]).
const HANDLE_STEP: u64 = 16;

/// The longest run of numbered values without an object that
/// [`ObjectTable::insert`] gives empty slots.
const GAP_SLOTS: u64 = 4;

/// How many emptied child lists the object table keeps for reuse.
const SPARE_CHILD_LISTS: usize = 64;

/// The framework object types the simulator models.
#[derive(Debug)]
pub(crate) enum ObjectKind {
    /// `FxDriver`: created by WdfDriverCreate (F27).
    Driver {
        /// EvtDriverDeviceAdd.
        device_add: PFN_WDF_DRIVER_DEVICE_ADD,
        /// EvtDriverUnload.
        unload: PFN_WDF_DRIVER_UNLOAD,
    },
    /// `FxRegKey` (F1–F7): `handle` is `m_Key`, `serial` its open serial.
    Key { handle: Option<u64>, serial: u64 },
    /// A general object from WdfObjectCreate.
    General,
    /// `FxDevice` of a PnP function driver: its devnode, PnP callbacks and
    /// the attributes of the requests the framework creates for it.
    /// The PnP payload is boxed: it is most of the device's size, and an
    /// object kind is moved whole whenever an object is created.
    Device { devnode: usize, pnp: Box<DevicePnp> },
    /// `FxIoQueue`: the device's queue, its I/O callbacks and its state.
    Queue(Box<QueueState>),
    /// `FxString`: the UTF-16 text, without a terminating NUL.
    String(Vec<u16>),
    /// `FxMemoryObject`: a buffer the object describes (a request's system
    /// buffer, or memory of its own from WdfMemoryCreate).
    Memory(Box<MemoryState>),
    /// `FxTimer` (wdftimer.h).
    Timer(Box<super::timers::TimerState>),
    /// `FxSpinLock`: the IRQL to restore when held.
    SpinLock { held: Option<u8> },
    /// `FxWaitLock`: held or not.
    WaitLock { held: bool },
    /// `FxWorkItem`: its callback and parent.
    WorkItem { callback: unsafe extern "C" fn(WDFWORKITEM), parent: u64 },

    /// `FxRequest`: an IOCTL with its METHOD_BUFFERED system buffer.
    Request(Box<super::pnp::RequestState>),
}

impl ObjectKind {
    /// KMDF's type id of the object (F90).
    pub fn fx_type(&self) -> super::handle_check::FxType {
        use super::handle_check::FxType;
        match self {
            ObjectKind::Driver { .. } => FxType::Driver,
            ObjectKind::Key { .. } => FxType::RegKey,
            ObjectKind::General => FxType::Object,
            ObjectKind::Device { .. } => FxType::Device,
            ObjectKind::Queue(_) => FxType::Queue,
            ObjectKind::Request(_) => FxType::Request,
            ObjectKind::String(_) => FxType::String,
            ObjectKind::Memory(_) => FxType::Memory,
            ObjectKind::Timer(_) => FxType::Timer,
            ObjectKind::SpinLock { .. } => FxType::SpinLock,
            ObjectKind::WaitLock { .. } => FxType::WaitLock,
            ObjectKind::WorkItem { .. } => FxType::WorkItem,
        }
    }

    /// The WDF handle type name, as reports print it.
    pub fn type_name(&self) -> &'static str {
        self.fx_type().handle_type()
    }
}

/// What a device keeps from its WDFDEVICE_INIT: the PnP and power
/// callbacks and the attributes of the requests the framework creates for it.
#[derive(Debug)]
pub(crate) struct DevicePnp {
    pub callbacks: WDF_PNPPOWER_EVENT_CALLBACKS,
    pub request_attributes: Option<WDF_OBJECT_ATTRIBUTES>,
}

/// A queue's configuration and state (WDF_IO_QUEUE_CONFIG, wdfio.h).
#[derive(Debug)]
pub(crate) struct QueueState {
    pub device: u64,
    pub default: bool,
    pub sequential: bool,
    /// `AllowZeroLengthRequests`.
    pub zero_length: bool,
    pub io_default: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    pub read: PFN_WDF_IO_QUEUE_IO_READ,
    pub write: PFN_WDF_IO_QUEUE_IO_WRITE,
    pub device_control: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    /// Started (presents requests) or stopped (WdfIoQueueStop*: they wait).
    pub started: bool,
    /// Request types WdfDeviceConfigureRequestDispatching sends here.
    pub dispatch: Vec<super::pnp::RequestType>,
}

/// A WDFMEMORY's buffer.
#[derive(Debug)]
pub(crate) struct MemoryState {
    /// First byte; for a request's memory it points into the request's system buffer.
    pub ptr: *mut u8,
    pub len: usize,
    /// Memory of its own (WdfMemoryCreate), freed with the object; only
    /// held, `ptr` is how it is reached.
    #[allow(dead_code, reason = "owns the buffer `ptr` points into")]
    pub own: Option<Box<[u64]>>,
}

/// One framework object.
#[derive(Debug)]
pub(crate) struct Object {
    pub kind: ObjectKind,
    /// The driver image the object belongs to.
    pub driver: crate::model::Name,
    pub parent: Option<u64>,
    pub children: Vec<u64>,
    /// References beyond the creation reference (WdfObjectReference, F32).
    pub extra_refs: u32,
    /// WdfObjectDelete (or the parent's delete) has been requested.
    pub delete_requested: bool,
    /// EvtCleanupCallback has run (or there was none).
    pub disposed: bool,
    /// F33: WdfObjectDelete is not allowed.
    pub no_delete_ddi: bool,
    /// F9/F34: dispose and destroy only at PASSIVE_LEVEL.
    pub passive: bool,
    pub cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    /// The context: its type info (compared by address) and its memory,
    /// zero-filled and pointer-aligned (F76; KMDF's FxContextHeaderInit).
    pub context: Option<(usize, ContextMemory)>,
}

/// The framework objects by handle value, in handle order.
///
/// Handle values only grow ([`State::new_object_value`]), so a new object
/// is appended at the end and the table stays sorted without moving
/// anything. Values step by [`HANDLE_STEP`], and a short run of values the
/// machine numbered without an object (a device init, a driver object's
/// number) gets empty slots, so a handle's slot is normally its distance
/// in steps from the last slot's: a lookup tries that slot, then searches
/// by bisection (after a compaction, or for an unusual value). A removed object
/// leaves an empty slot behind, and the table drops the empty slots once
/// they outnumber the live objects, so it stays as small as the live set
/// whatever the run's length. Objects sit in their slots: creating one
/// allocates nothing of its own once the table has grown to the live set.
/// Emptied child lists are kept (up to [`SPARE_CHILD_LISTS`]) for the next
/// object that gets children.
///
/// The handles of the live WDFDRIVER objects are kept apart as well, so
/// the driver an object without a parent joins (F10) is found without a
/// walk over the table.
///
/// # Invariants
/// `slots` is sorted by handle, strictly ascending (a slot may be empty,
/// whether its object was removed or it never had one); `live` is the
/// number of occupied slots; `drivers` holds, ascending, the handle of every occupied
/// slot whose object was a [`ObjectKind::Driver`] when it was inserted (an
/// object's kind never changes to or from `Driver` while it is in the
/// table, except [`State::remove_failed_object`]'s change just before it
/// removes it).
#[derive(Debug, Default)]
pub(crate) struct ObjectTable {
    slots: Vec<(u64, Option<Object>)>,
    live: usize,
    drivers: Vec<u64>,
    /// Empty child lists with their capacity, for [`ObjectTable::add_child`].
    spare_children: Vec<Vec<u64>>,
    /// [`ObjectTable::post_order`]'s work list, kept for its capacity;
    /// empty between calls.
    walk: Vec<u64>,
    /// A delete order buffer kept for its capacity ([`ObjectTable::order_buffer`]).
    spare_order: Vec<u64>,
}

impl ObjectTable {
    #[inline]
    fn position(&self, handle: u64) -> Result<usize, usize> {
        // The slot as far from the last as the handle is in steps: the
        // handle's own unless a compaction or an unfilled gap lies between.
        if let Some(&(last, _)) = self.slots.last() {
            let back = last.wrapping_sub(handle) / HANDLE_STEP;
            if let Some(i) = (self.slots.len() as u64 - 1).checked_sub(back)
                && self.slots[i as usize].0 == handle
            {
                return Ok(i as usize);
            }
        }
        self.slots.binary_search_by_key(&handle, |&(h, _)| h)
    }

    /// The object behind `handle`.
    #[inline]
    pub(crate) fn get(&self, handle: &u64) -> Option<&Object> {
        let i = self.position(*handle).ok()?;
        self.slots[i].1.as_ref()
    }

    /// The object behind `handle`, to change.
    #[inline]
    pub(crate) fn get_mut(&mut self, handle: &u64) -> Option<&mut Object> {
        let i = self.position(*handle).ok()?;
        self.slots[i].1.as_mut()
    }

    /// The slot of the live object behind `handle` if `admits` it (one
    /// search; [`ObjectTable::at_mut`] then reaches it without another).
    #[inline]
    pub(crate) fn find(&self, handle: u64, admits: impl FnOnce(&Object) -> bool) -> Option<usize> {
        let i = self.position(handle).ok()?;
        self.slots[i].1.as_ref().filter(|o| admits(o)).map(|_| i)
    }

    /// The object in slot `i`, found by [`ObjectTable::find`] with no
    /// change to the table since.
    ///
    /// # Panics
    /// If the slot is empty or out of range (a slot not from `find`).
    #[inline]
    pub(crate) fn at_mut(&mut self, i: usize) -> &mut Object {
        self.slots[i].1.as_mut().expect("a slot found by `find`")
    }

    /// Whether `handle` names a live object.
    #[cfg(test)]
    pub(crate) fn contains_key(&self, handle: &u64) -> bool {
        self.get(handle).is_some()
    }

    /// The live WDFDRIVER with the lowest handle.
    #[inline]
    pub(crate) fn first_driver(&self) -> Option<u64> {
        self.drivers.first().copied()
    }

    /// Enters `object` under `handle` (a fresh value, so normally at the end).
    #[inline(always)]
    pub(crate) fn insert(&mut self, handle: u64, object: Object) {
        if matches!(object.kind, ObjectKind::Driver { .. })
            && let Err(i) = self.drivers.binary_search(&handle)
        {
            self.drivers.insert(i, handle);
        }
        match self.slots.last() {
            Some(&(last, _)) if last >= handle => self.insert_in_order(handle, object),
            last => {
                // Values numbered since the last slot's without an object
                // get empty slots, up to GAP_SLOTS of them.
                if let Some(&(last, _)) = last {
                    let gap = handle - last;
                    if gap.is_multiple_of(HANDLE_STEP) && gap / HANDLE_STEP <= GAP_SLOTS {
                        self.slots.extend((1..gap / HANDLE_STEP).map(|k| (last + k * HANDLE_STEP, None)));
                    }
                }
                // The object is written once, into its slot.
                self.slots.push((handle, None));
                let last = self.slots.len() - 1;
                self.slots[last].1 = Some(object);
                self.live += 1;
            }
        }
    }

    /// [`ObjectTable::insert`] of a handle not above the last slot's.
    #[cold]
    fn insert_in_order(&mut self, handle: u64, object: Object) {
        match self.position(handle) {
            Ok(i) => {
                if self.slots[i].1.is_none() {
                    self.live += 1;
                }
                self.slots[i].1 = Some(object);
            }
            Err(i) => {
                self.slots.insert(i, (handle, Some(object)));
                self.live += 1;
            }
        }
    }

    /// Removes the object behind `handle` from the table.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, handle: &u64) -> Option<Removed> {
        let i = self.position(*handle).ok()?;
        self.remove_at(i)
    }

    /// Removes the object in slot `i` (found by [`ObjectTable::find`]),
    /// dropping it where it lies, and gives what its destructor needs;
    /// `None` if the slot is empty.
    #[inline]
    fn remove_at(&mut self, i: usize) -> Option<Removed> {
        let (handle, slot) = &mut self.slots[i];
        let handle = *handle;
        let o = slot.as_mut()?;
        let removed = Removed {
            fx_type: o.kind.fx_type(),
            key: match o.kind {
                ObjectKind::Key { handle: Some(h), serial } => Some((h, serial)),
                _ => None,
            },
            driver: std::mem::take(&mut o.driver),
            parent: o.parent,
            children: std::mem::take(&mut o.children),
        };
        *slot = None;
        self.live -= 1;
        if !self.drivers.is_empty()
            && let Ok(d) = self.drivers.binary_search(&handle)
        {
            self.drivers.remove(d);
        }
        if i + 1 == self.slots.len() {
            // Empty slots are dropped where they lie (nothing is moved).
            let keep = self.slots.iter().rposition(|(_, o)| o.is_some()).map_or(0, |j| j + 1);
            self.slots.truncate(keep);
        }
        if self.slots.len() > 2 * self.live + 16 {
            self.slots.retain(|(_, o)| o.is_some());
        }
        Some(removed)
    }

    /// Appends `child` to the child list of the object in slot `slot` (found
    /// by [`ObjectTable::find`]), in a kept list if it had none.
    fn add_child(&mut self, slot: usize, child: u64) {
        let parent = self.slots[slot].1.as_mut().expect("a slot found by `find`");
        if parent.children.capacity() == 0
            && let Some(list) = self.spare_children.pop()
        {
            parent.children = list;
        }
        parent.children.push(child);
    }

    /// Keeps the child list of a removed object for reuse.
    fn keep_child_list(&mut self, mut list: Vec<u64>) {
        if list.capacity() != 0 && self.spare_children.len() < SPARE_CHILD_LISTS {
            list.clear();
            self.spare_children.push(list);
        }
    }

    /// Fills `out` with the subtree of `root`, children before parents
    /// (F29's dispose order; siblings in creation order, which F29 leaves
    /// unspecified): the reverse of a walk that visits each parent before
    /// its children and the last child first.
    fn post_order(&mut self, root: u64, out: &mut Vec<u64>) {
        out.clear();
        let mut walk = std::mem::take(&mut self.walk);
        walk.push(root);
        while let Some(h) = walk.pop() {
            out.push(h);
            if let Some(o) = self.get(&h) {
                walk.extend_from_slice(&o.children);
            }
        }
        out.reverse();
        self.walk = walk;
    }

    /// An empty buffer for a delete order, with the capacity an earlier
    /// delete left ([`ObjectTable::keep_order_buffer`]).
    fn order_buffer(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.spare_order)
    }

    /// Keeps `order`'s capacity for the next delete.
    fn keep_order_buffer(&mut self, mut order: Vec<u64>) {
        if order.capacity() > self.spare_order.capacity() {
            order.clear();
            self.spare_order = order;
        }
    }

    /// Live objects in handle order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &Object)> {
        self.slots.iter().filter_map(|(h, o)| o.as_ref().map(|o| (h, o)))
    }

    /// Live objects in handle order, without their handles.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Object> {
        self.slots.iter().filter_map(|(_, o)| o.as_ref())
    }

    /// How many objects are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}

/// What the destructor ([`State::destruct`]) needs of an object the table
/// has dropped.
pub(crate) struct Removed {
    /// Its type (F90), for F77's record of freed objects.
    fx_type: super::handle_check::FxType,
    /// A key's `m_Key` and its open serial, if still set (F2).
    key: Option<(u64, u64)>,
    driver: crate::model::Name,
    parent: Option<u64>,
    children: Vec<u64>,
}

/// Handles of objects the framework freed, with their WDF type (F77), the
/// most recent [`FREED_OBJECTS_KEPT`] of them. Looked up only when a driver
/// passes a handle that names no live object.
#[derive(Debug, Default)]
pub(crate) struct FreedObjects(std::collections::VecDeque<(u64, super::handle_check::FxType)>);

impl FreedObjects {
    /// Records a freed object; forgets the oldest beyond the bound. The
    /// ring takes its whole bound at the first free, so it never grows
    /// (and copies itself) during a run.
    #[inline]
    pub(crate) fn insert(&mut self, handle: u64, fx_type: super::handle_check::FxType) {
        if self.0.len() == FREED_OBJECTS_KEPT {
            self.0.pop_front();
        } else if self.0.capacity() == 0 {
            self.0.reserve_exact(FREED_OBJECTS_KEPT);
        }
        self.0.push_back((handle, fx_type));
    }

    /// The type of the freed object `handle` named, if it is remembered.
    pub(crate) fn get(&self, handle: &u64) -> Option<&'static str> {
        self.0.iter().rev().find(|(h, _)| h == handle).map(|&(_, t)| t.handle_type())
    }
}

/// Context memory: from the framework's pool, which is special pool when
/// wdf01000.sys is verified with special pool on (F51, F70).
#[derive(Debug)]
pub(crate) enum ContextMemory {
    /// Ordinary pool: a use after free goes unnoticed, as on a machine
    /// without special pool (F51: 0x50 or nothing).
    Pool(Box<[u64]>),
    /// Special pool: a use after free or past the end stops the machine.
    #[cfg(unix)]
    Special(crate::model::kernel::special_pool::Allocation),
}

impl ContextMemory {
    /// `size` zero-filled bytes (F76).
    fn new(size: usize, special: bool) -> ContextMemory {
        #[cfg(unix)]
        if special && let Some(a) = crate::model::kernel::special_pool::Allocation::new(size) {
            return ContextMemory::Special(a);
        }
        let _ = special;
        ContextMemory::Pool(vec![0u64; size.div_ceil(8)].into_boxed_slice())
    }

    /// The context's first byte.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        match self {
            ContextMemory::Pool(b) => b.as_mut_ptr().cast(),
            #[cfg(unix)]
            ContextMemory::Special(a) => a.as_mut_ptr(),
        }
    }
}

/// What an object takes from its `WDF_OBJECT_ATTRIBUTES` (F11).
#[derive(Default)]
pub(crate) struct Attributes {
    pub cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    pub parent: Option<u64>,
    pub passive: bool,
    pub context: Option<(usize, ContextMemory)>,
}

/// Reads and validates `WDF_OBJECT_ATTRIBUTES` as `FxValidateObjectAttributes`
/// does before the object is created (F11).
///
/// * A `Size` other than the 1.33 size fails with
///   STATUS_INFO_LENGTH_MISMATCH (F93: the one size this structure has).
/// * The context is `ContextSizeOverride` bytes if non-zero, else the type's
///   `ContextSize`, zero-filled and rounded up to pointer size (KMDF source,
///   FxGetContextSize / FxContextHeaderInit; F76).
/// * `ExecutionLevel = WdfExecutionLevelPassive` makes the object passive (F34).
///
/// # Safety
/// `attrs` is null or points to readable attributes whose `ContextTypeInfo`
/// is null or readable.
pub(crate) unsafe fn read_attributes(attrs: PWDF_OBJECT_ATTRIBUTES) -> Result<Attributes, NTSTATUS> {
    if attrs.is_null() {
        return Ok(Attributes::default());
    }
    // SAFETY: non-null, and the caller guarantees it is readable.
    let a = unsafe { *attrs };
    if a.Size as usize != size_of::<WDF_OBJECT_ATTRIBUTES>() {
        return Err(crate::abi::STATUS_INFO_LENGTH_MISMATCH);
    }
    let context = if a.ContextTypeInfo.is_null() {
        None
    } else {
        let size = if a.ContextSizeOverride != 0 {
            a.ContextSizeOverride
        } else {
            // SAFETY: non-null; the caller guarantees the type info is readable.
            unsafe { (*a.ContextTypeInfo).ContextSize }
        };
        let special = with_state(|s| s.settings.special_pool && s.settings.wdf01000_verified).unwrap_or(false);
        Some((a.ContextTypeInfo as usize, ContextMemory::new(size, special)))
    };
    Ok(Attributes {
        cleanup: a.EvtCleanupCallback,
        destroy: a.EvtDestroyCallback,
        parent: (!a.ParentObject.is_null()).then_some(a.ParentObject as u64),
        passive: a.ExecutionLevel == _WDF_EXECUTION_LEVEL::WdfExecutionLevelPassive,
        context,
    })
}

impl State {
    /// Creates an object. Without an explicit parent it becomes a child of
    /// the driver object, if one exists (F10).
    pub(crate) fn create_object(
        &mut self,
        kind: ObjectKind,
        driver: crate::model::Name,
        attrs: Attributes,
    ) -> Result<u64, NTSTATUS> {
        let parent = match attrs.parent {
            Some(p) => match self.framework.objects.find(p, |_| true) {
                Some(slot) => Some((p, slot)),
                None => {
                    // F11: ParentObject is looked up as a framework handle of
                    // FX_TYPE_OBJECT; a bad one is an invalid handle (F20, F91).
                    // The status is F77's silent one when nothing stops.
                    let object = super::handle_check::FxType::Object.id();
                    return Err(crate::model::framework::verifier::invalid_handle(self, p, object));
                }
            },
            None if matches!(kind, ObjectKind::Driver { .. }) => None,
            None => self.driver_object().and_then(|d| Some((d, self.framework.objects.find(d, |_| true)?))),
        };
        let handle = self.new_object_value();
        // F9/F34: keys, devices, queues, strings and timers dispose at PASSIVE_LEVEL.
        let passive = attrs.passive
            || matches!(
                kind,
                ObjectKind::Key { .. }
                    | ObjectKind::Device { .. }
                    | ObjectKind::Queue(_)
                    | ObjectKind::String(_)
                    | ObjectKind::Timer(_)
                    | ObjectKind::WorkItem { .. }
            );
        // F33: the driver, a PnP device and a default queue are NoDeleteDDI.
        let no_delete_ddi = matches!(kind, ObjectKind::Driver { .. } | ObjectKind::Device { .. })
            || matches!(&kind, ObjectKind::Queue(q) if q.default);
        if let Some((_, slot)) = parent {
            self.framework.objects.add_child(slot, handle);
        }
        self.framework.objects.insert(
            handle,
            Object {
                kind,
                driver,
                parent: parent.map(|(p, _)| p),
                children: Vec::new(),
                extra_refs: 0,
                delete_requested: false,
                disposed: false,
                no_delete_ddi,
                passive,
                cleanup: attrs.cleanup,
                destroy: attrs.destroy,
                context: attrs.context,
            },
        );
        Ok(handle)
    }

    /// `DeleteFromFailedCreate`: removes an object whose creation failed,
    /// without callbacks (F12).
    pub(crate) fn remove_failed_object(&mut self, handle: u64) {
        if let Some(o) = self.framework.objects.get_mut(&handle) {
            o.cleanup = None;
            o.destroy = None;
            o.kind = ObjectKind::General;
        }
        self.destruct(handle);
    }

    /// The WDFDRIVER, if the driver has created it.
    #[inline]
    pub(crate) fn driver_object(&self) -> Option<u64> {
        self.framework.objects.first_driver()
    }

    /// The destructor and the free: for a key, `~FxRegKey` closes `m_Key`
    /// if it is still set and ignores the status (F2); the context memory goes
    /// with the object (F30).
    fn destruct(&mut self, handle: u64) {
        if let Ok(slot) = self.framework.objects.position(handle) {
            self.destruct_at(slot);
        }
    }

    /// [`State::destruct`] of the object in slot `slot` (found by
    /// [`ObjectTable::find`], the table unchanged since).
    fn destruct_at(&mut self, slot: usize) {
        let handle = self.framework.objects.slots[slot].0;
        let Some(obj) = self.framework.objects.remove_at(slot) else { return };
        // Bounded, so long runs keep flat memory. ASSUMPTION: a use of an
        // object freed longer ago than the last FREED_OBJECTS_KEPT frees is
        // reported as a never-valid handle.
        self.framework.freed_objects.insert(handle, obj.fx_type);
        if let Some(p) = obj.parent
            && let Some(po) = self.framework.objects.get_mut(&p)
            // A handle is in its parent's list once; the newest children go first.
            && let Some(i) = po.children.iter().rposition(|&c| c == handle)
        {
            if i + 1 == po.children.len() {
                po.children.pop();
            } else {
                po.children.remove(i);
            }
        }
        for c in &obj.children {
            if let Some(co) = self.framework.objects.get_mut(c) {
                co.parent = None;
            }
        }
        self.framework.objects.keep_child_list(obj.children);
        if let Some((h, serial)) = obj.key {
            self.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::`scalar deleting destructor'");
            let owner = crate::model::kernel::handles::HandleOwner::FrameworkKey { key: handle, driver: obj.driver };
            let _ignored = self.nt_close(h, owner, Some(serial));
            self.pop_frame();
        }
    }
}

/// What an object callback entered by [`State::enter_object_callback`]
/// changed, to undo when it returns.
struct Entered {
    irql: u8,
    depth: usize,
}

/// An object callback ready to run: the object, the callback, and what to
/// undo after it.
type ObjectCall = (u64, unsafe extern "C" fn(WDFOBJECT), Entered);

impl State {
    /// Enters one driver callback `name` of `object`: its frame on the
    /// simulated stack, and PASSIVE_LEVEL for a passive object (F9/F34).
    /// `None` — nothing to call — once the machine has stopped.
    fn enter_object_callback(&mut self, object: u64, name: &str) -> Option<Entered> {
        if self.is_stopped() {
            return None;
        }
        let (driver, passive) = self.framework.objects.get(&object).map(|o| (o.driver.clone(), o.passive))?;
        let irql = self.kernel.irql;
        if passive {
            self.kernel.irql = 0;
        }
        let depth = self.kernel.frames.len();
        self.push_driver_frame(&driver, name);
        Some(Entered { irql, depth })
    }

    /// After an object callback: a halted callback leaves its frames
    /// behind, so the stack goes back to its depth; the IRQL is restored.
    fn leave_object_callback(&mut self, entered: Entered) {
        self.kernel.frames.truncate(entered.depth);
        self.kernel.irql = entered.irql;
    }

    /// Destroys the disposed object `h` whose references are gone (F30,
    /// F31): with an EvtDestroyCallback, enters it and returns it — the
    /// caller runs it, leaves it and then runs the destructor; without one,
    /// runs the destructor now.
    fn destroy_or_enter_callback(&mut self, h: u64) -> Option<ObjectCall> {
        let destroy = self.framework.objects.get_mut(&h).and_then(|o| o.destroy.take());
        if let Some(cb) = destroy
            && let Some(entered) = self.enter_object_callback(h, "EvtDestroyCallback")
        {
            return Some((h, cb, entered));
        }
        if !self.is_stopped() {
            self.destruct(h);
        }
        None
    }

    /// Deletes `root` at once when its delete runs no driver code — an
    /// object without children, EvtCleanupCallback still to run or
    /// EvtDestroyCallback (most deletes: a key, a request): the same steps
    /// as [`delete_subtree`]'s, in one borrow. `false`: nothing done, the
    /// delete needs [`delete_subtree_with_callbacks`].
    pub(crate) fn delete_without_callbacks(&mut self, root: u64) -> bool {
        match self.framework.objects.find(root, |_| true) {
            Some(slot) => self.delete_without_callbacks_at(slot),
            // Nothing to dispose or destroy.
            None => true,
        }
    }

    /// [`State::delete_without_callbacks`] of the object in slot `slot`
    /// (found by [`ObjectTable::find`], the table unchanged since).
    pub(crate) fn delete_without_callbacks_at(&mut self, slot: usize) -> bool {
        let o = self.framework.objects.at_mut(slot);
        if !o.children.is_empty() || (!o.disposed && o.cleanup.is_some()) || o.destroy.is_some() {
            return false;
        }
        o.delete_requested = true;
        o.disposed = true;
        let referenced = o.extra_refs > 0;
        if !self.is_stopped() && !referenced {
            self.destruct_at(slot);
        }
        true
    }
}

/// Runs an object callback entered by [`State::enter_object_callback`], with
/// no borrow of the state held, on the driver stack (halted at a stop inside
/// it). Nothing of the simulator's is held across the callback: a stop inside
/// it halts this frame too, and what it held would never be dropped.
fn run_object_callback(object: u64, callback: unsafe extern "C" fn(WDFOBJECT)) {
    // SAFETY: the driver registered this callback for this object in its
    // WDF_OBJECT_ATTRIBUTES; KMDF calls it with the object's handle (F30).
    let _halted = crate::model::execution::run_driver(|| unsafe { callback(object as WDFOBJECT) });
}

/// Runs EvtCleanupCallback for every object of `root`'s subtree that has not
/// been disposed, children first (F29), and marks them delete-requested.
/// One borrow of the state walks the order up to the next callback and
/// enters it; the next borrow leaves it and walks on. Returns the order's
/// buffer for the destroy walk.
fn dispose_subtree(root: u64) -> Vec<u64> {
    let mut order = Vec::new();
    let mut next = 0;
    let mut entered = None;
    loop {
        let call = with_state(|s| {
            match entered.take() {
                Some(e) => s.leave_object_callback(e),
                None => {
                    order = s.framework.objects.order_buffer();
                    s.framework.objects.post_order(root, &mut order);
                }
            }
            while let Some(&h) = order.get(next) {
                next += 1;
                let Some(o) = s.framework.objects.get_mut(&h) else { continue };
                o.delete_requested = true;
                if o.disposed {
                    continue;
                }
                o.disposed = true;
                if let Some(cb) = o.cleanup.take()
                    && let Some(e) = s.enter_object_callback(h, "EvtCleanupCallback")
                {
                    return Some((h, cb, e));
                }
            }
            None
        })
        .flatten();
        let Some((h, cb, e)) = call else { return order };
        run_object_callback(h, cb);
        entered = Some(e);
    }
}

/// Destroys every object of `root`'s subtree whose extra references are
/// gone, children first: EvtDestroyCallback, then the destructor (F30, F31).
/// One borrow walks `order` up to the next callback and enters it; the next
/// leaves it, runs that object's destructor and walks on.
fn destroy_subtree(root: u64, mut order: Vec<u64>) {
    let mut next = 0;
    let mut entered: Option<(u64, Entered)> = None;
    loop {
        let call = with_state(|s| {
            match entered.take() {
                Some((h, e)) => {
                    s.leave_object_callback(e);
                    if !s.is_stopped() {
                        s.destruct(h);
                    }
                }
                None => s.framework.objects.post_order(root, &mut order),
            }
            while let Some(&h) = order.get(next) {
                next += 1;
                let ready = !s.is_stopped() && s.framework.objects.get(&h).is_some_and(|o| o.extra_refs == 0);
                if !ready {
                    continue;
                }
                if let Some(call) = s.destroy_or_enter_callback(h) {
                    return Some(call);
                }
            }
            s.framework.objects.keep_order_buffer(std::mem::take(&mut order));
            None
        })
        .flatten();
        let Some((h, cb, e)) = call else { return };
        run_object_callback(h, cb);
        entered = Some((h, e));
    }
}

/// Deletes `root` and its subtree the way KMDF does: dispose (cleanup
/// callbacks, children first), then destroy every object whose extra
/// references are gone (F29–F32). Objects still referenced stay, disposed,
/// until their last WdfObjectDereference.
///
/// Runs driver code: call it with no borrow of the state held.
pub(crate) fn delete_subtree(root: u64) {
    if with_state(|s| s.delete_without_callbacks(root)) != Some(false) {
        return;
    }
    delete_subtree_with_callbacks(root);
}

/// [`delete_subtree`] for a delete [`State::delete_without_callbacks`] did
/// not do.
pub(crate) fn delete_subtree_with_callbacks(root: u64) {
    let order = dispose_subtree(root);
    destroy_subtree(root, order);
}

/// The last reference of a delete-requested object is gone (F32).
pub(crate) fn destroy_released(h: u64) {
    let call = with_state(|s| s.destroy_or_enter_callback(h)).flatten();
    if let Some((h, cb, e)) = call {
        run_object_callback(h, cb);
        with_state(|s| {
            s.leave_object_callback(e);
            if !s.is_stopped() {
                s.destruct(h);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> Object {
        Object {
            kind: ObjectKind::General,
            driver: "t.sys".into(),
            parent: None,
            children: Vec::new(),
            extra_refs: 0,
            delete_requested: false,
            disposed: false,
            no_delete_ddi: false,
            passive: false,
            cleanup: None,
            destroy: None,
            context: None,
        }
    }

    #[test]
    fn the_table_keeps_handle_order_and_shrinks_to_the_live_set() {
        let mut t = ObjectTable::default();
        let mut alive = std::collections::BTreeSet::new();
        for h in 1..=10_000u64 {
            t.insert(h * 16, object());
            alive.insert(h * 16);
            // Every object but one in seven goes again; the survivors stay.
            if h % 7 != 0 {
                let gone = (h - h % 3) * 16;
                if alive.remove(&gone) {
                    assert!(t.remove(&gone).is_some());
                }
                assert!(t.remove(&gone).is_none(), "a removed object is gone");
            }
        }
        assert_eq!(t.len(), alive.len());
        assert_eq!(t.iter().map(|(h, _)| *h).collect::<Vec<_>>(), alive.iter().copied().collect::<Vec<_>>());
        assert!(alive.iter().all(|h| t.contains_key(h)));
        assert!(!t.contains_key(&17) && t.get(&(10_001 * 16)).is_none());
        assert!(t.slots.len() <= 2 * t.len() + 16, "{} slots for {} objects", t.slots.len(), t.len());
        // An out-of-order handle still lands in order.
        t.insert(8, object());
        assert_eq!(t.iter().next().map(|(h, _)| *h), Some(8));
    }

    #[test]
    fn numbered_values_without_objects_get_empty_slots_and_lookups_still_find_every_object() {
        let mut t = ObjectTable::default();
        t.insert(16, object());
        // Two values numbered without an object: two empty slots.
        t.insert(64, object());
        assert_eq!(t.slots.len(), 4);
        assert!(t.get(&32).is_none() && t.get(&48).is_none() && t.get(&16).is_some() && t.get(&64).is_some());
        // A value that later gets its object takes its empty slot.
        t.insert(32, object());
        assert_eq!((t.slots.len(), t.len()), (4, 3));
        // A long run gets no slots: the table stays the live set's size.
        t.insert(16 * 1000, object());
        assert_eq!(t.slots.len(), 5);
        // Values that are not whole steps apart are still found.
        t.insert(16 * 1000 + 8, object());
        let handles = [16, 32, 64, 16 * 1000, 16 * 1000 + 8];
        assert!(handles.iter().all(|h| t.get(h).is_some()), "{:?}", t.iter().map(|(h, _)| *h).collect::<Vec<_>>());
        assert!(t.get(&(16 * 1000 + 16)).is_none() && t.get(&8).is_none() && t.get(&0).is_none());
        assert_eq!(t.iter().map(|(h, _)| *h).collect::<Vec<_>>(), handles);
    }

    #[test]
    fn the_table_knows_its_lowest_live_driver() {
        let driver = || Object { kind: ObjectKind::Driver { device_add: None, unload: None }, ..object() };
        let mut t = ObjectTable::default();
        t.insert(16, object());
        assert_eq!(t.first_driver(), None);
        t.insert(32, driver());
        t.insert(48, driver());
        assert_eq!(t.first_driver(), Some(32));
        // A failed create's object stops being a driver just before it goes.
        t.get_mut(&32).expect("live").kind = ObjectKind::General;
        assert!(t.remove(&32).is_some());
        assert_eq!(t.first_driver(), Some(48));
        assert!(t.remove(&48).is_some());
        assert_eq!(t.first_driver(), None);
    }

    #[test]
    fn a_subtree_is_ordered_children_first_siblings_in_creation_order() {
        let mut t = ObjectTable::default();
        // 1 ─┬─ 2 ─── 4
        //    └─ 3 ─┬─ 5
        //          └─ 6
        for (h, parent, children) in
            [(1, None, vec![2, 3]), (2, Some(1), vec![4]), (3, Some(1), vec![5, 6]), (4, Some(2), vec![])]
                .into_iter()
                .chain([(5, Some(3), vec![]), (6, Some(3), vec![])])
        {
            t.insert(h, Object { parent, children, ..object() });
        }
        let mut order = vec![99];
        t.post_order(1, &mut order);
        assert_eq!(order, [4, 2, 5, 6, 3, 1]);
        t.post_order(3, &mut order);
        assert_eq!(order, [5, 6, 3]);
        t.post_order(6, &mut order);
        assert_eq!(order, [6]);
        assert!(t.walk.is_empty(), "the work list is empty between walks");
    }

    #[test]
    fn freed_objects_keep_the_most_recent() {
        use super::super::handle_check::FxType;
        let mut f = FreedObjects::default();
        for h in 0..(FREED_OBJECTS_KEPT as u64 + 10) {
            f.insert(h, if h % 2 == 0 { FxType::RegKey } else { FxType::Request });
        }
        assert_eq!(f.get(&5), None, "the oldest are forgotten");
        assert_eq!(f.get(&(FREED_OBJECTS_KEPT as u64 + 8)), Some("WDFKEY"));
        assert_eq!(f.get(&(FREED_OBJECTS_KEPT as u64 + 9)), Some("WDFREQUEST"));
    }
}
