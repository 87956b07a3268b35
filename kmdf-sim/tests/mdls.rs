//! Memory descriptor lists (F145): the header IoAllocateMdl fills, the flags
//! and system address the build, lock, map, unmap and unlock routines leave
//! (what wdm.h's MmGetSystemAddressForMdlSafe reads), the IRQL rule for
//! pageable buffers, and the findings for the transitions the DDI pages
//! forbid and for an MDL never freed.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

// wdm.h's MDL flags (F145), named here as a driver's own code names them.
const MDL_MAPPED_TO_SYSTEM_VA: u32 = 0x0001;
const MDL_PAGES_LOCKED: u32 = 0x0002;
const MDL_SOURCE_IS_NONPAGED_POOL: u32 = 0x0004;

fn allocate(buffer: &mut [u8]) -> PMDL {
    // SAFETY: the buffer outlives the MDL in every test.
    unsafe { IoAllocateMdl(buffer.as_mut_ptr().cast(), buffer.len() as u32, 0, 0, std::ptr::null_mut()) }
}

fn flags(mdl: PMDL) -> u32 {
    // SAFETY: an MDL IoAllocateMdl returned and IoFreeMdl has not freed.
    (unsafe { (*mdl).MdlFlags } as u16).into()
}

/// wdm.h's inline MmGetSystemAddressForMdlSafe, as a driver renders it.
fn system_address(mdl: PMDL) -> PVOID {
    if flags(mdl) & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL) != 0 {
        // SAFETY: as `flags`.
        unsafe { (*mdl).MappedSystemVa }
    } else {
        // SAFETY: as `flags`; kernel-mode mapping of locked pages.
        unsafe { MmMapLockedPagesSpecifyCache(mdl, 0, _MEMORY_CACHING_TYPE::MmCached, std::ptr::null_mut(), 0, 16) }
    }
}

fn lock(mdl: PMDL) {
    // SAFETY: as `flags`.
    unsafe { MmProbeAndLockPages(mdl, 0, _LOCK_OPERATION::IoWriteAccess) }
}

fn unlock(mdl: PMDL) {
    // SAFETY: as `flags`.
    unsafe { MmUnlockPages(mdl) }
}

fn free(mdl: PMDL) {
    // SAFETY: as `flags`.
    unsafe { IoFreeMdl(mdl) }
}

#[test]
fn allocate_lock_map_unlock_free() {
    let m = Machine::new(Settings::default());
    let mut buffer = vec![0u8; 5000];
    let start = buffer.as_ptr() as u64;
    let seen = m
        .run("mdl.sys", "EvtIoWrite", || {
            let mdl = allocate(&mut buffer);
            // SAFETY: as `flags`.
            let h = unsafe { *mdl };
            let header = (h.StartVa as u64 + u64::from(h.ByteOffset), h.ByteCount, h.MdlFlags, h.Size);
            lock(mdl);
            let locked = flags(mdl);
            let va = system_address(mdl);
            let mapped = flags(mdl);
            let again = system_address(mdl); // through MappedSystemVa now
            unlock(mdl);
            let after = flags(mdl);
            free(mdl);
            (header, locked, va as u64, mapped, again as u64, after)
        })
        .expect("no stop");
    let pages = ((start & 0xFFF) + 5000 + 0xFFF) >> 12;
    assert_eq!(seen.0, (start, 5000, 0, (48 + 8 * pages) as i16));
    assert_eq!(seen.1, MDL_PAGES_LOCKED);
    assert_eq!((seen.2, seen.3, seen.4), (start, MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA, start));
    assert_eq!(seen.5, 0, "unlocking releases the mapping");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_nonpaged_pool_mdl_is_mapped_at_its_own_address_and_never_locked() {
    let m = Machine::new(Settings::default());
    let tag = u32::from_le_bytes(*b"MdlT");
    m.run("mdl.sys", "EvtDpc", || {
        // SAFETY: no preconditions.
        let block = unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, tag) };
        // SAFETY: a 256-byte nonpaged block.
        let mdl = unsafe { IoAllocateMdl(block, 256, 0, 0, std::ptr::null_mut()) };
        // SAFETY: the MDL just allocated.
        unsafe { MmBuildMdlForNonPagedPool(mdl) };
        assert_eq!(flags(mdl), MDL_SOURCE_IS_NONPAGED_POOL);
        assert_eq!(system_address(mdl), block);
        lock(mdl); // forbidden: a finding, the header unchanged
        assert_eq!(flags(mdl), MDL_SOURCE_IS_NONPAGED_POOL);
        free(mdl);
        // SAFETY: the block, with its tag.
        unsafe { ExFreePoolWithTag(block, tag) };
    })
    .expect("no stop");
    let findings = m.findings();
    assert!(findings.len() == 1 && findings[0].contains("MmProbeAndLockPages"), "{findings:?}");
}

#[test]
fn locking_twice_unlocking_unlocked_and_freeing_locked_are_findings() {
    let m = Machine::new(Settings::default());
    let mut buffer = vec![0u8; 64];
    m.run("mdl.sys", "EvtIoRead", || {
        let mdl = allocate(&mut buffer);
        unlock(mdl);
        lock(mdl);
        lock(mdl);
        free(mdl);
    })
    .expect("findings, no stop");
    let findings = m.findings();
    let said: Vec<bool> = ["not locked", "already locked", "still locked"]
        .iter()
        .map(|w| findings.iter().any(|f| f.contains(w)))
        .collect();
    assert_eq!(said, [true, true, true], "{findings:?}");
}

#[test]
fn locking_a_pageable_buffer_at_dispatch_level_breaks_the_irql_rule() {
    let m = Machine::new(Settings::default());
    let mut buffer = vec![0u8; 64];
    let _ = m.run_at_irql("mdl.sys", "EvtDpc", DISPATCH_LEVEL as u8, || lock(allocate(&mut buffer)));
    let stop = m.stop().expect("a stop");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4), "{stop}");
    assert!(stop.to_string().contains("MmProbeAndLockPages"), "{stop}");
}

#[test]
fn a_user_mode_mapping_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let mut buffer = vec![0u8; 64];
    let _ = m.run("mdl.sys", "EvtIoRead", || {
        let mdl = allocate(&mut buffer);
        lock(mdl);
        // SAFETY: a locked MDL; UserMode (1) is the case under test.
        unsafe { MmMapLockedPagesSpecifyCache(mdl, 1, _MEMORY_CACHING_TYPE::MmCached, std::ptr::null_mut(), 0, 16) }
    });
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}

static BUFFER: [u8; 16] = [0; 16];

extern "C" fn keeps_an_mdl(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: a static buffer; the MDL is never freed (the case under test).
    let mdl = unsafe { IoAllocateMdl(BUFFER.as_ptr().cast_mut().cast(), 16, 0, 0, std::ptr::null_mut()) };
    if mdl.is_null() { STATUS_INSUFFICIENT_RESOURCES } else { STATUS_SUCCESS }
}

#[test]
fn an_mdl_never_freed_at_unload_is_a_finding() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("keep.sys", "keep", Some(keeps_an_mdl)).expect("no stop"), STATUS_SUCCESS);
    m.unload().expect("no bug check");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.starts_with("keep.sys unloaded without IoFreeMdl for 1 MDL")), "{findings:?}");
}
