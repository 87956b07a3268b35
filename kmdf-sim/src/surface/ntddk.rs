//! `wdk_sys::ntddk`: the NT kernel routines the simulator implements.
//!
//! Same names and signatures as wdk-sys 0.5.2 (`#[must_use]` where wdk-sys
//! has it); `conformance.rs` checks each one.
#![allow(non_snake_case)]

use crate::abi::*;
use crate::model::kernel::handles::{HandleOwner, close_in_kernel_mode};
use crate::model::kernel::registry::key_of;
use crate::model::{Routine, count_call, enter, with_state};
use crate::surface::strings::read_unicode;

// One kernel area per file of src/surface/ntddk/ (the conformance, bindings
// and coverage checks read them as part of this module).
mod cm;
mod dpc;
mod files;
mod mdl;
mod notify;
mod ob;
mod pool;
mod resource;
mod rtl;
mod spinlock;
mod timing;
pub use cm::*;
pub use dpc::*;
pub use files::*;
pub use mdl::*;
pub use notify::*;
pub use ob::*;
pub use pool::*;
pub use resource::*;
pub use rtl::*;
pub use spinlock::*;
pub use timing::*;

unsafe extern "C" {
    /// `DbgPrint` (F81): formats with the kernel's printf conversions (`l` is
    /// 32 bits, `I64`/`ll`/`I`/`z` 64, `%ws`/`%S` wide strings, `%Z`/`%wZ`
    /// counted strings, `%p` 16 hex digits; at most 512 bytes) into the
    /// machine's debug output. Defined in C (`csrc/dbgprint.c`): it is
    /// C-variadic.
    #[link_name = "kmdf_sim_DbgPrint"]
    pub fn DbgPrint(Format: PCSTR, ...) -> ULONG;

    /// `DbgPrintEx` (F81): as `DbgPrint`; every component and level is kept
    /// in the machine's debug output (ASSUMPTION: a debugger with every
    /// filter mask on).
    #[link_name = "kmdf_sim_DbgPrintEx"]
    pub fn DbgPrintEx(ComponentId: ULONG, Level: ULONG, Format: PCSTR, ...) -> ULONG;
}

/// `ZwClose` from kernel mode (F39–F46, F67, F68).
///
/// # Safety
/// None beyond the kernel's: any value may be passed; closing a handle one
/// does not own is the bug this simulator exists to catch.
#[must_use]
pub unsafe extern "C" fn ZwClose(Handle: HANDLE) -> NTSTATUS {
    enter(Routine::ZwClose, crate::model::STOPPED_STATUS, || {
        with_state(|s| close_in_kernel_mode(s, Handle)).unwrap_or(crate::model::STOPPED_STATUS)
    })
}

/// `ObCloseHandle(Handle, PreviousMode)` — a simulator-side declaration:
/// wdk-sys 0.5.2's bindings do not have it (its ntddk.rs has no
/// `ObCloseHandle`), so its signature is the documented one, wdm.h's
/// `NTSTATUS ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode)`
/// (learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-obclosehandle;
/// `#[must_use]` as wdk-sys marks every routine returning NTSTATUS). On
/// Windows a driver declares it in an `extern "C"` block of its own (wdk-sys
/// has none to offer), so it is exported here under its C name
/// (`no_mangle`): such a declaration links to it unchanged. Its place in
/// `kmdf_sim::ntddk` (and so in the compat `wdk_sys::ntddk`) is an addition
/// the real wdk-sys does not have.
///
/// With PreviousMode KernelMode it closes as `ZwClose` does: a WDFKEY's
/// handle closed this way is the same double close, bug check 0x93 when the
/// framework closes it again (F39–F46). With any other mode the handle is
/// looked up as a user handle: "kernel handles can be closed only when the
/// previous processor mode is KernelMode" (F39), so a kernel handle is not
/// closed and the call returns STATUS_INVALID_HANDLE (ASSUMPTION, as for
/// `NtClose`: a user-mode lookup of a kernel handle value finds nothing).
///
/// # Safety
/// As `ZwClose`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ObCloseHandle(Handle: HANDLE, PreviousMode: KPROCESSOR_MODE) -> NTSTATUS {
    enter(Routine::ObCloseHandle, crate::model::STOPPED_STATUS, || {
        with_state(|s| {
            if PreviousMode != _MODE::KernelMode as KPROCESSOR_MODE {
                let caller = s.caller_image();
                s.framework.framework_log.push(format!(
                    "{caller}: ObCloseHandle({:#x}, {PreviousMode}) with PreviousMode not KernelMode: a kernel handle \
                     is not closed (docs/facts.md#f39)",
                    Handle as u64
                ));
                return crate::STATUS_INVALID_HANDLE;
            }
            close_in_kernel_mode(s, Handle)
        })
        .unwrap_or(crate::model::STOPPED_STATUS)
    })
}

