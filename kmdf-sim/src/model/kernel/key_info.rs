//! The Zw registry routines' rules: opening keys by `OBJECT_ATTRIBUTES`
//! (F8, F12), the information records of `ZwQueryKey`, `ZwEnumerateKey`,
//! `ZwQueryValueKey` and `ZwEnumerateValueKey`, their buffer rules, and
//! `ZwSetValueKey` (F26).
//!
//! Buffer rules. ASSUMPTION (not yet in docs/facts.md; from the return code
//! tables of those DDI pages): a buffer smaller than the record's fixed part
//! gets STATUS_BUFFER_TOO_SMALL and no data; one that holds the fixed part
//! but not the whole record gets STATUS_BUFFER_OVERFLOW and the fixed part
//! (F21 relies on DataLength being filled then); `*ResultLength` is the full
//! size in every case.

use super::handles::HandleOwner;
use super::registry::{RegValue, key_of};
use crate::abi::*;
use crate::model::{STOPPED_STATUS, State, with_state};

fn utf16_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An information record: the full record and the size of its fixed part.
pub(crate) struct Record {
    pub bytes: Vec<u8>,
    pub fixed: usize,
}

impl Record {
    /// What a caller's buffer of `length` bytes receives (the module's
    /// buffer rules): how many of the record's bytes, the status, and the
    /// full size for `*ResultLength`.
    pub(crate) fn fit(&self, length: usize) -> (usize, NTSTATUS, u32) {
        let (count, status) = if length < self.fixed {
            (0, STATUS_BUFFER_TOO_SMALL)
        } else if length < self.bytes.len() {
            (self.fixed, STATUS_BUFFER_OVERFLOW)
        } else {
            (self.bytes.len(), STATUS_SUCCESS)
        };
        (count, status, len_u32(self.bytes.len()))
    }
}

/// KEY_BASIC_INFORMATION / KEY_FULL_INFORMATION for a node.
fn key_record(s: &mut State, node: usize, class: KEY_INFORMATION_CLASS) -> Result<Record, NTSTATUS> {
    let reg = &s.kernel.registry;
    let mut b = Vec::new();
    match class {
        _KEY_INFORMATION_CLASS::KeyBasicInformation => {
            let name = utf16_bytes(&reg.node(node).name);
            b.extend_from_slice(&0i64.to_le_bytes()); // LastWriteTime: 0 (ASSUMPTION: the simulated registry keeps no write times)
            put_u32(&mut b, 0); // TitleIndex
            put_u32(&mut b, len_u32(name.len()));
            let fixed = std::mem::offset_of!(KEY_BASIC_INFORMATION, Name);
            debug_assert_eq!(b.len(), fixed);
            b.extend_from_slice(&name);
            Ok(Record { bytes: b, fixed })
        }
        _KEY_INFORMATION_CLASS::KeyFullInformation => {
            let subkeys = reg.subkeys(node);
            let values = reg.values(node);
            let fixed = std::mem::offset_of!(KEY_FULL_INFORMATION, Class);
            b.extend_from_slice(&0i64.to_le_bytes()); // LastWriteTime
            put_u32(&mut b, 0); // TitleIndex
            put_u32(&mut b, len_u32(fixed)); // ClassOffset
            put_u32(&mut b, 0); // ClassLength: no class names are modelled
            put_u32(&mut b, len_u32(subkeys.len()));
            put_u32(&mut b, len_u32(subkeys.iter().map(|&k| utf16_bytes(&reg.node(k).name).len()).max().unwrap_or(0)));
            put_u32(&mut b, 0); // MaxClassLen
            put_u32(&mut b, len_u32(values.len()));
            put_u32(&mut b, len_u32(values.iter().map(|v| utf16_bytes(&v.name).len()).max().unwrap_or(0)));
            put_u32(&mut b, len_u32(values.iter().map(|v| v.data.len()).max().unwrap_or(0)));
            debug_assert_eq!(b.len(), fixed);
            Ok(Record { bytes: b, fixed })
        }
        // The other classes are not modelled: the machine stops naming the
        // class rather than invent their contents.
        c if (0.._KEY_INFORMATION_CLASS::MaxKeyInfoClass).contains(&c) => {
            s.stop_not_modelled(format!(
                "KEY_INFORMATION_CLASS {c} (only KeyBasicInformation and KeyFullInformation are)"
            ));
            Err(STOPPED_STATUS)
        }
        _ => Err(STATUS_INVALID_PARAMETER),
    }
}

