//! Registry DDIs: `FxRegKey` objects and the values behind them (F1–F26).

use crate::abi::*;
use crate::model::framework::registry::{self as fx_registry, ArgumentFault, close, data_len, open, query_ulong};
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, with_out};
use crate::surface::strings::{TextBuffer, read_unicode, read_unicode_in};
use std::borrow::Cow;

/// The end of every key-opening DDI: on success the new WDFKEY goes to the
/// driver's slot and the caller gets whether the key was created; a stopped
/// machine refuses with STOPPED_STATUS.
///
/// # Safety
/// `key_out` is non-null and writable (each DDI checks it first).
pub(crate) unsafe fn deliver_key(
    result: Option<Result<(u64, bool), NTSTATUS>>,
    key_out: *mut WDFKEY,
) -> Result<bool, NTSTATUS> {
    let (key, created) = result.unwrap_or(Err(STOPPED_STATUS))?;
    // SAFETY: non-null and writable (this function's contract).
    unsafe { key_out.write(key as WDFKEY) };
    Ok(created)
}

/// Shared body of `WdfRegistryOpenKey` and `WdfRegistryCreateKey` (F12, F13).
///
/// # Safety
/// Pointer arguments as the DDIs document them.
unsafe fn open_or_create(
    routine: Routine,
    parent: WDFKEY,
    name: PCUNICODE_STRING,
    access: ACCESS_MASK,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    create: Option<(ULONG, PULONG)>,
    key_out: *mut WDFKEY,
) -> NTSTATUS {
    let mut buffer: TextBuffer = [0; 128];
    let mut key_name = Cow::Borrowed("");
    let (buffer, slot) = (&mut buffer, &mut key_name);
    let read_name = move || {
        let buffer = buffer;
        // SAFETY: the driver passes null or a valid UNICODE_STRING.
        *slot = unsafe { read_unicode_in(name, buffer) }?;
        Ok(())
    };
    // SAFETY: `key_out` null or writable, `attrs` null or valid (the DDIs' contracts).
    let attributes = match unsafe { with_out(key_out, "Key", true, attrs, Parent::AsGiven, read_name) } {
        Ok(a) => a,
        Err(st) => return st,
    };
    let name = key_name;
    let volatile = create.map(|(options, _)| options & crate::REG_OPTION_VOLATILE != 0);
    let result = open(routine, parent, &name, access, volatile, attributes);
    // SAFETY: checked non-null above.
    match unsafe { deliver_key(result, key_out) } {
        Err(st) => st,
        Ok(created) => {
            if let Some((_, disposition)) = create
                && !disposition.is_null()
            {
                let value = if created { crate::REG_CREATED_NEW_KEY } else { crate::REG_OPENED_EXISTING_KEY };
                // SAFETY: F13: the optional disposition is written on success; non-null checked.
                unsafe { disposition.write(value) };
            }
            crate::STATUS_SUCCESS
        }
    }
}

/// `WdfRegistryOpenKey` (F12).
///
/// # Safety
/// As the DDI: `KeyName` a valid `UNICODE_STRING`, `Key` writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryOpenKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    ParentKey: WDFKEY,
    KeyName: PCUNICODE_STRING,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(Routine::WdfRegistryOpenKey, STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe {
            open_or_create(Routine::WdfRegistryOpenKey, ParentKey, KeyName, DesiredAccess, KeyAttributes, None, Key)
        }
    })
}

/// `WdfRegistryCreateKey` (F13).
///
/// # Safety
/// As the DDI: `KeyName` a valid `UNICODE_STRING`, `Key` writable,
/// `CreateDisposition` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryCreateKey(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    ParentKey: WDFKEY,
    KeyName: PCUNICODE_STRING,
    DesiredAccess: ACCESS_MASK,
    CreateOptions: ULONG,
    CreateDisposition: PULONG,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    enter(Routine::WdfRegistryCreateKey, STOPPED_STATUS, || {
        let create = Some((CreateOptions, CreateDisposition));
        let routine = Routine::WdfRegistryCreateKey;
        // SAFETY: forwarded from this DDI's contract.
        unsafe { open_or_create(routine, ParentKey, KeyName, DesiredAccess, KeyAttributes, create, Key) }
    })
}

