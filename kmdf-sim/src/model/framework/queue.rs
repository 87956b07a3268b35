//! Queues and requests: completion (K3), the request and queue states the
//! DDIs act on.

use super::objects::{self, ObjectKind};
use super::pnp::RequestState;
use super::verifier::invalid_handle;
use crate::abi::*;
use crate::model::with_state;

/// Completes a request: `information` or, for `WdfRequestComplete`, the
/// value WdfRequestSetInformation left (the DDI page: it completes with the
/// information the request already holds). The request is deleted with its
/// children (K3); the sequential queue may present the next one.
pub(crate) fn complete_request(request: WDFREQUEST, status: NTSTATUS, information: Option<u64>) {
    let done = with_state(|s| match s.framework.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::Request(r)) if r.completed.is_none() => {
            let information = information.unwrap_or(r.information);
            r.completed = Some((status, information));
            if r.cancel.is_some() {
                // ASSUMPTION (WdfRequestMarkCancelable page: "the driver must
                // call WdfRequestUnmarkCancelable before completing"): a
                // finding, not a stop; KMDF's own check is not in the facts.
                s.framework.findings.push(format!(
                    "request {:#x} was completed while still cancelable (call WdfRequestUnmarkCancelable first)",
                    request as u64
                ));
            }
            let n = usize::try_from(information).unwrap_or(usize::MAX).min(r.output_len);
            let ptr = r.buffer_ptr();
            // SAFETY: the system buffer holds at least `output_len >= n` bytes.
            let output = unsafe { std::slice::from_raw_parts(ptr, n) }.to_vec();
            s.framework.completed_requests.insert(request as u64, (status, information, output));
            // Bounded: the oldest results (lowest handles) go first.
            if s.framework.completed_requests.len() > crate::model::framework::COMPLETED_REQUESTS_KEPT {
                s.framework.completed_requests.pop_first();
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

/// Runs `f` on a live, uncompleted request, or reports the handle as invalid.
pub(crate) fn with_request<R>(request: WDFREQUEST, f: impl FnOnce(&mut RequestState) -> R) -> Option<R> {
    with_state(|s| match s.framework.objects.get_mut(&(request as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::Request(r)) if r.completed.is_none() => Some(f(r)),
        _ => {
            invalid_handle(s, request as u64, 0);
            None
        }
    })
    .flatten()
}

/// The queue object behind a handle, or an invalid-handle report.
pub(crate) fn with_queue<R>(queue: WDFQUEUE, f: impl FnOnce(&mut objects::QueueState) -> R) -> Option<R> {
    with_state(|s| match s.framework.objects.get_mut(&(queue as u64)).map(|o| &mut o.kind) {
        Some(ObjectKind::Queue(q)) => Some(f(q)),
        _ => {
            invalid_handle(s, queue as u64, 0);
            None
        }
    })
    .flatten()
}
