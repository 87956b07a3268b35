//! The WDM handle inside a key, lent — never owned ([K2]).
//!
//! [K2]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k2

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
/// [F2]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/facts.md#f2
/// [F6]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/facts.md#f6
///
/// # Invariants
/// `raw` is the live WDM handle of a `RegKey` that outlives `'a` ([K2]).
///
/// [K2]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k2
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
    ///
    /// [K2]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k2
    pub unsafe fn as_raw(self) -> HANDLE {
        self.raw
    }

    /// The handle for this crate's own `Zw*` calls (which never close it).
    pub(crate) fn raw(self) -> HANDLE {
        self.raw
    }
}
