//! Queues and requests: creation, presentation state, buffers, completion
//! (K3), cancellation, forwarding; the rules of the queue and request DDIs.

use super::handle_check::FxType;
use super::objects::{self, Attributes, ObjectKind, QueueState};
use super::pnp::{RequestState, RequestType, call_driver};
use super::verifier::{invalid_handle, null_parameter};
use crate::abi::*;
use crate::model::{Routine, STOPPED_STATUS, State, with_state};

/// What `WdfIoQueueCreate` read from the driver's `WDF_IO_QUEUE_CONFIG`.
pub(crate) struct QueueConfig {
    pub dispatch_type: WDF_IO_QUEUE_DISPATCH_TYPE,
    pub default: bool,
    pub zero_length: bool,
    pub io_default: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    pub read: PFN_WDF_IO_QUEUE_IO_READ,
    pub write: PFN_WDF_IO_QUEUE_IO_WRITE,
    pub device_control: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    pub canceled_on_queue: bool,
    /// Whether the driver passed somewhere to write the new WDFQUEUE.
    pub handle_wanted: bool,
}

/// `WdfIoQueueCreate`: a queue, child of its device. ASSUMPTION: only
/// DispatchSequential and DispatchParallel are served (the simulator
/// presents one request at a time either way). A manual queue, or an
/// `EvtIoCanceledOnQueue` (the simulator completes a request cancelled in
/// its queue itself and would never call it), stops the machine as not
/// modelled. Only a default queue may be created without a `Queue`
/// out-parameter: for any other, STATUS_INVALID_PARAMETER_4 (F93,
/// fxioqueueapi.cpp). `None`: no machine.
pub(crate) fn create_queue(
    device: WDFDEVICE,
    config: &QueueConfig,
    mut attributes: Attributes,
) -> Option<Result<u64, NTSTATUS>> {
    let sequential = match config.dispatch_type {
        _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential => Some(true),
        _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel => Some(false),
        _ => None,
    };
    with_state(|s| {
        let unmodelled = match sequential {
            None => Some(format!("WdfIoQueueCreate with DispatchType {} (a manual queue)", config.dispatch_type)),
            Some(_) if config.canceled_on_queue => {
                Some("WdfIoQueueCreate with an EvtIoCanceledOnQueue callback".to_string())
            }
            Some(_) => None,
        };
        if let Some(what) = unmodelled {
            s.stop_not_modelled(what);
            return Err(STOPPED_STATUS);
        }
        s.fx_check(Routine::WdfIoQueueCreate, 0, device as u64)?;
        if !config.default && !config.handle_wanted {
            return Err(super::config::STATUS_INVALID_PARAMETER_4);
        }
        attributes.parent.get_or_insert(device as u64);
        let kind = ObjectKind::Queue(Box::new(QueueState {
            device: device as u64,
            default: config.default,
            sequential: sequential == Some(true),
            zero_length: config.zero_length,
            io_default: config.io_default,
            read: config.read,
            write: config.write,
            device_control: config.device_control,
            started: true,
            dispatch: Vec::new(),
        }));
        let image = s.caller_image();
        s.create_object(kind, image, attributes)
    })
}

/// The results of completed requests (status, information, output) the
/// machine keeps for callers, the [`COMPLETED_REQUESTS_KEPT`] with the
/// highest handles: when one more is kept, the lowest handle goes.
///
/// Requests complete nearly always in the order they were created, so a
/// result is appended at the end and the one asked for is the last: a ring
/// in handle order, searched from the back, with no allocation per result
/// once it has grown.
///
/// # Invariants
/// `results` is sorted by handle, strictly ascending, and holds at most
/// [`COMPLETED_REQUESTS_KEPT`] entries.
///
/// [`COMPLETED_REQUESTS_KEPT`]: super::COMPLETED_REQUESTS_KEPT
#[derive(Debug, Default)]
pub(crate) struct CompletedRequests {
    results: std::collections::VecDeque<(u64, NTSTATUS, u64, Vec<u8>)>,
}

impl CompletedRequests {
    fn position(&self, request: u64) -> Result<usize, usize> {
        match self.results.back() {
            Some(&(last, ..)) if last == request => Ok(self.results.len() - 1),
            Some(&(last, ..)) if last < request => Err(self.results.len()),
            _ => self.results.binary_search_by_key(&request, |&(h, ..)| h),
        }
    }