/// `WdfRegistryClose`: `Close()` — ZwClose now, `m_Key = NULL` — then
/// `DeleteObject()`: callbacks, and the destructor finds nothing to close
/// (F3, F4).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfRegistryClose(_DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) {
    enter(Routine::WdfRegistryClose, (), || {
        close(Key);
    })
}

/// `WdfRegistryWdmGetHandle`: returns `m_Key` itself — no duplicate, no
/// reference; the key object still owns it (F6).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRegistryWdmGetHandle(_DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> HANDLE {
    enter(Routine::WdfRegistryWdmGetHandle, std::ptr::null_mut(), || fx_registry::wdm_handle(Key) as HANDLE)
}

// ------------------------------------------------------------------ values

/// Reads `routine`'s `ValueName`; a NULL or malformed one is reported
/// after `key` is checked, as the framework orders it (F20, F91;
/// `model::framework::registry::fault_after_key`).
///
/// # Safety
/// `name` null or a valid `UNICODE_STRING`.
unsafe fn value_name<'a>(
    routine: Routine,
    key: WDFKEY,
    name: PCUNICODE_STRING,
    buffer: &'a mut TextBuffer,
) -> Result<Cow<'a, str>, NTSTATUS> {
    let fault = if name.is_null() {
        ArgumentFault::Null("ValueName")
    } else {
        // SAFETY: forwarded from the caller.
        match unsafe { read_unicode_in(name, buffer) } {
            Ok(n) => return Ok(n),
            Err(st) => ArgumentFault::Status(st),
        }
    };
    Err(fx_registry::fault_after_key(routine, key, fault))
}

/// [`value_name`], then the DDI's `Value` pointer (`value_is_null`).
///
/// # Safety
/// `name` null or a valid `UNICODE_STRING`.
unsafe fn value_name_and_value<'a>(
    routine: Routine,
    key: WDFKEY,
    name: PCUNICODE_STRING,
    value_is_null: bool,
    buffer: &'a mut TextBuffer,
) -> Result<Cow<'a, str>, NTSTATUS> {
    // SAFETY: forwarded from the caller.
    let name = unsafe { value_name(routine, key, name, buffer) }?;
    if value_is_null {
        return Err(fx_registry::fault_after_key(routine, key, ArgumentFault::Null("Value")));
    }
    Ok(name)
}

/// Writes `v` through an optional out pointer.
///
/// # Safety
/// `p` null or writable.
unsafe fn put<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-null and writable (caller).
        unsafe { p.write(v) };
    }
}

/// `WdfRegistryQueryULong` (F23): REG_DWORD only (else
/// STATUS_OBJECT_TYPE_MISMATCH); a missing value is
/// STATUS_OBJECT_NAME_NOT_FOUND; `*Value` is written only on success; a
/// REG_DWORD longer than 4 bytes is STATUS_BUFFER_OVERFLOW. Needs
/// KEY_QUERY_VALUE.
///
/// # Safety
/// As the DDI: `ValueName` valid, `Value` writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryQueryULong(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    Value: PULONG,
) -> NTSTATUS {
    enter(Routine::WdfRegistryQueryULong, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        let name = match unsafe {
            value_name_and_value(Routine::WdfRegistryQueryULong, Key, ValueName, Value.is_null(), &mut buffer)
        } {
            Ok(n) => n,
            Err(st) => return st,
        };
        match query_ulong(Key, &name) {
            Ok(v) => {
                // SAFETY: checked non-null; writable by contract.
                unsafe { Value.write(v) };
                crate::STATUS_SUCCESS
            }
            Err(st) => st,
        }
    })
}

