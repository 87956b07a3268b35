//! Typed values: query and assign `REG_DWORD`, `REG_QWORD`, `REG_SZ`,
//! `REG_EXPAND_SZ`, `REG_MULTI_SZ`, `REG_BINARY`; remove values. All at
//! PASSIVE_LEVEL ([F19]); all allocation fallible ([K5]).
#![doc = doc_links!()]

use crate::error::{Error, Result, check};
use crate::key::RegKey;
use crate::name::{IntoRegName, MAX_NAME_UNITS, RegName};
use crate::sys::{
    NTSTATUS, REG_BINARY, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ, STATUS_BUFFER_OVERFLOW, UNICODE_STRING,
    call_unsafe_wdf_function_binding,
};
use alloc::vec::Vec;

/// How often an allocating query retries when the value grew between the
/// size probe and the read.
const RETRIES: usize = 4;

/// What [`RegKey::query_value_into`] read: the length and the `REG_*` type.
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey, ValueInfo};
/// use wdfkey::sys::REG_BINARY;
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// key.assign_binary("Blob", &[1, 2, 3])?;
/// let mut buf = [0u8; 16];
/// assert_eq!(key.query_value_into("Blob", &mut buf)?, ValueInfo { len: 3, kind: REG_BINARY });
/// // Too small: the error carries the length the value needs.
/// assert_eq!(key.query_value_into("Blob", &mut buf[..1]).unwrap_err().needed(), Some(3));
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueInfo {
    /// Bytes of data.
    pub len: u32,
    /// `REG_*` type.
    pub kind: u32,
}

/// A `REG_MULTI_SZ` value: its strings, in order.
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// key.assign_multi_string("Ports", &["COM1", "COM2"])?;
/// let ports = key.query_multi_string("Ports")?;
/// let ports: Vec<String> = ports.iter().map(String::from_utf16_lossy).collect();
/// assert_eq!(ports, ["COM1", "COM2"]);
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiString {
    /// UTF-16 units: each string followed by a NUL, then a final NUL.
    units: Vec<u16>,
}

impl MultiString {
    /// The strings (UTF-16, without NULs).
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    #[doc = doc_links!()]
    pub fn iter(&self) -> impl Iterator<Item = &[u16]> {
        self.units.split(|&u| u == 0).take_while(|s| !s.is_empty())
    }
}

fn to_u32(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::INVALID_PARAMETER)
}

/// UTF-16 of `s` plus a NUL, fallibly allocated; `s` must hold no NUL.
fn utf16_z(s: &str) -> Result<Vec<u16>> {
    if s.contains('\0') {
        return Err(Error::INVALID_PARAMETER);
    }
    let mut v = Vec::new();
    v.try_reserve_exact(s.len() + 1).map_err(|_| Error::no_memory())?;
    v.extend(s.encode_utf16());
    v.push(0);
    Ok(v)
}

fn le_bytes(units: &[u16]) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(units.len() * 2).map_err(|_| Error::no_memory())?;
    v.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    Ok(v)
}

