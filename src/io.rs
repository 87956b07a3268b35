//! EvtIoDeviceControl: the IOCTLs of [`crate::wire`] over the driver's store
//! (`<persistent state>\Store`). Each request opens its store key as a child
//! of the request (K3), drops it before completing, checks every length,
//! and completes exactly once with `Information` within the output buffer.
//! Bad input is a status, never a panic (K5).

use crate::context::{self, DriverContext, QUEUE_CONTEXT, QueueContext};
use crate::driver::STORE_KEY;
use crate::sys::{
    NT_SUCCESS, NTSTATUS, PVOID, STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_DEVICE_REQUEST,
    STATUS_INVALID_PARAMETER, STATUS_NO_MORE_ENTRIES, STATUS_SUCCESS, STATUS_UNSUCCESSFUL, WDFDRIVER, WDFQUEUE,
    WDFREQUEST, call_unsafe_wdf_function_binding,
};
use crate::wire::{self, WireError};
use alloc::vec::Vec;
use wdfkey::{Access, ParentObject, RegKey, ScopedKey};

/// A request's result: the status and the bytes written to the output buffer.
type Outcome = Result<usize, NTSTATUS>;

fn wire_status(e: WireError) -> NTSTATUS {
    match e {
        WireError::TooShort => STATUS_BUFFER_TOO_SMALL,
        WireError::Malformed | WireError::BadName | WireError::BadValue => STATUS_INVALID_PARAMETER,
    }
}

/// A copy of the input (METHOD_BUFFERED shares one buffer with the output,
/// so all input is read before any output is written), fallibly allocated.
fn read_input(request: WDFREQUEST, min: usize) -> Result<Vec<u8>, NTSTATUS> {
    let mut buffer: PVOID = core::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: the request is ours until completed; the outs are locals.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfRequestRetrieveInputBuffer, request, min, &mut buffer, &mut len)
    };
    if !NT_SUCCESS(status) {
        return Err(status);
    }
    let mut copy = Vec::new();
    copy.try_reserve_exact(len).map_err(|_| STATUS_INSUFFICIENT_RESOURCES)?;
    // SAFETY: the framework guarantees `len` readable bytes at `buffer`.
    copy.extend_from_slice(unsafe { core::slice::from_raw_parts(buffer.cast::<u8>(), len) });
    Ok(copy)
}

/// The output buffer, at least `min` bytes.
fn output<'r>(request: WDFREQUEST, min: usize) -> Result<&'r mut [u8], NTSTATUS> {
    let mut buffer: PVOID = core::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: the request is ours until completed; the outs are locals.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfRequestRetrieveOutputBuffer, request, min, &mut buffer, &mut len)
    };
    if !NT_SUCCESS(status) {
        return Err(status);
    }
    // SAFETY: the framework guarantees `len` writable bytes at `buffer`
    // until the request is completed, and the input was copied out first.
    Ok(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), len) })
}

/// A name's UTF-16 units, fallibly allocated.
fn units(name: wire::Name<'_>) -> Result<Vec<u16>, NTSTATUS> {
    let mut v = Vec::new();
    v.try_reserve_exact(name.len()).map_err(|_| STATUS_INSUFFICIENT_RESOURCES)?;
    v.extend(name.units());
    Ok(v)
}

