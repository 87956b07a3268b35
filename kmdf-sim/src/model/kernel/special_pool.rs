//! Special pool for framework allocations (object contexts): Driver
//! Verifier's special pool as F51 describes it, with the host's page
//! protection.
//!
//! Each allocation gets pages of its own, placed at the end of its last
//! accessible page ("Verify End", F51), followed by a no-access guard page.
//! Freeing makes its pages no-access and keeps them reserved for a while, so
//! a later read or write faults at once. The fault handler recognises such
//! an address and stops the process with the special-pool bug check:
//! 0xD5 DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL for freed memory, 0xD6
//! DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION for the guard page (F51; the
//! per-driver forms, since the framework's pool belongs to Wdf01000.sys).
//!
//! Pages are made no-access with the host's lightweight guard regions
//! (Linux 6.13 and later: `madvise(MADV_GUARD_INSTALL/REMOVE)`), which do
//! not split the mapping, or with `mprotect` where the host has none (or
//! `KMDF_SIM_SPECIAL_POOL_PROTECTION=mprotect` says so).
//!
//! Protection calls are batched, without weakening either guarantee:
//!
//! * A free's pages become no-access before any code but the simulator's
//!   runs again: the machine seals every free made since the last time at
//!   the moment control goes back to driver code (a driver frame innermost
//!   on the simulated stack) or to the test (an empty stack), and before the
//!   next special-pool allocation — one `process_madvise` call for all of
//!   them where the host takes guard advice through it (Linux 6.13 and
//!   later), one call per free otherwise. The simulator's own code never
//!   touches freed memory in between.
//! * The frees an unload makes after its image's last code ran (the driver
//!   object's context, blocks the unload frees) are held until the next
//!   seal: no code of that image runs again until it is loaded anew, from
//!   fresh global data (F85). So a load/unload round costs one call, not
//!   two. ASSUMPTION (F85): a driver built into the test process keeps its
//!   statics across loads, so a stale pointer kept in one reaches those
//!   frees unchecked until the next seal.
//! * Slots of one data page come from an arena whose guard pages are
//!   installed by the calls that seal frees (see [`Arena`]): in a steady
//!   state an allocation costs no call of its own.
//! * Mappings that left the quarantine are opened for reuse in batches of
//!   [`OPEN_BATCH`] (one call), so a reused slot costs no call of its own;
//!   its guard page stays no-access throughout.
//!
//! With `mprotect` (no vectored form) every free and every reuse costs one
//! call, as before; a stray access faults the same way either way.
//!
//! A fault cannot be returned from into the driver's code. In driver code
//! the machine runs (on its driver stack, `crate::model::execution`) it is
//! a stop like any bug check: the driver's code is left for good and the
//! test gets 0xD5/0xD6. Anywhere else — like a real bug check — it ends the
//! process (exit status = the stop code) after writing the analysis to
//! standard error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// How special pool makes pages no-access on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Lightweight guard regions: `madvise(MADV_GUARD_INSTALL)` makes pages
    /// fault (and discards their contents), `MADV_GUARD_REMOVE` gives them
    /// back zero-filled (Linux 6.13 and later).
    GuardRegions,
    /// `mprotect(PROT_NONE)` and back to read/write.
    Mprotect,
}

/// The environment variable that forces [`Protection::Mprotect`].
pub const PROTECTION_VARIABLE: &str = "KMDF_SIM_SPECIAL_POOL_PROTECTION";

/// `MADV_GUARD_INSTALL` and `MADV_GUARD_REMOVE` (Linux uapi
/// asm-generic/mman-common.h, since 6.13; not in the libc crate yet).
#[cfg(target_os = "linux")]
const MADV_GUARD_INSTALL: libc::c_int = 102;
#[cfg(target_os = "linux")]
const MADV_GUARD_REMOVE: libc::c_int = 103;

/// The mechanism this process uses: guard regions if the host kernel takes
/// them (probed once on a scratch mapping) and the environment does not ask
/// for `mprotect`.
pub fn protection() -> Protection {
    static CHOSEN: OnceLock<Protection> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        if std::env::var_os(PROTECTION_VARIABLE).is_some_and(|v| v == "mprotect") {
            return Protection::Mprotect;
        }
        if guard_regions_work() { Protection::GuardRegions } else { Protection::Mprotect }
    })
}

