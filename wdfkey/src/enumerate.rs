//! Subkeys, values and key information, read through the lent WDM handle
//! ([K2]: borrowed for the call, never closed). PASSIVE_LEVEL ([F39] family).
#![doc = doc_links!()]

use crate::error::{Error, Result};
use crate::key::RegKey;
use crate::sys::ntddk::{ZwEnumerateKey, ZwEnumerateValueKey, ZwQueryKey};
use crate::sys::{
    _KEY_INFORMATION_CLASS, _KEY_VALUE_INFORMATION_CLASS, KEY_BASIC_INFORMATION, KEY_FULL_INFORMATION,
    KEY_VALUE_BASIC_INFORMATION, NTSTATUS, STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL, STATUS_NO_MORE_ENTRIES,
};
use alloc::vec::Vec;
use core::mem::offset_of;

/// Counts and longest lengths of a key (`KEY_FULL_INFORMATION`).
///
/// # Examples
/// ```
/// use wdfkey::{Access, KeyInfo, RegKey, Volatility};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// key.create_subkey("Sub", Access::ALL, Volatility::NonVolatile)?;
/// key.assign_u32("Level", 4)?;
/// let info: KeyInfo = key.info()?;
/// assert_eq!((info.subkeys, info.values, info.max_value_data_bytes), (1, 1, 4));
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// Number of subkeys.
    pub subkeys: u32,
    /// Number of values.
    pub values: u32,
    /// Longest subkey name, in bytes.
    pub max_subkey_name_bytes: u32,
    /// Longest value name, in bytes.
    pub max_value_name_bytes: u32,
    /// Largest value data, in bytes.
    pub max_value_data_bytes: u32,
}

/// An 8-byte aligned, fallibly grown buffer for `KEY_*_INFORMATION` records.
struct InfoBuffer(Vec<u64>);

impl InfoBuffer {
    fn with_bytes(bytes: usize) -> Result<Self> {
        let mut v = Vec::new();
        let words = bytes.div_ceil(8);
        v.try_reserve_exact(words).map_err(|_| Error::no_memory())?;
        v.resize(words, 0);
        Ok(InfoBuffer(v))
    }

    fn len(&self) -> u32 {
        u32::try_from(self.0.len() * 8).unwrap_or(u32::MAX)
    }

    /// Byte `i` of the record in memory order (the kernel writes native
    /// integers; no `unsafe` reinterpretation needed).
    fn byte(&self, i: usize) -> Option<u8> {
        self.0.get(i / 8).map(|w| w.to_ne_bytes()[i % 8])
    }

    fn u32_at(&self, offset: usize) -> u32 {
        let b = |k| self.byte(offset + k).unwrap_or(0);
        u32::from_ne_bytes([b(0), b(1), b(2), b(3)])
    }

    /// `len` bytes of UTF-16 at `offset`, as units (fallibly allocated).
    fn utf16_at(&self, offset: usize, len: usize) -> Result<Vec<u16>> {
        if offset + len > self.0.len() * 8 {
            return Err(Error::OVERFLOW);
        }
        let mut units = Vec::new();
        units.try_reserve_exact(len / 2).map_err(|_| Error::no_memory())?;
        for i in (0..len / 2 * 2).step_by(2) {
            let b = |k| self.byte(offset + i + k).unwrap_or(0);
            units.push(u16::from_ne_bytes([b(0), b(1)]));
        }
        Ok(units)
    }
}

/// Calls `query(buffer, len, &mut needed)` until the record fits, growing the
/// buffer to the length the routine asks for (BUFFER_OVERFLOW/TOO_SMALL).
fn fill(first: usize, mut query: impl FnMut(&mut InfoBuffer, &mut u32) -> NTSTATUS) -> Result<Option<InfoBuffer>> {
    let mut buffer = InfoBuffer::with_bytes(first)?;
    for _ in 0..4 {
        let mut needed = 0u32;
        match query(&mut buffer, &mut needed) {
            STATUS_NO_MORE_ENTRIES => return Ok(None),
            STATUS_BUFFER_OVERFLOW | STATUS_BUFFER_TOO_SMALL if needed > buffer.len() => {
                buffer = InfoBuffer::with_bytes(needed as usize)?;
            }
            status => {
                crate::error::check(status)?;
                return Ok(Some(buffer));
            }
        }
    }
    Err(Error::OVERFLOW)
}