/// Opens the store as a child of `request` for this request only (K3),
/// runs `f` on it, and closes it (and the state key it was opened from)
/// before returning — before the request is completed. Counts the keys.
fn with_store<T>(
    driver: WDFDRIVER,
    request: &WDFREQUEST,
    access: Access,
    ctx: &mut DriverContext,
    f: impl FnOnce(&ScopedKey<'_>) -> Result<T, NTSTATUS>,
) -> Result<T, NTSTATUS> {
    // SAFETY: `driver` is our live WDFDRIVER.
    let state = unsafe { RegKey::open_persistent_state(driver, access) }?;
    ctx.stats.keys_opened = ctx.stats.keys_opened.wrapping_add(1);
    // SAFETY: the request is live and is completed only after this function
    // returns, by which time the scoped key is dropped.
    let parent = unsafe { ParentObject::from_handle(request) };
    let store = state.open_subkey_scoped(STORE_KEY, access, parent);
    drop(state);
    ctx.stats.keys_closed = ctx.stats.keys_closed.wrapping_add(1);
    let store = store?;
    ctx.stats.keys_opened = ctx.stats.keys_opened.wrapping_add(1);
    let result = f(&store);
    drop(store);
    ctx.stats.keys_closed = ctx.stats.keys_closed.wrapping_add(1);
    result
}

fn get_value(driver: WDFDRIVER, request: &WDFREQUEST, ctx: &mut DriverContext) -> Outcome {
    let input = read_input(*request, wire::NAME_HEADER)?;
    let name = units(wire::decode_name_request(&input).map_err(wire_status)?)?;
    with_store(driver, request, Access::READ, ctx, |store| {
        let needed = match store.query_value_into(name.as_slice(), &mut []) {
            Ok(info) => info.len as usize,
            Err(e) if e.status() == crate::sys::STATUS_BUFFER_OVERFLOW => e.needed().unwrap_or(0) as usize,
            Err(e) => return Err(e.into()),
        };
        let out = output(*request, wire::VALUE_HEADER + needed)?;
        let (header, data) = out.split_at_mut(wire::VALUE_HEADER);
        let data = data.get_mut(..needed).ok_or(STATUS_BUFFER_TOO_SMALL)?;
        let info = store.query_value_into(name.as_slice(), data)?;
        header.get_mut(..4).ok_or(STATUS_UNSUCCESSFUL)?.copy_from_slice(&info.kind.to_le_bytes());
        header.get_mut(4..8).ok_or(STATUS_UNSUCCESSFUL)?.copy_from_slice(&info.len.to_le_bytes());
        Ok(wire::VALUE_HEADER + info.len as usize)
    })
}

fn set_value(driver: WDFDRIVER, request: &WDFREQUEST, ctx: &mut DriverContext) -> Outcome {
    let input = read_input(*request, wire::SET_HEADER)?;
    let set = wire::decode_set_request(&input, ctx.config.max_value_size as usize).map_err(wire_status)?;
    let name = units(set.name)?;
    with_store(driver, request, Access::READ_WRITE, ctx, |store| {
        store.assign_value(name.as_slice(), set.kind, set.data)?;
        Ok(0)
    })
}

fn delete_value(driver: WDFDRIVER, request: &WDFREQUEST, ctx: &mut DriverContext) -> Outcome {
    let input = read_input(*request, wire::NAME_HEADER)?;
    let name = units(wire::decode_name_request(&input).map_err(wire_status)?)?;
    with_store(driver, request, Access::READ_WRITE, ctx, |store| {
        store.remove_value(name.as_slice())?;
        Ok(0)
    })
}

fn enum_values(driver: WDFDRIVER, request: &WDFREQUEST, ctx: &mut DriverContext) -> Outcome {
    let input = read_input(*request, 4)?;
    let index = wire::decode_enum_request(&input).map_err(wire_status)?;
    let (name, kind) =
        with_store(driver, request, Access::READ, ctx, |store| store.value_name(index)?.ok_or(STATUS_NO_MORE_ENTRIES))?;
    let units = u16::try_from(name.len()).map_err(|_| STATUS_INVALID_PARAMETER)?;
    let total = wire::ENUM_HEADER + name.len() * 2;
    let out = output(*request, total)?;
    let out = out.get_mut(..total).ok_or(STATUS_BUFFER_TOO_SMALL)?;
    let (header, rest) = out.split_at_mut(wire::ENUM_HEADER);
    header.get_mut(..4).ok_or(STATUS_UNSUCCESSFUL)?.copy_from_slice(&kind.to_le_bytes());
    header.get_mut(4..6).ok_or(STATUS_UNSUCCESSFUL)?.copy_from_slice(&units.to_le_bytes());
    header.get_mut(6..8).ok_or(STATUS_UNSUCCESSFUL)?.copy_from_slice(&[0, 0]);
    for (dst, u) in rest.chunks_exact_mut(2).zip(name) {
        dst.copy_from_slice(&u.to_le_bytes());
    }
    Ok(total)
}

fn get_stats(request: &WDFREQUEST, ctx: &mut DriverContext) -> Outcome {
    let bytes = ctx.stats.encode();
    let out = output(*request, bytes.len())?;
    out.get_mut(..bytes.len()).ok_or(STATUS_BUFFER_TOO_SMALL)?.copy_from_slice(&bytes);
    Ok(bytes.len())
}

/// EvtIoDeviceControl of the default (sequential) queue.
pub(crate) extern "C" fn evt_io_device_control(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    output_buffer_length: usize,
    _input_buffer_length: usize,
    io_control_code: u32,
) {
    let outcome = handle(queue, &request, io_control_code);
    let (status, information) = match outcome {
        // Never more than the caller's buffer holds.
        Ok(n) => (STATUS_SUCCESS, n.min(output_buffer_length)),
        Err(status) => (status, 0),
    };
    // SAFETY: the request is ours and is completed exactly once, after every
    // key scoped to it was dropped (K3).
    unsafe {
        call_unsafe_wdf_function_binding!(WdfRequestCompleteWithInformation, request, status, information as u64)
    };
}

fn handle(queue: WDFQUEUE, request: &WDFREQUEST, code: u32) -> Outcome {
    // SAFETY: `queue` is our default queue, created with QUEUE_CONTEXT.
    let driver = unsafe { context::context::<QueueContext>(queue.cast(), &QUEUE_CONTEXT) }
        .and_then(|q| q.driver)
        .ok_or(STATUS_UNSUCCESSFUL)?
        .as_ptr();
    // SAFETY: `driver` is our live WDFDRIVER (it outlives its devices).
    let ctx = unsafe { context::driver_context(driver) }.ok_or(STATUS_UNSUCCESSFUL)?;
    ctx.stats.requests = ctx.stats.requests.wrapping_add(1);
    let outcome = match code {
        wire::IOCTL_GET_VALUE => get_value(driver, request, ctx),
        wire::IOCTL_SET_VALUE => set_value(driver, request, ctx),
        wire::IOCTL_DELETE_VALUE => delete_value(driver, request, ctx),
        wire::IOCTL_ENUM_VALUES => enum_values(driver, request, ctx),
        wire::IOCTL_GET_STATS => get_stats(request, ctx),
        _ => Err(STATUS_INVALID_DEVICE_REQUEST),
    };
    if outcome.is_err() {
        ctx.stats.failures = ctx.stats.failures.wrapping_add(1);
    }
    outcome
}
