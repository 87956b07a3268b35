//! Kernel pool: `ExAllocatePool2` / `ExFreePool` / `ExFreePoolWithTag`,
//! Driver Verifier's pool tracking (F49 0x8, F50) and special pool for a
//! verified driver's allocations (F51).
//!
//! BAD_POOL_CALLER (0xC2) parameters are those of the bug-check page
//! (ASSUMPTION, not yet in docs/facts.md:
//! <https://learn.microsoft.com/windows-hardware/drivers/debugger/bug-check-0xc2--bad-pool-caller>):
//! 0x00 {0, pool type, tag} a zero-byte allocation; 0x07 {reserved, header
//! contents, address} a block freed twice; 0x0A {address, allocator's tag,
//! tag used} a free with the wrong tag; 0x42 {address, 0, 0} an address that
//! was never in any pool.

use crate::model::{KERNEL_MODULE, State, Stop};
use std::collections::{BTreeMap, BTreeSet};

/// How many freed addresses the pool remembers to tell a double free from a
/// wild one. ASSUMPTION: the kernel's own record is its pool headers; a
/// bound keeps long runs flat.
const FREED_KEPT: usize = 65_536;

/// A live allocation's memory.
#[derive(Debug)]
pub(crate) enum PoolMemory {
    /// Ordinary pool.
    Plain(Box<[u64]>),
    /// Special pool (F51): a use after free or past the end stops the machine.
    #[cfg(unix)]
    Special(super::special_pool::Allocation),
}

/// One live allocation.
#[derive(Debug)]
pub(crate) struct PoolBlock {
    pub size: usize,
    pub tag: u32,
    pub owner: String,
    pub paged: bool,
    /// Only held: the block's address is how it is reached.
    #[allow(dead_code, reason = "owns the memory the address points into")]
    pub memory: PoolMemory,
}

/// An allocation as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolAllocation {
    /// The address `ExAllocatePool2` returned.
    pub address: u64,
    /// Bytes requested.
    pub size: usize,
    /// The pool tag, as a number (`'s' as u32` = 0x73).
    pub tag: u32,
    /// The image that allocated it.
    pub owner: String,
}

/// The machine's pool.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    pub live: BTreeMap<usize, PoolBlock>,
    pub freed: BTreeSet<usize>,
    /// Blocks an unloaded driver left behind: reported, never freed, kept
    /// mapped because the image's statics may still point at them.
    pub orphaned: Vec<PoolBlock>,
}

impl Pool {
    /// Allocates `size` zero-filled bytes (special pool when `special` and
    /// the block is smaller than a page, F51).
    pub(crate) fn allocate(&mut self, size: usize, tag: u32, owner: String, paged: bool, special: bool) -> usize {
        let mut memory = PoolMemory::Plain(vec![0u64; size.div_ceil(8).max(1)].into_boxed_slice());
        #[cfg(unix)]
        if special
            && size < 4096
            && let Some(a) = super::special_pool::Allocation::new(size)
        {
            memory = PoolMemory::Special(a);
        }
        let _ = special;
        let address = match &mut memory {
            PoolMemory::Plain(b) => b.as_mut_ptr() as usize,
            #[cfg(unix)]
            PoolMemory::Special(a) => a.as_mut_ptr() as usize,
        };
        self.freed.remove(&address);
        self.live.insert(address, PoolBlock { size, tag, owner, paged, memory });
        address
    }

    /// Frees a block; `Err` with the BAD_POOL_CALLER parameters otherwise.
    pub(crate) fn free(&mut self, address: usize, tag: Option<u32>) -> Result<PoolBlock, [u64; 4]> {
        let Some(block) = self.live.get(&address) else {
            return Err(if self.freed.contains(&address) {
                [0x07, 0, 0, address as u64]
            } else {
                [0x42, address as u64, 0, 0]
            });
        };
        if let Some(tag) = tag
            && tag != block.tag
        {
            return Err([0x0A, address as u64, u64::from(block.tag), u64::from(tag)]);
        }
        let block = self.live.remove(&address).expect("checked above");
        self.freed.insert(address);
        if self.freed.len() > FREED_KEPT {
            self.freed.pop_first();
        }
        Ok(block)
    }

    /// The live blocks `owner` allocated.
    pub(crate) fn owned_by(&self, owner: &str) -> Vec<PoolAllocation> {
        self.live
            .iter()
            .filter(|(_, b)| b.owner == owner)
            .map(|(a, b)| PoolAllocation { address: *a as u64, size: b.size, tag: b.tag, owner: b.owner.clone() })
            .collect()
    }

    /// Moves `owner`'s blocks out of the live set (its image was unloaded).
    pub(crate) fn orphan(&mut self, owner: &str) {
        let addresses: Vec<usize> = self.live.iter().filter(|(_, b)| b.owner == owner).map(|(a, _)| *a).collect();
        for a in addresses {
            if let Some(b) = self.live.remove(&a) {
                self.orphaned.push(b);
            }
        }
    }
}

