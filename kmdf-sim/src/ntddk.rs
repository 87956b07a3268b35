//! `wdk_sys::ntddk`: the NT kernel routines the simulator implements.
//!
//! Same names and signatures as wdk-sys 0.5.2 (`#[must_use]` where wdk-sys
//! has it); `conformance.rs` checks each one.
#![allow(non_snake_case)]

use crate::control::handles::HandleOwner;
use crate::control::{KERNEL_MODULE, enter, with_state};
use crate::strings::read_unicode;
use crate::surface::types::*;

/// `ZwClose` from kernel mode (F39–F46, F67, F68).
///
/// # Safety
/// None beyond the kernel's: any value may be passed; closing a handle one
/// does not own is the bug this simulator exists to catch.
#[must_use]
pub unsafe extern "C" fn ZwClose(Handle: HANDLE) -> NTSTATUS {
    enter("ZwClose", KERNEL_MODULE, "nt!ZwClose", crate::control::STOPPED_STATUS, || {
        with_state(|s| {
            let closer = HandleOwner::Component(s.caller_image());
            s.nt_close(Handle as u64, closer, None)
        })
        .unwrap_or(crate::control::STOPPED_STATUS)
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
unsafe fn open_key(out: PHANDLE, access: ACCESS_MASK, oa: POBJECT_ATTRIBUTES, create: Option<ULONG>, disposition: PULONG) -> NTSTATUS {
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
            match s.handles.get(root as u64) {
                Some(e) => Some(e.object),
                None => return Err(crate::STATUS_INVALID_HANDLE),
            }
        };
        let owner = HandleOwner::Component(s.caller_image());
        let volatile = create.map(|o| o & crate::REG_OPTION_VOLATILE != 0);
        s.open_key_handle(owner, base, &name, access, volatile, false)
    });
    match result {
        None => crate::control::STOPPED_STATUS,
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
pub unsafe extern "C" fn ZwOpenKey(KeyHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES) -> NTSTATUS {
    enter("ZwOpenKey", KERNEL_MODULE, "nt!ZwOpenKey", crate::control::STOPPED_STATUS, || {
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
    enter("ZwCreateKey", KERNEL_MODULE, "nt!ZwCreateKey", crate::control::STOPPED_STATUS, || {
        // SAFETY: forwarded from this routine's contract.
        unsafe { open_key(KeyHandle, DesiredAccess, ObjectAttributes, Some(CreateOptions), Disposition) }
    })
}

/// `RtlInitUnicodeString`: counts a NUL-terminated UTF-16 string (no copy).
///
/// # Safety
/// `DestinationString` writable; `SourceString` null or NUL-terminated.
pub unsafe extern "C" fn RtlInitUnicodeString(DestinationString: PUNICODE_STRING, SourceString: PCWSTR) {
    enter("RtlInitUnicodeString", KERNEL_MODULE, "nt!RtlInitUnicodeString", (), || {
        if DestinationString.is_null() {
            return;
        }
        let mut units = 0usize;
        if !SourceString.is_null() {
            // SAFETY: the caller guarantees a NUL-terminated string.
            while unsafe { *SourceString.add(units) } != 0 {
                units += 1;
            }
        }
        // The documented limit: lengths are USHORT byte counts (MaximumLength
        // includes the NUL). Longer strings are clamped as Rtl does.
        let bytes = u16::try_from(units * 2).unwrap_or(0xFFFC);
        let value = UNICODE_STRING {
            Length: bytes,
            MaximumLength: if SourceString.is_null() { 0 } else { bytes.saturating_add(2) },
            Buffer: SourceString.cast_mut(),
        };
        // SAFETY: checked non-null; the caller passes a writable UNICODE_STRING.
        unsafe { DestinationString.write(value) };
    })
}

/// `KeGetCurrentIrql` (not in the table: FORCEINLINE in the headers; wdk-sys's
/// `PAGED_CODE!` calls `wdk_sys::ntddk::KeGetCurrentIrql`).
///
/// # Safety
/// None; `unsafe` because the real binding is an `extern` function.
pub unsafe extern "C" fn KeGetCurrentIrql() -> KIRQL {
    with_state(|s| s.irql).unwrap_or(0)
}
