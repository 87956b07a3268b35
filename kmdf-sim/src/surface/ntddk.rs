//! `wdk_sys::ntddk`: the NT kernel routines the simulator implements.
//!
//! Same names and signatures as wdk-sys 0.5.2 (`#[must_use]` where wdk-sys
//! has it); `conformance.rs` checks each one.
#![allow(non_snake_case)]

use crate::abi::*;
use crate::model::kernel::key_info::{self, Record};
use crate::model::kernel::sync::gated;
use crate::model::kernel::{arguments, close, null_pointer, pool_routines, stack};
use crate::model::{Routine, count_call, enter};
use crate::surface::strings::read_unicode;

// The WDM I/O manager's routines (device objects, symbolic links, IRPs).
pub use super::wdm::*;
// One kernel area per file of src/surface/ntddk/ (the conformance, bindings
// and coverage checks read them as part of this module).
mod cm;
mod dpc;
mod files;
mod mdl;
mod notify;
mod ob;
mod objects;
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
pub use objects::*;
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
    enter(Routine::ZwClose, crate::model::STOPPED_STATUS, || close::zw_close(Handle))
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
/// With PreviousMode KernelMode it closes as `ZwClose` does; with any other
/// mode a kernel handle is not closed (F39; the rule is
/// `model::kernel::close::ob_close_handle`).
///
/// # Safety
/// As `ZwClose`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ObCloseHandle(Handle: HANDLE, PreviousMode: KPROCESSOR_MODE) -> NTSTATUS {
    enter(Routine::ObCloseHandle, crate::model::STOPPED_STATUS, || close::ob_close_handle(Handle, PreviousMode))
}

/// `NtClose`: as `ZwClose`, in the thread's *previous* mode (F39; the rule
/// is `model::kernel::close::nt_close`).
///
/// # Safety
/// As `ZwClose`.
#[must_use]
pub unsafe extern "C" fn NtClose(Handle: HANDLE) -> NTSTATUS {
    enter(Routine::NtClose, crate::model::STOPPED_STATUS, || close::nt_close(Handle))
}

