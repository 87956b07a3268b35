//! Memory and string DDIs (wdfmemory.h, wdfstring.h).

use crate::abi::*;
use crate::model::framework::objects::{MemoryState, ObjectKind};
use crate::model::framework::verifier::{invalid_handle, null_parameter};
use crate::model::{Routine, STOPPED_STATUS, enter, with_state};
use crate::surface::create::{Parent, deliver, with_out};
use crate::surface::strings::read_unicode;

/// A WDFMEMORY's buffer (pointer, length), or an invalid-handle report.
fn memory_of(memory: WDFMEMORY) -> Option<(*mut u8, usize)> {
    with_state(|s| match s.framework.objects.get(&(memory as u64)).map(|o| &o.kind) {
        Some(ObjectKind::Memory(m)) => Some((m.ptr, m.len)),
        _ => {
            invalid_handle(s, memory as u64, 0);
            None
        }
    })
    .flatten()
}

/// Checks `offset + count` against a buffer of `len` bytes. ASSUMPTION
/// (KMDF source, FxMemoryObject::CopyToPtr / CopyFromPtr via
/// FxValidateMemoryOffsets): an overflowing sum is STATUS_INTEGER_OVERFLOW,
/// a range past the end STATUS_INVALID_BUFFER_SIZE.
fn check_range(offset: usize, count: usize, len: usize) -> Result<(), NTSTATUS> {
    let end = offset.checked_add(count).ok_or(crate::STATUS_INTEGER_OVERFLOW)?;
    if end > len { Err(crate::STATUS_INVALID_BUFFER_SIZE) } else { Ok(()) }
}

/// `WdfMemoryCopyToBuffer`: copies `NumBytesToCopyTo` bytes from the memory
/// object at `SourceOffset` into the driver's `Buffer`.
///
/// # Safety
/// `Buffer` has `NumBytesToCopyTo` writable bytes.
#[must_use]
pub unsafe extern "C" fn WdfMemoryCopyToBuffer(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    SourceMemory: WDFMEMORY,
    SourceOffset: usize,
    Buffer: PVOID,
    NumBytesToCopyTo: usize,
) -> NTSTATUS {
    enter(Routine::WdfMemoryCopyToBuffer, STOPPED_STATUS, || {
        if Buffer.is_null() {
            with_state(|s| null_parameter(s, "Buffer"));
            return STOPPED_STATUS;
        }
        let Some((ptr, len)) = memory_of(SourceMemory) else { return STOPPED_STATUS };
        if let Err(st) = check_range(SourceOffset, NumBytesToCopyTo, len) {
            return st;
        }
        // SAFETY: `SourceOffset + NumBytesToCopyTo <= len` (checked), so the
        // offset stays inside the memory object's buffer.
        let source = unsafe { ptr.add(SourceOffset) };
        // SAFETY: the range is inside the memory object's buffer (checked);
        // `Buffer` has room by contract; they do not overlap (the driver's
        // buffer is not the framework's).
        unsafe { std::ptr::copy_nonoverlapping(source, Buffer.cast::<u8>(), NumBytesToCopyTo) };
        crate::STATUS_SUCCESS
    })
}

/// `WdfMemoryCopyFromBuffer`: copies `NumBytesToCopyFrom` bytes of the
/// driver's `Buffer` into the memory object at `DestinationOffset`.
///
/// # Safety
/// `Buffer` has `NumBytesToCopyFrom` readable bytes.
#[must_use]
pub unsafe extern "C" fn WdfMemoryCopyFromBuffer(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    DestinationMemory: WDFMEMORY,
    DestinationOffset: usize,
    Buffer: PVOID,
    NumBytesToCopyFrom: usize,
) -> NTSTATUS {
    enter(Routine::WdfMemoryCopyFromBuffer, STOPPED_STATUS, || {
        if Buffer.is_null() {
            with_state(|s| null_parameter(s, "Buffer"));
            return STOPPED_STATUS;
        }
        let Some((ptr, len)) = memory_of(DestinationMemory) else { return STOPPED_STATUS };
        if let Err(st) = check_range(DestinationOffset, NumBytesToCopyFrom, len) {
            return st;
        }
        // SAFETY: `DestinationOffset + NumBytesToCopyFrom <= len` (checked).
        let destination = unsafe { ptr.add(DestinationOffset) };
        // SAFETY: as WdfMemoryCopyToBuffer, the other way.
        unsafe { std::ptr::copy_nonoverlapping(Buffer.cast::<u8>(), destination, NumBytesToCopyFrom) };
        crate::STATUS_SUCCESS
    })
}

/// `WdfMemoryGetBuffer`: the buffer and, if asked, its size.
///
/// # Safety
/// `BufferSize` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfMemoryGetBuffer(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Memory: WDFMEMORY,
    BufferSize: *mut usize,
) -> PVOID {
    enter(Routine::WdfMemoryGetBuffer, std::ptr::null_mut(), || {
        let Some((ptr, len)) = memory_of(Memory) else { return std::ptr::null_mut() };
        if !BufferSize.is_null() {
            // SAFETY: non-null; writable by contract.
            unsafe { BufferSize.write(len) };
        }
        ptr.cast()
    })
}