/// `NtClose`: as `ZwClose`, except that the handle is interpreted in the
/// thread's *previous* mode. A driver thread running on behalf of an
/// application (an IOCTL in the caller's process) has previous mode
/// UserMode, and "kernel handles can be closed only when the previous
/// processor mode is KernelMode" (F39): the kernel handle is not closed and
/// the call returns STATUS_INVALID_HANDLE (ASSUMPTION: a user-mode lookup of
/// a kernel handle value finds nothing in the process's table). In a system
/// thread (DriverEntry, PnP callbacks, work items) it is `ZwClose`.
///
/// # Safety
/// As `ZwClose`.
#[must_use]
pub unsafe extern "C" fn NtClose(Handle: HANDLE) -> NTSTATUS {
    enter(Routine::NtClose, crate::model::STOPPED_STATUS, || {
        with_state(|s| {
            if !s.in_system_process() {
                let caller = s.caller_image();
                s.framework.framework_log.push(format!(
                    "{caller}: NtClose({:#x}) with previous mode UserMode: a kernel handle is not closed (docs/facts.md#f39)",
                    Handle as u64
                ));
                return crate::STATUS_INVALID_HANDLE;
            }
            let closer = HandleOwner::Component(s.caller_image());
            s.nt_close(Handle as u64, closer, None)
        })
        .unwrap_or(crate::model::STOPPED_STATUS)
    })
}

/// Reads `OBJECT_ATTRIBUTES` into (root node, name).
///
/// # Safety
/// `oa` null or valid, its `ObjectName` null or a valid `UNICODE_STRING`.
unsafe fn read_object_attributes(oa: POBJECT_ATTRIBUTES) -> Result<(HANDLE, String), NTSTATUS> {
    if oa.is_null() {
        return Err(crate::STATUS_INVALID_PARAMETER);
    }
    // SAFETY: non-null; the caller guarantees it is readable.
    let attrs = unsafe { *oa };
    if attrs.Length as usize != size_of::<OBJECT_ATTRIBUTES>() {
        return Err(crate::STATUS_INVALID_PARAMETER);
    }
    // SAFETY: the caller guarantees ObjectName is null or valid.
    let name = unsafe { read_unicode(attrs.ObjectName) }?;
    Ok((attrs.RootDirectory, name))
}

/// Shared body of `ZwOpenKey` / `ZwCreateKey`.
///
/// # Safety
/// As those routines.
unsafe fn open_key(
    out: PHANDLE,
    access: ACCESS_MASK,
    oa: POBJECT_ATTRIBUTES,
    create: Option<ULONG>,
    disposition: PULONG,
) -> NTSTATUS {
    if out.is_null() {
        return crate::STATUS_INVALID_PARAMETER;
    }
    // SAFETY: forwarded from the routine's contract.
    let (root, name) = match unsafe { read_object_attributes(oa) } {
        Ok(v) => v,
        Err(st) => return st,
    };
    let result = with_state(|s| {
        let base = if root.is_null() {
            None
        } else {
            match s.kernel.handles.get(root as u64) {
                Some(e) => Some(e.object),
                None => return Err(crate::STATUS_INVALID_HANDLE),
            }
        };
        let owner = HandleOwner::Component(s.caller_image());
        let volatile = create.map(|o| o & crate::REG_OPTION_VOLATILE != 0);
        s.open_key_handle(owner, base, &name, access, volatile, false)
    });
    match result {
        None => crate::model::STOPPED_STATUS,
        Some(Err(st)) => st,
        Some(Ok((h, created))) => {
            // SAFETY: checked non-null; the caller passes a writable HANDLE slot.
            unsafe { out.write(h as HANDLE) };
            if create.is_some() && !disposition.is_null() {
                let d = if created { crate::REG_CREATED_NEW_KEY } else { crate::REG_OPENED_EXISTING_KEY };
                // SAFETY: optional out parameter, checked non-null.
                unsafe { disposition.write(d) };
            }
            crate::STATUS_SUCCESS
        }
    }
}

/// `ZwOpenKey`: the caller owns the returned handle and must `ZwClose` it.
///
/// # Safety
/// `KeyHandle` writable; `ObjectAttributes` valid.
#[must_use]
pub unsafe extern "C" fn ZwOpenKey(
    KeyHandle: PHANDLE,
    DesiredAccess: ACCESS_MASK,
    ObjectAttributes: POBJECT_ATTRIBUTES,
) -> NTSTATUS {
    enter(Routine::ZwOpenKey, crate::model::STOPPED_STATUS, || {
        // SAFETY: forwarded from this routine's contract.
        unsafe { open_key(KeyHandle, DesiredAccess, ObjectAttributes, None, std::ptr::null_mut()) }
    })
}

/// `ZwCreateKey`: opens or creates; the caller owns the returned handle.
///
/// # Safety
/// `KeyHandle` writable; `ObjectAttributes` valid; `Disposition` null or writable.
#[must_use]
pub unsafe extern "C" fn ZwCreateKey(
    KeyHandle: PHANDLE,
    DesiredAccess: ACCESS_MASK,
    ObjectAttributes: POBJECT_ATTRIBUTES,
    _TitleIndex: ULONG,
    _Class: PUNICODE_STRING,
    CreateOptions: ULONG,
    Disposition: PULONG,
) -> NTSTATUS {
    enter(Routine::ZwCreateKey, crate::model::STOPPED_STATUS, || {
        // SAFETY: forwarded from this routine's contract.
        unsafe { open_key(KeyHandle, DesiredAccess, ObjectAttributes, Some(CreateOptions), Disposition) }
    })
}

