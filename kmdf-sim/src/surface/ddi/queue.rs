//! Queue and request DDIs: the default queue, METHOD_BUFFERED buffers and
//! completion. A completed request is deleted with its children (K3). The
//! rules are the model's (`model::framework::queue`).

use crate::abi::*;
use crate::model::framework::queue::{self, QueueConfig, with_request};
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::create::{Parent, deliver, with_config};

/// `WdfIoQueueCreate` (see `model::framework::queue::create_queue`; the
/// `Config.Size`s it takes, F93, are `model::framework::config`'s).
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
    enter(Routine::WdfIoQueueCreate, STOPPED_STATUS, || {
        // SAFETY: the driver passes a valid config and null or valid attributes.
        let (config, (), attributes) =
            match unsafe { with_config(Config, &[], QueueAttributes, Parent::AsGiven, |_| Ok(())) } {
                Ok(checked) => checked,
                Err(st) => return st,
            };
        let config = QueueConfig {
            dispatch_type: config.DispatchType,
            default: config.DefaultQueue != 0,
            zero_length: config.AllowZeroLengthRequests != 0,
            io_default: config.EvtIoDefault,
            read: config.EvtIoRead,
            write: config.EvtIoWrite,
            device_control: config.EvtIoDeviceControl,
            canceled_on_queue: config.EvtIoCanceledOnQueue.is_some(),
            handle_wanted: !Queue.is_null(),
        };
        // SAFETY: `Queue` is null or writable (the DDI's contract).
        unsafe { deliver(queue::create_queue(Device, &config, attributes), Queue) }
    })
}

/// The end of the two buffer DDIs: the buffer and its length written out.
///
/// # Safety
/// `buffer` null or writable; `length` null or writable.
unsafe fn retrieve(
    routine: Routine,
    request: WDFREQUEST,
    min: usize,
    buffer: *mut PVOID,
    length: *mut usize,
    output: bool,
) -> NTSTATUS {
    // fxrequestapi.cpp clears the outputs before it looks any further.
    if !buffer.is_null() {
        // SAFETY: non-null; writable by contract.
        unsafe { buffer.write(std::ptr::null_mut()) };
        if !length.is_null() {
            // SAFETY: non-null; writable by contract.
            unsafe { length.write(0) };
        }
    }
    match queue::retrieve_buffer(routine, request, min, output, buffer.is_null()) {
        Err(st) => st,
        Ok((ptr, len)) => {
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
    let routine = Routine::WdfRequestRetrieveInputBuffer;
    enter(routine, STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe { retrieve(routine, Request, MinimumRequiredLength, Buffer, Length, false) }
    })
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
    let routine = Routine::WdfRequestRetrieveOutputBuffer;
    enter(routine, STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe { retrieve(routine, Request, MinimumRequiredSize, Buffer, Length, true) }
    })
}

/// `WdfRequestCompleteWithInformation` (see `model::framework::queue::complete`).
pub unsafe extern "C" fn WdfRequestCompleteWithInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Status: NTSTATUS,
    Information: ULONG_PTR,
) {
    let routine = Routine::WdfRequestCompleteWithInformation;
    enter(routine, (), || queue::complete(routine, Request, Status, Some(Information)))
}

/// `WdfRequestComplete`: completes with the information the request holds.
pub unsafe extern "C" fn WdfRequestComplete(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Status: NTSTATUS,
) {
    let routine = Routine::WdfRequestComplete;
    enter(routine, (), || queue::complete(routine, Request, Status, None))
}

/// `WdfRequestSetInformation`: the value WdfRequestComplete completes with.
pub unsafe extern "C" fn WdfRequestSetInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Information: ULONG_PTR,
) {
    let routine = Routine::WdfRequestSetInformation;
    enter(routine, (), || {
        with_request(routine, Request, |r| r.information = Information);
    })
}

/// `WdfRequestGetInformation`: the value WdfRequestSetInformation left (0 at first).
#[must_use]
pub unsafe extern "C" fn WdfRequestGetInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
) -> ULONG_PTR {
    let routine = Routine::WdfRequestGetInformation;
    enter(routine, 0, || with_request(routine, Request, |r| r.information).unwrap_or(0))
}

