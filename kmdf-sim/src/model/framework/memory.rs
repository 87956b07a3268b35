//! WDFMEMORY and WDFSTRING objects (wdfmemory.h, wdfstring.h): their
//! buffers, the copy rules, the string's text.

use super::objects::{Attributes, MemoryState, ObjectKind};
use super::verifier::{null_parameter, required_null};
use crate::abi::*;
use crate::model::{Routine, STOPPED_STATUS, with_state};

/// The buffer (pointer, length) of `routine`'s WDFMEMORY `memory` (F91's
/// check first), or the status the DDI returns.
pub(crate) fn buffer_of(routine: Routine, memory: WDFMEMORY) -> Result<(*mut u8, usize), NTSTATUS> {
    with_state(|s| match &s.fx_object(routine, 0, memory as u64)?.kind {
        ObjectKind::Memory(m) => Ok((m.ptr, m.len)),
        _ => unreachable!("the handle table admits only memory objects for a WDFMEMORY"),
    })
    .unwrap_or(Err(STOPPED_STATUS))
}

/// The part of `routine`'s WDFMEMORY that `offset` and `count` select for
/// a copy to or from the driver's buffer: its first byte. In
/// fxmemorybufferapi.cpp's order: the handle (F91), then the driver's
/// `Buffer` (`buffer_null`: 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL}), then a
/// zero `count` (STATUS_INVALID_PARAMETER). ASSUMPTION (KMDF source,
/// FxMemoryObject::CopyToPtr / CopyFromPtr via FxValidateMemoryOffsets): an
/// overflowing sum is STATUS_INTEGER_OVERFLOW, a range past the end
/// STATUS_INVALID_BUFFER_SIZE.
pub(crate) fn range_of(
    routine: Routine,
    memory: WDFMEMORY,
    offset: usize,
    count: usize,
    buffer_null: bool,
) -> Result<*mut u8, NTSTATUS> {
    let (ptr, len) = buffer_of(routine, memory)?;
    if buffer_null {
        return Err(required_null("Buffer"));
    }
    if count == 0 {
        return Err(STATUS_INVALID_PARAMETER);
    }
    let end = offset.checked_add(count).ok_or(STATUS_INTEGER_OVERFLOW)?;
    if end > len {
        return Err(STATUS_INVALID_BUFFER_SIZE);
    }
    // `offset <= end <= len`: inside the object's buffer (or one past it).
    Ok(ptr.wrapping_add(offset))
}

/// `WdfMemoryCreate`: a memory object with a zero-filled buffer of its own
/// of `size` bytes (parent: the driver unless the attributes name one,
/// F10/F25). ASSUMPTION: `PoolType` and `PoolTag` are accepted as given
/// (framework pool is Wdf01000's, F51). `None`: no machine.
pub(crate) fn create(size: usize, attributes: Attributes) -> Option<Result<(u64, *mut u8), NTSTATUS>> {
    let mut own = vec![0u64; size.div_ceil(8)].into_boxed_slice();
    let ptr = own.as_mut_ptr().cast::<u8>();
    with_state(|s| {
        let image = s.caller_image();
        let kind = ObjectKind::Memory(Box::new(MemoryState { ptr, len: size, own: Some(own) }));
        s.create_object(kind, image, attributes).map(|h| (h, ptr))
    })
}

/// ASSUMPTION: `WdfMemoryCreate` with `BufferSize` 0 is
/// STATUS_INVALID_PARAMETER (the page requires a nonzero size).
pub(crate) fn check_size(size: usize) -> Result<(), NTSTATUS> {
    if size == 0 { Err(STATUS_INVALID_PARAMETER) } else { Ok(()) }
}

/// `WdfStringCreate`: a WDFSTRING holding `text`; parent: the driver unless
/// the attributes name one (F10). `None`: no machine.
pub(crate) fn create_string(text: Vec<u16>, attributes: Attributes) -> Option<Result<u64, NTSTATUS>> {
    with_state(|s| {
        let image = s.caller_image();
        s.create_object(ObjectKind::String(text), image, attributes)
    })
}

/// `WdfStringGetUnicodeString`: a `UNICODE_STRING` describing the object's
/// buffer, valid while the object lives (the DDI page). ASSUMPTION:
/// `MaximumLength` equals `Length` (no room beyond the text). The handle
/// is checked first, then the driver's `UnicodeString` (`out_null`: 0x10D
/// {WDF_REQUIRED_PARAMETER_IS_NULL}, F91; fxstringapi.cpp).
pub(crate) fn unicode_string(string: WDFSTRING, out_null: bool) -> Option<UNICODE_STRING> {
    with_state(|s| match &mut s.fx_object(Routine::WdfStringGetUnicodeString, 0, string as u64).ok()?.kind {
        _ if out_null => {
            null_parameter(s, "UnicodeString");
            None
        }
        ObjectKind::String(text) => {
            let bytes = u16::try_from(text.len() * 2).unwrap_or(0xFFFE);
            Some(UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: text.as_mut_ptr() })
        }
        _ => unreachable!("the handle table admits only strings for a WDFSTRING"),
    })
    .flatten()
}