/// `RtlInitUnicodeString`: counts a NUL-terminated UTF-16 string (no copy).
///
/// # Safety
/// `DestinationString` writable; `SourceString` null or NUL-terminated.
pub unsafe extern "C" fn RtlInitUnicodeString(DestinationString: PUNICODE_STRING, SourceString: PCWSTR) {
    // A library routine with no machine state: it works after a stop too.
    count_call(Routine::RtlInitUnicodeString);
    if DestinationString.is_null() {
        return;
    }
    let mut units = 0usize;
    if !SourceString.is_null() {
        loop {
            // SAFETY: the caller guarantees a NUL-terminated string, so every
            // unit up to and including the NUL is in bounds.
            let unit = unsafe { SourceString.add(units) };
            // SAFETY: in bounds (above) and readable.
            if unsafe { unit.read() } == 0 {
                break;
            }
            units += 1;
        }
    }
    // Lengths are USHORT byte counts and MaximumLength includes the NUL.
    // ASSUMPTION: a longer string is clamped to the largest even count.
    let bytes = u16::try_from(units * 2).unwrap_or(0xFFFC);
    let value = UNICODE_STRING {
        Length: bytes,
        MaximumLength: if SourceString.is_null() { 0 } else { bytes.saturating_add(2) },
        Buffer: SourceString.cast_mut(),
    };
    // SAFETY: checked non-null; the caller passes a writable UNICODE_STRING.
    unsafe { DestinationString.write(value) };
}

/// `KeGetCurrentIrql` (not in the table: FORCEINLINE in the headers; wdk-sys's
/// `PAGED_CODE!` calls `wdk_sys::ntddk::KeGetCurrentIrql`).
///
/// # Safety
/// None; `unsafe` because the real binding is an `extern` function.
pub unsafe extern "C" fn KeGetCurrentIrql() -> KIRQL {
    with_state(|s| s.kernel.irql).unwrap_or(0)
}

// ------------------------------------------------------------------ queries
//
// Buffer rules of ZwQueryKey, ZwEnumerateKey, ZwQueryValueKey and
// ZwEnumerateValueKey. ASSUMPTION (not yet in docs/facts.md; from the return
// code tables of those DDI pages): a buffer smaller than the record's fixed
// part gets STATUS_BUFFER_TOO_SMALL and no data; one that holds the fixed part
// but not the whole record gets STATUS_BUFFER_OVERFLOW and the fixed part
// (F21 relies on DataLength being filled then); `*ResultLength` is the full
// size in every case.

fn utf16_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A query result: the full record and the size of its fixed part.
struct Record {
    bytes: Vec<u8>,
    fixed: usize,
}

/// Copies a record into the caller's buffer by the rules above.
///
/// # Safety
/// `out` null or `length` writable bytes; `result_length` null or writable.
unsafe fn deliver(record: Result<Record, NTSTATUS>, out: PVOID, length: ULONG, result_length: PULONG) -> NTSTATUS {
    let record = match record {
        Ok(r) => r,
        Err(st) => return st,
    };
    if result_length.is_null() || (out.is_null() && length > 0) {
        return crate::STATUS_INVALID_PARAMETER;
    }
    // SAFETY: checked non-null; the caller passes a writable ULONG.
    unsafe { result_length.write(len_u32(record.bytes.len())) };
    let length = length as usize;
    let (count, status) = if length < record.fixed {
        (0, crate::STATUS_BUFFER_TOO_SMALL)
    } else if length < record.bytes.len() {
        (record.fixed, crate::STATUS_BUFFER_OVERFLOW)
    } else {
        (record.bytes.len(), crate::STATUS_SUCCESS)
    };
    if count > 0 {
        // SAFETY: `count <= length` bytes, which the caller guarantees writable at `out`.
        unsafe { std::ptr::copy_nonoverlapping(record.bytes.as_ptr(), out.cast::<u8>(), count) };
    }
    status
}

/// KEY_BASIC_INFORMATION / KEY_FULL_INFORMATION for a node.
fn key_record(s: &mut crate::model::State, node: usize, class: KEY_INFORMATION_CLASS) -> Result<Record, NTSTATUS> {
    let reg = &s.kernel.registry;
    let mut b = Vec::new();
    match class {
        _KEY_INFORMATION_CLASS::KeyBasicInformation => {
            let name = utf16_bytes(&reg.node(node).name);
            b.extend_from_slice(&0i64.to_le_bytes()); // LastWriteTime: not modelled
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
            Err(crate::model::STOPPED_STATUS)
        }
        _ => Err(crate::STATUS_INVALID_PARAMETER),
    }
}

