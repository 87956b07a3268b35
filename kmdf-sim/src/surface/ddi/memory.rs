//! Memory and string DDIs (wdfmemory.h, wdfstring.h). The rules are the
//! model's (`model::framework::memory`).

use crate::abi::*;
use crate::model::framework::memory as fx_memory;
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, deliver, with_out};
use crate::surface::strings::read_unicode;

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
        let routine = Routine::WdfMemoryCopyToBuffer;
        let source = match fx_memory::range_of(routine, SourceMemory, SourceOffset, NumBytesToCopyTo, Buffer.is_null())
        {
            Ok(p) => p,
            Err(st) => return st,
        };
        // SAFETY: the range is inside the memory object's buffer (checked by
        // the model); `Buffer` has room by contract; they do not overlap
        // (the driver's buffer is not the framework's).
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
        let routine = Routine::WdfMemoryCopyFromBuffer;
        let destination = match fx_memory::range_of(
            routine,
            DestinationMemory,
            DestinationOffset,
            NumBytesToCopyFrom,
            Buffer.is_null(),
        ) {
            Ok(p) => p,
            Err(st) => return st,
        };
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
        let Ok((ptr, len)) = fx_memory::buffer_of(Routine::WdfMemoryGetBuffer, Memory) else {
            return std::ptr::null_mut();
        };
        if !BufferSize.is_null() {
            // SAFETY: non-null; writable by contract.
            unsafe { BufferSize.write(len) };
        }
        ptr.cast()
    })
}

/// `WdfMemoryCreate` (see `model::framework::memory::create`).
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
        let size = || fx_memory::check_size(BufferSize);
        // SAFETY: `Memory` null or writable, `Attributes` null or valid (the DDI's contract).
        let attributes = match unsafe { with_out(Memory, "Memory", false, Attributes, Parent::AsGiven, size) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        match fx_memory::create(BufferSize, attributes) {
            None => STOPPED_STATUS,
            Some(Err(st)) => st,
            Some(Ok((h, ptr))) => {
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

/// `WdfStringCreate`: a WDFSTRING holding a copy of `UnicodeString` (or empty).
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
        let created = fx_memory::create_string(text, attributes);
        // SAFETY: checked non-null in the prologue; writable by the DDI's contract.
        unsafe { deliver(created, String) }
    })
}

/// `WdfStringGetUnicodeString` (see `model::framework::memory::unicode_string`).
///
/// # Safety
/// `UnicodeString` writable.
pub unsafe extern "C" fn WdfStringGetUnicodeString(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    String: WDFSTRING,
    UnicodeString: PUNICODE_STRING,
) {
    enter(Routine::WdfStringGetUnicodeString, (), || {
        if let Some(v) = fx_memory::unicode_string(String, UnicodeString.is_null()) {
            // SAFETY: checked non-null; writable by contract.
            unsafe { UnicodeString.write(v) };
        }
    })
}
