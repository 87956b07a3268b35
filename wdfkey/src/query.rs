//! Several values in one call, in the shapes drivers use
//! `RtlQueryRegistryValues` with `RTL_REGISTRY_HANDLE` for — without the
//! raw handle: a typed row per value, a default kept when a value is absent,
//! required values, and a routine called per string of a `REG_MULTI_SZ`.
//! PASSIVE_LEVEL ([F19]); all allocation fallible ([K5]).
#![doc = doc_links!()]

use crate::error::{Error, Result};
use crate::key::RegKey;
use crate::sys::{STATUS_OBJECT_NAME_NOT_FOUND, STATUS_RESOURCE_DATA_NOT_FOUND};
use alloc::vec::Vec;

/// Where a row's data goes.
enum Target<'a> {
    U32(&'a mut u32),
    U64(&'a mut u64),
    String(&'a mut Vec<u16>),
    Binary(&'a mut Vec<u8>),
    EachString(&'a mut dyn FnMut(&[u16]) -> Result<()>),
}

/// One row of [`RegKey::query_table`]: a value name, where its data goes,
/// and whether the value must exist.
///
/// | `RtlQueryRegistryValues` row (`RTL_REGISTRY_HANDLE`) | `Query` |
/// |---|---|
/// | `DIRECT`, `ULONG` target, `DefaultType = REG_DWORD` | [`Query::u32`] (the target's value is the default) |
/// | `DIRECT` with a `ULONGLONG` target | [`Query::u64`] |
/// | `DIRECT` with a `UNICODE_STRING` target | [`Query::string`] |
/// | `DIRECT`, `REG_BINARY` | [`Query::binary`] |
/// | `QueryRoutine` on a `REG_MULTI_SZ` (once per string) | [`Query::each_string`] |
/// | `\| RTL_QUERY_REGISTRY_REQUIRED` | [`Query::required`] |
/// | `\| RTL_QUERY_REGISTRY_TYPECHECK` | always: a value of another type is `STATUS_OBJECT_TYPE_MISMATCH` |
///
/// # Examples
/// ```
/// use wdfkey::{Access, Query, RegKey};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(concat!(r"[\Registry\Machine\SOFTWARE\Example]", "\n",
/// #     "TraceLevel = dword:4\n", "Ports = multi_sz:\"COM1\",\"COM2\"\n")).unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::READ)?;
/// let (mut level, mut timeout, mut ports) = (3u32, 1000u32, 0);
/// let mut count_port = |_port: &[u16]| -> wdfkey::Result<()> {
///     ports += 1;
///     Ok(())
/// };
/// key.query_table(&mut [
///     Query::u32("TraceLevel", &mut level).required(),
///     Query::u32("TimeoutMs", &mut timeout), // absent: keeps 1000
///     Query::each_string("Ports", &mut count_port),
/// ])?;
/// assert_eq!((level, timeout, ports), (4, 1000, 2));
/// # Ok(()) }).unwrap().unwrap();
/// ```
pub struct Query<'a> {
    name: &'a str,
    target: Target<'a>,
    required: bool,
}

impl core::fmt::Debug for Query<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Query").field("name", &self.name).field("required", &self.required).finish_non_exhaustive()
    }
}

impl<'a> Query<'a> {
    fn row(name: &'a str, target: Target<'a>) -> Self {
        Query { name, target, required: false }
    }

    /// A `REG_DWORD` into `*target`; an absent value leaves `*target` (the default).
    pub fn u32(name: &'a str, target: &'a mut u32) -> Self {
        Query::row(name, Target::U32(target))
    }

    /// A `REG_QWORD` into `*target`; an absent value leaves `*target`.
    pub fn u64(name: &'a str, target: &'a mut u64) -> Self {
        Query::row(name, Target::U64(target))
    }

    /// A `REG_SZ` / `REG_EXPAND_SZ` (UTF-16, no NUL) into `*target`,
    /// replacing its contents; an absent value leaves `*target`.
    pub fn string(name: &'a str, target: &'a mut Vec<u16>) -> Self {
        Query::row(name, Target::String(target))
    }

    /// A `REG_BINARY` into `*target`, replacing its contents; an absent
    /// value leaves `*target`.
    pub fn binary(name: &'a str, target: &'a mut Vec<u8>) -> Self {
        Query::row(name, Target::Binary(target))
    }

    /// Calls `routine` with each string of a `REG_MULTI_SZ` (UTF-16, no
    /// NUL), in order; an empty list or an absent value calls it never. An
    /// error from `routine` ends the table with that error.
    pub fn each_string(name: &'a str, routine: &'a mut dyn FnMut(&[u16]) -> Result<()>) -> Self {
        Query::row(name, Target::EachString(routine))
    }

    /// The value must exist: absent, the table fails with
    /// `STATUS_OBJECT_NAME_NOT_FOUND` (`RTL_QUERY_REGISTRY_REQUIRED`).
    pub fn required(self) -> Self {
        Query { required: true, ..self }
    }

    /// Reads this row; `Ok(false)` for an absent value.
    fn read(&mut self, key: &RegKey) -> Result<bool> {
        let found = match &mut self.target {
            Target::U32(t) => key.query_u32(self.name).map(|v| **t = v),
            Target::U64(t) => key.query_u64(self.name).map(|v| **t = v),
            Target::String(t) => key.query_string(self.name).map(|v| **t = v),
            Target::Binary(t) => key.query_binary(self.name).map(|v| **t = v),
            Target::EachString(routine) => match key.query_multi_string(self.name) {
                Ok(list) => list.iter().try_for_each(routine),
                // An empty REG_MULTI_SZ holds no strings (F25).
                Err(e) if e.status() == STATUS_RESOURCE_DATA_NOT_FOUND => Ok(()),
                Err(e) => Err(e),
            },
        };
        match found {
            Ok(()) => Ok(true),
            Err(e) if e.status() == STATUS_OBJECT_NAME_NOT_FOUND => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl RegKey {
    /// Reads every row of `table`, in order — the `RtlQueryRegistryValues`
    /// shapes of [`Query`], on this key. Returns how many of the values
    /// existed. IRQL: PASSIVE_LEVEL ([F19], [K4]).
    ///
    /// # Errors
    /// The first row's failure ends the call, as `RtlQueryRegistryValues`
    /// does; rows before it have been written. `STATUS_OBJECT_NAME_NOT_FOUND`
    /// for an absent [`Query::required`] value; `STATUS_OBJECT_TYPE_MISMATCH`
    /// for a value of another type; the statuses of the typed queries
    /// ([`RegKey::query_u32`] …) otherwise.
    #[doc = doc_links!()]
    pub fn query_table(&self, table: &mut [Query<'_>]) -> Result<usize> {
        let mut found = 0;
        for row in table {
            if row.read(self)? {
                found += 1;
            } else if row.required {
                return Err(Error::NAME_NOT_FOUND);
            }
        }
        Ok(found)
    }
}