    /// Keeps `request`'s result (replacing one it had), then forgets the
    /// lowest handle's if more than [`super::COMPLETED_REQUESTS_KEPT`] are kept.
    /// A result for a handle above every kept one, when one must be
    /// forgotten for it, takes the forgotten one's output buffer.
    pub(crate) fn insert(&mut self, request: u64, status: NTSTATUS, information: u64, output: &[u8]) {
        match self.position(request) {
            Ok(i) => {
                let kept = &mut self.results[i];
                (kept.1, kept.2) = (status, information);
                kept.3.clear();
                kept.3.extend_from_slice(output);
            }
            Err(i) if i == self.results.len() => {
                let mut buffer = match self.results.len() >= super::COMPLETED_REQUESTS_KEPT {
                    true => self.results.pop_front().map(|(.., buffer)| buffer).unwrap_or_default(),
                    false => Vec::new(),
                };
                buffer.clear();
                buffer.extend_from_slice(output);
                self.results.push_back((request, status, information, buffer));
            }
            Err(i) => self.results.insert(i, (request, status, information, output.to_vec())),
        }
        if self.results.len() > super::COMPLETED_REQUESTS_KEPT {
            self.results.pop_front();
        }
    }

    /// `request`'s result: status, information, output.
    pub(crate) fn get(&self, request: u64) -> Option<(NTSTATUS, u64, &[u8])> {
        let i = self.position(request).ok()?;
        let (_, status, information, output) = &self.results[i];
        Some((*status, *information, output))
    }
}

/// Runs `f` on parameter `param` of `routine`, a live, uncompleted request
/// (F91's check first; a completed request still referenced is reported as
/// an invalid handle of its type); `None` when a check failed it.
fn with_request_in<R>(
    s: &mut State,
    routine: Routine,
    param: usize,
    request: u64,
    f: impl FnOnce(&mut RequestState) -> R,
) -> Option<R> {
    let object = s.fx_object(routine, param, request).ok()?;
    match &mut object.kind {
        ObjectKind::Request(r) if r.completed.is_none() => Some(f(r)),
        ObjectKind::Request(_) => {
            invalid_handle(s, request, FxType::Request.id());
            None
        }
        _ => unreachable!("the handle table admits only requests for a WDFREQUEST"),
    }
}

/// [`with_request_in`] for `routine`'s request (its first parameter) on this thread's machine.
pub(crate) fn with_request<R>(
    routine: Routine,
    request: WDFREQUEST,
    f: impl FnOnce(&mut RequestState) -> R,
) -> Option<R> {
    with_state(|s| with_request_in(s, routine, 0, request as u64, f)).flatten()
}

/// Runs `f` on `routine`'s live queue (F91's check first).
fn with_queue<R>(routine: Routine, queue: WDFQUEUE, f: impl FnOnce(&mut QueueState) -> R) -> Option<R> {
    with_state(|s| match &mut s.fx_object(routine, 0, queue as u64).ok()?.kind {
        ObjectKind::Queue(q) => Some(f(q)),
        _ => unreachable!("the handle table admits only queues for a WDFQUEUE"),
    })
    .flatten()
}

/// Completes a request: `information` or, for `WdfRequestComplete`, the
/// value WdfRequestSetInformation left (the DDI page: it completes with the
/// information the request already holds). The request is deleted with its
/// children (K3); the sequential queue may present the next one. A second
/// completion finds a freed request (F77's rules).
pub(crate) fn complete(routine: Routine, request: WDFREQUEST, status: NTSTATUS, information: Option<u64>) {
    let done = with_state(|s| {
        let h = request as u64;
        let outcome = with_request_in(s, routine, 0, h, |r| {
            let information = information.unwrap_or(r.information);
            r.completed = Some((status, information));
            let n = usize::try_from(information).unwrap_or(usize::MAX).min(r.output_len);
            // SAFETY: the system buffer holds at least `output_len >= n` bytes,
            // alive while the request is (its result is kept before it is deleted).
            let output = unsafe { std::slice::from_raw_parts(r.buffer_ptr(), n) };
            (r.cancel.is_some(), information, output)
        });
        let Some((cancelable, information, output)) = outcome else { return false };
        if cancelable {
            // ASSUMPTION (WdfRequestMarkCancelable page: "the driver must
            // call WdfRequestUnmarkCancelable before completing"): a
            // finding, not a stop; KMDF's own check is not in the facts.
            s.framework.findings.push(format!(
                "request {h:#x} was completed while still cancelable (call WdfRequestUnmarkCancelable first)"
            ));
        }
        // Bounded: the oldest results (lowest handles) go first.
        s.framework.completed_requests.insert(h, status, information, output);
        true
    });
    if done == Some(true) {
        objects::delete_subtree(request as u64);
    }
}

