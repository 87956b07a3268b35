//! The file namespace (F150): the rules are the model's `kernel::files`.
//! The shims read the object attributes and buffers and write the handle,
//! the IO_STATUS_BLOCK and the data read.

use super::read_object_attributes;
use crate::abi::*;
use crate::model::kernel::files::{self, CreateRequest};
use crate::model::{Routine, enter};

/// Writes an IO_STATUS_BLOCK.
///
/// # Safety
/// `iosb` null or writable.
unsafe fn complete(iosb: PIO_STATUS_BLOCK, status: NTSTATUS, information: u64) -> NTSTATUS {
    // SAFETY: null or writable (the caller's contract).
    if let Some(b) = unsafe { iosb.as_mut() } {
        b.__bindgen_anon_1.Status = status;
        b.Information = information;
    }
    status
}

/// The status a transfer's outcome (bytes moved, a failure, or a stop)
/// gives, written to the IoStatusBlock.
///
/// # Safety
/// `iosb` null or writable.
unsafe fn finish(outcome: Option<Result<usize, NTSTATUS>>, iosb: PIO_STATUS_BLOCK) -> NTSTATUS {
    match outcome {
        // SAFETY: null or writable (the caller's contract).
        Some(Ok(n)) => unsafe { complete(iosb, crate::STATUS_SUCCESS, n as u64) },
        // SAFETY: as above.
        Some(Err(status)) => unsafe { complete(iosb, status, 0) },
        None => crate::model::STOPPED_STATUS,
    }
}

/// The offset a read or write names: `None` for a null pointer.
///
/// # Safety
/// `offset` null or valid.
unsafe fn offset_of(offset: PLARGE_INTEGER) -> Option<i64> {
    // SAFETY: null or valid (the caller's contract); every bit pattern of the
    // union is a valid i64.
    unsafe { offset.as_ref().map(|o| o.QuadPart) }
}

/// `ZwCreateFile` (F150): opens or creates a file of the simulated
/// namespace as `CreateDisposition` says; the handle goes to `*FileHandle`,
/// FILE_CREATED / FILE_OPENED / ... to the IoStatusBlock's Information.
///
/// # Safety
/// `FileHandle` and `IoStatusBlock` writable; `ObjectAttributes` valid.
#[must_use]
pub unsafe extern "C" fn ZwCreateFile(
    FileHandle: PHANDLE,
    DesiredAccess: ACCESS_MASK,
    ObjectAttributes: POBJECT_ATTRIBUTES,
    IoStatusBlock: PIO_STATUS_BLOCK,
    _AllocationSize: PLARGE_INTEGER,
    _FileAttributes: ULONG,
    ShareAccess: ULONG,
    CreateDisposition: ULONG,
    CreateOptions: ULONG,
    _EaBuffer: PVOID,
    _EaLength: ULONG,
) -> NTSTATUS {
    enter(Routine::ZwCreateFile, crate::model::STOPPED_STATUS, || {
        // SAFETY: valid (the routine's contract).
        let (root, path) = match unsafe { read_object_attributes(ObjectAttributes) } {
            Ok(attributes) => attributes,
            Err(status) => return status,
        };
        if FileHandle.is_null() || IoStatusBlock.is_null() {
            return crate::STATUS_INVALID_PARAMETER;
        }
        let request = CreateRequest {
            path: &path,
            access: DesiredAccess,
            share: ShareAccess,
            disposition: CreateDisposition,
            options: CreateOptions,
        };
        let made = files::create_file(!root.is_null(), request);
        match made {
            Some(Ok((handle, information))) => {
                // SAFETY: non-null and writable (the routine's contract).
                unsafe { FileHandle.write(handle as HANDLE) };
                // SAFETY: as above.
                unsafe { complete(IoStatusBlock, crate::STATUS_SUCCESS, information) }
            }
            // SAFETY: as above.
            Some(Err(status)) => unsafe { complete(IoStatusBlock, status, 0) },
            None => crate::model::STOPPED_STATUS,
        }
    })
}

/// `ZwReadFile` (F150): up to `Length` bytes into `Buffer` from
/// `ByteOffset` (or the file position, for synchronous I/O);
/// STATUS_END_OF_FILE at the end.
///
/// # Safety
/// `Buffer` writable for `Length` bytes; `IoStatusBlock` writable;
/// `ByteOffset` null or valid.
#[must_use]
pub unsafe extern "C" fn ZwReadFile(
    FileHandle: HANDLE,
    Event: HANDLE,
    ApcRoutine: PIO_APC_ROUTINE,
    _ApcContext: PVOID,
    IoStatusBlock: PIO_STATUS_BLOCK,
    Buffer: PVOID,
    Length: ULONG,
    ByteOffset: PLARGE_INTEGER,
    _Key: PULONG,
) -> NTSTATUS {
    // SAFETY: null or valid (the routine's contract).
    let offset = unsafe { offset_of(ByteOffset) };
    enter(Routine::ZwReadFile, crate::model::STOPPED_STATUS, || {
        let asynchronous = !Event.is_null() || ApcRoutine.is_some();
        let read = files::read_file(asynchronous, FileHandle as u64, Length as usize, offset);
        let outcome = read.map(|r| {
            r.map(|bytes| {
                // SAFETY: `Buffer` writable for Length >= bytes.len() bytes
                // (the routine's contract); the model's copy is not it.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), Buffer.cast::<u8>(), bytes.len()) };
                bytes.len()
            })
        });
        // SAFETY: writable (the routine's contract).
        unsafe { finish(outcome, IoStatusBlock) }
    })
}

/// `ZwWriteFile` (F150): `Length` bytes of `Buffer` at `ByteOffset` (or
/// the position; the end for append-only access or FILE_WRITE_TO_END_OF_FILE).
///
/// # Safety
/// `Buffer` readable for `Length` bytes; `IoStatusBlock` writable;
/// `ByteOffset` null or valid.
#[must_use]
pub unsafe extern "C" fn ZwWriteFile(
    FileHandle: HANDLE,
    Event: HANDLE,
    ApcRoutine: PIO_APC_ROUTINE,
    _ApcContext: PVOID,
    IoStatusBlock: PIO_STATUS_BLOCK,
    Buffer: PVOID,
    Length: ULONG,
    ByteOffset: PLARGE_INTEGER,
    _Key: PULONG,
) -> NTSTATUS {
    // SAFETY: null or valid (the routine's contract).
    let offset = unsafe { offset_of(ByteOffset) };
    let data: &[u8] = if Length == 0 || Buffer.is_null() {
        &[]
    } else {
        // SAFETY: readable for Length bytes (the routine's contract).
        unsafe { std::slice::from_raw_parts(Buffer.cast::<u8>(), Length as usize) }
    };
    enter(Routine::ZwWriteFile, crate::model::STOPPED_STATUS, || {
        let asynchronous = !Event.is_null() || ApcRoutine.is_some();
        let written = files::write_file(asynchronous, FileHandle as u64, data, offset);
        // SAFETY: writable (the routine's contract).
        unsafe { finish(written, IoStatusBlock) }
    })
}