/// KEY_VALUE_{BASIC,FULL,PARTIAL}_INFORMATION for a value.
fn value_record(
    v: &crate::model::kernel::registry::RegValue,
    class: KEY_VALUE_INFORMATION_CLASS,
) -> Result<Record, NTSTATUS> {
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
        c if (0.._KEY_VALUE_INFORMATION_CLASS::MaxKeyValueInfoClass).contains(&c) => Err(crate::STATUS_NOT_IMPLEMENTED),
        _ => Err(crate::STATUS_INVALID_PARAMETER),
    }
}

/// `ZwQueryKey` (KeyBasicInformation, KeyFullInformation). Needs KEY_QUERY_VALUE.
///
/// # Safety
/// `KeyInformation` null or `Length` writable bytes; `ResultLength` writable.
#[must_use]
pub unsafe extern "C" fn ZwQueryKey(
    KeyHandle: HANDLE,
    KeyInformationClass: KEY_INFORMATION_CLASS,
    KeyInformation: PVOID,
    Length: ULONG,
    ResultLength: PULONG,
) -> NTSTATUS {
    enter(Routine::ZwQueryKey, crate::model::STOPPED_STATUS, || {
        let record = with_state(|s| key_record(s, key_of(s, KeyHandle, crate::KEY_QUERY_VALUE)?, KeyInformationClass))
            .unwrap_or(Err(crate::model::STOPPED_STATUS));
        // SAFETY: forwarded from this routine's contract.
        unsafe { deliver(record, KeyInformation, Length, ResultLength) }
    })
}

/// `ZwEnumerateKey`: the `Index`th subkey; STATUS_NO_MORE_ENTRIES past the
/// last. Needs KEY_ENUMERATE_SUB_KEYS.
///
/// # Safety
/// As `ZwQueryKey`.
#[must_use]
pub unsafe extern "C" fn ZwEnumerateKey(
    KeyHandle: HANDLE,
    Index: ULONG,
    KeyInformationClass: KEY_INFORMATION_CLASS,
    KeyInformation: PVOID,
    Length: ULONG,
    ResultLength: PULONG,
) -> NTSTATUS {
    enter(Routine::ZwEnumerateKey, crate::model::STOPPED_STATUS, || {
        let record = with_state(|s| {
            let node = key_of(s, KeyHandle, crate::KEY_ENUMERATE_SUB_KEYS)?;
            let child = *s.kernel.registry.subkeys(node).get(Index as usize).ok_or(crate::STATUS_NO_MORE_ENTRIES)?;
            key_record(s, child, KeyInformationClass)
        })
        .unwrap_or(Err(crate::model::STOPPED_STATUS));
        // SAFETY: forwarded from this routine's contract.
        unsafe { deliver(record, KeyInformation, Length, ResultLength) }
    })
}

/// `ZwQueryValueKey`. Needs KEY_QUERY_VALUE; a missing value is
/// STATUS_OBJECT_NAME_NOT_FOUND (F21).
///
/// # Safety
/// `ValueName` valid; buffers as `ZwQueryKey`.
#[must_use]
pub unsafe extern "C" fn ZwQueryValueKey(
    KeyHandle: HANDLE,
    ValueName: PUNICODE_STRING,
    KeyValueInformationClass: KEY_VALUE_INFORMATION_CLASS,
    KeyValueInformation: PVOID,
    Length: ULONG,
    ResultLength: PULONG,
) -> NTSTATUS {
    enter(Routine::ZwQueryValueKey, crate::model::STOPPED_STATUS, || {
        // SAFETY: the caller passes a valid UNICODE_STRING.
        let name = match unsafe { read_unicode(ValueName) } {
            Ok(n) => n,
            Err(st) => return st,
        };
        let record = with_state(|s| {
            let node = key_of(s, KeyHandle, crate::KEY_QUERY_VALUE)?;
            let value = s.kernel.registry.value(node, &name).ok_or(crate::STATUS_OBJECT_NAME_NOT_FOUND)?;
            value_record(value, KeyValueInformationClass)
        })
        .unwrap_or(Err(crate::model::STOPPED_STATUS));
        // SAFETY: forwarded from this routine's contract.
        unsafe { deliver(record, KeyValueInformation, Length, ResultLength) }
    })
}

/// `ZwEnumerateValueKey`: the `Index`th value; STATUS_NO_MORE_ENTRIES past
/// the last. Needs KEY_QUERY_VALUE.
///
/// # Safety
/// As `ZwQueryKey`.
#[must_use]
pub unsafe extern "C" fn ZwEnumerateValueKey(
    KeyHandle: HANDLE,
    Index: ULONG,
    KeyValueInformationClass: KEY_VALUE_INFORMATION_CLASS,
    KeyValueInformation: PVOID,
    Length: ULONG,
    ResultLength: PULONG,
) -> NTSTATUS {
    enter(Routine::ZwEnumerateValueKey, crate::model::STOPPED_STATUS, || {
        let record = with_state(|s| {
            let node = key_of(s, KeyHandle, crate::KEY_QUERY_VALUE)?;
            let value = *s.kernel.registry.values(node).get(Index as usize).ok_or(crate::STATUS_NO_MORE_ENTRIES)?;
            value_record(value, KeyValueInformationClass)
        })
        .unwrap_or(Err(crate::model::STOPPED_STATUS));
        // SAFETY: forwarded from this routine's contract.
        unsafe { deliver(record, KeyValueInformation, Length, ResultLength) }
    })
}

