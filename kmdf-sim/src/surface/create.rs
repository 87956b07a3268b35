//! What every create-DDI checks before it creates anything, and how it hands
//! the new handle back: one prologue, parameterised by the config type, and
//! one delivery.
//!
//! The order is the framework's: required pointers first (0x10D
//! WDF_REQUIRED_PARAMETER_IS_NULL naming the first NULL one, F20, F54), then
//! the config's `Size`, then the DDI's own checks of the config's fields,
//! then the object attributes (`read_attributes`, F11), then the parent.

use crate::abi::*;
use crate::model::framework::config::{WdfConfig, config_bytes};
use crate::model::framework::objects::{Attributes, read_attributes};
use crate::model::framework::verifier::required_null;

/// Another required pointer parameter: its name and whether it is NULL.
#[derive(Clone, Copy)]
pub(crate) struct Required(pub &'static str, pub bool);

/// What the new object's parent may be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    /// As the attributes say; the DDI or the object tree picks a default (F10).
    AsGiven,
    /// The object is a root: a `ParentObject` is ignored (WDFDRIVER).
    Ignored,
}

/// The 0x10D stop for the first NULL of `required`, if any.
pub(crate) fn first_null(required: &[Required]) -> Result<(), NTSTATUS> {
    match required.iter().find(|r| r.1) {
        Some(&Required(name, _)) => Err(null_config_field(name)),
        None => Ok(()),
    }
}

/// The 0x10D stop for a required callback or field of a config that is NULL;
/// the status the DDI returns.
pub(crate) fn null_config_field(name: &str) -> NTSTATUS {
    required_null(name)
}

/// The attributes, checked, with the parent rule applied.
///
/// # Safety
/// `attrs` is null or valid `WDF_OBJECT_ATTRIBUTES`.
unsafe fn attributes(attrs: PWDF_OBJECT_ATTRIBUTES, parent: Parent) -> Result<Attributes, NTSTATUS> {
    // SAFETY: the caller's contract.
    let mut attributes = unsafe { read_attributes(attrs) }?;
    match parent {
        Parent::AsGiven => {}
        Parent::Ignored => attributes.parent = None,
    }
    Ok(attributes)
}

/// The prologue of a create-DDI with a config structure `C`: `config` and
/// then `required` non-NULL; `config.Size` one the framework accepts for
/// `C` (the 1.33 size or an older release's; STATUS_INFO_LENGTH_MISMATCH
/// otherwise, F93), the structure read up to that size; `check` (the DDI's
/// own checks of the config's fields, which may hand back what they read);
/// the attributes; the parent.
///
/// # Safety
/// `config` is null or a readable `C` of at least its own `Size` bytes;
/// `attrs` null or valid.
pub(crate) unsafe fn with_config<C: WdfConfig, X>(
    config: *const C,
    required: &[Required],
    attrs: PWDF_OBJECT_ATTRIBUTES,
    parent: Parent,
    check: impl FnOnce(&C) -> Result<X, NTSTATUS>,
) -> Result<(C, X, Attributes), NTSTATUS> {
    first_null(&[Required(C::PARAMETER, config.is_null())])?;
    first_null(required)?;
    // SAFETY: checked non-null; the caller's contract.
    let read = unsafe { read_versioned(config) }?;
    let checked = check(&read)?;
    // SAFETY: the caller's contract.
    Ok((read, checked, unsafe { attributes(attrs, parent) }?))
}

/// The versioned structure `C` at `p`, read up to its `Size` when that is a
/// size KMDF takes for `C` (the fields past it default to zero), else the
/// status the framework answers (F93).
///
/// # Safety
/// `p` is non-null and points to at least its own `Size` readable bytes.
pub(crate) unsafe fn read_versioned<C: WdfConfig>(p: *const C) -> Result<C, NTSTATUS> {
    // SAFETY: every such structure begins with its ULONG Size (`WdfConfig`'s
    // invariant), readable by the caller's contract.
    let size = unsafe { p.cast::<ULONG>().read_unaligned() };
    let bytes = config_bytes::<C>(size)?;
    let mut read = C::default();
    // SAFETY: `bytes` is an accepted size, at most `size_of::<C>()`
    // (`WdfConfig`'s invariant), so it fits `read`; the caller guarantees
    // `Size` readable bytes at `p`; the two do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), std::ptr::from_mut(&mut read).cast::<u8>(), bytes) };
    Ok(read)
}

/// The prologue of a create-DDI without a config: the out-pointer `out`
/// (named `name`) non-NULL, cleared to NULL first when `clear` (the DDIs
/// that document a NULL handle on failure: the key-opening ones, F12);
/// `check` (the DDI's own checks of its other parameters); the attributes;
/// the parent.
///
/// # Safety
/// `out` is null or writable; `attrs` null or valid.
pub(crate) unsafe fn with_out<T>(
    out: *mut *mut T,
    name: &'static str,
    clear: bool,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    parent: Parent,
    check: impl FnOnce() -> Result<(), NTSTATUS>,
) -> Result<Attributes, NTSTATUS> {
    first_null(&[Required(name, out.is_null())])?;
    if clear {
        // SAFETY: checked non-null; writable by the caller's contract.
        unsafe { out.write(std::ptr::null_mut()) };
    }
    check()?;
    // SAFETY: the caller's contract.
    unsafe { attributes(attrs, parent) }
}

/// The end of a create-DDI: the model's answer (`None`: the machine has
/// stopped) as a status, the new handle written to `out` on success. A NULL
/// `out` is skipped (the DDIs whose handle is optional; the others checked
/// it in their prologue).
///
/// # Safety
/// `out` is null or writable.
pub(crate) unsafe fn deliver<T>(created: Option<Result<u64, NTSTATUS>>, out: *mut *mut T) -> NTSTATUS {
    match created {
        None => crate::model::STOPPED_STATUS,
        Some(Err(status)) => status,
        Some(Ok(handle)) => {
            if !out.is_null() {
                // SAFETY: non-null; writable by the caller's contract.
                unsafe { out.write(handle as *mut T) };
            }
            STATUS_SUCCESS
        }
    }
}