impl State {
    /// Driver Verifier's pool tracking at unload (F50): bug check 0xC4
    /// {0x62, the driver's name, reserved, allocations not freed}, blamed on
    /// the driver (Arg2 names it). ASSUMPTION: the kernel frames are those of
    /// the unload path (MmUnloadSystemImage); their exact names are not in
    /// the facts.
    pub(crate) fn pool_leak_bug_check(&mut self, image: &str, count: usize) {
        let mut units: Vec<u16> = image.encode_utf16().collect();
        let bytes = u16::try_from(units.len() * 2).unwrap_or(0xFFFE);
        let name =
            Box::new(crate::abi::UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() });
        let name_address = std::ptr::from_ref(name.as_ref()) as u64;
        self.kernel.bugcheck_strings.push((name, units));
        let depth = self.kernel.frames.len();
        self.push_frame(KERNEL_MODULE, "nt!MmUnloadSystemImage");
        self.push_frame(KERNEL_MODULE, "nt!VfPoolCheckForLeaks");
        self.bug_check(
            (
                0xC4,
                [0x62, name_address, 0, count as u64],
                "DRIVER_VERIFIER_DETECTED_VIOLATION",
                [
                    "0x62: a driver is unloading without first freeing its pool allocations (Pool Tracking).".into(),
                    format!("The name of the driver: {image}."),
                    "Reserved.".into(),
                    format!("The number of allocations not freed: {count}."),
                ],
            ),
            None,
            Some(format!(
                "{image} unloaded with {count} pool allocation(s) it never freed (see the unload report's leaked_pool)"
            )),
        );
        self.kernel.frames.truncate(depth);
        if let Some(Stop::BugCheck(b)) = self.stop.as_mut() {
            b.blamed = image.to_string();
        }
    }

    /// A BAD_POOL_CALLER (0xC2) stop; the parameters follow the bug-check
    /// page named at the top of this file.
    pub(crate) fn bad_pool_caller(&mut self, params: [u64; 4], what: &str) {
        let note = match params[0] {
            0x00 => "0x00: a zero-byte pool allocation.",
            0x07 => "0x07: a pool block freed twice.",
            0x08 => "0x08: pool allocated at an invalid IRQL.",
            0x09 => "0x09: pool freed at an invalid IRQL.",
            0x0A => "0x0A: pool freed with the wrong tag.",
            _ => "0x42: an address that was never in any pool was freed.",
        };
        let caller = self.caller_image();
        self.bug_check(
            (0xC2, params, "BAD_POOL_CALLER", [note.into(), String::new(), String::new(), String::new()]),
            None,
            Some(format!("{caller}: {what}")),
        );
    }

    /// `ExAllocatePoolWithTag` / `ExAllocatePool` (`routine`) of a
    /// `POOL_TYPE` (F144): the block's address, 0 for NULL, `None` after a
    /// stop. The nonpaged, paged, cache-aligned, session and NX types are
    /// served; a must-succeed type (never permitted, F144) or a value wdm.h
    /// does not define stops the machine as not modelled. Paged pool above APC_LEVEL and a
    /// zero-byte request under Pool Tracking are BAD_POOL_CALLER as for
    /// `ExAllocatePool2`.
    pub(crate) fn allocate_pool_of_type(
        &mut self,
        routine: &str,
        pool_type: i32,
        size: u64,
        tag: u32,
    ) -> Option<usize> {
        use crate::abi::_POOL_TYPE as T;
        let paged = match pool_type {
            T::NonPagedPool
            | T::NonPagedPoolCacheAligned
            | T::NonPagedPoolSession
            | T::NonPagedPoolCacheAlignedSession
            | T::NonPagedPoolNx
            | T::NonPagedPoolNxCacheAligned
            | T::NonPagedPoolSessionNx => false,
            T::PagedPool | T::PagedPoolCacheAligned | T::PagedPoolSession | T::PagedPoolCacheAlignedSession => true,
            other => {
                self.stop_not_modelled(format!(
                    "{routine} of pool type {other} (must-succeed pool is never permitted; other values are not \
                     pool types; docs/facts.md#f144)"
                ));
                return None;
            }
        };
        let irql = self.kernel.irql;
        if paged && irql > crate::abi::APC_LEVEL as u8 {
            self.bad_pool_caller(
                [0x08, u64::from(irql), pool_type as u64, size],
                "paged pool allocated above APC_LEVEL",
            );
            return None;
        }
        if size == 0 && self.settings.pool_tracking {
            self.bad_pool_caller([0x00, 0, pool_type as u64, u64::from(tag)], "a zero-byte pool allocation");
            return None;
        }
        if size > (1 << 32) {
            // ASSUMPTION (as for ExAllocatePool2): more than 4 GiB fails.
            return Some(0);
        }
        let owner = self.caller_image().to_string();
        let special = self.settings.special_pool;
        Some(self.kernel.pool.allocate(size as usize, tag, owner, paged, special))
    }

    /// Before the block at `address` is freed: Driver Verifier's
    /// Miscellaneous Checks stop on a live ERESOURCE (F143) or a timer still
    /// set (F147) inside it. `true` after that stop.
    pub(crate) fn freed_pool_holds_live_objects(&mut self, address: usize) -> bool {
        if !self.settings.verifier_misc_checks || (self.kernel.resources.is_empty() && self.kernel.deferred.no_timers())
        {
            return false;
        }
        let Some((size, pool_type)) = self.kernel.pool.live.get(&address).map(|b| (b.size, u64::from(b.paged))) else {
            return false;
        };
        self.freed_pool_holds_resource(address as u64, size, pool_type)
            || self.freed_pool_holds_timer(address as u64, size, pool_type)
    }
}