/// `WdfMemoryCreate`: a memory object with a buffer of its own of
/// `BufferSize` bytes (parent: the driver unless the attributes name one,
/// F10/F25). ASSUMPTION: `BufferSize` 0 is STATUS_INVALID_PARAMETER (the
/// page requires a nonzero size); the buffer is zero-filled; `PoolType` and
/// `PoolTag` are accepted as given (framework pool is Wdf01000's, F51).
///
/// # Safety
/// `Memory` writable; `Buffer` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfMemoryCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    _PoolType: POOL_TYPE,
    _PoolTag: ULONG,
    BufferSize: usize,
    Memory: *mut WDFMEMORY,
    Buffer: *mut PVOID,
) -> NTSTATUS {
    enter(Routine::WdfMemoryCreate, STOPPED_STATUS, || {
        let size = || if BufferSize == 0 { Err(crate::STATUS_INVALID_PARAMETER) } else { Ok(()) };
        // SAFETY: `Memory` null or writable, `Attributes` null or valid (the DDI's contract).
        let attributes = match unsafe { with_out(Memory, "Memory", false, Attributes, Parent::AsGiven, size) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        let mut own = vec![0u64; BufferSize.div_ceil(8)].into_boxed_slice();
        let ptr = own.as_mut_ptr().cast::<u8>();
        let created = with_state(|s| {
            let image = s.caller_image();
            let kind = ObjectKind::Memory(Box::new(MemoryState { ptr, len: BufferSize, own: Some(own) }));
            s.create_object(kind, image, attributes)
        });
        match created {
            None => STOPPED_STATUS,
            Some(Err(st)) => st,
            Some(Ok(h)) => {
                // SAFETY: checked non-null; writable by contract.
                unsafe { Memory.write(h as WDFMEMORY) };
                if !Buffer.is_null() {
                    // SAFETY: non-null; writable by contract.
                    unsafe { Buffer.write(ptr.cast()) };
                }
                crate::STATUS_SUCCESS
            }
        }
    })
}

/// `WdfStringCreate`: a WDFSTRING holding a copy of `UnicodeString` (or
/// empty); parent: the driver unless the attributes name one (F10).
///
/// # Safety
/// `UnicodeString` null or valid; `String` writable.
#[must_use]
pub unsafe extern "C" fn WdfStringCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    UnicodeString: PCUNICODE_STRING,
    StringAttributes: PWDF_OBJECT_ATTRIBUTES,
    String: *mut WDFSTRING,
) -> NTSTATUS {
    enter(Routine::WdfStringCreate, STOPPED_STATUS, || {
        let mut text = Vec::new();
        let read_text = || {
            if !UnicodeString.is_null() {
                // SAFETY: non-null and valid by contract.
                text = unsafe { read_unicode(UnicodeString) }?.encode_utf16().collect();
            }
            Ok(())
        };
        // SAFETY: `String` null or writable, `StringAttributes` null or valid (the DDI's contract).
        let attributes =
            match unsafe { with_out(String, "String", false, StringAttributes, Parent::AsGiven, read_text) } {
                Ok(a) => a,
                Err(st) => return st,
            };
        let created = with_state(|s| {
            let image = s.caller_image();
            s.create_object(ObjectKind::String(text), image, attributes)
        });
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, String) }
    })
}

/// `WdfStringGetUnicodeString`: a `UNICODE_STRING` describing the object's
/// buffer, valid while the object lives (the DDI page). ASSUMPTION:
/// `MaximumLength` equals `Length` (no room beyond the text).
///
/// # Safety
/// `UnicodeString` writable.
pub unsafe extern "C" fn WdfStringGetUnicodeString(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    String: WDFSTRING,
    UnicodeString: PUNICODE_STRING,
) {
    enter(Routine::WdfStringGetUnicodeString, (), || {
        if UnicodeString.is_null() {
            with_state(|s| null_parameter(s, "UnicodeString"));
            return;
        }
        let value = with_state(|s| match s.framework.objects.get_mut(&(String as u64)).map(|o| &mut o.kind) {
            Some(ObjectKind::String(text)) => {
                let bytes = u16::try_from(text.len() * 2).unwrap_or(0xFFFE);
                Some(UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: text.as_mut_ptr() })
            }
            _ => {
                invalid_handle(s, String as u64, 0);
                None
            }
        })
        .flatten();
        if let Some(v) = value {
            // SAFETY: checked non-null; writable by contract.
            unsafe { UnicodeString.write(v) };
        }
    })
}

/// Replaces a WDFSTRING's text (WdfDriverRetrieveVersionString, ...).
pub(crate) fn assign_string(s: &mut crate::model::State, string: WDFSTRING, text: &str) -> NTSTATUS {
    match s.framework.objects.get_mut(&(string as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::String(t)) => {
            *t = text.encode_utf16().collect();
            crate::STATUS_SUCCESS
        }
        _ => invalid_handle(s, string as u64, 0),
    }
}
