//! Memory descriptor lists (F145): `IoAllocateMdl` / `IoFreeMdl`,
//! `MmBuildMdlForNonPagedPool`, `MmProbeAndLockPages` / `MmUnlockPages`,
//! `MmMapLockedPagesSpecifyCache` / `MmUnmapLockedPages`.
//!
//! As in the kernel, an MDL's state is its header: `MdlFlags` says whether
//! its pages are locked, whether it describes nonpaged pool and whether it is
//! mapped into system space, and `MappedSystemVa` holds that mapping. The
//! rules below read the header the surface hands them and say what to write
//! back, so an MDL the I/O manager built for direct I/O is served like one
//! from `IoAllocateMdl` — and wdm.h's inline `MmGetSystemAddressForMdlSafe`,
//! which reads those two fields, works on both. The machine has one address
//! space: the system mapping of an MDL's pages is the buffer's own address
//! (ASSUMPTION, F145).
//!
//! A transition the DDI pages forbid (locking an MDL twice, unlocking one not
//! locked, probing an MDL built for nonpaged pool, mapping pages that are not
//! locked, freeing an MDL still locked or mapped) is a finding and leaves the
//! header as it was: no bug check is documented for them (F145).

use crate::model::{Name, State};
use std::collections::HashMap;

/// wdm.h's MDL flags (F145).
pub(crate) const MAPPED_TO_SYSTEM_VA: u16 = 0x0001;
pub(crate) const PAGES_LOCKED: u16 = 0x0002;
pub(crate) const SOURCE_IS_NONPAGED_POOL: u16 = 0x0004;

/// `sizeof(MDL)` on x64: the header the page-frame array follows.
pub(crate) const HEADER_BYTES: usize = 48;

/// What the rules read of an MDL's header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MdlHeader {
    /// Its address (how findings name it).
    pub address: u64,
    pub flags: u16,
    /// `StartVa + ByteOffset`: the buffer's first byte.
    pub va: u64,
    pub byte_count: u32,
    pub mapped: u64,
}

/// What the surface writes back: `MdlFlags` and `MappedSystemVa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MdlUpdate {
    pub flags: u16,
    pub mapped: u64,
}

impl MdlHeader {
    fn unchanged(&self) -> MdlUpdate {
        MdlUpdate { flags: self.flags, mapped: self.mapped }
    }
}

/// An MDL `IoAllocateMdl` handed out: its storage and the image that owns it.
#[derive(Debug)]
struct Allocated {
    /// Only held: the MDL's address points into it.
    #[allow(dead_code, reason = "owns the memory the MDL's address points into")]
    memory: Box<[u64]>,
    image: Name,
}

/// The MDLs `IoAllocateMdl` allocated and `IoFreeMdl` has not freed.
#[derive(Debug, Default)]
pub(crate) struct Mdls {
    allocated: HashMap<u64, Allocated>,
}

/// Pages spanned by `len` bytes from `va` (wdm.h's
/// ADDRESS_AND_SIZE_TO_SPAN_PAGES).
pub(crate) fn span_pages(va: u64, len: u32) -> u64 {
    ((va & 0xFFF) + u64::from(len) + 0xFFF) >> 12
}

impl State {
    fn mdl_finding(&mut self, routine: &str, mdl: u64, what: &str) {
        let caller = self.caller_image();
        self.framework.findings.push(format!("{caller}: {routine}({mdl:#x}) {what} (docs/facts.md#f145)"));
    }

    /// Whether the MDL's buffer lies in one block of the machine's pool
    /// (`None`: it does not), and whether that block is nonpaged.
    fn in_nonpaged_pool(&self, mdl: &MdlHeader) -> Option<bool> {
        let va = usize::try_from(mdl.va).ok()?;
        let end = va.checked_add(mdl.byte_count as usize)?;
        let (start, block) = self.kernel.pool.live.range(..=va).next_back()?;
        (end <= start + block.size.max(1)).then_some(!block.paged)
    }

