//! The checks a kernel routine makes of its arguments before it touches any
//! object: the shims read the driver's structures and hand the model what
//! they found; the verdict is here. Each is ASSUMPTION unless it cites a
//! fact: the status the object manager's capture of the argument answers
//! (the routines' pages list STATUS_INVALID_PARAMETER for a malformed
//! argument without saying which).

use crate::abi::{NTSTATUS, OBJECT_ATTRIBUTES, STATUS_INVALID_PARAMETER, UNICODE_STRING};

/// A `UNICODE_STRING` argument (`None`: a NULL pointer) as
/// `RtlValidateUnicodeString`'s rules take it: present, an even `Length` no
/// larger than `MaximumLength`, a buffer when `Length` is not zero; the
/// string, or STATUS_INVALID_PARAMETER.
pub(crate) fn counted_string(s: Option<&UNICODE_STRING>) -> Result<&UNICODE_STRING, NTSTATUS> {
    s.filter(|s| s.Length % 2 == 0 && s.Length <= s.MaximumLength && !(s.Length > 0 && s.Buffer.is_null()))
        .ok_or(STATUS_INVALID_PARAMETER)
}

/// An `OBJECT_ATTRIBUTES` argument (`None`: a NULL pointer): present, with
/// `Length` its size; the attributes, or STATUS_INVALID_PARAMETER.
pub(crate) fn object_attributes(oa: Option<&OBJECT_ATTRIBUTES>) -> Result<&OBJECT_ATTRIBUTES, NTSTATUS> {
    oa.filter(|oa| oa.Length as usize == size_of::<OBJECT_ATTRIBUTES>()).ok_or(STATUS_INVALID_PARAMETER)
}

/// A required pointer the routine writes its result to (a `PHANDLE`):
/// STATUS_INVALID_PARAMETER when it is NULL.
pub(crate) fn result_pointer(is_null: bool) -> Result<(), NTSTATUS> {
    if is_null { Err(STATUS_INVALID_PARAMETER) } else { Ok(()) }
}

/// An information buffer of `length` bytes at `buffer` with its
/// `ResultLength`: the result length is required; a NULL buffer only with a
/// zero length (a size probe).
pub(crate) fn information_buffer(buffer_null: bool, length: u32, result_length_null: bool) -> Result<(), NTSTATUS> {
    if result_length_null || (buffer_null && length > 0) { Err(STATUS_INVALID_PARAMETER) } else { Ok(()) }
}

/// A data argument of `size` bytes: NULL only with a zero size.
pub(crate) fn data(data_null: bool, size: u32) -> Result<(), NTSTATUS> {
    if data_null && size > 0 { Err(STATUS_INVALID_PARAMETER) } else { Ok(()) }
}

/// A callback the routine registers: STATUS_INVALID_PARAMETER when NULL.
pub(crate) fn callback<F>(routine: Option<F>) -> Result<F, NTSTATUS> {
    routine.ok_or(STATUS_INVALID_PARAMETER)
}