/// Reads `OBJECT_ATTRIBUTES` into (root node, name).
///
/// # Safety
/// `oa` null or valid, its `ObjectName` null or a valid `UNICODE_STRING`.
unsafe fn read_object_attributes(oa: POBJECT_ATTRIBUTES) -> Result<(HANDLE, String), NTSTATUS> {
    // SAFETY: null or readable (the caller's contract).
    let attrs = *arguments::object_attributes(unsafe { oa.as_ref() })?;
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
    if let Err(st) = arguments::result_pointer(out.is_null()) {
        return st;
    }
    // SAFETY: forwarded from the routine's contract.
    let (root, name) = match unsafe { read_object_attributes(oa) } {
        Ok(v) => v,
        Err(st) => return st,
    };
    let result = key_info::open_key(root, &name, access, create);
    match result {
        Err(st) => st,
        Ok((h, created)) => {
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

/// `RtlInitUnicodeString`: counts a NUL-terminated UTF-16 string (no copy);
/// a NULL `DestinationString` is the bug check of a write through NULL (F95).
///
/// # Safety
/// `DestinationString` writable; `SourceString` null or NUL-terminated.
pub unsafe extern "C" fn RtlInitUnicodeString(DestinationString: PUNICODE_STRING, SourceString: PCWSTR) {
    // A library routine with no machine state: it works after a stop too.
    count_call(Routine::RtlInitUnicodeString);
    if null_pointer::stops_on_null(Routine::RtlInitUnicodeString, DestinationString, "DestinationString", true) {
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
    stack::current_irql()
}

// ------------------------------------------------------------------ queries
//
// The records and their buffer rules are the model's (`model::kernel::key_info`).

/// Copies a record into the caller's buffer by the model's buffer rules.
///
/// # Safety
/// `out` null or `length` writable bytes; `result_length` null or writable.
unsafe fn deliver(record: Result<Record, NTSTATUS>, out: PVOID, length: ULONG, result_length: PULONG) -> NTSTATUS {
    let record = match record {
        Ok(r) => r,
        Err(st) => return st,
    };
    if let Err(st) = arguments::information_buffer(out.is_null(), length, result_length.is_null()) {
        return st;
    }
    let (count, status, full) = record.fit(length as usize);
    // SAFETY: checked non-null; the caller passes a writable ULONG.
    unsafe { result_length.write(full) };
    if count > 0 {
        // SAFETY: `count <= length` bytes, which the caller guarantees writable at `out`.
        unsafe { std::ptr::copy_nonoverlapping(record.bytes.as_ptr(), out.cast::<u8>(), count) };
    }
    status
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
        let record = key_info::query_key(KeyHandle, KeyInformationClass);
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
        let record = key_info::enumerate_key(KeyHandle, Index, KeyInformationClass);
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
        let record = key_info::query_value_key(KeyHandle, &name, KeyValueInformationClass);
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
        let record = key_info::enumerate_value_key(KeyHandle, Index, KeyValueInformationClass);
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
        if let Err(st) = arguments::data(Data.is_null(), DataSize) {
            return st;
        }
        let data = if DataSize == 0 {
            Vec::new()
        } else {
            // SAFETY: non-null (checked) with `DataSize` readable bytes (contract).
            unsafe { std::slice::from_raw_parts(Data.cast::<u8>(), DataSize as usize) }.to_vec()
        };
        key_info::set_value_key(KeyHandle, &name, Type, data)
    })
}

// --------------------------------------------------------------------- pool

/// `ExAllocatePool2` (wdm.h; its DDI page): zero-filled pool of the type
/// the flags name, tagged `Tag`, owned by the calling image; NULL on
/// failure (the rules are `model::kernel::pool_routines::allocate_pool2`).
///
/// # Safety
/// None beyond the kernel's.
pub unsafe extern "C" fn ExAllocatePool2(Flags: POOL_FLAGS, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID {
    enter(Routine::ExAllocatePool2, std::ptr::null_mut(), || {
        pool_routines::allocate_pool2(Flags, NumberOfBytes, Tag) as PVOID
    })
}

/// `ExFreePool`: frees a block from `ExAllocatePool2`; a special-pool block
/// becomes no-access, so a later use stops the machine (F51). A double free
/// or a wild address is BAD_POOL_CALLER (control/pool.rs).
///
/// # Safety
/// `P` is a block this machine's pool handed out (anything else is a
/// recorded stop, not undefined behaviour).
pub unsafe extern "C" fn ExFreePool(P: PVOID) {
    enter(Routine::ExFreePool, (), || pool_routines::free_pool(P as usize, None));
}

/// `ExFreePoolWithTag`: as `ExFreePool`, and the tag must be the block's
/// (else BAD_POOL_CALLER {0x0A, address, allocator's tag, tag used}).
///
/// # Safety
/// As `ExFreePool`.
pub unsafe extern "C" fn ExFreePoolWithTag(P: PVOID, Tag: ULONG) {
    enter(Routine::ExFreePoolWithTag, (), || pool_routines::free_pool(P as usize, Some(Tag)));
}

// ---- Kernel synchronisation (F82): the rules are the model's `kernel::sync`.

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

/// `RtlCompareUnicodeString` (F83): < 0, 0 or > 0; a NULL string is the
/// bug check of a read through NULL (F95).
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
    gated(Routine::RtlCompareUnicodeString, 0, |s| {
        for (string, name) in [(String1, "String1"), (String2, "String2")] {
            if string.is_null() {
                null_pointer::null_dereference(s, Routine::RtlCompareUnicodeString, name, false);
                return None;
            }
        }
        Some(crate::model::kernel::rtl_strings::compare(a, b, CaseInSensitive != 0))
    })
}

/// `RtlEqualUnicodeString` (F83); a NULL string is the bug check of a read
/// through NULL (F95).
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
    gated(Routine::RtlEqualUnicodeString, 0, |s| {
        for (string, name) in [(String1, "String1"), (String2, "String2")] {
            if string.is_null() {
                null_pointer::null_dereference(s, Routine::RtlEqualUnicodeString, name, false);
                return None;
            }
        }
        Some(u8::from(crate::model::kernel::rtl_strings::equal(a, b, CaseInSensitive != 0)))
    })
}

/// `RtlCopyUnicodeString` (F83): as much of the source as the destination's
/// MaximumLength holds, NUL-terminated when room is left; a null source
/// empties the destination; a null destination is the bug check of a write
/// through NULL (F95).
///
/// # Safety
/// `DestinationString` valid with a writable Buffer of MaximumLength bytes;
/// `SourceString` null or valid.
pub unsafe extern "C" fn RtlCopyUnicodeString(DestinationString: PUNICODE_STRING, SourceString: PCUNICODE_STRING) {
    // SAFETY: null or valid (the routine's contract).
    let source = unsafe { units(SourceString) };
    // SAFETY: null or valid (the routine's contract).
    let capacity = unsafe { DestinationString.as_ref() }.map_or(0, |d| usize::from(d.MaximumLength) / 2);
    let plan = gated(Routine::RtlCopyUnicodeString, None, |s| {
        if DestinationString.is_null() {
            null_pointer::null_dereference(s, Routine::RtlCopyUnicodeString, "DestinationString", true);
            return None;
        }
        Some(Some(crate::model::kernel::rtl_strings::copy_plan(source.len(), capacity)))
    });
    let Some((n, nul)) = plan else { return };
    // SAFETY: non-null (the plan is made only then); valid by the routine's contract.
    let Some(dest) = (unsafe { DestinationString.as_mut() }) else { return };
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
/// unchanged) when it does not fit; a null destination is the bug check of a
/// read through NULL (F95).
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
    // SAFETY: null or valid (the routine's contract).
    let (length, capacity) = unsafe { Destination.as_ref() }
        .map_or((0, 0), |d| (usize::from(d.Length) / 2, usize::from(d.MaximumLength) / 2));
    let plan = gated(Routine::RtlAppendUnicodeToString, Err(crate::model::STOPPED_STATUS), |s| {
        if Destination.is_null() {
            null_pointer::null_dereference(s, Routine::RtlAppendUnicodeToString, "Destination", false);
            return None;
        }
        Some(crate::model::kernel::rtl_strings::append_plan(length, len, capacity))
    });
    let nul = match plan {
        Ok(nul) => nul,
        Err(status) => return status,
    };
    // SAFETY: non-null (the plan is made only then); valid by the routine's contract.
    let Some(dest) = (unsafe { Destination.as_mut() }) else { return crate::model::STOPPED_STATUS };
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
        let routine = match arguments::callback(NotifyRoutine) {
            Ok(r) => r,
            Err(st) => return st,
        };
        crate::model::kernel::notify::set_process_notify(routine, Remove != 0)
    })
}
