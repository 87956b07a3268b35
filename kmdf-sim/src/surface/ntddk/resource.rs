//! Executive resources (F143): the rules are the model's `kernel::resource`.
//! The shims pass the `ERESOURCE`'s address (the model knows a resource by
//! it; its opaque contents are the kernel's and are left as they are).

use super::gated;
use crate::abi::*;
use crate::model::Routine;

/// `ExInitializeResourceLite` (F143): STATUS_SUCCESS.
///
/// # Safety
/// `Resource` points at the caller's nonpaged `ERESOURCE` storage.
#[must_use]
pub unsafe extern "C" fn ExInitializeResourceLite(Resource: PERESOURCE) -> NTSTATUS {
    let address = Resource as u64;
    gated(Routine::ExInitializeResourceLite, crate::model::STOPPED_STATUS, |s| s.ex_initialize_resource(address))
}

/// `ExAcquireResourceExclusiveLite` (F143): TRUE when acquired; FALSE when
/// `Wait` is FALSE and the thread holds it only shared.
///
/// # Safety
/// `Resource` an initialized resource.
pub unsafe extern "C" fn ExAcquireResourceExclusiveLite(Resource: PERESOURCE, Wait: BOOLEAN) -> BOOLEAN {
    let address = Resource as u64;
    let got =
        gated(Routine::ExAcquireResourceExclusiveLite, false, |s| s.ex_acquire_resource(address, true, Wait != 0));
    BOOLEAN::from(got)
}

/// `ExAcquireResourceSharedLite` (F143): TRUE (the one thread never waits
/// for another owner).
///
/// # Safety
/// As `ExAcquireResourceExclusiveLite`.
pub unsafe extern "C" fn ExAcquireResourceSharedLite(Resource: PERESOURCE, Wait: BOOLEAN) -> BOOLEAN {
    let address = Resource as u64;
    let got = gated(Routine::ExAcquireResourceSharedLite, false, |s| s.ex_acquire_resource(address, false, Wait != 0));
    BOOLEAN::from(got)
}

/// `ExReleaseResourceLite` (F143): one acquisition fewer; 0xE3 when the
/// thread does not own it.
///
/// # Safety
/// As `ExAcquireResourceExclusiveLite`.
pub unsafe extern "C" fn ExReleaseResourceLite(Resource: PERESOURCE) {
    let address = Resource as u64;
    gated(Routine::ExReleaseResourceLite, (), |s| s.ex_release_resource(address));
}

/// `ExDeleteResourceLite` (F143): STATUS_SUCCESS; the storage may be freed
/// after it.
///
/// # Safety
/// As `ExAcquireResourceExclusiveLite`.
#[must_use]
pub unsafe extern "C" fn ExDeleteResourceLite(Resource: PERESOURCE) -> NTSTATUS {
    let address = Resource as u64;
    gated(Routine::ExDeleteResourceLite, crate::model::STOPPED_STATUS, |s| s.ex_delete_resource(address))
}

/// `ExIsResourceAcquiredExclusiveLite` (F143): TRUE when this thread holds
/// it exclusively.
///
/// # Safety
/// As `ExAcquireResourceExclusiveLite`.
pub unsafe extern "C" fn ExIsResourceAcquiredExclusiveLite(Resource: PERESOURCE) -> BOOLEAN {
    let address = Resource as u64;
    let n = gated(Routine::ExIsResourceAcquiredExclusiveLite, 0, |s| s.ex_is_resource_acquired(address, true));
    BOOLEAN::from(n != 0)
}

/// `ExIsResourceAcquiredSharedLite` (F143): how many times this thread
/// holds it, shared or exclusive (0: not at all).
///
/// # Safety
/// As `ExAcquireResourceExclusiveLite`.
pub unsafe extern "C" fn ExIsResourceAcquiredSharedLite(Resource: PERESOURCE) -> ULONG {
    let address = Resource as u64;
    gated(Routine::ExIsResourceAcquiredSharedLite, 0, |s| s.ex_is_resource_acquired(address, false))
}