/// `WdfRequestGetIoQueue`: the queue that presented the request.
#[must_use]
pub unsafe extern "C" fn WdfRequestGetIoQueue(_DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> WDFQUEUE {
    let routine = Routine::WdfRequestGetIoQueue;
    enter(routine, std::ptr::null_mut(), || {
        with_request(routine, Request, |r| r.queue as WDFQUEUE).unwrap_or(std::ptr::null_mut())
    })
}

/// `WdfRequestMarkCancelable` (see `model::framework::queue::mark_cancelable`).
pub unsafe extern "C" fn WdfRequestMarkCancelable(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    EvtRequestCancel: PFN_WDF_REQUEST_CANCEL,
) {
    let routine = Routine::WdfRequestMarkCancelable;
    enter(routine, (), || {
        let _ = queue::mark_cancelable(routine, Request, EvtRequestCancel);
    })
}

/// `WdfRequestMarkCancelableEx`: STATUS_SUCCESS, or STATUS_CANCELLED if the
/// request was already cancelled (the routine is then not registered).
#[must_use]
pub unsafe extern "C" fn WdfRequestMarkCancelableEx(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    EvtRequestCancel: PFN_WDF_REQUEST_CANCEL,
) -> NTSTATUS {
    let routine = Routine::WdfRequestMarkCancelableEx;
    enter(routine, STOPPED_STATUS, || queue::mark_cancelable(routine, Request, EvtRequestCancel))
}

/// `WdfRequestUnmarkCancelable` (see `model::framework::queue::unmark_cancelable`).
#[must_use]
pub unsafe extern "C" fn WdfRequestUnmarkCancelable(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
) -> NTSTATUS {
    enter(Routine::WdfRequestUnmarkCancelable, STOPPED_STATUS, || queue::unmark_cancelable(Request))
}

/// `WdfRequestIsCanceled`: whether the I/O manager cancelled the request.
#[must_use]
pub unsafe extern "C" fn WdfRequestIsCanceled(_DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> BOOLEAN {
    let routine = Routine::WdfRequestIsCanceled;
    enter(routine, 0, || with_request(routine, Request, |r| u8::from(r.canceled)).unwrap_or(0))
}

/// The end of the two memory DDIs: the WDFMEMORY written out.
///
/// # Safety
/// `memory` null or writable.
unsafe fn retrieve_memory(routine: Routine, request: WDFREQUEST, memory: *mut WDFMEMORY, output: bool) -> NTSTATUS {
    match queue::retrieve_memory(routine, request, output, memory.is_null()) {
        Err(st) => st,
        Ok(h) => {
            // SAFETY: checked non-null; writable by contract.
            unsafe { memory.write(h as WDFMEMORY) };
            crate::STATUS_SUCCESS
        }
    }
}

/// `WdfRequestRetrieveInputMemory` (see `model::framework::queue::retrieve_memory`).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRequestRetrieveInputMemory(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Memory: *mut WDFMEMORY,
) -> NTSTATUS {
    let routine = Routine::WdfRequestRetrieveInputMemory;
    // SAFETY: forwarded from this DDI's contract.
    enter(routine, STOPPED_STATUS, || unsafe { retrieve_memory(routine, Request, Memory, false) })
}

/// `WdfRequestRetrieveOutputMemory` (see `model::framework::queue::retrieve_memory`).
///
/// # Safety
/// As the DDI.
#[must_use]
pub unsafe extern "C" fn WdfRequestRetrieveOutputMemory(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Memory: *mut WDFMEMORY,
) -> NTSTATUS {
    let routine = Routine::WdfRequestRetrieveOutputMemory;
    // SAFETY: forwarded from this DDI's contract.
    enter(routine, STOPPED_STATUS, || unsafe { retrieve_memory(routine, Request, Memory, true) })
}

/// `WdfIoQueueStart` (see `model::framework::queue::queue_start`).
pub unsafe extern "C" fn WdfIoQueueStart(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) {
    enter(Routine::WdfIoQueueStart, (), || queue::queue_start(Queue))
}

/// `WdfIoQueueStopSynchronously` (see `model::framework::queue::queue_stop_synchronously`).
pub unsafe extern "C" fn WdfIoQueueStopSynchronously(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) {
    enter(Routine::WdfIoQueueStopSynchronously, (), || queue::queue_stop_synchronously(Queue))
}

/// `WdfIoQueueStop` (see `model::framework::queue::queue_stop`).
pub unsafe extern "C" fn WdfIoQueueStop(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Queue: WDFQUEUE,
    StopComplete: PFN_WDF_IO_QUEUE_STATE,
    Context: WDFCONTEXT,
) {
    enter(Routine::WdfIoQueueStop, (), || queue::queue_stop(Queue, StopComplete, Context))
}

/// `WdfIoQueuePurgeSynchronously` (see `model::framework::queue::queue_purge_synchronously`).
pub unsafe extern "C" fn WdfIoQueuePurgeSynchronously(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) {
    enter(Routine::WdfIoQueuePurgeSynchronously, (), || queue::queue_purge_synchronously(Queue))
}

/// `WdfIoQueueGetDevice`.
#[must_use]
pub unsafe extern "C" fn WdfIoQueueGetDevice(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) -> WDFDEVICE {
    enter(Routine::WdfIoQueueGetDevice, std::ptr::null_mut(), || queue::queue_device(Queue) as WDFDEVICE)
}

/// `WdfDeviceConfigureRequestDispatching` (see `model::framework::queue::configure_dispatching`).
#[must_use]
pub unsafe extern "C" fn WdfDeviceConfigureRequestDispatching(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Device: WDFDEVICE,
    Queue: WDFQUEUE,
    RequestType: WDF_REQUEST_TYPE,
) -> NTSTATUS {
    enter(Routine::WdfDeviceConfigureRequestDispatching, STOPPED_STATUS, || {
        queue::configure_dispatching(Device, Queue, RequestType)
    })
}

/// `WdfRequestForwardToIoQueue` (see `model::framework::queue::forward`).
#[must_use]
pub unsafe extern "C" fn WdfRequestForwardToIoQueue(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    DestinationQueue: WDFQUEUE,
) -> NTSTATUS {
    enter(Routine::WdfRequestForwardToIoQueue, STOPPED_STATUS, || queue::forward(Request, DestinationQueue))
}
