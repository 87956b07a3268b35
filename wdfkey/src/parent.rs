//! Keys whose WDF parent object is a request or device the caller is working
//! on: the key borrows the parent, so it cannot outlive it ([K3]).
#![doc = doc_links!()]

use crate::error::Error;
use crate::key::RegKey;
use crate::sys::{WDFDEVICE, WDFDRIVER, WDFOBJECT, WDFQUEUE, WDFREQUEST};
use core::marker::PhantomData;

mod sealed {
    pub trait Sealed {}
}

/// A framework handle type that can be a key's parent object.
///
/// # Examples
/// ```
/// use wdfkey::{Access, ParentObject, RegKey, ScopedKey, WdfHandle};
/// # use wdfkey::sys::*;
/// # extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
/// #     let mut config = WDF_DRIVER_CONFIG { Size: size_of::<WDF_DRIVER_CONFIG>() as u32, ..Default::default() };
/// #     // SAFETY: the loader's arguments; `config` is a local.
/// #     unsafe { call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, WDF_NO_OBJECT_ATTRIBUTES, &mut config, WDF_NO_HANDLE.cast()) }
/// # }
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.load("example.sys", "example", Some(driver_entry)).unwrap();
/// # let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").unwrap().0 as WDFDRIVER;
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// // SAFETY: `driver` is this driver's live WDFDRIVER (any WdfHandle type:
/// // a request or device in its callback), not deleted while `parent` lives.
/// let parent = unsafe { ParentObject::from_handle(&driver) };
/// // SAFETY: as above.
/// let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
/// state.create_subkey("Item", Access::ALL, wdfkey::Volatility::NonVolatile)?;
/// let item: ScopedKey<'_> = state.open_subkey_scoped("Item", Access::READ, parent)?;
/// assert!(item.query_u32("Value").is_err()); // a ScopedKey derefs to RegKey
/// drop(item); // before the parent goes: the borrow of `driver` enforces it
/// # Ok(()) }).unwrap().unwrap();
/// ```
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
///
/// # Examples
/// ```
/// use wdfkey::{Access, ParentObject, RegKey, ScopedKey, WdfHandle};
/// # use wdfkey::sys::*;
/// # extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
/// #     let mut config = WDF_DRIVER_CONFIG { Size: size_of::<WDF_DRIVER_CONFIG>() as u32, ..Default::default() };
/// #     // SAFETY: the loader's arguments; `config` is a local.
/// #     unsafe { call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, WDF_NO_OBJECT_ATTRIBUTES, &mut config, WDF_NO_HANDLE.cast()) }
/// # }
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.load("example.sys", "example", Some(driver_entry)).unwrap();
/// # let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").unwrap().0 as WDFDRIVER;
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// // SAFETY: `driver` is this driver's live WDFDRIVER (any WdfHandle type:
/// // a request or device in its callback), not deleted while `parent` lives.
/// let parent = unsafe { ParentObject::from_handle(&driver) };
/// // SAFETY: as above.
/// let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
/// state.create_subkey("Item", Access::ALL, wdfkey::Volatility::NonVolatile)?;
/// let item: ScopedKey<'_> = state.open_subkey_scoped("Item", Access::READ, parent)?;
/// assert!(item.query_u32("Value").is_err()); // a ScopedKey derefs to RegKey
/// drop(item); // before the parent goes: the borrow of `driver` enforces it
/// # Ok(()) }).unwrap().unwrap();
/// ```
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
    #[doc = doc_links!()]
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
/// # Examples
/// ```
/// use wdfkey::{Access, ParentObject, RegKey, ScopedKey, WdfHandle};
/// # use wdfkey::sys::*;
/// # extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
/// #     let mut config = WDF_DRIVER_CONFIG { Size: size_of::<WDF_DRIVER_CONFIG>() as u32, ..Default::default() };
/// #     // SAFETY: the loader's arguments; `config` is a local.
/// #     unsafe { call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, WDF_NO_OBJECT_ATTRIBUTES, &mut config, WDF_NO_HANDLE.cast()) }
/// # }
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.load("example.sys", "example", Some(driver_entry)).unwrap();
/// # let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").unwrap().0 as WDFDRIVER;
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// // SAFETY: `driver` is this driver's live WDFDRIVER (any WdfHandle type:
/// // a request or device in its callback), not deleted while `parent` lives.
/// let parent = unsafe { ParentObject::from_handle(&driver) };
/// // SAFETY: as above.
/// let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
/// state.create_subkey("Item", Access::ALL, wdfkey::Volatility::NonVolatile)?;
/// let item: ScopedKey<'_> = state.open_subkey_scoped("Item", Access::READ, parent)?;
/// assert!(item.query_u32("Value").is_err()); // a ScopedKey derefs to RegKey
/// drop(item); // before the parent goes: the borrow of `driver` enforces it
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[doc = doc_links!()]
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
