//! The pool routines' rules: `ExAllocatePool2`'s flags, IRQL and size
//! checks, and `ExFreePool(WithTag)`'s — each misuse the BAD_POOL_CALLER
//! stop `pool.rs` names the page of.

use crate::abi::*;
use crate::model::with_state;

/// The `POOL_TYPE` a set of `POOL_FLAGS` stands for (the BAD_POOL_CALLER
/// parameters report a pool type).
fn pool_type_of(flags: POOL_FLAGS) -> u64 {
    if flags & POOL_FLAG_PAGED != 0 {
        _POOL_TYPE::PagedPool as u64
    } else if flags & POOL_FLAG_NON_PAGED_EXECUTE != 0 {
        _POOL_TYPE::NonPagedPool as u64
    } else {
        _POOL_TYPE::NonPagedPoolNx as u64
    }
}

/// `ExAllocatePool2` (wdm.h; its DDI page): `size` bytes of zero-filled
/// pool (unless POOL_FLAG_UNINITIALIZED — zero-filled here too) of the type
/// the flags name, tagged `tag`, owned by the calling image; NULL on
/// failure. Exactly one of POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE
/// and POOL_FLAG_PAGED is required — ASSUMPTION: otherwise NULL and a
/// finding. Paged pool above APC_LEVEL is BAD_POOL_CALLER {0x08, IRQL, pool
/// type, size}; a zero-byte request under Driver Verifier's pool tracking is
/// BAD_POOL_CALLER {0x00, 0, pool type, tag} (ASSUMPTION: without it the
/// simulator hands out a minimal block). A verified driver's blocks smaller
/// than a page come from special pool (F51).
pub(crate) fn allocate_pool2(flags: POOL_FLAGS, size: u64, tag: u32) -> usize {
    with_state(|s| {
        let kinds = flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED | POOL_FLAG_NON_PAGED_EXECUTE);
        if kinds.count_ones() != 1 {
            let caller = s.caller_image();
            s.framework.findings.push(format!(
                "{caller}: ExAllocatePool2 with flags {flags:#x}, which name no single pool type (NULL returned)"
            ));
            return 0;
        }
        let paged = kinds == POOL_FLAG_PAGED;
        if paged && s.kernel.irql > APC_LEVEL as u8 {
            let params = [0x08, u64::from(s.kernel.irql), pool_type_of(flags), size];
            s.bad_pool_caller(params, "paged pool allocated above APC_LEVEL");
            return 0;
        }
        if size == 0 && s.settings.pool_tracking {
            s.bad_pool_caller([0x00, 0, pool_type_of(flags), u64::from(tag)], "a zero-byte pool allocation");
            return 0;
        }
        if size > (1 << 32) {
            // ASSUMPTION: more than 4 GiB is an allocation failure.
            return 0;
        }
        let owner = s.caller_image();
        let special = s.settings.special_pool;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        s.kernel.pool.allocate(size, tag, owner.to_string(), paged, special)
    })
    .unwrap_or(0)
}

/// `ExFreePool` / `ExFreePoolWithTag` (`tag`): frees a block from
/// `ExAllocatePool2`; a special-pool block becomes no-access, so a later use
/// stops the machine (F51). Paged pool freed above APC_LEVEL, a double
/// free, a wrong tag or a wild address is BAD_POOL_CALLER.
pub(crate) fn free_pool(address: usize, tag: Option<u32>) {
    with_state(|s| {
        if let Some(block) = s.kernel.pool.live.get(&address)
            && block.paged
            && s.kernel.irql > APC_LEVEL as u8
        {
            let params = [0x09, u64::from(s.kernel.irql), _POOL_TYPE::PagedPool as u64, address as u64];
            s.bad_pool_caller(params, "paged pool freed above APC_LEVEL");
            return;
        }
        if s.freed_pool_holds_live_objects(address) {
            return;
        }
        if let Err(params) = s.kernel.pool.free(address, tag) {
            let what = match params[0] {
                0x07 => format!("pool block {address:#x} freed twice"),
                0x0A => format!(
                    "pool block {address:#x} freed with tag {:#x}; it was allocated with {:#x}",
                    params[3], params[2]
                ),
                _ => format!("{address:#x} was never allocated from pool"),
            };
            s.bad_pool_caller(params, &what);
        }
    });
}
