//! Keys whose WDF parent object is a request or device the caller is working
//! on: the key borrows the parent, so it cannot outlive it ([K3]).
//!
//! [K3]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k3

use crate::error::Error;
use crate::key::RegKey;
use crate::sys::{WDFDEVICE, WDFDRIVER, WDFOBJECT, WDFQUEUE, WDFREQUEST};
use core::marker::PhantomData;

mod sealed {
    pub trait Sealed {}
}

/// A framework handle type that can be a key's parent object.
pub trait WdfHandle: Copy + sealed::Sealed {
    /// The handle as a `WDFOBJECT`.
    fn as_object(self) -> WDFOBJECT;
}

macro_rules! wdf_handle {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl WdfHandle for $t {
            fn as_object(self) -> WDFOBJECT {
                self.cast()
            }
        }
    )*};
}
wdf_handle!(WDFREQUEST, WDFDEVICE, WDFQUEUE, WDFDRIVER, WDFOBJECT);

/// A framework object borrowed as the parent of keys opened for a scope.
///
/// Made from a reference to the handle variable the caller holds (a
/// callback's `request` or `device` parameter), so a key scoped to it cannot
/// leave the scope where that variable lives.
///
/// # Invariants
/// `raw` is a framework object that stays alive (is not deleted) for `'p`.
#[derive(Debug, Clone, Copy)]
pub struct ParentObject<'p> {
    raw: WDFOBJECT,
    _life: PhantomData<&'p ()>,
}

impl<'p> ParentObject<'p> {
    /// Borrows `*handle` as a parent for `'p`.
    ///
    /// # Safety
    /// The object is live and is not deleted while `'p` lasts — for a
    /// request: not completed, since completion ends it ([K3]).
    ///
    /// [K3]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k3
    pub unsafe fn from_handle<H: WdfHandle>(handle: &'p H) -> Self {
        // INVARIANT: the caller guarantees the object outlives `'p`.
        ParentObject { raw: handle.as_object(), _life: PhantomData }
    }

    pub(crate) fn raw(&self) -> WDFOBJECT {
        self.raw
    }
}

/// A [`RegKey`] whose WDF parent is a borrowed [`ParentObject`]: it derefs to
/// the key and cannot outlive `'p` ([K3]). Dropping it deletes the key, as a
/// `RegKey` does; the framework would otherwise delete it with the parent.
///
/// [K3]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k3
#[derive(Debug)]
pub struct ScopedKey<'p> {
    key: RegKey,
    _parent: PhantomData<&'p ()>,
}

impl<'p> ScopedKey<'p> {
    pub(crate) fn new(key: RegKey, _parent: ParentObject<'p>) -> Self {
        ScopedKey { key, _parent: PhantomData }
    }

    /// [`RegKey::remove`] for a scoped key.
    pub fn remove(self) -> Result<(), (ScopedKey<'p>, Error)> {
        self.key.remove().map_err(|(key, e)| (ScopedKey { key, _parent: PhantomData }, e))
    }
}

impl core::ops::Deref for ScopedKey<'_> {
    type Target = RegKey;
    fn deref(&self) -> &RegKey {
        &self.key
    }
}