/// `WdfRegistryQueryValue` (F21, F22): the data if `ValueLength` holds it;
/// otherwise STATUS_BUFFER_OVERFLOW (never BUFFER_TOO_SMALL) with the needed
/// length and type filled in. A NULL `Value` probes the size: overflow for a
/// non-empty value, success for an empty one. No type check.
///
/// # Safety
/// As the DDI: `Value` null or `ValueLength` writable bytes; the two
/// optional out pointers null or writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryQueryValue(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    ValueLength: ULONG,
    Value: PVOID,
    ValueLengthQueried: PULONG,
    ValueType: PULONG,
) -> NTSTATUS {
    enter(Routine::WdfRegistryQueryValue, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        let name = match unsafe { value_name(Routine::WdfRegistryQueryValue, Key, ValueName, &mut buffer) } {
            Ok(n) => n,
            Err(st) => return st,
        };
        let capacity = if Value.is_null() { 0 } else { ValueLength };
        let read = match fx_registry::query_value_into(Key, &name, capacity) {
            Ok(read) => read,
            Err(st) => return st,
        };
        // SAFETY: optional outs, null or writable by contract.
        unsafe { put(ValueLengthQueried, data_len(&read.data)) };
        // SAFETY: as above.
        unsafe { put(ValueType, read.kind) };
        if read.status == crate::STATUS_SUCCESS && !read.data.is_empty() {
            // SAFETY: the data fits: `data.len() <= ValueLength` writable bytes at `Value` (non-null here).
            unsafe { std::ptr::copy_nonoverlapping(read.data.as_ptr(), Value.cast::<u8>(), read.data.len()) };
        }
        read.status
    })
}

/// `WdfRegistryQueryUnicodeString` (F24): REG_SZ / REG_EXPAND_SZ only
/// (checked once the query succeeded); `Value->MaximumLength == 0` is
/// STATUS_INVALID_PARAMETER; data longer than `MaximumLength` is
/// STATUS_BUFFER_OVERFLOW with `*ValueByteLength` = data bytes; on success
/// `Length` is the data length minus a trailing NUL.
///
/// # Safety
/// As the DDI: `Value` null or a valid `UNICODE_STRING` with
/// `MaximumLength` writable bytes; `ValueByteLength` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfRegistryQueryUnicodeString(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    ValueByteLength: PUSHORT,
    Value: PUNICODE_STRING,
) -> NTSTATUS {
    enter(Routine::WdfRegistryQueryUnicodeString, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        let name = match unsafe { value_name(Routine::WdfRegistryQueryUnicodeString, Key, ValueName, &mut buffer) } {
            Ok(n) => n,
            Err(st) => return st,
        };
        // SAFETY: `Value` null or valid by contract.
        let capacity = (!Value.is_null()).then(|| unsafe { (*Value).MaximumLength });
        let fx_registry::StringRead { read, byte_length, length } =
            match fx_registry::query_unicode_string(Key, &name, capacity) {
                Ok(r) => r,
                Err(st) => return st,
            };
        // SAFETY: optional out, null or writable by contract.
        unsafe { put(ValueByteLength, byte_length) };
        if read.status != crate::STATUS_SUCCESS {
            return read.status;
        }
        // Success: `Value` is non-null and the data fit its MaximumLength.
        // SAFETY: valid by contract.
        let buffer = unsafe { (*Value).Buffer };
        if !read.data.is_empty() {
            // SAFETY: `data.len() <= MaximumLength` writable bytes at `Buffer`.
            unsafe { std::ptr::copy_nonoverlapping(read.data.as_ptr(), buffer.cast::<u8>(), read.data.len()) };
        }
        // SAFETY: valid and writable by contract; length <= MaximumLength.
        unsafe { (*Value).Length = length };
        crate::STATUS_SUCCESS
    })
}

