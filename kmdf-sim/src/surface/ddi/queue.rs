//! Queue and request DDIs: the default queue, METHOD_BUFFERED buffers and
//! completion. A completed request is deleted with its children (K3).

use crate::abi::*;
use crate::model::framework::objects::{self, ObjectKind};
use crate::model::framework::pnp::RequestType;
use crate::model::framework::queue::{complete_request, with_queue, with_request};
use crate::model::framework::verifier::{invalid_handle, null_parameter};
use crate::model::{Routine, STOPPED_STATUS, enter, with_state};
use crate::surface::create::{Parent, deliver, with_config};

/// `WdfIoQueueCreate`: a queue, child of its device. ASSUMPTIONs: a
/// `Config.Size` other than the 1.33 size fails with
/// STATUS_INFO_LENGTH_MISMATCH; only DispatchSequential and DispatchParallel
/// are served (the simulator presents one request at a time either way). A
/// manual queue, or an `EvtIoCanceledOnQueue` (the simulator completes a
/// request cancelled in its queue itself and would never call it), stops the
/// machine as not modelled.
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
        let sequential = |config: &WDF_IO_QUEUE_CONFIG| -> Result<Option<bool>, NTSTATUS> {
            match config.DispatchType {
                _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential => Ok(Some(true)),
                _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel => Ok(Some(false)),
                // Manual queues (no presentation at all) are not modelled: the
                // machine stops below rather than mis-serve them.
                _ => Ok(None),
            }
        };
        // SAFETY: the driver passes a valid config and null or valid attributes.
        let (config, sequential, mut attributes) =
            match unsafe { with_config(Config, &[], QueueAttributes, Parent::AsGiven, sequential) } {
                Ok(checked) => checked,
                Err(st) => return st,
            };
        let created = with_state(|s| {
            let unmodelled = match sequential {
                None => Some(format!("WdfIoQueueCreate with DispatchType {} (a manual queue)", config.DispatchType)),
                Some(_) if config.EvtIoCanceledOnQueue.is_some() => {
                    Some("WdfIoQueueCreate with an EvtIoCanceledOnQueue callback".to_string())
                }
                Some(_) => None,
            };
            if let Some(what) = unmodelled {
                s.stop_not_modelled(what);
                return Err(STOPPED_STATUS);
            }
            let sequential = sequential == Some(true);
            if !matches!(s.framework.objects.get(&(Device as u64)).map(|o| &o.kind), Some(ObjectKind::Device { .. })) {
                return Err(invalid_handle(s, Device as u64, 0));
            }
            attributes.parent.get_or_insert(Device as u64);
            let default = config.DefaultQueue != 0;
            let kind = ObjectKind::Queue(Box::new(objects::QueueState {
                device: Device as u64,
                default,
                sequential,
                zero_length: config.AllowZeroLengthRequests != 0,
                io_default: config.EvtIoDefault,
                read: config.EvtIoRead,
                write: config.EvtIoWrite,
                device_control: config.EvtIoDeviceControl,
                started: true,
                dispatch: Vec::new(),
            }));
            let image = s.caller_image();
            s.create_object(kind, image, attributes)
        });
        // SAFETY: `Queue` is null or writable (the DDI's contract).
        unsafe { deliver(created, Queue) }
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
    let found = with_state(|s| match s.framework.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::Request(r)) => {
            if !buffer_allowed(r.kind, output) {
                return Err(crate::STATUS_INVALID_DEVICE_REQUEST);
            }
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
    enter(Routine::WdfRequestRetrieveInputBuffer, STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe { retrieve(Request, MinimumRequiredLength, Buffer, Length, false) }
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
    enter(Routine::WdfRequestRetrieveOutputBuffer, STOPPED_STATUS, || {
        // SAFETY: forwarded from this DDI's contract.
        unsafe { retrieve(Request, MinimumRequiredSize, Buffer, Length, true) }
    })
}

/// Completes a request: the caller gets status, `Information` and the first
/// `Information` bytes of the system buffer (at most the output length);
/// the request object is deleted with its children (K3). A second
/// completion finds a freed request (F77's rules).
/// Whether a request of `kind` has an input (or output) buffer at all.
/// ASSUMPTION (WdfRequestRetrieveInputBuffer / ...OutputBuffer pages): asking
/// a read for its input, or a write for its output, is
/// STATUS_INVALID_DEVICE_REQUEST.
fn buffer_allowed(kind: RequestType, output: bool) -> bool {
    match kind {
        RequestType::Read => output,
        RequestType::Write => !output,
        RequestType::DeviceControl => true,
    }
}

pub unsafe extern "C" fn WdfRequestCompleteWithInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Status: NTSTATUS,
    Information: ULONG_PTR,
) {
    enter(Routine::WdfRequestCompleteWithInformation, (), || {
        complete_request(Request, Status, Some(Information));
    })
}