/// Whether `probe` succeeds on a scratch page of a private anonymous
/// mapping made for it (and unmapped after).
#[cfg(target_os = "linux")]
fn on_scratch_page(probe: impl FnOnce(*mut libc::c_void, usize) -> bool) -> bool {
    let page = page_size();
    // SAFETY: an anonymous private mapping; no existing memory is touched.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return false;
    }
    let works = probe(base, page);
    // SAFETY: unmapping the scratch mapping.
    unsafe { libc::munmap(base, page) };
    works
}

/// Whether the host installs and removes guard regions on a private
/// anonymous mapping.
fn guard_regions_work() -> bool {
    #[cfg(target_os = "linux")]
    {
        on_scratch_page(|base, page| {
            // SAFETY: the page is the scratch mapping just created.
            let installed = unsafe { libc::madvise(base, page, MADV_GUARD_INSTALL) } == 0;
            // SAFETY: as above; removing guards that may not exist is allowed.
            installed && unsafe { libc::madvise(base, page, MADV_GUARD_REMOVE) } == 0
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// `process_madvise(2)` on this process, with `advice`, over `ranges`
/// (page-aligned, inside mappings this module owns): whether every byte
/// was advised. `false` when the host has no such call for guard advice.
#[cfg(target_os = "linux")]
fn process_madvise(ranges: &[(usize, usize)], advice: libc::c_int) -> bool {
    static PIDFD: OnceLock<Option<libc::c_int>> = OnceLock::new();
    let Some(pidfd) = *PIDFD.get_or_init(|| {
        let pid = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: pidfd_open(2) on this process; no memory is passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)
    }) else {
        return false;
    };
    for chunk in ranges.chunks(1024) {
        let iov: Vec<libc::iovec> = chunk
            .iter()
            .map(|&(start, len)| libc::iovec { iov_base: start as *mut libc::c_void, iov_len: len })
            .collect();
        let total: usize = chunk.iter().map(|&(_, len)| len).sum();
        // SAFETY: `iov` describes ranges inside private anonymous mappings
        // this module owns (the caller's contract) and lives for the call.
        let done = unsafe { libc::syscall(libc::SYS_process_madvise, pidfd, iov.as_ptr(), iov.len(), advice, 0) };
        if usize::try_from(done).ok() != Some(total) {
            return false;
        }
    }
    true
}

/// Whether `process_madvise` takes guard advice on this host (probed once).
#[cfg(target_os = "linux")]
fn vectored_guards() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        protection() == Protection::GuardRegions
            && on_scratch_page(|base, page| {
                let ranges = [(base as usize, page)];
                process_madvise(&ranges, MADV_GUARD_INSTALL) && process_madvise(&ranges, MADV_GUARD_REMOVE)
            })
    })
}

/// Makes every range of `ranges` no-access (`open` false) or usable again
/// (`open` true), in one call where the host allows; returns whether it
/// worked and whether opened bytes are known to be zero.
fn protect_all(ranges: &[(usize, usize)], open: bool) -> (bool, bool) {
    #[cfg(target_os = "linux")]
    if ranges.len() > 1 && vectored_guards() {
        let advice = if open { MADV_GUARD_REMOVE } else { MADV_GUARD_INSTALL };
        if process_madvise(ranges, advice) {
            return (true, true);
        }
    }
    let mut all = true;
    let mut zeroed = true;
    for &(start, len) in ranges {
        if open {
            let (ok, zero) = make_accessible(start as *mut u8, len);
            all &= ok;
            zeroed &= zero;
        } else {
            all &= make_no_access(start as *mut u8, len);
        }
    }
    (all, zeroed)
}

/// Makes `len` bytes at `start` (page-aligned, inside a mapping this module
/// owns) fault on any access. With guard regions their contents are gone.
fn make_no_access(start: *mut u8, len: usize) -> bool {
    match protection() {
        #[cfg(target_os = "linux")]
        // SAFETY: the range lies inside a private anonymous mapping this
        // module owns; nothing may use it until it is opened again.
        Protection::GuardRegions => unsafe { libc::madvise(start.cast(), len, MADV_GUARD_INSTALL) == 0 },
        // SAFETY: as above.
        _ => unsafe { libc::mprotect(start.cast(), len, libc::PROT_NONE) == 0 },
    }
}

