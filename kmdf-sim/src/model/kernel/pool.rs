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
}