    /// IoAllocateMdl: zeroed storage for an MDL describing `length` bytes at
    /// `va` — its address and `Size`, or `None` after a stop. An IRP to
    /// attach it to, and an MDL larger than a CSHORT `Size` can say, are not
    /// modelled.
    pub(crate) fn io_allocate_mdl(&mut self, va: u64, length: u32, with_irp: bool) -> Option<(u64, i16)> {
        if with_irp {
            self.stop_not_modelled("IoAllocateMdl with an IRP to attach the MDL to (docs/facts.md#f145)".to_string());
            return None;
        }
        let bytes = HEADER_BYTES as u64 + span_pages(va, length) * 8;
        let Ok(size) = i16::try_from(bytes) else {
            self.stop_not_modelled(format!(
                "IoAllocateMdl({va:#x}, {length}): an MDL of {bytes} bytes, more than its CSHORT Size holds \
                 (docs/facts.md#f145)"
            ));
            return None;
        };
        let mut memory = vec![0u64; usize::try_from(bytes / 8).unwrap_or(0)].into_boxed_slice();
        let address = memory.as_mut_ptr() as u64;
        let image = self.caller_image();
        self.kernel.mdls.allocated.insert(address, Allocated { memory, image });
        Some((address, size))
    }

    /// IoFreeMdl: frees an MDL `IoAllocateMdl` allocated. One still locked
    /// or mapped is a finding (MmUnlockPages / MmUnmapLockedPages first); an
    /// MDL the machine did not allocate is not modelled. `None` after a stop.
    pub(crate) fn io_free_mdl(&mut self, mdl: MdlHeader) -> Option<()> {
        if !self.kernel.mdls.allocated.contains_key(&mdl.address) {
            self.stop_not_modelled(format!(
                "IoFreeMdl({:#x}) of an MDL IoAllocateMdl did not allocate (docs/facts.md#f145)",
                mdl.address
            ));
            return None;
        }
        if mdl.flags & PAGES_LOCKED != 0 {
            self.mdl_finding(
                "IoFreeMdl",
                mdl.address,
                "frees an MDL whose pages are still locked: MmUnlockPages first",
            );
        } else if mdl.flags & MAPPED_TO_SYSTEM_VA != 0 && mdl.flags & SOURCE_IS_NONPAGED_POOL == 0 {
            self.mdl_finding("IoFreeMdl", mdl.address, "frees an MDL still mapped: MmUnmapLockedPages first");
        }
        self.kernel.mdls.allocated.remove(&mdl.address);
        Some(())
    }

    /// MmBuildMdlForNonPagedPool: the MDL describes nonpaged memory, mapped
    /// at its own address. On an MDL MmProbeAndLockPages locked, or one
    /// describing paged pool, a finding.
    pub(crate) fn mm_build_mdl_for_nonpaged_pool(&mut self, mdl: MdlHeader) -> MdlUpdate {
        const ROUTINE: &str = "MmBuildMdlForNonPagedPool";
        if mdl.flags & PAGES_LOCKED != 0 {
            self.mdl_finding(ROUTINE, mdl.address, "on an MDL MmProbeAndLockPages locked");
            return mdl.unchanged();
        }
        if self.in_nonpaged_pool(&mdl) == Some(false) {
            self.mdl_finding(ROUTINE, mdl.address, &format!("describes {:#x}, which is paged pool", mdl.va));
        }
        MdlUpdate { flags: mdl.flags | SOURCE_IS_NONPAGED_POOL, mapped: mdl.va }
    }

    /// MmProbeAndLockPages: the pages are locked. Above APC_LEVEL the
    /// buffer must be nonpaged pool (the IRQL rule, F66); a second lock, or
    /// a lock of an MDL built for nonpaged pool, is a finding. `None` after
    /// a stop.
    pub(crate) fn mm_probe_and_lock_pages(&mut self, mdl: MdlHeader) -> Option<MdlUpdate> {
        const ROUTINE: &str = "MmProbeAndLockPages";
        if mdl.flags & SOURCE_IS_NONPAGED_POOL != 0 {
            self.mdl_finding(ROUTINE, mdl.address, "on an MDL MmBuildMdlForNonPagedPool built, which is never locked");
            return Some(mdl.unchanged());
        }
        if mdl.flags & PAGES_LOCKED != 0 {
            self.mdl_finding(ROUTINE, mdl.address, "on an MDL already locked: MmUnlockPages first");
            return Some(mdl.unchanged());
        }
        if self.in_nonpaged_pool(&mdl) != Some(true)
            && self.driver_verifier_irql_check(ROUTINE, crate::abi::APC_LEVEL as u8) == crate::model::IrqlVerdict::Fail
        {
            return None;
        }
        Some(MdlUpdate { flags: mdl.flags | PAGES_LOCKED, mapped: mdl.mapped })
    }