/// Makes `len` bytes at `start`, made no-access before, usable again; with
/// guard regions they come back zero-filled. Returns whether it worked and
/// whether the bytes are known to be zero.
fn make_accessible(start: *mut u8, len: usize) -> (bool, bool) {
    match protection() {
        #[cfg(target_os = "linux")]
        // SAFETY: the range lies inside a mapping this module owns and nobody
        // else may use (it left the quarantine).
        Protection::GuardRegions => (unsafe { libc::madvise(start.cast(), len, MADV_GUARD_REMOVE) == 0 }, true),
        // SAFETY: as above.
        _ => (unsafe { libc::mprotect(start.cast(), len, libc::PROT_READ | libc::PROT_WRITE) == 0 }, false),
    }
}

/// How many mappings leave the quarantine together, and are opened for
/// reuse in one protection call (`process_madvise` takes at most 1024
/// ranges).
pub(crate) const OPEN_BATCH: usize = 1024;

/// How many freed allocations stay no-access before their pages are returned.
/// ASSUMPTION: special pool's own quarantine is bounded by its page pool; any
/// bound gives the same verdict for a use soon after the free.
const QUARANTINE: usize = 1024;
/// How many mappings past the quarantine are kept for reuse.
const RECYCLE_MAX: usize = 2 * OPEN_BATCH;
/// Registry slots: the quarantine, the recycled mappings and the guard pages
/// of live allocations. Each allocation and each free claims one slot, so an
/// entry stays valid for SLOTS/2 allocations: more than QUARANTINE +
/// OPEN_BATCH + RECYCLE_MAX.
const SLOTS: usize = 16384;

/// What a registered range is, for the fault handler.
const KIND_FREED: usize = 1;
const KIND_GUARD: usize = 2;