/// KEY_VALUE_{BASIC,FULL,PARTIAL}_INFORMATION for a value.
fn value_record(v: &RegValue, class: KEY_VALUE_INFORMATION_CLASS) -> Result<Record, NTSTATUS> {
    let name = utf16_bytes(&v.name);
    let mut b = Vec::new();
    match class {
        _KEY_VALUE_INFORMATION_CLASS::KeyValueBasicInformation => {
            put_u32(&mut b, 0);
            put_u32(&mut b, v.kind);
            put_u32(&mut b, len_u32(name.len()));
            let fixed = std::mem::offset_of!(KEY_VALUE_BASIC_INFORMATION, Name);
            b.extend_from_slice(&name);
            Ok(Record { bytes: b, fixed })
        }
        _KEY_VALUE_INFORMATION_CLASS::KeyValueFullInformation => {
            let fixed = std::mem::offset_of!(KEY_VALUE_FULL_INFORMATION, Name);
            // ASSUMPTION: the data follows the name at the next 4-byte boundary.
            let data_offset = (fixed + name.len()).next_multiple_of(4);
            put_u32(&mut b, 0);
            put_u32(&mut b, v.kind);
            put_u32(&mut b, len_u32(data_offset));
            put_u32(&mut b, len_u32(v.data.len()));
            put_u32(&mut b, len_u32(name.len()));
            b.extend_from_slice(&name);
            b.resize(data_offset, 0);
            b.extend_from_slice(&v.data);
            Ok(Record { bytes: b, fixed })
        }
        _KEY_VALUE_INFORMATION_CLASS::KeyValuePartialInformation => {
            put_u32(&mut b, 0);
            put_u32(&mut b, v.kind);
            put_u32(&mut b, len_u32(v.data.len()));
            // F21: FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) = 12.
            let fixed = std::mem::offset_of!(KEY_VALUE_PARTIAL_INFORMATION, Data);
            b.extend_from_slice(&v.data);
            Ok(Record { bytes: b, fixed })
        }
        c if (0.._KEY_VALUE_INFORMATION_CLASS::MaxKeyValueInfoClass).contains(&c) => Err(STATUS_NOT_IMPLEMENTED),
        _ => Err(STATUS_INVALID_PARAMETER),
    }
}

/// Runs `f` on this thread's machine; a stopped or absent machine is STOPPED_STATUS.
fn on_machine<T>(f: impl FnOnce(&mut State) -> Result<T, NTSTATUS>) -> Result<T, NTSTATUS> {
    with_state(f).unwrap_or(Err(STOPPED_STATUS))
}

/// `ZwQueryKey` (KeyBasicInformation, KeyFullInformation). Needs KEY_QUERY_VALUE.
pub(crate) fn query_key(handle: HANDLE, class: KEY_INFORMATION_CLASS) -> Result<Record, NTSTATUS> {
    on_machine(|s| key_record(s, key_of(s, handle, KEY_QUERY_VALUE)?, class))
}

/// `ZwEnumerateKey`: the `index`th subkey; STATUS_NO_MORE_ENTRIES past the
/// last. Needs KEY_ENUMERATE_SUB_KEYS.
pub(crate) fn enumerate_key(handle: HANDLE, index: u32, class: KEY_INFORMATION_CLASS) -> Result<Record, NTSTATUS> {
    on_machine(|s| {
        let node = key_of(s, handle, KEY_ENUMERATE_SUB_KEYS)?;
        let child = *s.kernel.registry.subkeys(node).get(index as usize).ok_or(STATUS_NO_MORE_ENTRIES)?;
        key_record(s, child, class)
    })
}

/// `ZwQueryValueKey`. Needs KEY_QUERY_VALUE; a missing value is
/// STATUS_OBJECT_NAME_NOT_FOUND (F21).
pub(crate) fn query_value_key(
    handle: HANDLE,
    name: &str,
    class: KEY_VALUE_INFORMATION_CLASS,
) -> Result<Record, NTSTATUS> {
    on_machine(|s| {
        let node = key_of(s, handle, KEY_QUERY_VALUE)?;
        let value = s.kernel.registry.value(node, name).ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        value_record(value, class)
    })
}

/// `ZwEnumerateValueKey`: the `index`th value; STATUS_NO_MORE_ENTRIES past
/// the last. Needs KEY_QUERY_VALUE.
pub(crate) fn enumerate_value_key(
    handle: HANDLE,
    index: u32,
    class: KEY_VALUE_INFORMATION_CLASS,
) -> Result<Record, NTSTATUS> {
    on_machine(|s| {
        let node = key_of(s, handle, KEY_QUERY_VALUE)?;
        let value = *s.kernel.registry.values(node).get(index as usize).ok_or(STATUS_NO_MORE_ENTRIES)?;
        value_record(value, class)
    })
}

/// `ZwSetValueKey`. Needs KEY_SET_VALUE (F26).
pub(crate) fn set_value_key(handle: HANDLE, name: &str, kind: u32, data: Vec<u8>) -> NTSTATUS {
    on_machine(|s| {
        let node = key_of(s, handle, KEY_SET_VALUE)?;
        s.kernel.registry.set_value(node, name, kind, data);
        Ok(STATUS_SUCCESS)
    })
    .unwrap_or_else(|st| st)
}

/// `ZwOpenKey` / `ZwCreateKey` (`create_options` for a create): a handle the
/// calling image owns to `name`, relative to the key `root` is open on when
/// it is not NULL (an unknown root is STATUS_INVALID_HANDLE), and whether
/// the key was created.
pub(crate) fn open_key(
    root: HANDLE,
    name: &str,
    access: ACCESS_MASK,
    create_options: Option<u32>,
) -> Result<(u64, bool), NTSTATUS> {
    on_machine(|s| {
        let base = if root.is_null() {
            None
        } else {
            Some(s.kernel.handles.get(root as u64).ok_or(STATUS_INVALID_HANDLE)?.object)
        };
        let owner = HandleOwner::Component(s.caller_image());
        let volatile = create_options.map(|o| o & REG_OPTION_VOLATILE != 0);
        s.open_key_handle(owner, base, name, access, volatile, false)
    })
}