/// `ZwSetValueKey`. Needs KEY_SET_VALUE (F26).
///
/// # Safety
/// `ValueName` valid; `Data` null or `DataSize` readable bytes.
#[must_use]
pub unsafe extern "C" fn ZwSetValueKey(
    KeyHandle: HANDLE,
    ValueName: PUNICODE_STRING,
    _TitleIndex: ULONG,
    Type: ULONG,
    Data: PVOID,
    DataSize: ULONG,
) -> NTSTATUS {
    enter(Routine::ZwSetValueKey, crate::model::STOPPED_STATUS, || {
        // SAFETY: the caller passes a valid UNICODE_STRING.
        let name = match unsafe { read_unicode(ValueName) } {
            Ok(n) => n,
            Err(st) => return st,
        };
        if Data.is_null() && DataSize > 0 {
            return crate::STATUS_INVALID_PARAMETER;
        }
        let data = if DataSize == 0 {
            Vec::new()
        } else {
            // SAFETY: non-null (checked) with `DataSize` readable bytes (contract).
            unsafe { std::slice::from_raw_parts(Data.cast::<u8>(), DataSize as usize) }.to_vec()
        };
        with_state(|s| {
            let node = key_of(s, KeyHandle, crate::KEY_SET_VALUE)?;
            s.kernel.registry.set_value(node, &name, Type, data);
            Ok(crate::STATUS_SUCCESS)
        })
        .unwrap_or(Err(crate::model::STOPPED_STATUS))
        .unwrap_or_else(|st| st)
    })
}

// --------------------------------------------------------------------- pool

/// The `POOL_TYPE` a set of `POOL_FLAGS` stands for (the BAD_POOL_CALLER
/// parameters report a pool type).
fn pool_type_of(flags: POOL_FLAGS) -> u64 {
    if flags & crate::POOL_FLAG_PAGED != 0 {
        _POOL_TYPE::PagedPool as u64
    } else if flags & crate::POOL_FLAG_NON_PAGED_EXECUTE != 0 {
        _POOL_TYPE::NonPagedPool as u64
    } else {
        _POOL_TYPE::NonPagedPoolNx as u64
    }
}