/// The `Name` of a `KEY_BASIC_INFORMATION` record.
fn basic_info_name(buffer: &InfoBuffer) -> Result<Vec<u16>> {
    let len = buffer.u32_at(offset_of!(KEY_BASIC_INFORMATION, NameLength)) as usize;
    buffer.utf16_at(offset_of!(KEY_BASIC_INFORMATION, Name), len)
}

impl RegKey {
    /// Counts and longest lengths (`ZwQueryKey`, `KeyFullInformation`).
    /// IRQL: PASSIVE_LEVEL (the `Zw*` routines, [K4]); the handle is lent for the call only ([K2]).
    ///
    /// # Errors
    /// The status of `ZwQueryKey` (e.g. `STATUS_ACCESS_DENIED` without
    /// `KEY_QUERY_VALUE`).
    #[doc = doc_links!()]
    pub fn info(&self) -> Result<KeyInfo> {
        let handle = self.wdm_handle().raw();
        let buffer = fill(size_of::<KEY_FULL_INFORMATION>(), |buf, needed| {
            let len = buf.len();
            // SAFETY: K2 — the handle is lent by `self` for this call and not
            // closed; `buf` has `len` writable, 8-byte aligned bytes.
            unsafe {
                ZwQueryKey(handle, _KEY_INFORMATION_CLASS::KeyFullInformation, buf.0.as_mut_ptr().cast(), len, needed)
            }
        })?
        .ok_or(Error::NO_MORE_ENTRIES)?;
        Ok(KeyInfo {
            subkeys: buffer.u32_at(offset_of!(KEY_FULL_INFORMATION, SubKeys)),
            values: buffer.u32_at(offset_of!(KEY_FULL_INFORMATION, Values)),
            max_subkey_name_bytes: buffer.u32_at(offset_of!(KEY_FULL_INFORMATION, MaxNameLen)),
            max_value_name_bytes: buffer.u32_at(offset_of!(KEY_FULL_INFORMATION, MaxValueNameLen)),
            max_value_data_bytes: buffer.u32_at(offset_of!(KEY_FULL_INFORMATION, MaxValueDataLen)),
        })
    }

    /// The key's own name — the last component of its path, as the
    /// registry stores it (UTF-16) — from `ZwQueryKey` with
    /// `KeyBasicInformation`.
    /// IRQL: PASSIVE_LEVEL (the `Zw*` routines, [K4]); the handle is lent for the call only ([K2]).
    ///
    /// # Errors
    /// The status of `ZwQueryKey` (e.g. `STATUS_ACCESS_DENIED` without
    /// `KEY_QUERY_VALUE`); `STATUS_INSUFFICIENT_RESOURCES` if the buffer
    /// cannot be allocated.
    ///
    /// # Examples
    /// ```
    /// use wdfkey::{Access, RegKey};
    /// # let m = kmdf_sim::control::Machine::new(Default::default());
    /// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example\Device 7]").unwrap();
    /// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
    /// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example\Device 7", Access::READ)?;
    /// assert_eq!(String::from_utf16_lossy(&key.name()?), "Device 7");
    /// # Ok(()) }).unwrap().unwrap();
    /// ```
    #[doc = doc_links!()]
    pub fn name(&self) -> Result<Vec<u16>> {
        let handle = self.wdm_handle().raw();
        let name_offset = offset_of!(KEY_BASIC_INFORMATION, Name);
        let buffer = fill(name_offset + 64, |buf, needed| {
            let len = buf.len();
            // SAFETY: K2 — lent handle, not closed; `buf` has `len` writable bytes.
            unsafe {
                ZwQueryKey(handle, _KEY_INFORMATION_CLASS::KeyBasicInformation, buf.0.as_mut_ptr().cast(), len, needed)
            }
        })?
        .ok_or(Error::NO_MORE_ENTRIES)?;
        basic_info_name(&buffer)
    }