/// The framework completes a request itself (cancellation, a request no
/// queue takes): [`complete`] as `WdfRequestComplete` would.
pub(crate) fn complete_request(request: WDFREQUEST, status: NTSTATUS, information: Option<u64>) {
    complete(Routine::WdfRequestComplete, request, status, information);
}

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

/// `WdfRequestRetrieveInputBuffer` / `...OutputBuffer` (METHOD_BUFFERED:
/// the system buffer, one for both — read all input before writing output):
/// its first byte and length. The request is checked first, then the
/// `Buffer` out-pointer (`buffer_null`: 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL},
/// F91; fxrequestapi.cpp). ASSUMPTION (WDF docs, not in the facts): a
/// buffer shorter than `min` — or empty — is STATUS_BUFFER_TOO_SMALL.
pub(crate) fn retrieve_buffer(
    routine: Routine,
    request: WDFREQUEST,
    min: usize,
    output: bool,
    buffer_null: bool,
) -> Result<(*mut u8, usize), NTSTATUS> {
    with_state(|s| {
        let found = with_request_in(s, routine, 0, request as u64, |r| {
            if !buffer_allowed(r.kind, output) {
                return Err(STATUS_INVALID_DEVICE_REQUEST);
            }
            let len = if output { r.output_len } else { r.input_len };
            if len == 0 || len < min { Err(STATUS_BUFFER_TOO_SMALL) } else { Ok((r.buffer_ptr(), len)) }
        })?;
        if buffer_null {
            null_parameter(s, "Buffer");
            return None;
        }
        Some(found)
    })
    .flatten()
    .unwrap_or(Err(STOPPED_STATUS))
}

/// `WdfRequestRetrieveInputMemory` / `...OutputMemory`: a WDFMEMORY (a
/// child of the request, so it goes with it) describing the system buffer;
/// the same object on a second call. Same errors as the buffer forms (zero
/// length: STATUS_BUFFER_TOO_SMALL); the `Memory` out-pointer is checked
/// after the request (`memory_null`, F91).
pub(crate) fn retrieve_memory(
    routine: Routine,
    request: WDFREQUEST,
    output: bool,
    memory_null: bool,
) -> Result<u64, NTSTATUS> {
    with_state(|s| {
        let h = request as u64;
        let found = with_request_in(s, routine, 0, h, |r| {
            if !buffer_allowed(r.kind, output) {
                return Err(STATUS_INVALID_DEVICE_REQUEST);
            }
            let len = if output { r.output_len } else { r.input_len };
            if len == 0 {
                return Err(STATUS_BUFFER_TOO_SMALL);
            }
            Ok((r.buffer_ptr(), len, r.memory[usize::from(output)]))
        });
        let Some(found) = found else { return Err(STOPPED_STATUS) };
        if memory_null {
            null_parameter(s, "Memory");
            return Err(STOPPED_STATUS);
        }
        let (ptr, len, existing) = found?;
        if let Some(memory) = existing {
            return Ok(memory);
        }
        let image = s.driver_image().unwrap_or_default();
        let attrs = Attributes { parent: Some(h), ..Attributes::default() };
        let kind = ObjectKind::Memory(Box::new(objects::MemoryState { ptr, len, own: None }));
        let memory = s.create_object(kind, image, attrs)?;
        if let Some(ObjectKind::Request(r)) = s.framework.objects.get_mut(&h).map(|o| &mut o.kind) {
            r.memory[usize::from(output)] = Some(memory);
        }
        Ok(memory)
    })
    .unwrap_or(Err(STOPPED_STATUS))
}