/// `ExAllocatePool2` (wdm.h; its DDI page): `NumberOfBytes` of zero-filled
/// pool (unless POOL_FLAG_UNINITIALIZED — zero-filled here too) of the type
/// the flags name, tagged `Tag`, owned by the calling image; NULL on
/// failure. Exactly one of POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE
/// and POOL_FLAG_PAGED is required — ASSUMPTION: otherwise NULL and a
/// finding. Paged pool above APC_LEVEL is BAD_POOL_CALLER {0x08, IRQL, pool
/// type, size}; a zero-byte request under Driver Verifier's pool tracking is
/// BAD_POOL_CALLER {0x00, 0, pool type, tag} (ASSUMPTION: without it the
/// simulator hands out a minimal block). A verified driver's blocks smaller
/// than a page come from special pool (F51).
///
/// # Safety
/// None beyond the kernel's.
pub unsafe extern "C" fn ExAllocatePool2(Flags: POOL_FLAGS, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID {
    enter(Routine::ExAllocatePool2, std::ptr::null_mut(), || {
        with_state(|s| {
            let kinds =
                Flags & (crate::POOL_FLAG_NON_PAGED | crate::POOL_FLAG_PAGED | crate::POOL_FLAG_NON_PAGED_EXECUTE);
            if kinds.count_ones() != 1 {
                let caller = s.caller_image();
                s.framework.findings.push(format!(
                    "{caller}: ExAllocatePool2 with flags {Flags:#x}, which name no single pool type (NULL returned)"
                ));
                return std::ptr::null_mut();
            }
            let paged = kinds == crate::POOL_FLAG_PAGED;
            let size = usize::try_from(NumberOfBytes).unwrap_or(usize::MAX);
            if paged && s.kernel.irql > crate::APC_LEVEL as u8 {
                let params = [0x08, u64::from(s.kernel.irql), pool_type_of(Flags), NumberOfBytes];
                s.bad_pool_caller(params, "paged pool allocated above APC_LEVEL");
                return std::ptr::null_mut();
            }
            if size == 0 && s.settings.pool_tracking {
                s.bad_pool_caller([0x00, 0, pool_type_of(Flags), u64::from(Tag)], "a zero-byte pool allocation");
                return std::ptr::null_mut();
            }
            if size > (1 << 32) {
                // ASSUMPTION: more than 4 GiB is an allocation failure.
                return std::ptr::null_mut();
            }
            let owner = s.caller_image();
            let special = s.settings.special_pool;
            s.kernel.pool.allocate(size, Tag, owner.to_string(), paged, special) as PVOID
        })
        .unwrap_or(std::ptr::null_mut())
    })
}

/// Shared body of `ExFreePool` / `ExFreePoolWithTag`.
fn free_pool(p: PVOID, tag: Option<ULONG>) {
    with_state(|s| {
        let address = p as usize;
        if let Some(block) = s.kernel.pool.live.get(&address)
            && block.paged
            && s.kernel.irql > crate::APC_LEVEL as u8
        {
            let params = [0x09, u64::from(s.kernel.irql), _POOL_TYPE::PagedPool as u64, address as u64];
            s.bad_pool_caller(params, "paged pool freed above APC_LEVEL");
            return;
        }
        if s.freed_pool_holds_live_objects(address) {
            return;
        }
        match s.kernel.pool.free(address, tag) {
            Ok(_block) => {}
            Err(params) => {
                let what = match params[0] {
                    0x07 => format!("pool block {address:#x} freed twice"),
                    0x0A => format!(
                        "pool block {address:#x} freed with tag {:#x}; it was allocated with {:#x}",
                        params[3], params[2]
                    ),
                    _ => format!("{address:#x} was never allocated from pool"),
                };
                s.bad_pool_caller(params, &what);
            }
        }
    });
}

/// `ExFreePool`: frees a block from `ExAllocatePool2`; a special-pool block
/// becomes no-access, so a later use stops the machine (F51). A double free
/// or a wild address is BAD_POOL_CALLER (control/pool.rs).
///
/// # Safety
/// `P` is a block this machine's pool handed out (anything else is a
/// recorded stop, not undefined behaviour).
pub unsafe extern "C" fn ExFreePool(P: PVOID) {
    enter(Routine::ExFreePool, (), || free_pool(P, None));
}

/// `ExFreePoolWithTag`: as `ExFreePool`, and the tag must be the block's
/// (else BAD_POOL_CALLER {0x0A, address, allocator's tag, tag used}).
///
/// # Safety
/// As `ExFreePool`.
pub unsafe extern "C" fn ExFreePoolWithTag(P: PVOID, Tag: ULONG) {
    enter(Routine::ExFreePoolWithTag, (), || free_pool(P, Some(Tag)));
}

// ---- Kernel synchronisation (F82): the rules are the model's `kernel::sync`.

/// Runs a routine's body through the call gate; `refused`
/// after a stop. The result is carried outside the gate so that a
/// LONG-returning routine is never taken for a status (fault injection
/// fails status-returning routines only).
fn gated<R: Copy>(routine: Routine, refused: R, body: impl FnOnce(&mut crate::model::State) -> Option<R>) -> R {
    let mut out = refused;
    enter(routine, (), || {
        if let Some(Some(r)) = with_state(body) {
            out = r;
        }
    });
    out
}

/// `KeInitializeEvent` (F82): a notification or synchronization event.
///
/// # Safety
/// `Event` points at the driver's KEVENT (the machine knows it by address).
pub unsafe extern "C" fn KeInitializeEvent(Event: PRKEVENT, Type: EVENT_TYPE, State: BOOLEAN) {
    let notification = Type == _EVENT_TYPE::NotificationEvent;
    gated(Routine::KeInitializeEvent, (), |s| {
        s.ke_initialize_event(Event as u64, notification, State != 0);
        Some(())
    });
}

/// `KeSetEvent` (F82): signals; returns the previous state.
///
/// # Safety
/// As `KeInitializeEvent`.
pub unsafe extern "C" fn KeSetEvent(Event: PRKEVENT, _Increment: KPRIORITY, _Wait: BOOLEAN) -> LONG {
    gated(Routine::KeSetEvent, 0, |s| s.ke_set_event("KeSetEvent", Event as u64, true))
}

/// `KeResetEvent` (F82): not signalled; returns the previous state.
///
/// # Safety
/// As `KeInitializeEvent`.
pub unsafe extern "C" fn KeResetEvent(Event: PRKEVENT) -> LONG {
    gated(Routine::KeResetEvent, 0, |s| s.ke_set_event("KeResetEvent", Event as u64, false))
}

/// `KeClearEvent` (F82): not signalled.
///
/// # Safety
/// As `KeInitializeEvent`.
pub unsafe extern "C" fn KeClearEvent(Event: PRKEVENT) {
    gated(Routine::KeClearEvent, (), |s| s.ke_set_event("KeClearEvent", Event as u64, false).map(drop));
}

/// `KeReadStateEvent` (F82): 1 if signalled.
///
/// # Safety
/// As `KeInitializeEvent`.
pub unsafe extern "C" fn KeReadStateEvent(Event: PRKEVENT) -> LONG {
    gated(Routine::KeReadStateEvent, 0, |s| s.ke_read_state_event(Event as u64))
}

/// `KeInitializeMutex` (F82): a KMUTEX, not held.
///
/// # Safety
/// `Mutex` points at the driver's KMUTEX.
pub unsafe extern "C" fn KeInitializeMutex(Mutex: PRKMUTEX, _Level: ULONG) {
    gated(Routine::KeInitializeMutex, (), |s| {
        s.ke_initialize_mutex(Mutex as u64);
        Some(())
    });
}

/// `KeReleaseMutex` (F82).
///
/// # Safety
/// As `KeInitializeMutex`.
pub unsafe extern "C" fn KeReleaseMutex(Mutex: PRKMUTEX, _Wait: BOOLEAN) -> LONG {
    gated(Routine::KeReleaseMutex, 0, |s| s.ke_release_mutex(Mutex as u64))
}

/// `KeWaitForSingleObject` on an event or KMUTEX (F82). `Timeout` null waits
/// forever; otherwise its value (negative: relative) bounds the wait.
///
/// # Safety
/// `Object` points at an initialized event or mutex; `Timeout` null or valid.
#[must_use]
pub unsafe extern "C" fn KeWaitForSingleObject(
    Object: PVOID,
    _WaitReason: KWAIT_REASON,
    _WaitMode: KPROCESSOR_MODE,
    _Alertable: BOOLEAN,
    Timeout: PLARGE_INTEGER,
) -> NTSTATUS {
    // SAFETY: null or a valid LARGE_INTEGER (the routine's contract).
    let timeout = unsafe { Timeout.as_ref() }.map(|t| {
        // SAFETY: every bit pattern of the union is a valid i64.
        unsafe { t.QuadPart }
    });
    gated(Routine::KeWaitForSingleObject, crate::model::STOPPED_STATUS, |s| match s.ke_wait(Object as u64, timeout) {
        crate::model::kernel::sync::Wait::Done(status) => Some(status),
        crate::model::kernel::sync::Wait::Stopped => None,
    })
}

/// `ExAcquireFastMutex` (F82): raises to APC_LEVEL.
///
/// # Safety
/// `FastMutex` points at a FAST_MUTEX initialized as ExInitializeFastMutex does.
pub unsafe extern "C" fn ExAcquireFastMutex(FastMutex: PFAST_MUTEX) {
    // SAFETY: a valid FAST_MUTEX (the routine's contract).
    let count = unsafe { (*FastMutex).Count };
    let new = gated(Routine::ExAcquireFastMutex, None, |s| Some(s.ex_acquire_fast_mutex(FastMutex as u64, count)));
    if let Some(new) = new {
        // SAFETY: as above.
        unsafe { (*FastMutex).Count = new };
    }
}

/// `ExReleaseFastMutex` (F82): back to the IRQL of the acquire.
///
/// # Safety
/// As `ExAcquireFastMutex`.
pub unsafe extern "C" fn ExReleaseFastMutex(FastMutex: PFAST_MUTEX) {
    // SAFETY: a valid FAST_MUTEX (the routine's contract).
    let count = unsafe { (*FastMutex).Count };
    let new = gated(Routine::ExReleaseFastMutex, None, |s| Some(s.ex_release_fast_mutex(FastMutex as u64, count)));
    if let Some(new) = new {
        // SAFETY: as above.
        unsafe { (*FastMutex).Count = new };
    }
}

/// `KeEnterCriticalRegion` (F82).
///
/// # Safety
/// None beyond the routine's IRQL rule (unsafe as wdk-sys declares it).
pub unsafe extern "C" fn KeEnterCriticalRegion() {
    gated(Routine::KeEnterCriticalRegion, (), |s| {
        s.ke_critical_region(1);
        Some(())
    });
}

/// `KeLeaveCriticalRegion` (F82).
///
/// # Safety
/// None beyond the routine's IRQL rule (unsafe as wdk-sys declares it).
pub unsafe extern "C" fn KeLeaveCriticalRegion() {
    gated(Routine::KeLeaveCriticalRegion, (), |s| {
        s.ke_critical_region(-1);
        Some(())
    });
}

// ---- Rtl counted strings (F83): the rules are the model's `kernel::rtl_strings`.

/// The code units a `UNICODE_STRING` holds (`Length` bytes); empty for null.
///
/// # Safety
/// `s` null or a valid UNICODE_STRING whose Buffer holds Length bytes.
unsafe fn units<'a>(s: *const UNICODE_STRING) -> &'a [u16] {
    // SAFETY: null or valid (the caller's contract).
    match unsafe { s.as_ref() } {
        Some(s) if !s.Buffer.is_null() => {
            // SAFETY: Buffer holds Length bytes (the UNICODE_STRING contract).
            unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2) }
        }
        _ => &[],
    }
}

