//! What every create-DDI checks before it creates anything, and how it hands
//! the new handle back: one prologue, parameterised by the config type, and
//! one delivery.
//!
//! The order is the framework's: required pointers first (0x10D
//! WDF_REQUIRED_PARAMETER_IS_NULL naming the first NULL one, F20, F54), then
//! the config's `Size`, then the DDI's own checks of the config's fields,
//! then the object attributes (`read_attributes`, F11), then the parent.

use crate::abi::*;
use crate::model::framework::objects::{Attributes, read_attributes};
use crate::model::framework::verifier::required_null;

/// A create-DDI's config structure.
pub(crate) trait WdfConfig: Copy {
    /// The parameter's name in the DDI's signature, as the 0x10D note names it.
    const PARAMETER: &'static str;
    /// The `Size` the driver wrote (`WDF_*_CONFIG_INIT` writes the 1.33 size).
    fn size(&self) -> ULONG;
}

macro_rules! wdf_config {
    ($($config:ty => $parameter:literal),+ $(,)?) => {
        $(impl WdfConfig for $config {
            const PARAMETER: &'static str = $parameter;
            fn size(&self) -> ULONG {
                self.Size
            }
        })+
    };
}

wdf_config!(
    WDF_DRIVER_CONFIG => "DriverConfig",
    WDF_IO_QUEUE_CONFIG => "Config",
    WDF_TIMER_CONFIG => "Config",
    WDF_WORKITEM_CONFIG => "Config",
);

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
fn first_null(required: &[Required]) -> Result<(), NTSTATUS> {
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
/// then `required` non-NULL; `config.Size` the 1.33 size
/// (STATUS_INFO_LENGTH_MISMATCH otherwise: ASSUMPTION, the framework checks
/// it, F64, the exact status is not in the facts); `check` (the DDI's own
/// checks of the config's fields, which may hand back what they read); the
/// attributes; the parent.
///
/// # Safety
/// `config` is null or a readable `C`; `attrs` null or valid.
pub(crate) unsafe fn with_config<C: WdfConfig, X>(
    config: *const C,
    required: &[Required],
    attrs: PWDF_OBJECT_ATTRIBUTES,
    parent: Parent,
    check: impl FnOnce(&C) -> Result<X, NTSTATUS>,
) -> Result<(C, X, Attributes), NTSTATUS> {
    first_null(&[Required(C::PARAMETER, config.is_null())])?;
    first_null(required)?;
    // SAFETY: checked non-null; readable by the caller's contract.
    let config = unsafe { *config };
    if config.size() as usize != size_of::<C>() {
        return Err(STATUS_INFO_LENGTH_MISMATCH);
    }
    let checked = check(&config)?;
    // SAFETY: the caller's contract.
    Ok((config, checked, unsafe { attributes(attrs, parent) }?))
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