    /// The name of the `index`th subkey (UTF-16), or `None` past the last one
    /// (`ZwEnumerateKey`, `KeyBasicInformation`).
    /// IRQL: PASSIVE_LEVEL (the `Zw*` routines, [K4]); the handle is lent for the call only ([K2]).
    ///
    /// # Errors
    /// The status of `ZwEnumerateKey` (e.g. `STATUS_ACCESS_DENIED` without
    /// `KEY_ENUMERATE_SUB_KEYS`).
    #[doc = doc_links!()]
    pub fn subkey_name(&self, index: u32) -> Result<Option<Vec<u16>>> {
        let handle = self.wdm_handle().raw();
        let name_offset = offset_of!(KEY_BASIC_INFORMATION, Name);
        let buffer = fill(name_offset + 64, |buf, needed| {
            let len = buf.len();
            // SAFETY: K2 — lent handle, not closed; `buf` has `len` writable bytes.
            unsafe {
                ZwEnumerateKey(
                    handle,
                    index,
                    _KEY_INFORMATION_CLASS::KeyBasicInformation,
                    buf.0.as_mut_ptr().cast(),
                    len,
                    needed,
                )
            }
        })?;
        let Some(buffer) = buffer else { return Ok(None) };
        basic_info_name(&buffer).map(Some)
    }

    /// The name and `REG_*` type of the `index`th value, or `None` past the
    /// last one (`ZwEnumerateValueKey`, `KeyValueBasicInformation`).
    /// IRQL: PASSIVE_LEVEL (the `Zw*` routines, [K4]); the handle is lent for the call only ([K2]).
    ///
    /// # Errors
    /// The status of `ZwEnumerateValueKey`.
    #[doc = doc_links!()]
    pub fn value_name(&self, index: u32) -> Result<Option<(Vec<u16>, u32)>> {
        let handle = self.wdm_handle().raw();
        let name_offset = offset_of!(KEY_VALUE_BASIC_INFORMATION, Name);
        let buffer = fill(name_offset + 64, |buf, needed| {
            let len = buf.len();
            // SAFETY: K2 — lent handle, not closed; `buf` has `len` writable bytes.
            unsafe {
                ZwEnumerateValueKey(
                    handle,
                    index,
                    _KEY_VALUE_INFORMATION_CLASS::KeyValueBasicInformation,
                    buf.0.as_mut_ptr().cast(),
                    len,
                    needed,
                )
            }
        })?;
        let Some(buffer) = buffer else { return Ok(None) };
        let kind = buffer.u32_at(offset_of!(KEY_VALUE_BASIC_INFORMATION, Type));
        let len = buffer.u32_at(offset_of!(KEY_VALUE_BASIC_INFORMATION, NameLength)) as usize;
        buffer.utf16_at(name_offset, len).map(|n| Some((n, kind)))
    }

    /// Every subkey name, in enumeration order (stops at the first error).
    /// IRQL: PASSIVE_LEVEL (the `Zw*` routines, [K4]); the handle is lent for the call only ([K2]).
    #[doc = doc_links!()]
    pub fn subkey_names(&self) -> impl Iterator<Item = Result<Vec<u16>>> + '_ {
        (0u32..).map_while(move |i| self.subkey_name(i).transpose())
    }

    /// Every value name and type, in enumeration order.
    /// IRQL: PASSIVE_LEVEL (the `Zw*` routines, [K4]); the handle is lent for the call only ([K2]).
    #[doc = doc_links!()]
    pub fn value_names(&self) -> impl Iterator<Item = Result<(Vec<u16>, u32)>> + '_ {
        (0u32..).map_while(move |i| self.value_name(i).transpose())
    }
}