/// `RtlCompareUnicodeString` (F83): < 0, 0 or > 0.
///
/// # Safety
/// Both strings valid.
pub unsafe extern "C" fn RtlCompareUnicodeString(
    String1: PCUNICODE_STRING,
    String2: PCUNICODE_STRING,
    CaseInSensitive: BOOLEAN,
) -> LONG {
    // SAFETY: a valid string (the routine's contract).
    let a = unsafe { units(String1) };
    // SAFETY: as above.
    let b = unsafe { units(String2) };
    gated(Routine::RtlCompareUnicodeString, 0, |_| {
        Some(crate::model::kernel::rtl_strings::compare(a, b, CaseInSensitive != 0))
    })
}

/// `RtlEqualUnicodeString` (F83).
///
/// # Safety
/// Both strings valid.
pub unsafe extern "C" fn RtlEqualUnicodeString(
    String1: *const UNICODE_STRING,
    String2: *const UNICODE_STRING,
    CaseInSensitive: BOOLEAN,
) -> BOOLEAN {
    // SAFETY: a valid string (the routine's contract).
    let a = unsafe { units(String1) };
    // SAFETY: as above.
    let b = unsafe { units(String2) };
    gated(Routine::RtlEqualUnicodeString, 0, |_| {
        Some(u8::from(crate::model::kernel::rtl_strings::equal(a, b, CaseInSensitive != 0)))
    })
}