/// `WdfRegistryAssignULong` (F26): REG_DWORD, 4 bytes.
///
/// # Safety
/// As the DDI: `ValueName` valid.
#[must_use]
pub unsafe extern "C" fn WdfRegistryAssignULong(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    Value: ULONG,
) -> NTSTATUS {
    enter(Routine::WdfRegistryAssignULong, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        match unsafe { value_name(Routine::WdfRegistryAssignULong, Key, ValueName, &mut buffer) } {
            Ok(name) => fx_registry::assign(
                Routine::WdfRegistryAssignULong,
                Key,
                &name,
                crate::REG_DWORD,
                Value.to_le_bytes().to_vec(),
            ),
            Err(st) => st,
        }
    })
}

/// `WdfRegistryAssignValue` (F26): the caller's type and bytes.
///
/// # Safety
/// As the DDI: `ValueName` valid, `Value` `ValueLength` readable bytes.
#[must_use]
pub unsafe extern "C" fn WdfRegistryAssignValue(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    ValueType: ULONG,
    ValueLength: ULONG,
    Value: PVOID,
) -> NTSTATUS {
    enter(Routine::WdfRegistryAssignValue, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        let name = match unsafe {
            value_name_and_value(Routine::WdfRegistryAssignValue, Key, ValueName, Value.is_null(), &mut buffer)
        } {
            Ok(n) => n,
            Err(st) => return st,
        };
        // SAFETY: non-null with `ValueLength` readable bytes (contract).
        let data = unsafe { std::slice::from_raw_parts(Value.cast::<u8>(), ValueLength as usize) }.to_vec();
        fx_registry::assign(Routine::WdfRegistryAssignValue, Key, &name, ValueType, data)
    })
}

/// `WdfRegistryAssignUnicodeString` (F26): REG_SZ of `Value->Length` bytes
/// plus a NUL.
///
/// # Safety
/// As the DDI: `ValueName` and `Value` valid.
#[must_use]
pub unsafe extern "C" fn WdfRegistryAssignUnicodeString(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    Value: PCUNICODE_STRING,
) -> NTSTATUS {
    enter(Routine::WdfRegistryAssignUnicodeString, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        let name = match unsafe {
            value_name_and_value(Routine::WdfRegistryAssignUnicodeString, Key, ValueName, Value.is_null(), &mut buffer)
        } {
            Ok(n) => n,
            Err(st) => return st,
        };
        // SAFETY: non-null and valid (contract).
        let text = match unsafe { read_unicode(Value) } {
            Ok(t) => t,
            Err(st) => return st,
        };
        let data: Vec<u8> = text.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
        fx_registry::assign(Routine::WdfRegistryAssignUnicodeString, Key, &name, crate::REG_SZ, data)
    })
}

/// `WdfRegistryRemoveValue` (F26): `ZwDeleteValueKey`; needs KEY_SET_VALUE;
/// a missing value is STATUS_OBJECT_NAME_NOT_FOUND.
///
/// # Safety
/// As the DDI: `ValueName` valid.
#[must_use]
pub unsafe extern "C" fn WdfRegistryRemoveValue(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
) -> NTSTATUS {
    enter(Routine::WdfRegistryRemoveValue, STOPPED_STATUS, || {
        let mut buffer: TextBuffer = [0; 128];
        // SAFETY: forwarded from this DDI's contract.
        let name = match unsafe { value_name(Routine::WdfRegistryRemoveValue, Key, ValueName, &mut buffer) } {
            Ok(n) => n,
            Err(st) => return st,
        };
        fx_registry::remove_value(Key, &name)
    })
}

/// `WdfRegistryRemoveKey` (F26, F69): `ZwDeleteKey` (needs DELETE; a key
/// with subkeys cannot be deleted — ASSUMPTION: STATUS_CANNOT_DELETE); only
/// on success the key object is deleted, so on failure the WDFKEY is still
/// the driver's to close (F69 follows the source).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRegistryRemoveKey(_DriverGlobals: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> NTSTATUS {
    enter(Routine::WdfRegistryRemoveKey, STOPPED_STATUS, || fx_registry::remove_key(Key))
}