/// Ranges the fault handler recognises: (start, end, kind); start 0 = empty.
/// Plain atomics, so the handler can read them.
static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static ENDS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static KINDS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// The host's page size (asked once; every allocation, free and seal
/// needs it).
fn page_size() -> usize {
    /// 0 until the first call.
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = usize::try_from(size).unwrap_or(4096);
            PAGE_SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// Registers a range; returns its slot.
fn register(start: usize, end: usize, kind: usize) -> usize {
    // Slots are claimed round-robin; a wrapped-around slot drops the oldest
    // entry (its pages are unmapped by then, see `Quarantine`).
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    STARTS[slot].store(0, Ordering::SeqCst);
    ENDS[slot].store(end, Ordering::SeqCst);
    KINDS[slot].store(kind, Ordering::SeqCst);
    STARTS[slot].store(start, Ordering::SeqCst);
    slot
}

/// Unregisters `slot` if it still describes the range starting at `start`
/// (a wrapped-around slot may hold a newer range by now).
fn unregister_if(slot: usize, start: usize) {
    let _ = STARTS[slot].compare_exchange(start, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// How many new slots are mapped, and their guard pages installed, at once.
const FRESH_BATCH: usize = 64;

/// A new slot of `mapped` bytes whose last page (from `guard_start`) is the
/// no-access guard page. Slots are mapped [`FRESH_BATCH`] at a time in one
/// mapping, their guard pages made no-access in one call where the host
/// allows; the others wait, open and zero, for the next allocations.
fn fresh_mapping(mapped: usize, guard_start: usize, page: usize) -> Option<*mut u8> {
    let count = if vectored_batches() { FRESH_BATCH } else { 1 };
    // SAFETY: an anonymous private mapping; no existing memory is touched.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            mapped * count,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return None;
    }
    let base = base as usize;
    let slots: Vec<usize> = (0..count).map(|i| base + i * mapped).collect();
    let guards: Vec<(usize, usize)> = slots.iter().map(|&slot| (slot + guard_start, page)).collect();
    if !protect_all(&guards, false).0 {
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(base as *mut libc::c_void, mapped * count) };
        return None;
    }
    let mut opened = OPENED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    opened.extend(slots[1..].iter().map(|&slot| (slot, mapped, true)));
    Some(base as *mut u8)
}

/// Whether protection calls over many ranges cost one call on this host.
fn vectored_batches() -> bool {
    #[cfg(target_os = "linux")]
    {
        vectored_guards()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// One special-pool allocation.
#[derive(Debug)]
pub(crate) struct Allocation {
    base: *mut u8,
    mapped: usize,
    data: *mut u8,
    guard_slot: usize,
}

impl Allocation {
    /// `size` zero-filled bytes, 8-byte aligned, ending as close to the guard
    /// page as the alignment allows. `None` if the host refuses the mapping.
    pub(crate) fn new(size: usize) -> Option<Allocation> {
        install_handler();
        // Frees not sealed yet are sealed first: they may be recycled below.
        seal_freed();
        let page = page_size();
        let rounded = size.max(1).next_multiple_of(8);
        let data_pages = rounded.div_ceil(page);
        let mapped = (data_pages + 1) * page;
        let guard_start = data_pages * page;
        let arena = if data_pages == 1 { take_ready(page) } else { None };
        let base = match arena.map(|base| (base, true)).or_else(|| recycle(mapped, guard_start)) {
            Some((base, zeroed)) => {
                // A recycled mapping's data pages are open, its guard page not.
                if !zeroed {
                    // The allocation's own bytes are zero-filled (F76); the
                    // rest of its first page is not handed out.
                    // SAFETY: `guard_start - rounded` is within the data pages.
                    let data = unsafe { base.add(guard_start - rounded) };
                    // SAFETY: the data pages are now writable and ours alone,
                    // and the allocation's `rounded` bytes lie inside them.
                    unsafe { std::ptr::write_bytes(data, 0, rounded) };
                }
                base
            }
            None => fresh_mapping(mapped, guard_start, page)?,
        };
        // SAFETY: `guard_start` is within the mapping.
        let guard = unsafe { base.add(guard_start) };
        let guard_slot = register(guard as usize, guard as usize + page, KIND_GUARD);
        // SAFETY: `guard_start - rounded` is within the data pages.
        let data = unsafe { base.add(guard_start - rounded) };
        Some(Allocation { base, mapped, data, guard_slot })
    }

    /// The allocation's first byte (zero-filled: anonymous mappings are).
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data
    }
}

impl Drop for Allocation {
    /// The free: every page becomes no-access (sealed with the other frees
    /// before code other than the simulator's runs, see [`seal_freed`]) and
    /// is quarantined.
    fn drop(&mut self) {
        unregister_if(self.guard_slot, self.base as usize + self.mapped - page_size());
        let entry = (self.base as usize, self.mapped);
        let _ = HAS_PENDING.try_with(|f| f.set(true));
        if PENDING.try_with(|p| p.borrow_mut().frees.push(entry)).is_err() {
            // The thread is exiting: seal it on its own.
            seal(vec![entry]);
        }
    }
}

/// This thread's frees whose pages are not no-access yet; sealed when the
/// thread exits too.
#[derive(Default)]
struct Pending {
    /// Frees to seal before code other than the simulator's runs.
    frees: Vec<(usize, usize)>,
    /// Frees an unload made after its image's last code ran (see
    /// [`hold_unloaded_frees`]): sealed with the next seal.
    unloaded: Vec<(usize, usize)>,
}

impl Pending {
    /// Every range waiting to be sealed, taken out.
    fn take_all(&mut self) -> Vec<(usize, usize)> {
        let mut all = std::mem::take(&mut self.frees);
        all.append(&mut self.unloaded);
        all
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        seal(self.take_all());
    }
}

thread_local! {
    static PENDING: std::cell::RefCell<Pending> = std::cell::RefCell::new(Pending::default());
    /// Whether `PENDING` may hold frees: a flag without a destructor, so the
    /// check the machine makes on every return to driver code stays cheap.
    static HAS_PENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes every free of this thread made since the last call no-access (one
/// protection call for all of them where the host allows) and quarantines
/// them. The machine calls it whenever control is about to leave the
/// simulator's own code — back to driver code or to the test — so no code
/// but the simulator's ever sees a freed page accessible.
#[inline]
pub(crate) fn seal_freed() {
    if HAS_PENDING.try_with(|f| f.replace(false)) == Ok(true) {
        seal_pending();
    }
}

/// The body of [`seal_freed`] once there is something to seal: this
/// thread's frees, and the held frees of an earlier unload with them (one
/// protection call for all where the host allows).
fn seal_pending() {
    let ranges = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.frees.is_empty() { Vec::new() } else { p.take_all() }
    });
    if let Ok(ranges) = ranges
        && !ranges.is_empty()
    {
        seal(ranges);
    }
}

/// Seals every free of this thread, the held ones of an unload included:
/// when the machine goes.
pub(crate) fn seal_all() {
    let _ = HAS_PENDING.try_with(|f| f.set(false));
    if let Ok(ranges) = PENDING.try_with(|p| p.borrow_mut().take_all()) {
        seal(ranges);
    }
}

/// Called when an unload has finished: the frees made since the last seal
/// were made after the unloaded image's last code ran (every entry into
/// driver code seals first), and no code of that image runs again until it
/// is loaded anew — a new copy whose global data starts from the image file
/// (F85) — so they are held and sealed with the next seal (frees before
/// driver code runs or before an allocation, or the machine's end) rather
/// than in a call of their own.
pub(crate) fn hold_unloaded_frees() {
    if HAS_PENDING.try_with(|f| f.replace(false)) == Ok(true) {
        let _ = PENDING.try_with(|p| {
            let mut p = p.borrow_mut();
            let frees = std::mem::take(&mut p.frees);
            p.unloaded.extend(frees);
        });
    }
}

/// Makes `ranges` (whole freed mappings) no-access and quarantines them; a
/// mapping the host would not protect is unmapped instead.
///
/// Where the arena is in use and runs low, the same call also installs the
/// guard pages of new arena slots (the same advice), so that later
/// allocations cost no call of their own.
fn seal(ranges: Vec<(usize, usize)>) {
    if ranges.is_empty() {
        return;
    }
    let page = page_size();
    let freed = ranges.len();
    let mut ranges = ranges;
    let fresh = if vectored_batches() { lock(&ARENA).refill(page) } else { Vec::new() };
    ranges.extend(fresh.iter().map(|&slot| (slot + page, page)));
    let (sealed, _) = protect_all(&ranges, false);
    if sealed {
        lock(&ARENA).ready.extend(fresh);
    } else {
        // Whether their guards went in is unknown: they are never handed out.
        let mut arena = lock(&ARENA);
        for slot in fresh {
            arena.retire(slot, None, page);
        }
    }
    ranges.truncate(freed);
    for (base, len) in ranges {
        if sealed {
            let slot = register(base, base + len, KIND_FREED);
            quarantine(base, len, slot);
        } else {
            // SAFETY: a mapping this module created and nobody may use any more.
            unsafe { libc::munmap(base as *mut libc::c_void, len) };
            if len == 2 * page {
                lock(&ARENA).retire(base, None, page);
            }
        }
    }
}

/// `mutex`'s guard, poisoned or not (the data stays consistent: every
/// update is a push, a pop or a counter).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many two-page slots one arena mapping holds.
const REGION_SLOTS: usize = 4096;
/// Below this many ready slots, the next seal prepares [`REFILL`] more.
const READY_LOW: usize = 32;
/// How many arena slots are prepared at once.
const REFILL: usize = 64;

/// Slots of one data page and its guard page — nearly every allocation
/// (object contexts, small pool blocks) — where protection calls take many
/// ranges at once (guard regions through `process_madvise`).
///
/// Slots are carved in order from large mappings (regions). A slot's guard
/// page is made no-access before the slot is handed out, in the call that
/// seals frees whenever one comes (see [`seal`]); its data page is a fresh,
/// zero page. A freed slot is sealed and quarantined like any free; it is
/// never handed out again: its region goes back to the host, in one call,
/// once every slot of it has left the quarantine. So in a steady state a
/// slot costs no protection call of its own, and a region two (its mapping
/// and its unmapping) for [`REGION_SLOTS`] allocations.
///
/// # Invariants
/// The last region is the one slots are carved from; `ready` holds slots
/// whose guard page is no-access and whose data page was never handed out.
struct Arena {
    regions: Vec<Region>,
    ready: Vec<usize>,
}

/// One arena mapping: [`REGION_SLOTS`] slots from `base`, the first
/// `carved` of them handed to the ready list; `retired` counts slots that
/// left the quarantine, `freed` lists their fault-handler entries.
struct Region {
    base: usize,
    carved: usize,
    retired: usize,
    freed: Vec<(usize, usize)>,
}

static ARENA: Mutex<Arena> = Mutex::new(Arena { regions: Vec::new(), ready: Vec::new() });

impl Arena {
    /// New slots to prepare when the ready list runs low: up to [`REFILL`]
    /// from the newest region (a new region when it is full; none if the
    /// host refuses the mapping).
    fn refill(&mut self, page: usize) -> Vec<usize> {
        if self.ready.len() >= READY_LOW {
            return Vec::new();
        }
        let slot = 2 * page;
        if self.regions.last().is_none_or(|r| r.carved == REGION_SLOTS) {
            // SAFETY: an anonymous private mapping; no existing memory is touched.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    REGION_SLOTS * slot,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return Vec::new();
            }
            self.regions.push(Region { base: base as usize, carved: 0, retired: 0, freed: Vec::new() });
        }
        let Some(region) = self.regions.last_mut() else { return Vec::new() };
        let take = REFILL.min(REGION_SLOTS - region.carved);
        let fresh = (region.carved..region.carved + take).map(|i| region.base + i * slot).collect();
        region.carved += take;
        fresh
    }

    /// The slot at `base` left the quarantine (with its fault-handler entry
    /// `entry`), or was never usable: once every slot of its region has, the
    /// region goes back to the host. Whether `base` is an arena slot.
    fn retire(&mut self, base: usize, entry: Option<usize>, page: usize) -> bool {
        let span = REGION_SLOTS * 2 * page;
        let Some(i) = self.regions.iter().position(|r| r.base <= base && base < r.base + span) else {
            return false;
        };
        let region = &mut self.regions[i];
        region.retired += 1;
        if let Some(entry) = entry {
            region.freed.push((entry, base));
        }
        if region.retired == REGION_SLOTS {
            let region = self.regions.remove(i);
            for (entry, start) in region.freed {
                unregister_if(entry, start);
            }
            // SAFETY: every slot of the region is freed and out of the
            // quarantine, or was never handed out: nobody may use it.
            unsafe { libc::munmap(region.base as *mut libc::c_void, span) };
        }
        true
    }
}

/// A ready arena slot for an allocation of one data page, preparing
/// [`REFILL`] slots in one call when none is ready; `None` where the arena
/// is not used or the host refuses.
fn take_ready(page: usize) -> Option<*mut u8> {
    if !vectored_batches() {
        return None;
    }
    let mut arena = lock(&ARENA);
    if let Some(slot) = arena.ready.pop() {
        return Some(slot as *mut u8);
    }
    let fresh = arena.refill(page);
    let guards: Vec<(usize, usize)> = fresh.iter().map(|&slot| (slot + page, page)).collect();
    let ok = !guards.is_empty() && protect_all(&guards, false).0;
    if !ok {
        for slot in fresh {
            arena.retire(slot, None, page);
        }
        return None;
    }
    let (&first, rest) = fresh.split_first()?;
    arena.ready.extend(rest.iter().rev());
    Some(first as *mut u8)
}

/// Mappings that left the quarantine: still no-access and still registered
/// as freed (a late use is still caught), ready to be handed out again
/// without a new mapping — a freed page's reuse, as special pool reuses its
/// pages once they leave its own quarantine (F51).
static RECYCLED: Mutex<Vec<(usize, usize, usize)>> = Mutex::new(Vec::new());

/// Keeps at least the last QUARANTINE freed mappings no-access and unused;
/// older ones go to the recycled list OPEN_BATCH at a time (beyond
/// RECYCLE_MAX, back to the host).
fn quarantine(base: usize, len: usize, slot: usize) {
    static QUEUE: Mutex<VecDeque<(usize, usize, usize)>> = Mutex::new(VecDeque::new());
    let Ok(mut q) = QUEUE.lock() else { return };
    q.push_back((base, len, slot));
    // Mappings leave in batches, so that they are opened for reuse in batches.
    if q.len() < QUARANTINE + OPEN_BATCH {
        return;
    }
    let page = page_size();
    while q.len() > QUARANTINE {
        let Some(entry) = q.pop_front() else { break };
        if entry.1 == 2 * page && lock(&ARENA).retire(entry.0, Some(entry.2), page) {
            continue;
        }
        let mut recycled = RECYCLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if recycled.len() < RECYCLE_MAX {
            recycled.push(entry);
        } else {
            unregister_if(entry.2, entry.0);
            // SAFETY: a mapping this module created and nobody may use any more.
            unsafe { libc::munmap(entry.0 as *mut libc::c_void, entry.1) };
        }
    }
}

/// Recycled mappings whose data pages are open already (their guard pages
/// are not): (base, length, whether the data bytes are known to be zero).
static OPENED: Mutex<Vec<(usize, usize, bool)>> = Mutex::new(Vec::new());

/// A recycled mapping of exactly `len` bytes with its data pages (the first
/// `data` bytes) open, no longer registered, and whether those are zero.
/// Mappings are opened [`OPEN_BATCH`] at a time, in one protection call
/// where the host allows; the rest wait, open, for the next allocations.
fn recycle(len: usize, data: usize) -> Option<(*mut u8, bool)> {
    let mut opened = OPENED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(at) = opened.iter().rposition(|&(_, l, _)| l == len) {
        let (base, _, zeroed) = opened.swap_remove(at);
        return Some((base as *mut u8, zeroed));
    }
    let mut batch = Vec::new();
    {
        let mut recycled = RECYCLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while batch.len() < OPEN_BATCH {
            let Some(at) = recycled.iter().rposition(|&(_, l, _)| l == len) else { break };
            let (base, _, slot) = recycled.swap_remove(at);
            unregister_if(slot, base);
            batch.push(base);
        }
    }
    let first = *batch.first()?;
    let ranges: Vec<(usize, usize)> = batch.iter().map(|&base| (base, data)).collect();
    let (open, zeroed) = protect_all(&ranges, true);
    if !open {
        for base in batch {
            // SAFETY: mappings this module created, out of every list.
            unsafe { libc::munmap(base as *mut libc::c_void, len) };
        }
        return None;
    }
    opened.extend(batch[1..].iter().map(|&base| (base, len, zeroed)));
    Some((first as *mut u8, zeroed))
}

/// Installs the fault handler special pool's stops come through (once per
/// process): a handler installed later for the same signal (native driver
/// code's trap) chains to it, so it must be in place first.
pub(crate) fn install_handler() {
    // One SIGSEGV/SIGBUS handler serves special pool and driver code running
    // on the machine's driver stack: a fault there is a stop, not an exit
    // (crate::model::execution); elsewhere it comes back to [`on_fault`].
    crate::model::execution::install_fault_handler();
}

/// Whether a fault at `address` is special pool's to report.
pub(crate) fn holds(address: usize) -> bool {
    fault_kind(address).is_some()
}

/// Whether `address` is special pool's: `Some(true)` for a freed
/// allocation's pages, `Some(false)` for a guard page past an allocation's
/// end (async-signal-safe: atomics only).
pub(crate) fn fault_kind(address: usize) -> Option<bool> {
    (0..SLOTS).find_map(|i| {
        let start = STARTS[i].load(Ordering::SeqCst);
        (start != 0 && start <= address && address < ENDS[i].load(Ordering::SeqCst))
            .then(|| KINDS[i].load(Ordering::SeqCst) == KIND_FREED)
    })
}

/// Writes bytes to standard error from the fault handler (async-signal-safe).
fn emit(bytes: &[u8]) {
    // SAFETY: write(2) is async-signal-safe; the buffer is valid.
    let _ = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}

fn emit_hex(value: usize) {
    let mut buf = [b'0'; 18];
    buf[1] = b'x';
    for i in 0..16 {
        let nibble = (value >> ((15 - i) * 4)) & 0xF;
        buf[2 + i] = b"0123456789abcdef"[nibble];
    }
    emit(&buf);
}

/// Whether the fault was a write (x86-64 Linux: bit 1 of the page-fault
/// error code); `None` where the host does not say.
pub(crate) fn was_write(context: *mut libc::c_void) -> Option<bool> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        if context.is_null() {
            return None;
        }
        // SAFETY: for SA_SIGINFO handlers the third argument is a ucontext_t.
        let uc = unsafe { &*context.cast::<libc::ucontext_t>() };
        Some(uc.uc_mcontext.gregs[libc::REG_ERR as usize] & 2 != 0)
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = context;
        None
    }
}

