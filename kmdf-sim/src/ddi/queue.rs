//! Queue and request DDIs: the default queue, METHOD_BUFFERED buffers and
//! completion. A completed request is deleted with its children (K3).

use super::{invalid_handle, null_parameter};
use crate::control::objects::{self, ObjectKind};
use crate::control::{FRAMEWORK_MODULE, STOPPED_STATUS, enter, with_state};
use crate::surface::types::*;

/// `WdfIoQueueCreate`: a queue, child of its device. ASSUMPTIONs: a
/// `Config.Size` other than the 1.33 size fails with
/// STATUS_INFO_LENGTH_MISMATCH; only DispatchSequential and DispatchParallel
/// are served (the simulator presents one request at a time either way).
///
/// # Safety
/// As the DDI: `Config` valid, `Queue` null or writable.
#[must_use]
pub unsafe extern "C" fn WdfIoQueueCreate(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Device: WDFDEVICE,
    Config: PWDF_IO_QUEUE_CONFIG,
    QueueAttributes: PWDF_OBJECT_ATTRIBUTES,
    Queue: *mut WDFQUEUE,
) -> NTSTATUS {
    enter("WdfIoQueueCreate", FRAMEWORK_MODULE, "Wdf01000!imp_WdfIoQueueCreate", STOPPED_STATUS, || {
        if Config.is_null() {
            with_state(|s| null_parameter(s, "Config"));
            return STOPPED_STATUS;
        }
        // SAFETY: non-null and valid by contract.
        let config = unsafe { *Config };
        if config.Size as usize != size_of::<WDF_IO_QUEUE_CONFIG>() {
            return crate::STATUS_INFO_LENGTH_MISMATCH;
        }
        let sequential = match config.DispatchType {
            _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential => true,
            _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel => false,
            _ => return crate::STATUS_NOT_SUPPORTED,
        };
        // SAFETY: the driver passes null or valid attributes.
        let mut attributes = match unsafe { objects::read_attributes(QueueAttributes) } {
            Ok(a) => a,
            Err(st) => return st,
        };
        let created = with_state(|s| {
            if !matches!(s.objects.get(&(Device as u64)).map(|o| &o.kind), Some(ObjectKind::Device { .. })) {
                return Err(invalid_handle(s, Device as u64, 0));
            }
            attributes.parent.get_or_insert(Device as u64);
            let kind = ObjectKind::Queue {
                device: Device as u64,
                default: config.DefaultQueue != 0,
                sequential,
                device_control: config.EvtIoDeviceControl,
            };
            let image = s.caller_image();
            s.create_object(kind, image, attributes)
        });
        match created {
            None => STOPPED_STATUS,
            Some(Err(st)) => st,
            Some(Ok(h)) => {
                if !Queue.is_null() {
                    // SAFETY: non-null; writable by contract.
                    unsafe { Queue.write(h as WDFQUEUE) };
                }
                crate::STATUS_SUCCESS
            }
        }
    })
}

/// Shared body of the two buffer DDIs. ASSUMPTION (WDF docs, not in the
/// facts): a buffer shorter than `min` — or empty — is STATUS_BUFFER_TOO_SMALL.
///
/// # Safety
/// `buffer` writable; `length` null or writable.
unsafe fn retrieve(request: WDFREQUEST, min: usize, buffer: *mut PVOID, length: *mut usize, output: bool) -> NTSTATUS {
    if buffer.is_null() {
        with_state(|s| null_parameter(s, "Buffer"));
        return STOPPED_STATUS;
    }
    let found = with_state(|s| match s.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::Request(r)) => {
            let len = if output { r.output_len } else { r.input_len };
            if len == 0 || len < min { Err(crate::STATUS_BUFFER_TOO_SMALL) } else { Ok((r.buffer_ptr(), len)) }
        }
        _ => Err(invalid_handle(s, request as u64, 0)),
    });
    match found {
        None => STOPPED_STATUS,
        Some(Err(st)) => st,
        Some(Ok((ptr, len))) => {
            // SAFETY: non-null; writable by contract.
            unsafe { buffer.write(ptr.cast()) };
            if !length.is_null() {
                // SAFETY: non-null; writable by contract.
                unsafe { length.write(len) };
            }
            crate::STATUS_SUCCESS
        }
    }
}

/// `WdfRequestRetrieveInputBuffer` (METHOD_BUFFERED: the system buffer).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRequestRetrieveInputBuffer(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    MinimumRequiredLength: usize,
    Buffer: *mut PVOID,
    Length: *mut usize,
) -> NTSTATUS {
    enter(
        "WdfRequestRetrieveInputBuffer",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfRequestRetrieveInputBuffer",
        STOPPED_STATUS,
        || {
            // SAFETY: forwarded from this DDI's contract.
            unsafe { retrieve(Request, MinimumRequiredLength, Buffer, Length, false) }
        },
    )
}

/// `WdfRequestRetrieveOutputBuffer` (METHOD_BUFFERED: the same system
/// buffer — read all input before writing output).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRequestRetrieveOutputBuffer(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    MinimumRequiredSize: usize,
    Buffer: *mut PVOID,
    Length: *mut usize,
) -> NTSTATUS {
    enter(
        "WdfRequestRetrieveOutputBuffer",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfRequestRetrieveOutputBuffer",
        STOPPED_STATUS,
        || {
            // SAFETY: forwarded from this DDI's contract.
            unsafe { retrieve(Request, MinimumRequiredSize, Buffer, Length, true) }
        },
    )
}

/// Completes a request: the caller gets status, `Information` and the first
/// `Information` bytes of the system buffer (at most the output length);
/// the request object is deleted with its children (K3). A second
/// completion finds a freed request (F77's rules).
fn complete(request: WDFREQUEST, status: NTSTATUS, information: u64) {
    let done = with_state(|s| match s.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::Request(r)) if r.completed.is_none() => {
            r.completed = Some((status, information));
            let n = usize::try_from(information).unwrap_or(usize::MAX).min(r.output_len);
            let ptr = r.buffer_ptr();
            // SAFETY: the system buffer holds at least `output_len >= n` bytes.
            let output = unsafe { std::slice::from_raw_parts(ptr, n) }.to_vec();
            s.completed_requests.insert(request as u64, (status, information, output));
            // Bounded: the oldest results (lowest handles) go first.
            if s.completed_requests.len() > crate::control::COMPLETED_REQUESTS_KEPT {
                s.completed_requests.pop_first();
            }
            true
        }
        _ => {
            invalid_handle(s, request as u64, 0);
            false
        }
    });
    if done == Some(true) {
        objects::delete_subtree(request as u64);
    }
}

/// `WdfRequestCompleteWithInformation`.
///
/// # Safety
/// As the DDI: a live request the driver owns, completed once.
pub unsafe extern "C" fn WdfRequestCompleteWithInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Status: NTSTATUS,
    Information: ULONG_PTR,
) {
    enter(
        "WdfRequestCompleteWithInformation",
        FRAMEWORK_MODULE,
        "Wdf01000!imp_WdfRequestCompleteWithInformation",
        (),
        || {
            complete(Request, Status, Information);
        },
    )
}

/// `WdfRequestComplete` (Information 0).
///
/// # Safety
/// As the DDI.
pub unsafe extern "C" fn WdfRequestComplete(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Status: NTSTATUS,
) {
    enter("WdfRequestComplete", FRAMEWORK_MODULE, "Wdf01000!imp_WdfRequestComplete", (), || {
        complete(Request, Status, 0)
    })
}