    /// MmUnlockPages: unlocks, releasing a system mapping first. An MDL not
    /// locked (or built for nonpaged pool) is a finding.
    pub(crate) fn mm_unlock_pages(&mut self, mdl: MdlHeader) -> MdlUpdate {
        if mdl.flags & PAGES_LOCKED == 0 {
            let what = if mdl.flags & SOURCE_IS_NONPAGED_POOL != 0 {
                "on an MDL MmBuildMdlForNonPagedPool built, which is never unlocked"
            } else {
                "on an MDL whose pages are not locked"
            };
            self.mdl_finding("MmUnlockPages", mdl.address, what);
            return mdl.unchanged();
        }
        MdlUpdate { flags: mdl.flags & !(PAGES_LOCKED | MAPPED_TO_SYSTEM_VA), mapped: mdl.mapped }
    }

    /// MmMapLockedPagesSpecifyCache from kernel mode: the system address of
    /// the pages (0 for NULL). Mapping into user space stops the machine as not modelled;
    /// pages neither locked nor nonpaged are a finding and NULL; a second
    /// mapping a finding and the first one. `None` after a stop.
    pub(crate) fn mm_map_locked_pages(&mut self, mdl: MdlHeader, user_mode: bool) -> Option<(MdlUpdate, u64)> {
        const ROUTINE: &str = "MmMapLockedPagesSpecifyCache";
        if user_mode {
            self.stop_not_modelled(format!(
                "{ROUTINE}({:#x}, UserMode): a user-space mapping (docs/facts.md#f145)",
                mdl.address
            ));
            return None;
        }
        if mdl.flags & SOURCE_IS_NONPAGED_POOL != 0 {
            return Some((mdl.unchanged(), mdl.va));
        }
        if mdl.flags & PAGES_LOCKED == 0 {
            self.mdl_finding(ROUTINE, mdl.address, "on an MDL whose pages are not locked (NULL returned)");
            return Some((mdl.unchanged(), 0));
        }
        if mdl.flags & MAPPED_TO_SYSTEM_VA != 0 {
            self.mdl_finding(ROUTINE, mdl.address, "on an MDL already mapped");
            return Some((mdl.unchanged(), mdl.mapped));
        }
        Some((MdlUpdate { flags: mdl.flags | MAPPED_TO_SYSTEM_VA, mapped: mdl.va }, mdl.va))
    }

    /// MmUnmapLockedPages: releases the mapping MmMapLockedPagesSpecifyCache
    /// made at `base`; any other address or an MDL not mapped is a finding.
    pub(crate) fn mm_unmap_locked_pages(&mut self, base: u64, mdl: MdlHeader) -> MdlUpdate {
        if mdl.flags & MAPPED_TO_SYSTEM_VA == 0 || base != mdl.mapped {
            let what = format!("with {base:#x}, which is not the MDL's system mapping");
            self.mdl_finding("MmUnmapLockedPages", mdl.address, &what);
            return mdl.unchanged();
        }
        MdlUpdate { flags: mdl.flags & !MAPPED_TO_SYSTEM_VA, mapped: mdl.mapped }
    }

    /// At unload: an MDL the image allocated and never freed is a finding
    /// (ASSUMPTION, F145: the MDL's pool is the kernel's, not counted by
    /// Pool Tracking).
    pub(crate) fn mdl_leak_check(&mut self, image: &str) {
        let mut left: Vec<u64> =
            self.kernel.mdls.allocated.iter().filter(|(_, a)| a.image.as_str() == image).map(|(m, _)| *m).collect();
        left.sort_unstable();
        if left.is_empty() {
            return;
        }
        self.kernel.mdls.allocated.retain(|_, a| a.image.as_str() != image);
        self.framework.findings.push(format!(
            "{image} unloaded without IoFreeMdl for {} MDL(s), the first at {:#x} (docs/facts.md#f145)",
            left.len(),
            left[0]
        ));
    }
}