/// `WdfRequestMarkCancelable(Ex)`. The DDI pages: if the request was
/// already cancelled, MarkCancelableEx returns STATUS_CANCELLED without
/// registering the routine, while MarkCancelable calls the routine itself
/// before it returns. A NULL routine is the required-parameter stop.
pub(crate) fn mark_cancelable(routine: Routine, request: WDFREQUEST, cancel: PFN_WDF_REQUEST_CANCEL) -> NTSTATUS {
    let call_if_canceled = routine == Routine::WdfRequestMarkCancelable;
    let canceled = with_state(|s| {
        let outcome = with_request_in(s, routine, 0, request as u64, |r| match cancel {
            None => None,
            Some(_) if r.canceled => Some(true),
            Some(_) => {
                r.cancel = cancel;
                Some(false)
            }
        })?;
        if outcome.is_none() {
            null_parameter(s, "EvtRequestCancel");
        }
        outcome
    })
    .flatten();
    match (canceled, cancel) {
        (None, _) | (_, None) => STOPPED_STATUS,
        (Some(false), _) => STATUS_SUCCESS,
        (Some(true), Some(cancel)) if call_if_canceled => {
            let image = with_state(|s| s.driver_image().unwrap_or_default()).unwrap_or_default();
            // SAFETY: the driver's EvtRequestCancel for this live request.
            call_driver(&image, "EvtRequestCancel", DISPATCH_LEVEL as u8, || unsafe { cancel(request) });
            STATUS_CANCELLED
        }
        (Some(true), _) => STATUS_CANCELLED,
    }
}

/// `WdfRequestUnmarkCancelable`: STATUS_SUCCESS when the routine was still
/// registered (now removed); STATUS_CANCELLED when the request was
/// cancelled — its EvtRequestCancel has run or will run (the DDI page).
/// ASSUMPTION: unmarking a request that was never marked returns
/// STATUS_SUCCESS and is recorded as a finding (KMDF's verifier check for
/// it is not in the facts).
pub(crate) fn unmark_cancelable(request: WDFREQUEST) -> NTSTATUS {
    with_state(|s| {
        let routine = Routine::WdfRequestUnmarkCancelable;
        match with_request_in(s, routine, 0, request as u64, |r| (r.cancel.take().is_some(), r.canceled)) {
            None => STOPPED_STATUS,
            Some((true, _)) => STATUS_SUCCESS,
            Some((false, true)) => STATUS_CANCELLED,
            Some((false, false)) => {
                s.framework.findings.push(format!(
                    "WdfRequestUnmarkCancelable on request {:#x}, which was not marked cancelable",
                    request as u64
                ));
                STATUS_SUCCESS
            }
        }
    })
    .unwrap_or(STOPPED_STATUS)
}

/// `WdfIoQueueStart`: the queue presents requests again (those that waited
/// are presented when the framework's entry point returns).
pub(crate) fn queue_start(queue: WDFQUEUE) {
    with_queue(Routine::WdfIoQueueStart, queue, |q| q.started = true);
}

