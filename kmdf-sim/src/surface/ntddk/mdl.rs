//! Memory descriptor lists (F145): the rules are the model's `kernel::mdl`.
//! The shims read the MDL's header, let the model decide, and write back
//! `MdlFlags` and `MappedSystemVa` — the two fields wdm.h's inline
//! `MmGetSystemAddressForMdlSafe` reads, so a driver's own rendering of that
//! macro works on these MDLs.

use super::gated;
use crate::abi::*;
use crate::model::Routine;
use crate::model::kernel::mdl::{MdlHeader, MdlUpdate};

/// The header of `mdl` as the model reads it; `None` for a null pointer.
///
/// # Safety
/// `mdl` null or a valid MDL.
unsafe fn header(mdl: PMDL) -> Option<MdlHeader> {
    // SAFETY: null or valid (the caller's contract).
    let m = unsafe { mdl.as_ref() }?;
    Some(MdlHeader {
        address: mdl as u64,
        flags: m.MdlFlags as u16,
        va: m.StartVa as u64 + u64::from(m.ByteOffset),
        byte_count: m.ByteCount,
        mapped: m.MappedSystemVa as u64,
    })
}

/// Writes the model's update back into the header.
///
/// # Safety
/// `mdl` a valid, writable MDL.
unsafe fn write(mdl: PMDL, update: MdlUpdate) {
    // SAFETY: valid and writable (the caller's contract).
    if let Some(m) = unsafe { mdl.as_mut() } {
        m.MdlFlags = update.flags as CSHORT;
        m.MappedSystemVa = update.mapped as PVOID;
    }
}

/// Runs `rule` on the header of `mdl` through the call gate and writes its
/// update back; a null MDL stops the machine as not modelled (the kernel would
/// fault on it).
///
/// # Safety
/// `mdl` null or a valid, writable MDL.
unsafe fn update(
    routine: Routine,
    mdl: PMDL,
    rule: impl FnOnce(&mut crate::model::State, MdlHeader) -> Option<MdlUpdate>,
) {
    // SAFETY: forwarded from the caller's contract.
    let header = unsafe { header(mdl) };
    let updated = gated(routine, None, |s| match header {
        Some(h) => Some(rule(s, h)),
        None => {
            s.stop_not_modelled(format!("{routine:?} with a NULL MDL (docs/facts.md#f145)"));
            None
        }
    });
    if let Some(u) = updated {
        // SAFETY: as above.
        unsafe { write(mdl, u) };
    }
}

/// `IoAllocateMdl` (F145): an MDL describing `Length` bytes at
/// `VirtualAddress` (not yet locked or built); NULL after a stop. Attaching
/// it to an IRP stops the machine as not modelled.
///
/// # Safety
/// None beyond the kernel's: the MDL is the machine's storage.
pub unsafe extern "C" fn IoAllocateMdl(
    VirtualAddress: PVOID,
    Length: ULONG,
    _SecondaryBuffer: BOOLEAN,
    _ChargeQuota: BOOLEAN,
    Irp: PIRP,
) -> PMDL {
    let va = VirtualAddress as u64;
    let made = gated(Routine::IoAllocateMdl, None, |s| Some(s.io_allocate_mdl(va, Length, !Irp.is_null())));
    let Some((address, size)) = made else { return std::ptr::null_mut() };
    let mdl = address as PMDL;
    // SAFETY: the model's zeroed storage of `size` >= sizeof(MDL) bytes,
    // 8-byte aligned, alive until IoFreeMdl.
    let m = unsafe { &mut *mdl };
    m.Size = size;
    m.StartVa = (va & !0xFFF) as PVOID;
    m.ByteOffset = (va & 0xFFF) as ULONG;
    m.ByteCount = Length;
    mdl
}

