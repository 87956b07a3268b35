//! The WDM handle inside a key, lent — never owned ([K2]).
#![doc = doc_links!()]

use crate::key::RegKey;
use crate::sys::HANDLE;
use core::marker::PhantomData;

/// The WDM registry handle of a [`RegKey`], borrowed from it.
///
/// Like std's `BorrowedHandle<'a>`: `Copy`, cannot outlive the key it came
/// from, and has no way to be closed. The handle belongs to the framework's
/// key object, which closes it when the key is deleted ([F2], [F6]); closing it
/// yourself is the bug this crate exists to prevent.
///
/// What it guarantees: safe code can neither close the handle nor use it
/// after the key is dropped (a compile error: the borrow of the key). The
/// one escape is `unsafe { handle.as_raw() }`, which yields the raw `HANDLE`
/// for a routine this crate does not wrap; closing that with `ZwClose`,
/// `NtClose` or `ObCloseHandle` is what the shipped clippy configuration,
/// `wdfkey-diag scan` and `kmdf-sim` each catch ([K2]).
///
/// `#[repr(transparent)]` over `HANDLE`; neither `Send` nor `Sync`, like the
/// key it borrows ([`RegKey`] says why).
///
/// # Invariants
/// `raw` is the live WDM handle of a `RegKey` that outlives `'a` ([K2]).
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::READ)?;
/// let handle = key.wdm_handle(); // a borrow of `key`: it cannot outlive it
/// let mut buf = [0u64; 8];       // KEY_BASIC_INFORMATION is 8-byte aligned
/// let mut needed = 0u32;
/// // SAFETY: the raw handle is only lent to ZwQueryKey below, never closed,
/// // and not used after `key` is dropped.
/// let raw = unsafe { handle.as_raw() };
/// // SAFETY: `raw` is live (as above); `buf` has the length passed.
/// let status = unsafe {
///     wdfkey::sys::ntddk::ZwQueryKey(
///         raw,
///         wdfkey::sys::_KEY_INFORMATION_CLASS::KeyBasicInformation,
///         buf.as_mut_ptr().cast(),
///         size_of_val(&buf) as u32,
///         &mut needed,
///     )
/// };
/// wdfkey::Error::check(status)?;
/// drop(key); // `handle` cannot be used after this line
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[doc = doc_links!()]
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct KeyHandle<'a> {
    raw: HANDLE,
    _key: PhantomData<&'a RegKey>,
}

impl<'a> KeyHandle<'a> {
    /// INVARIANT: the caller passes the live handle of `_key`.
    pub(crate) fn new(raw: HANDLE, _key: &'a RegKey) -> Self {
        KeyHandle { raw, _key: PhantomData }
    }

    /// The raw `HANDLE`, for a `Zw*` routine this crate does not wrap.
    ///
    /// # Safety
    /// The handle must not be closed (no `ZwClose`, `NtClose`,
    /// `ObCloseHandle`: the framework's key object owns it, [K2]) and must not
    /// be used after the `RegKey` it came from is dropped or consumed.
    #[doc = doc_links!()]
    pub unsafe fn as_raw(self) -> HANDLE {
        self.raw
    }

    /// The handle for this crate's own `Zw*` calls (which never close it).
    pub(crate) fn raw(self) -> HANDLE {
        self.raw
    }
}