/// The special-pool fault outside the machine's driver stack (or where the
/// simulator cannot record a stop): the analysis on standard error, then the
/// process exits with the stop code.
pub(crate) extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let info = unsafe { &*info };
    // SAFETY: for SIGSEGV the siginfo carries the faulting address.
    let address = unsafe { info.si_addr() } as usize;
    let Some(freed) = fault_kind(address) else {
        // Not special pool: let the default action report the fault.
        // SAFETY: restoring the default disposition is async-signal-safe.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
        return;
    };
    let (code, name, what): (i32, &[u8], &[u8]) = if freed {
        (
            0xD5,
            b"DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL (d5)",
            b"special-pool memory after it was freed (a driver pool block after ExFreePool, or an object context after its destroy callback)",
        )
    } else {
        (
            0xD6,
            b"DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION (d6)",
            b"past the end of a special-pool allocation (a driver pool block or an object context)",
        )
    };
    emit(b"\n*** kmdf-sim: special pool stopped the machine (docs/facts.md#f51)\n\n");
    emit(name);
    emit(b"\nArg1: ");
    emit_hex(address);
    emit(b", ");
    emit(what);
    emit(b"\nArg2: ");
    emit(match was_write(context) {
        Some(true) => b"0000000000000001, write",
        Some(false) => b"0000000000000000, read",
        None => b"unknown (read or write)",
    });
    emit(b"\nIMAGE_NAME:  Wdf01000.sys (the pool's owner; the faulting code is the caller's)\n");
    // SAFETY: _exit is async-signal-safe; a bug check ends the machine.
    unsafe { libc::_exit(code) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_zeroed_aligned_and_end_at_the_guard_page() {
        let mut a = Allocation::new(12).expect("mapping");
        let p = a.as_mut_ptr();
        assert_eq!(p as usize % 8, 0);
        // SAFETY: 16 bytes (12 rounded up to 8) are accessible at `p`.
        let bytes = unsafe { std::slice::from_raw_parts(p, 16) };
        assert!(bytes.iter().all(|&b| b == 0));
        assert_eq!((p as usize + 16) % page_size(), 0, "Verify End: the data ends at the page end");
    }

    #[test]
    fn recycled_mappings_come_back_zeroed() {
        // Enough frees to push mappings through the quarantine into reuse
        // (two data pages: not an arena slot, which is never reused).
        let rounds = QUARANTINE + OPEN_BATCH + 64;
        let size = page_size() + 64;
        let mut seen = std::collections::HashSet::new();
        for round in 0..rounds {
            let mut a = Allocation::new(size).expect("mapping");
            let p = a.as_mut_ptr();
            seen.insert(p as usize);
            // SAFETY: `size` bytes are accessible at `p`.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p, size) };
            assert!(bytes.iter().all(|&b| b == 0), "round {round}: a reused allocation held old bytes");
            bytes.fill(0xA5);
        }
        assert!(seen.len() < rounds, "no mapping was reused: every allocation mapped new pages");
    }

    #[test]
    fn small_allocations_are_zeroed_and_arena_slots_never_come_back() {
        let arena = vectored_batches();
        let mut seen = std::collections::HashSet::new();
        for round in 0..QUARANTINE {
            let mut a = Allocation::new(64).expect("mapping");
            let p = a.as_mut_ptr();
            let new = seen.insert(p as usize);
            assert!(new || !arena, "round {round}: an arena slot was handed out twice");
            // SAFETY: 64 bytes are accessible at `p`.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p, 64) };
            assert!(bytes.iter().all(|&b| b == 0), "round {round}: an allocation held old bytes");
            bytes.fill(0xA5);
        }
    }

    #[test]
    fn an_arena_region_goes_back_to_the_host_when_its_last_slot_retires() {
        let page = page_size();
        let mut arena = Arena { regions: Vec::new(), ready: Vec::new() };
        let mut slots = Vec::new();
        while slots.len() < REGION_SLOTS {
            let fresh = arena.refill(page);
            assert!(!fresh.is_empty(), "the host refused a region");
            slots.extend(fresh);
        }
        assert_eq!(arena.regions.len(), 1, "one region holds {REGION_SLOTS} slots");
        let region = arena.regions[0].base;
        assert!(slots.iter().enumerate().all(|(i, &s)| s == region + i * 2 * page), "slots are carved in order");
        // SAFETY: the region is mapped read/write and nobody else uses it.
        unsafe { (slots[0] as *mut u8).write(1) };
        for &slot in &slots[..REGION_SLOTS - 1] {
            assert!(arena.retire(slot, None, page));
        }
        assert_eq!(arena.regions.len(), 1, "a region stays while one slot of it has not retired");
        assert!(arena.retire(slots[REGION_SLOTS - 1], None, page));
        assert!(arena.regions.is_empty(), "the region went back to the host");
        assert!(!arena.retire(slots[0], None, page), "an address outside every region is not an arena slot");
        let next = arena.refill(page);
        assert_eq!((next.len(), arena.regions.len()), (REFILL, 1), "a new region is mapped for more slots");
    }
}