/// `IoFreeMdl` (F145).
///
/// # Safety
/// `Mdl` one `IoAllocateMdl` returned.
pub unsafe extern "C" fn IoFreeMdl(Mdl: PMDL) {
    // SAFETY: the routine's contract.
    let header = unsafe { header(Mdl) };
    gated(Routine::IoFreeMdl, (), |s| match header {
        Some(h) => s.io_free_mdl(h),
        None => {
            s.stop_not_modelled("IoFreeMdl(NULL) (docs/facts.md#f145)".into());
            None
        }
    });
}

/// `MmBuildMdlForNonPagedPool` (F145): the MDL describes nonpaged memory,
/// mapped at its own address.
///
/// # Safety
/// `MemoryDescriptorList` a valid MDL describing nonpaged memory.
pub unsafe extern "C" fn MmBuildMdlForNonPagedPool(MemoryDescriptorList: PMDLX) {
    // SAFETY: the routine's contract.
    unsafe {
        update(Routine::MmBuildMdlForNonPagedPool, MemoryDescriptorList, |s, h| {
            Some(s.mm_build_mdl_for_nonpaged_pool(h))
        })
    }
}

/// `MmProbeAndLockPages` (F145): locks the pages. A failed probe raises an
/// exception on Windows, which Rust code cannot catch; the machine's buffers
/// are always present, so it never raises here (ASSUMPTION, F145).
///
/// # Safety
/// `MemoryDescriptorList` a valid MDL.
pub unsafe extern "C" fn MmProbeAndLockPages(
    MemoryDescriptorList: PMDL,
    _AccessMode: KPROCESSOR_MODE,
    _Operation: LOCK_OPERATION,
) {
    // SAFETY: the routine's contract.
    unsafe { update(Routine::MmProbeAndLockPages, MemoryDescriptorList, |s, h| s.mm_probe_and_lock_pages(h)) }
}

/// `MmUnlockPages` (F145): unlocks, releasing a system mapping first.
///
/// # Safety
/// As `MmProbeAndLockPages`.
pub unsafe extern "C" fn MmUnlockPages(MemoryDescriptorList: PMDL) {
    // SAFETY: the routine's contract.
    unsafe { update(Routine::MmUnlockPages, MemoryDescriptorList, |s, h| Some(s.mm_unlock_pages(h))) }
}

/// `MmMapLockedPagesSpecifyCache` (F145): the pages' system address from
/// kernel mode (the buffer's own address: one address space); NULL for
/// pages that are not locked. A user-mode mapping stops the machine as not
/// modelled.
///
/// # Safety
/// `MemoryDescriptorList` a valid MDL.
pub unsafe extern "C" fn MmMapLockedPagesSpecifyCache(
    MemoryDescriptorList: PMDLX,
    AccessMode: KPROCESSOR_MODE,
    _CacheType: MEMORY_CACHING_TYPE,
    _BaseAddress: PVOID,
    _BugCheckOnFailure: ULONG,
    _Priority: MM_PAGE_PRIORITY,
) -> PVOID {
    let user = AccessMode != _MODE::KernelMode as KPROCESSOR_MODE;
    let mut va = 0;
    // SAFETY: the routine's contract.
    unsafe {
        update(Routine::MmMapLockedPagesSpecifyCache, MemoryDescriptorList, |s, h| {
            let (u, mapped) = s.mm_map_locked_pages(h, user)?;
            va = mapped;
            Some(u)
        })
    };
    va as PVOID
}

/// `MmUnmapLockedPages` (F145): releases the mapping at `BaseAddress`.
///
/// # Safety
/// `MemoryDescriptorList` a valid MDL.
pub unsafe extern "C" fn MmUnmapLockedPages(BaseAddress: PVOID, MemoryDescriptorList: PMDL) {
    let base = BaseAddress as u64;
    // SAFETY: the routine's contract.
    unsafe { update(Routine::MmUnmapLockedPages, MemoryDescriptorList, |s, h| Some(s.mm_unmap_locked_pages(base, h))) }
}