pub unsafe extern "C" fn WdfRequestComplete(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Status: NTSTATUS,
) {
    enter(Routine::WdfRequestComplete, (), || complete_request(Request, Status, None))
}

/// `WdfRequestSetInformation`: the value WdfRequestComplete completes with.
pub unsafe extern "C" fn WdfRequestSetInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Information: ULONG_PTR,
) {
    enter(Routine::WdfRequestSetInformation, (), || {
        with_request(Request, |r| r.information = Information);
    })
}

/// `WdfRequestGetInformation`: the value WdfRequestSetInformation left (0 at first).
#[must_use]
pub unsafe extern "C" fn WdfRequestGetInformation(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
) -> ULONG_PTR {
    enter(Routine::WdfRequestGetInformation, 0, || with_request(Request, |r| r.information).unwrap_or(0))
}

/// `WdfRequestGetIoQueue`: the queue that presented the request.
#[must_use]
pub unsafe extern "C" fn WdfRequestGetIoQueue(_DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> WDFQUEUE {
    enter(Routine::WdfRequestGetIoQueue, std::ptr::null_mut(), || {
        with_request(Request, |r| r.queue as WDFQUEUE).unwrap_or(std::ptr::null_mut())
    })
}

/// Shared body of WdfRequestMarkCancelable(Ex). The DDI pages: if the
/// request was already cancelled, MarkCancelableEx returns STATUS_CANCELLED
/// without registering the routine, while MarkCancelable calls the routine
/// itself before it returns.
fn mark_cancelable(request: WDFREQUEST, cancel: PFN_WDF_REQUEST_CANCEL, call_if_canceled: bool) -> NTSTATUS {
    let Some(cancel) = cancel else {
        with_state(|s| null_parameter(s, "EvtRequestCancel"));
        return STOPPED_STATUS;
    };
    let canceled = with_request(request, |r| {
        if r.canceled {
            true
        } else {
            r.cancel = Some(cancel);
            false
        }
    });
    match canceled {
        None => STOPPED_STATUS,
        Some(false) => crate::STATUS_SUCCESS,
        Some(true) if call_if_canceled => {
            let image = with_state(|s| s.driver_image().unwrap_or_default()).unwrap_or_default();
            // SAFETY: the driver's EvtRequestCancel for this live request.
            crate::model::framework::pnp::call_driver(
                &image,
                "EvtRequestCancel",
                crate::DISPATCH_LEVEL as u8,
                || unsafe { cancel(request) },
            );
            crate::STATUS_CANCELLED
        }
        Some(true) => crate::STATUS_CANCELLED,
    }
}

/// `WdfRequestMarkCancelable`: registers EvtRequestCancel; see `mark_cancelable`.
pub unsafe extern "C" fn WdfRequestMarkCancelable(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    EvtRequestCancel: PFN_WDF_REQUEST_CANCEL,
) {
    enter(Routine::WdfRequestMarkCancelable, (), || {
        let _ = mark_cancelable(Request, EvtRequestCancel, true);
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
    enter(Routine::WdfRequestMarkCancelableEx, STOPPED_STATUS, || mark_cancelable(Request, EvtRequestCancel, false))
}

/// `WdfRequestUnmarkCancelable`: STATUS_SUCCESS when the routine was still
/// registered (now removed); STATUS_CANCELLED when the request was
/// cancelled — its EvtRequestCancel has run or will run (the DDI page).
/// ASSUMPTION: unmarking a request that was never marked returns
/// STATUS_SUCCESS and is recorded as a finding (KMDF's verifier check for
/// it is not in the facts).
#[must_use]
pub unsafe extern "C" fn WdfRequestUnmarkCancelable(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
) -> NTSTATUS {
    enter(Routine::WdfRequestUnmarkCancelable, STOPPED_STATUS, || {
        let r = with_request(Request, |r| (r.cancel.take().is_some(), r.canceled));
        match r {
            None => STOPPED_STATUS,
            Some((true, _)) => crate::STATUS_SUCCESS,
            Some((false, true)) => crate::STATUS_CANCELLED,
            Some((false, false)) => {
                with_state(|s| {
                    s.framework.findings.push(format!(
                        "WdfRequestUnmarkCancelable on request {:#x}, which was not marked cancelable",
                        Request as u64
                    ));
                });
                crate::STATUS_SUCCESS
            }
        }
    })
}

/// `WdfRequestIsCanceled`: whether the I/O manager cancelled the request.
#[must_use]
pub unsafe extern "C" fn WdfRequestIsCanceled(_DriverGlobals: PWDF_DRIVER_GLOBALS, Request: WDFREQUEST) -> BOOLEAN {
    enter(Routine::WdfRequestIsCanceled, 0, || with_request(Request, |r| u8::from(r.canceled)).unwrap_or(0))
}

/// Shared body of WdfRequestRetrieveInputMemory / ...OutputMemory: a
/// WDFMEMORY (a child of the request, so it goes with it) describing the
/// system buffer; the same object on a second call. Same errors as the
/// buffer forms (zero length: STATUS_BUFFER_TOO_SMALL).
fn retrieve_memory(request: WDFREQUEST, memory: *mut WDFMEMORY, output: bool) -> NTSTATUS {
    if memory.is_null() {
        with_state(|s| null_parameter(s, "Memory"));
        return STOPPED_STATUS;
    }
    let found = with_state(|s| {
        let (ptr, len, existing) = match s.framework.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
            Some(ObjectKind::Request(r)) if r.completed.is_none() => {
                if !buffer_allowed(r.kind, output) {
                    return Err(crate::STATUS_INVALID_DEVICE_REQUEST);
                }
                let len = if output { r.output_len } else { r.input_len };
                if len == 0 {
                    return Err(crate::STATUS_BUFFER_TOO_SMALL);
                }
                (r.buffer_ptr(), len, r.memory[usize::from(output)])
            }
            _ => return Err(invalid_handle(s, request as u64, 0)),
        };
        if let Some(h) = existing {
            return Ok(h);
        }
        let image = s.driver_image().unwrap_or_default();
        let attrs = objects::Attributes { parent: Some(request as u64), ..objects::Attributes::default() };
        let kind = ObjectKind::Memory(Box::new(objects::MemoryState { ptr, len, own: None }));
        let h = s.create_object(kind, image, attrs)?;
        if let Some(ObjectKind::Request(r)) = s.framework.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
            r.memory[usize::from(output)] = Some(h);
        }
        Ok(h)
    });
    match found {
        None => STOPPED_STATUS,
        Some(Err(st)) => st,
        Some(Ok(h)) => {
            // SAFETY: checked non-null; writable by contract.
            unsafe { memory.write(h as WDFMEMORY) };
            crate::STATUS_SUCCESS
        }
    }
}

#[must_use]
pub unsafe extern "C" fn WdfRequestRetrieveInputMemory(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Memory: *mut WDFMEMORY,
) -> NTSTATUS {
    enter(Routine::WdfRequestRetrieveInputMemory, STOPPED_STATUS, || retrieve_memory(Request, Memory, false))
}

#[must_use]
pub unsafe extern "C" fn WdfRequestRetrieveOutputMemory(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    Memory: *mut WDFMEMORY,
) -> NTSTATUS {
    enter(Routine::WdfRequestRetrieveOutputMemory, STOPPED_STATUS, || retrieve_memory(Request, Memory, true))
}

/// `WdfIoQueueStart`: the queue presents requests again (those that waited
/// are presented when the framework's entry point returns).
pub unsafe extern "C" fn WdfIoQueueStart(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) {
    enter(Routine::WdfIoQueueStart, (), || {
        with_queue(Queue, |q| q.started = true);
    })
}

/// Requests the driver holds from `queue` (presented, not completed).
fn driver_owned(queue: WDFQUEUE) -> usize {
    with_state(|s| {
        s.framework
            .objects
            .values()
            .filter(|o| {
                matches!(&o.kind, ObjectKind::Request(r)
                    if r.queue == queue as u64 && r.presented && r.completed.is_none())
            })
            .count()
    })
    .unwrap_or(0)
}

/// `WdfIoQueueStopSynchronously` (wdfio.h page): stops presenting and
/// returns once every request the driver holds from the queue is completed
/// or cancelled. The simulated thread cannot block, so it lets simulated
/// time run (timers and their DPCs) until they are; if they never are,
/// Windows would hang here: recorded as a finding (ASSUMPTION) after a
/// minute of simulated time.
pub unsafe extern "C" fn WdfIoQueueStopSynchronously(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) {
    enter(Routine::WdfIoQueueStopSynchronously, (), || {
        if with_queue(Queue, |q| q.started = false).is_none() {
            return;
        }
        wait_until_idle(Queue, "WdfIoQueueStopSynchronously");
    })
}

fn wait_until_idle(queue: WDFQUEUE, ddi: &str) {
    let deadline = crate::model::framework::timers::now().saturating_add(60 * 10_000_000);
    while driver_owned(queue) > 0 {
        if !crate::model::framework::timers::run_next_timer_until(deadline) {
            let n = driver_owned(queue);
            with_state(|s| {
                s.framework.findings.push(format!(
                    "{ddi} on queue {:#x} waits for {n} request(s) the driver never completes: the thread would hang (nothing completed them within 60 s of simulated time)",
                    queue as u64
                ));
            });
            return;
        }
    }
}

/// `WdfIoQueueStop`: stops presenting; ASSUMPTION: the StopComplete
/// callback runs as soon as the driver holds no request from the queue —
/// at once here when it holds none, otherwise after simulated time let them
/// complete, as with WdfIoQueueStopSynchronously.
pub unsafe extern "C" fn WdfIoQueueStop(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Queue: WDFQUEUE,
    StopComplete: PFN_WDF_IO_QUEUE_STATE,
    Context: WDFCONTEXT,
) {
    enter(Routine::WdfIoQueueStop, (), || {
        if with_queue(Queue, |q| q.started = false).is_none() {
            return;
        }
        wait_until_idle(Queue, "WdfIoQueueStop");
        if let Some(cb) = StopComplete {
            let image = with_state(|s| s.driver_image().unwrap_or_default()).unwrap_or_default();
            // SAFETY: the driver's EvtIoQueueState for this queue, with its context.
            crate::model::framework::pnp::call_driver(
                &image,
                "EvtIoQueueState",
                crate::DISPATCH_LEVEL as u8,
                || unsafe { cb(Queue, Context) },
            );
        }
    })
}

/// `WdfIoQueuePurgeSynchronously` (wdfio.h page): stops the queue, the
/// framework cancels the requests still waiting in it (STATUS_CANCELLED)
/// and those the driver holds as cancelable (their EvtRequestCancel), then
/// waits for the driver's other requests as WdfIoQueueStopSynchronously.
pub unsafe extern "C" fn WdfIoQueuePurgeSynchronously(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) {
    enter(Routine::WdfIoQueuePurgeSynchronously, (), || {
        if with_queue(Queue, |q| q.started = false).is_none() {
            return;
        }
        let of_queue = with_state(|s| {
            s.framework
                .objects
                .iter()
                .filter_map(|(h, o)| match &o.kind {
                    ObjectKind::Request(r) if r.queue == Queue as u64 && r.completed.is_none() => Some(*h),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
        for h in of_queue {
            crate::model::framework::pnp::cancel(h);
        }
        wait_until_idle(Queue, "WdfIoQueuePurgeSynchronously");
    })
}

/// `WdfIoQueueGetDevice`.
#[must_use]
pub unsafe extern "C" fn WdfIoQueueGetDevice(_DriverGlobals: PWDF_DRIVER_GLOBALS, Queue: WDFQUEUE) -> WDFDEVICE {
    enter(Routine::WdfIoQueueGetDevice, std::ptr::null_mut(), || {
        with_queue(Queue, |q| q.device as WDFDEVICE).unwrap_or(std::ptr::null_mut())
    })
}

/// The simulator's request kind for a `WDF_REQUEST_TYPE`, if it models it.
fn request_type(t: WDF_REQUEST_TYPE) -> Option<RequestType> {
    match t {
        _WDF_REQUEST_TYPE::WdfRequestTypeRead => Some(RequestType::Read),
        _WDF_REQUEST_TYPE::WdfRequestTypeWrite => Some(RequestType::Write),
        _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl => Some(RequestType::DeviceControl),
        _ => None,
    }
}

/// `WdfDeviceConfigureRequestDispatching` (wdfdevice.h page): requests of
/// `RequestType` for the device go to `Queue` instead of the default queue.
/// ASSUMPTIONs: a queue of another device, or a type already configured,
/// fails with STATUS_INVALID_PARAMETER / STATUS_INVALID_DEVICE_REQUEST (the
/// exact statuses are not in the facts); types other than read, write and
/// device control are not modelled: the machine stops naming the type.
#[must_use]
pub unsafe extern "C" fn WdfDeviceConfigureRequestDispatching(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Device: WDFDEVICE,
    Queue: WDFQUEUE,
    RequestType: WDF_REQUEST_TYPE,
) -> NTSTATUS {
    enter(Routine::WdfDeviceConfigureRequestDispatching, STOPPED_STATUS, || {
        let Some(kind) = request_type(RequestType) else {
            with_state(|s| {
                s.stop_not_modelled(format!("WdfDeviceConfigureRequestDispatching for WDF_REQUEST_TYPE {RequestType}"))
            });
            return STOPPED_STATUS;
        };
        with_state(|s| {
            if !matches!(s.framework.objects.get(&(Device as u64)).map(|o| &o.kind), Some(ObjectKind::Device { .. })) {
                return invalid_handle(s, Device as u64, 0);
            }
            let taken = s.framework.objects.values().any(
                |o| matches!(&o.kind, ObjectKind::Queue(q) if q.device == Device as u64 && q.dispatch.contains(&kind)),
            );
            match s.framework.objects.get_mut(&(Queue as u64)).map(|o| &mut o.kind) {
                Some(ObjectKind::Queue(q)) if q.device != Device as u64 => crate::STATUS_INVALID_PARAMETER,
                Some(ObjectKind::Queue(_)) if taken => crate::STATUS_INVALID_DEVICE_REQUEST,
                Some(ObjectKind::Queue(q)) => {
                    q.dispatch.push(kind);
                    crate::STATUS_SUCCESS
                }
                _ => invalid_handle(s, Queue as u64, 0),
            }
        })
        .unwrap_or(STOPPED_STATUS)
    })
}

/// `WdfRequestForwardToIoQueue` (the DDI page): a request the driver was
/// presented moves to another queue of the same device, which presents it
/// by its own rules (here: when the entry point that forwarded it returns).
/// A cancelable request cannot be forwarded, nor one to another device's
/// queue (ASSUMPTION: STATUS_INVALID_DEVICE_REQUEST for both, the page's
/// status for an invalid request).
#[must_use]
pub unsafe extern "C" fn WdfRequestForwardToIoQueue(
    _DriverGlobals: PWDF_DRIVER_GLOBALS,
    Request: WDFREQUEST,
    DestinationQueue: WDFQUEUE,
) -> NTSTATUS {
    enter(Routine::WdfRequestForwardToIoQueue, STOPPED_STATUS, || {
        with_state(|s| {
            let destination = match s.framework.objects.get(&(DestinationQueue as u64)).map(|o| &o.kind) {
                Some(ObjectKind::Queue(q)) => q.device,
                _ => return invalid_handle(s, DestinationQueue as u64, 0),
            };
            let source = match s.framework.objects.get(&(Request as u64)).map(|o| &o.kind) {
                Some(ObjectKind::Request(r)) if r.completed.is_none() && r.presented => r.queue,
                Some(ObjectKind::Request(_)) => return crate::STATUS_INVALID_DEVICE_REQUEST,
                _ => return invalid_handle(s, Request as u64, 0),
            };
            let source_device = match s.framework.objects.get(&source).map(|o| &o.kind) {
                Some(ObjectKind::Queue(q)) => q.device,
                _ => 0,
            };
            let Some(ObjectKind::Request(r)) = s.framework.objects.get_mut(&(Request as u64)).map(|o| &mut o.kind)
            else {
                return STOPPED_STATUS;
            };
            if r.cancel.is_some() || source_device != destination {
                return crate::STATUS_INVALID_DEVICE_REQUEST;
            }
            r.queue = DestinationQueue as u64;
            r.presented = false;
            let process = s.process_name();
            s.framework.waiting_requests.push((Request as u64, process));
            crate::STATUS_SUCCESS
        })
        .unwrap_or(STOPPED_STATUS)
    })
}