/// `RtlCopyUnicodeString` (F83): as much of the source as the destination's
/// MaximumLength holds, NUL-terminated when room is left; a null source
/// empties the destination.
///
/// # Safety
/// `DestinationString` valid with a writable Buffer of MaximumLength bytes;
/// `SourceString` null or valid.
pub unsafe extern "C" fn RtlCopyUnicodeString(DestinationString: PUNICODE_STRING, SourceString: PCUNICODE_STRING) {
    // SAFETY: null or valid (the routine's contract).
    let source = unsafe { units(SourceString) };
    // SAFETY: a valid destination (the routine's contract).
    let Some(dest) = (unsafe { DestinationString.as_mut() }) else { return };
    let capacity = usize::from(dest.MaximumLength) / 2;
    let plan = gated(Routine::RtlCopyUnicodeString, None, |_| {
        Some(Some(crate::model::kernel::rtl_strings::copy_plan(source.len(), capacity)))
    });
    let Some((n, nul)) = plan else { return };
    if SourceString.is_null() || dest.Buffer.is_null() {
        dest.Length = 0;
        return;
    }
    // SAFETY: Buffer holds MaximumLength bytes, n <= capacity; the source is
    // a different string's buffer (the routine's contract).
    unsafe { std::ptr::copy(source.as_ptr(), dest.Buffer, n) };
    if nul {
        // SAFETY: n < capacity: the unit is inside the buffer.
        let end = unsafe { dest.Buffer.add(n) };
        // SAFETY: as above; writable (the routine's contract).
        unsafe { end.write(0) };
    }
    dest.Length = (n * 2) as USHORT;
}

/// `RtlAppendUnicodeToString` (F83): STATUS_BUFFER_TOO_SMALL (destination
/// unchanged) when it does not fit.
///
/// # Safety
/// `Destination` valid with a writable Buffer of MaximumLength bytes;
/// `Source` null or a NUL-terminated UTF-16 string.
#[must_use]
pub unsafe extern "C" fn RtlAppendUnicodeToString(Destination: PUNICODE_STRING, Source: PCWSTR) -> NTSTATUS {
    let len = if Source.is_null() {
        0
    } else {
        // SAFETY: a NUL-terminated source (the routine's contract).
        unsafe { crate::surface::strings::wide_units(Source) }.len()
    };
    // SAFETY: a valid destination (the routine's contract).
    let Some(dest) = (unsafe { Destination.as_mut() }) else { return crate::STATUS_INVALID_PARAMETER };
    let (length, capacity) = (usize::from(dest.Length) / 2, usize::from(dest.MaximumLength) / 2);
    let plan = gated(Routine::RtlAppendUnicodeToString, Err(crate::model::STOPPED_STATUS), |_| {
        Some(
            crate::model::kernel::rtl_strings::append_plan(length, len, capacity).ok_or(crate::STATUS_BUFFER_TOO_SMALL),
        )
    });
    let nul = match plan {
        Ok(nul) => nul,
        Err(status) => return status,
    };
    if len > 0 {
        // SAFETY: `length` <= capacity: inside (or at the end of) the buffer.
        let at = unsafe { dest.Buffer.add(length) };
        // SAFETY: length + len <= capacity units of the destination's buffer;
        // the source holds `len` units.
        unsafe { std::ptr::copy(Source, at, len) };
    }
    if nul {
        // SAFETY: length + len < capacity: inside the buffer.
        let end = unsafe { dest.Buffer.add(length + len) };
        // SAFETY: as above; writable (the routine's contract).
        unsafe { end.write(0) };
    }
    dest.Length = ((length + len) * 2) as USHORT;
    crate::STATUS_SUCCESS
}

// ---- Notify routines (F84): the rules are the model's `kernel::notify`.

/// `PsSetCreateProcessNotifyRoutine` (F84): registers (or, with `Remove`,
/// removes) a routine the kernel calls as processes start and exit — in the
/// simulator, as the test starts and ends them (`Machine::start_process`).
///
/// # Safety
/// `NotifyRoutine` is a routine of the calling driver that stays callable
/// until it is removed.
#[must_use]
pub unsafe extern "C" fn PsSetCreateProcessNotifyRoutine(
    NotifyRoutine: PCREATE_PROCESS_NOTIFY_ROUTINE,
    Remove: BOOLEAN,
) -> NTSTATUS {
    enter(Routine::PsSetCreateProcessNotifyRoutine, crate::model::STOPPED_STATUS, || {
        let Some(routine) = NotifyRoutine else { return crate::STATUS_INVALID_PARAMETER };
        let routine = crate::model::kernel::notify::ProcessRoutine::Plain(routine);
        with_state(|s| s.set_process_notify(routine, Remove != 0)).unwrap_or(crate::model::STOPPED_STATUS)
    })
}