/// `WdfIoQueueGetDevice` (0 when the check failed).
pub(crate) fn queue_device(queue: WDFQUEUE) -> u64 {
    with_queue(Routine::WdfIoQueueGetDevice, queue, |q| q.device).unwrap_or(0)
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

/// Lets simulated time run (timers and their DPCs) until the driver holds
/// no request from `queue`; if it never does, Windows would hang: recorded
/// as a finding (ASSUMPTION) after a minute of simulated time.
fn wait_until_idle(queue: WDFQUEUE, ddi: &str) {
    let deadline = super::timers::now().saturating_add(60 * 10_000_000);
    while driver_owned(queue) > 0 {
        if !super::timers::run_next_timer_until(deadline) {
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

/// `WdfIoQueueStopSynchronously` (wdfio.h page): stops presenting and
/// returns once every request the driver holds from the queue is completed
/// or cancelled ([`wait_until_idle`]: the simulated thread cannot block).
pub(crate) fn queue_stop_synchronously(queue: WDFQUEUE) {
    let routine = Routine::WdfIoQueueStopSynchronously;
    if with_queue(routine, queue, |q| q.started = false).is_some() {
        wait_until_idle(queue, routine.name());
    }
}

/// `WdfIoQueueStop`: stops presenting; ASSUMPTION: the StopComplete
/// callback runs as soon as the driver holds no request from the queue —
/// at once here when it holds none, otherwise after simulated time let them
/// complete, as with WdfIoQueueStopSynchronously.
pub(crate) fn queue_stop(queue: WDFQUEUE, stop_complete: PFN_WDF_IO_QUEUE_STATE, context: WDFCONTEXT) {
    let routine = Routine::WdfIoQueueStop;
    if with_queue(routine, queue, |q| q.started = false).is_none() {
        return;
    }
    wait_until_idle(queue, routine.name());
    if let Some(cb) = stop_complete {
        let image = with_state(|s| s.driver_image().unwrap_or_default()).unwrap_or_default();
        // SAFETY: the driver's EvtIoQueueState for this queue, with its context.
        call_driver(&image, "EvtIoQueueState", DISPATCH_LEVEL as u8, || unsafe { cb(queue, context) });
    }
}

/// `WdfIoQueuePurgeSynchronously` (wdfio.h page): stops the queue, the
/// framework cancels the requests still waiting in it (STATUS_CANCELLED)
/// and those the driver holds as cancelable (their EvtRequestCancel), then
/// waits for the driver's other requests as WdfIoQueueStopSynchronously.
pub(crate) fn queue_purge_synchronously(queue: WDFQUEUE) {
    let routine = Routine::WdfIoQueuePurgeSynchronously;
    if with_queue(routine, queue, |q| q.started = false).is_none() {
        return;
    }
    let of_queue = with_state(|s| {
        s.framework
            .objects
            .iter()
            .filter_map(|(h, o)| match &o.kind {
                ObjectKind::Request(r) if r.queue == queue as u64 && r.completed.is_none() => Some(*h),
                _ => None,
            })
            .collect::<Vec<_>>()
    })
    .unwrap_or_default();
    for h in of_queue {
        super::pnp::cancel(h);
    }
    wait_until_idle(queue, routine.name());
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
/// `request_type` for the device go to `queue` instead of the default queue.
/// ASSUMPTIONs: a queue of another device, or a type already configured,
/// fails with STATUS_INVALID_PARAMETER / STATUS_INVALID_DEVICE_REQUEST (the
/// exact statuses are not in the facts); types other than read, write and
/// device control are not modelled: the machine stops naming the type.
pub(crate) fn configure_dispatching(device: WDFDEVICE, queue: WDFQUEUE, request_type_: WDF_REQUEST_TYPE) -> NTSTATUS {
    let routine = Routine::WdfDeviceConfigureRequestDispatching;
    with_state(|s| {
        let Some(kind) = request_type(request_type_) else {
            s.stop_not_modelled(format!("WdfDeviceConfigureRequestDispatching for WDF_REQUEST_TYPE {request_type_}"));
            return Err(STOPPED_STATUS);
        };
        s.fx_check(routine, 0, device as u64)?;
        let taken = s.framework.objects.values().any(
            |o| matches!(&o.kind, ObjectKind::Queue(q) if q.device == device as u64 && q.dispatch.contains(&kind)),
        );
        match &mut s.fx_object(routine, 1, queue as u64)?.kind {
            ObjectKind::Queue(q) if q.device != device as u64 => Err(STATUS_INVALID_PARAMETER),
            ObjectKind::Queue(_) if taken => Err(STATUS_INVALID_DEVICE_REQUEST),
            ObjectKind::Queue(q) => {
                q.dispatch.push(kind);
                Ok(STATUS_SUCCESS)
            }
            _ => unreachable!("the handle table admits only queues for a WDFQUEUE"),
        }
    })
    .map_or(STOPPED_STATUS, |r| r.unwrap_or_else(|st| st))
}

/// `WdfRequestForwardToIoQueue` (the DDI page): a request the driver was
/// presented moves to another queue of the same device, which presents it
/// by its own rules (here: when the entry point that forwarded it returns).
/// A request not presented, a cancelable request, or one forwarded to
/// another device's queue cannot be forwarded (ASSUMPTION:
/// STATUS_INVALID_DEVICE_REQUEST for each, the page's status for an invalid
/// request).
pub(crate) fn forward(request: WDFREQUEST, destination: WDFQUEUE) -> NTSTATUS {
    let routine = Routine::WdfRequestForwardToIoQueue;
    with_state(|s| {
        let destination_device = match &s.fx_object(routine, 0, destination as u64)?.kind {
            ObjectKind::Queue(q) => q.device,
            _ => unreachable!("the handle table admits only queues for a WDFQUEUE"),
        };
        let source = match &s.fx_object(routine, 1, request as u64)?.kind {
            ObjectKind::Request(r) if r.completed.is_none() && r.presented => r.queue,
            ObjectKind::Request(_) => return Err(STATUS_INVALID_DEVICE_REQUEST),
            _ => unreachable!("the handle table admits only requests for a WDFREQUEST"),
        };
        let source_device = match s.framework.objects.get(&source).map(|o| &o.kind) {
            Some(ObjectKind::Queue(q)) => q.device,
            _ => 0,
        };
        let Some(ObjectKind::Request(r)) = s.framework.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) else {
            return Err(STOPPED_STATUS);
        };
        if r.cancel.is_some() || source_device != destination_device {
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        r.queue = destination as u64;
        r.presented = false;
        let process = s.process_name();
        s.framework.waiting_requests.push((request as u64, process));
        Ok(STATUS_SUCCESS)
    })
    .map_or(STOPPED_STATUS, |r| r.unwrap_or_else(|st| st))
}

#[cfg(test)]
mod tests {
    use super::CompletedRequests;
    use crate::abi::{STATUS_CANCELLED, STATUS_SUCCESS};
    use crate::model::framework::COMPLETED_REQUESTS_KEPT;

    #[test]
    fn completed_requests_keep_the_highest_handles_in_any_completion_order() {
        let mut c = CompletedRequests::default();
        c.insert(10, STATUS_SUCCESS, 3, &[1, 2, 3]);
        c.insert(4, STATUS_CANCELLED, 0, &[]);
        c.insert(7, STATUS_SUCCESS, 1, &[9]);
        assert_eq!(c.get(10), Some((STATUS_SUCCESS, 3, &[1u8, 2, 3][..])));
        assert_eq!(c.get(4), Some((STATUS_CANCELLED, 0, &[][..])));
        assert_eq!(c.get(7), Some((STATUS_SUCCESS, 1, &[9u8][..])));
        assert_eq!(c.get(5), None);
        assert_eq!(c.get(11), None);
        // A second result for a handle replaces the first.
        c.insert(7, STATUS_CANCELLED, 0, &[]);
        assert_eq!(c.get(7), Some((STATUS_CANCELLED, 0, &[][..])));
        // Bounded: the lowest handles go first, whatever order they came in.
        for h in 100..100 + COMPLETED_REQUESTS_KEPT as u64 - 3 {
            c.insert(h, STATUS_SUCCESS, h, &[]);
        }
        assert_eq!(c.get(4).map(|r| r.0), Some(STATUS_CANCELLED), "exactly full: nothing forgotten yet");
        c.insert(50, STATUS_SUCCESS, 50, &[]);
        assert_eq!(c.get(4), None, "the lowest handle goes first");
        assert_eq!(c.get(50).map(|r| r.1), Some(50));
        assert_eq!(c.get(7).map(|r| r.0), Some(STATUS_CANCELLED));
        c.insert(1, STATUS_SUCCESS, 0, &[]);
        assert_eq!(c.get(1), None, "a handle below every kept one is forgotten at once");
        assert_eq!(c.get(7).map(|r| r.0), Some(STATUS_CANCELLED));
        // Full, a result for a handle above every kept one takes the lowest
        // one's place (and its buffer) with exactly its own output.
        c.insert(5000, STATUS_SUCCESS, 10, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(c.get(7), None, "the lowest handle goes first");
        c.insert(5001, STATUS_SUCCESS, 2, &[5, 6]);
        assert_eq!(c.get(10), None, "then the next lowest");
        assert_eq!(c.get(5001), Some((STATUS_SUCCESS, 2, &[5u8, 6][..])));
        assert_eq!(c.get(5000), Some((STATUS_SUCCESS, 10, &[1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10][..])));
        // A replaced result holds exactly its new output.
        c.insert(5000, STATUS_CANCELLED, 0, &[3]);
        assert_eq!(c.get(5000), Some((STATUS_CANCELLED, 0, &[3u8][..])));
    }
}