impl RegKey {
    /// `WdfRegistryQueryValue` into `buf` ([F21], [F22]): `(len, type)` on
    /// success; `STATUS_BUFFER_OVERFLOW` with the needed byte count when
    /// `buf` is too small (an empty `buf` just probes).
    #[doc = doc_links!()]
    fn query_raw(&self, name: &RegName<'_>, buf: &mut [u8]) -> (NTSTATUS, ValueInfo) {
        let us = name.unicode_string();
        let capacity = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let ptr = if buf.is_empty() { core::ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        let (mut len, mut kind) = (0u32, 0u32);
        // SAFETY: K1 — live key; `us` borrows `name`; `ptr` is null or
        // `capacity` writable bytes of `buf`; the outs are locals (F21).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryValue,
                self.as_raw(),
                &us,
                capacity,
                ptr,
                &mut len,
                &mut kind
            )
        };
        (status, ValueInfo { len, kind })
    }

    /// Reads a value of any type into `buf`: its length and type.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_BUFFER_OVERFLOW` with [`Error::needed`] = the byte count when
    /// `buf` is too small ([F21]); `STATUS_OBJECT_NAME_NOT_FOUND` if absent.
    #[doc = doc_links!()]
    pub fn query_value_into<'n>(&self, name: impl IntoRegName<'n>, buf: &mut [u8]) -> Result<ValueInfo> {
        let name = name.into_reg_name()?;
        match self.query_raw(&name, buf) {
            (STATUS_BUFFER_OVERFLOW, info) => Err(Error::overflow(info.len)),
            (status, info) => check(status).map(|()| info),
        }
    }

    /// Reads a whole value of type `kind` into a fallibly allocated buffer.
    fn query_alloc(&self, name: &RegName<'_>, kinds: &[u32]) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        for _ in 0..RETRIES {
            match self.query_raw(name, &mut buf) {
                (STATUS_BUFFER_OVERFLOW, info) => {
                    if !kinds.contains(&info.kind) {
                        return Err(Error::TYPE_MISMATCH);
                    }
                    let want = info.len as usize;
                    buf.try_reserve_exact(want.saturating_sub(buf.len())).map_err(|_| Error::no_memory())?;
                    buf.resize(want, 0);
                }
                (status, info) => {
                    check(status)?;
                    if !kinds.contains(&info.kind) {
                        return Err(Error::TYPE_MISMATCH);
                    }
                    buf.truncate(info.len as usize);
                    return Ok(buf);
                }
            }
        }
        Err(Error::OVERFLOW)
    }

    /// Reads a `REG_DWORD` (`WdfRegistryQueryULong`, [F23]).
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_OBJECT_NAME_NOT_FOUND` if absent, `STATUS_OBJECT_TYPE_MISMATCH`
    /// for another type.
    #[doc = doc_links!()]
    pub fn query_u32<'n>(&self, name: impl IntoRegName<'n>) -> Result<u32> {
        let name = name.into_reg_name()?;
        let us = name.unicode_string();
        let mut value = 0u32;
        // SAFETY: K1 — live key; `us` borrows `name`; `value` is a local (F23).
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, self.as_raw(), &us, &mut value) };
        check(status).map(|()| value)
    }

    /// Reads a `REG_QWORD`.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As [`RegKey::query_u32`]; a `REG_QWORD` that is not 8 bytes long is a
    /// type mismatch.
    #[doc = doc_links!()]
    pub fn query_u64<'n>(&self, name: impl IntoRegName<'n>) -> Result<u64> {
        let name = name.into_reg_name()?;
        let mut buf = [0u8; 8];
        match self.query_raw(&name, &mut buf) {
            (_, info) if info.kind != REG_QWORD && info.len != 0 => Err(Error::TYPE_MISMATCH),
            (status, info) => {
                check(status)?;
                if info.kind != REG_QWORD || info.len != 8 {
                    return Err(Error::TYPE_MISMATCH);
                }
                Ok(u64::from_le_bytes(buf))
            }
        }
    }

    /// Reads a `REG_SZ` / `REG_EXPAND_SZ` into `buf` (UTF-16, no NUL) with
    /// `WdfRegistryQueryUnicodeString` ([F24]); returns the units read.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_BUFFER_OVERFLOW` with [`Error::needed`] = UTF-16 units
    /// (including the NUL) when `buf` is too small; the type errors of [F24].
    #[doc = doc_links!()]
    pub fn query_string_into<'n>(&self, name: impl IntoRegName<'n>, buf: &mut [u16]) -> Result<usize> {
        let name = name.into_reg_name()?;
        if buf.is_empty() {
            // F24: a zero MaximumLength is STATUS_INVALID_PARAMETER; probe instead.
            return match self.query_raw(&name, &mut []) {
                (_, info) if info.kind != REG_SZ && info.kind != REG_EXPAND_SZ && info.len != 0 => {
                    Err(Error::TYPE_MISMATCH)
                }
                (STATUS_BUFFER_OVERFLOW, info) => Err(Error::overflow(info.len / 2)),
                (status, _) => check(status).map(|()| 0),
            };
        }
        let name_us = name.unicode_string();
        let max = u16::try_from(buf.len().min(MAX_NAME_UNITS) * 2).unwrap_or(u16::MAX - 1);
        let mut value = UNICODE_STRING { Length: 0, MaximumLength: max, Buffer: buf.as_mut_ptr() };
        let mut bytes = 0u16;
        // SAFETY: K1 — live key; `value` points at `max` writable bytes of
        // `buf`; `bytes` is a local (F24).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryUnicodeString,
                self.as_raw(),
                &name_us,
                &mut bytes,
                &mut value
            )
        };
        if status == STATUS_BUFFER_OVERFLOW {
            return Err(Error::overflow(u32::from(bytes) / 2));
        }
        check(status).map(|()| usize::from(value.Length) / 2)
    }

    /// Reads a `REG_SZ` / `REG_EXPAND_SZ` into a fallibly allocated buffer
    /// (UTF-16, without the NUL).
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As [`RegKey::query_string_into`]; `STATUS_INSUFFICIENT_RESOURCES` if
    /// the buffer cannot be allocated.
    #[doc = doc_links!()]
    pub fn query_string<'n>(&self, name: impl IntoRegName<'n>) -> Result<Vec<u16>> {
        let name = name.into_reg_name()?;
        let bytes = self.query_alloc(&name, &[REG_SZ, REG_EXPAND_SZ])?;
        let mut units: Vec<u16> = Vec::new();
        units.try_reserve_exact(bytes.len() / 2).map_err(|_| Error::no_memory())?;
        units.extend(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
        while units.last() == Some(&0) {
            units.pop();
        }
        Ok(units)
    }

    /// Reads a `REG_MULTI_SZ`. Like the framework's own query ([F25]): an
    /// empty value is `STATUS_RESOURCE_DATA_NOT_FOUND`, and data that is not
    /// an even length ending in two NULs is `STATUS_OBJECT_TYPE_MISMATCH`.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As above; `STATUS_OBJECT_NAME_NOT_FOUND` if absent.
    #[doc = doc_links!()]
    pub fn query_multi_string<'n>(&self, name: impl IntoRegName<'n>) -> Result<MultiString> {
        let name = name.into_reg_name()?;
        let bytes = self.query_alloc(&name, &[REG_MULTI_SZ])?;
        if bytes.is_empty() {
            return Err(Error::DATA_NOT_FOUND);
        }
        if bytes.len() % 2 != 0 || bytes.len() < 4 || bytes[bytes.len() - 4..] != [0, 0, 0, 0] {
            return Err(Error::TYPE_MISMATCH);
        }
        let mut units = Vec::new();
        units.try_reserve_exact(bytes.len() / 2).map_err(|_| Error::no_memory())?;
        units.extend(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
        Ok(MultiString { units })
    }

    /// Reads a `REG_BINARY` into a fallibly allocated buffer.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_OBJECT_TYPE_MISMATCH` for another type; as above otherwise.
    #[doc = doc_links!()]
    pub fn query_binary<'n>(&self, name: impl IntoRegName<'n>) -> Result<Vec<u8>> {
        let name = name.into_reg_name()?;
        self.query_alloc(&name, &[REG_BINARY])
    }

    /// `WdfRegistryAssignValue` ([F26]).
    #[doc = doc_links!()]
    fn assign_raw(&self, name: &RegName<'_>, kind: u32, data: &[u8]) -> Result<()> {
        let us = name.unicode_string();
        let len = to_u32(data.len())?;
        // An empty value still needs a valid pointer (the framework checks it, F20).
        let mut empty = [0u8; 1];
        let ptr = if data.is_empty() { empty.as_mut_ptr() } else { data.as_ptr().cast_mut() };
        // SAFETY: K1 — live key; `us` borrows `name`; `ptr` has `len`
        // readable bytes and is only read (F26).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfRegistryAssignValue, self.as_raw(), &us, kind, len, ptr.cast())
        };
        check(status)
    }

    /// Writes raw data of any `REG_*` type (`WdfRegistryAssignValue`, [F26]);
    /// the caller vouches that `data` is well formed for `kind`.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As [`RegKey::assign_u32`]; `STATUS_INVALID_PARAMETER` above 4 GiB.
    #[doc = doc_links!()]
    pub fn assign_value<'n>(&self, name: impl IntoRegName<'n>, kind: u32, data: &[u8]) -> Result<()> {
        self.assign_raw(&name.into_reg_name()?, kind, data)
    }

    /// Writes a `REG_DWORD` (`WdfRegistryAssignULong`, [F26]). Needs write access.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_ACCESS_DENIED` on a key opened without `KEY_SET_VALUE`.
    #[doc = doc_links!()]
    pub fn assign_u32<'n>(&self, name: impl IntoRegName<'n>, value: u32) -> Result<()> {
        let name = name.into_reg_name()?;
        let us = name.unicode_string();
        // SAFETY: K1 — live key; `us` borrows `name` (F26).
        let status = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignULong, self.as_raw(), &us, value) };
        check(status)
    }

    /// Writes a `REG_QWORD`.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As [`RegKey::assign_u32`].
    #[doc = doc_links!()]
    pub fn assign_u64<'n>(&self, name: impl IntoRegName<'n>, value: u64) -> Result<()> {
        self.assign_raw(&name.into_reg_name()?, REG_QWORD, &value.to_le_bytes())
    }

    /// Writes a `REG_SZ` (`value` may be empty; it may not hold a NUL).
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` for a NUL in `value`; as above otherwise.
    #[doc = doc_links!()]
    pub fn assign_string<'n>(&self, name: impl IntoRegName<'n>, value: &str) -> Result<()> {
        let name = name.into_reg_name()?;
        self.assign_raw(&name, REG_SZ, &le_bytes(&utf16_z(value)?)?)
    }

    /// Writes a `REG_EXPAND_SZ`.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As [`RegKey::assign_string`].
    #[doc = doc_links!()]
    pub fn assign_expand_string<'n>(&self, name: impl IntoRegName<'n>, value: &str) -> Result<()> {
        let name = name.into_reg_name()?;
        self.assign_raw(&name, REG_EXPAND_SZ, &le_bytes(&utf16_z(value)?)?)
    }

    /// Writes a `REG_MULTI_SZ`. Every string must be non-empty (an empty one
    /// would end the list) and hold no NUL.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` for an empty string or a NUL; as above.
    #[doc = doc_links!()]
    pub fn assign_multi_string<'n>(&self, name: impl IntoRegName<'n>, values: &[&str]) -> Result<()> {
        let name = name.into_reg_name()?;
        let mut units: Vec<u16> = Vec::new();
        for v in values {
            if v.is_empty() {
                return Err(Error::INVALID_PARAMETER);
            }
            let z = utf16_z(v)?;
            units.try_reserve(z.len()).map_err(|_| Error::no_memory())?;
            units.extend_from_slice(&z);
        }
        units.try_reserve(2).map_err(|_| Error::no_memory())?;
        if units.is_empty() {
            units.push(0);
        }
        units.push(0);
        self.assign_raw(&name, REG_MULTI_SZ, &le_bytes(&units)?)
    }

    /// Writes a `REG_BINARY`.
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// As [`RegKey::assign_u32`]; `STATUS_INVALID_PARAMETER` above 4 GiB.
    #[doc = doc_links!()]
    pub fn assign_binary<'n>(&self, name: impl IntoRegName<'n>, data: &[u8]) -> Result<()> {
        self.assign_raw(&name.into_reg_name()?, REG_BINARY, data)
    }

    /// Removes a value (`WdfRegistryRemoveValue`, [F26]).
    /// IRQL: PASSIVE_LEVEL ([F19], [K4]); the key stays owned by `self` ([K1]).
    ///
    /// # Errors
    /// `STATUS_OBJECT_NAME_NOT_FOUND` if absent; `STATUS_ACCESS_DENIED`
    /// without write access.
    #[doc = doc_links!()]
    pub fn remove_value<'n>(&self, name: impl IntoRegName<'n>) -> Result<()> {
        let name = name.into_reg_name()?;
        let us = name.unicode_string();
        // SAFETY: K1 — live key; `us` borrows `name` (F26).
        let status = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveValue, self.as_raw(), &us) };
        check(status)
    }
}
