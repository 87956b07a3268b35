//! Pool of a `POOL_TYPE` (F144): `ExAllocatePoolWithTag` and the untagged
//! `ExAllocatePool`, which drivers written before `ExAllocatePool2` call.
//! The rules are the model's `kernel::pool`; blocks are freed with
//! `ExFreePool` / `ExFreePoolWithTag` and counted by Pool Tracking at unload
//! like every other block.
//!
//! Simulator-side declarations: wdk-sys 0.5.2's bindings have neither routine
//! (the headers it was generated from deprecate both), so their signatures
//! are wdm.h's documented ones and they are exported under their C names
//! (`no_mangle`): a driver's own `extern "C"` declaration links to them
//! unchanged, as for `ObCloseHandle`.

use super::gated;
use crate::abi::*;
use crate::model::Routine;

/// The tag wdm.h gives an untagged allocation: `ExAllocatePool(a, b)` is
/// `ExAllocatePoolWithTag(a, b, 'enoN')`, "None" in memory (F144).
const UNTAGGED_POOL_TAG: ULONG = u32::from_le_bytes(*b"None");

/// `ExAllocatePoolWithTag` (wdm.h;
/// learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-exallocatepoolwithtag):
/// `NumberOfBytes` of pool of `PoolType`, tagged `Tag`, owned by the calling
/// image; NULL on failure. The contents are uninitialized on Windows and
/// zero here (ASSUMPTION, F144: a read before the first write is not found).
///
/// # Safety
/// None beyond the kernel's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ExAllocatePoolWithTag(PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID {
    let routine = Routine::ExAllocatePoolWithTag;
    let block = gated(routine, 0, |s| s.allocate_pool_of_type("ExAllocatePoolWithTag", PoolType, NumberOfBytes, Tag));
    block as PVOID
}

/// `ExAllocatePool` (wdm.h;
/// learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-exallocatepool):
/// as `ExAllocatePoolWithTag` with the tag "None" (`UNTAGGED_POOL_TAG`).
///
/// # Safety
/// None beyond the kernel's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ExAllocatePool(PoolType: POOL_TYPE, NumberOfBytes: SIZE_T) -> PVOID {
    let tag = UNTAGGED_POOL_TAG;
    let block =
        gated(Routine::ExAllocatePool, 0, |s| s.allocate_pool_of_type("ExAllocatePool", PoolType, NumberOfBytes, tag));
    block as PVOID
}
