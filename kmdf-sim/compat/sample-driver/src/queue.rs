//! The default queue: writes kept in pool until the timer completes them,
//! reads of the last write, IOCTLs, and cancelation.

use core::sync::atomic::Ordering;
use wdk::{nt_success, paged_code, println, wdf};
use wdk_sys::{
    _WDF_IO_QUEUE_DISPATCH_TYPE, _WDF_TRI_STATE, NTSTATUS, POOL_FLAG_NON_PAGED, PVOID, STATUS_CANCELLED,
    STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS, ULONG, WDF_IO_QUEUE_CONFIG,
    WDF_TIMER_CONFIG, WDFDEVICE, WDFMEMORY, WDFOBJECT, WDFQUEUE, WDFREQUEST, WDFTIMER,
    call_unsafe_wdf_function_binding,
    ntddk::{ExAllocatePool2, ExFreePool},
};

use crate::{
    IOCTL_SAMPLE_LEAK, IOCTL_SAMPLE_MEMORY_ECHO, IOCTL_SAMPLE_WRITE_COUNT, POOL_TAG, QUEUE_CONTEXT_INFO, QueueContext,
    REQUEST_CONTEXT_INFO, RequestContext, attributes, context,
};

/// Timer period, in milliseconds.
const PERIOD_MS: ULONG = 50;
/// The largest write the driver takes.
const MAX_WRITE: usize = 64 * 1024;

fn queue_context(queue: WDFQUEUE) -> &'static QueueContext {
    // SAFETY: every queue of this driver is created with a QueueContext.
    let ctx = unsafe { context::<QueueContext>(queue as WDFOBJECT, &QUEUE_CONTEXT_INFO) };
    // SAFETY: zero-filled (valid for every field) and alive as long as the
    // queue — longer than any callback that asks for it; only shared (`&`).
    unsafe { &*ctx }
}

fn request_context(request: WDFREQUEST) -> &'static RequestContext {
    // SAFETY: the device's request attributes give every request one.
    let ctx = unsafe { context::<RequestContext>(request as WDFOBJECT, &REQUEST_CONTEXT_INFO) };
    // SAFETY: alive while the request is (K3); shared only.
    unsafe { &*ctx }
}

fn complete(request: WDFREQUEST, status: NTSTATUS, information: u64) {
    // SAFETY: a request this driver owns.
    unsafe { call_unsafe_wdf_function_binding!(WdfRequestCompleteWithInformation, request, status, information) };
}

fn free_buffer(ctx: &QueueContext) {
    let buffer = ctx.buffer.replace(core::ptr::null_mut());
    ctx.length.set(0);
    if !buffer.is_null() {
        // SAFETY: the driver's own pool block, freed once (taken out above).
        unsafe { ExFreePool(buffer) };
    }
}

/// Creates the default queue with its context, lock and timer.
pub fn initialize(device: WDFDEVICE) -> NTSTATUS {
    paged_code!();
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: core::mem::size_of::<WDF_IO_QUEUE_CONFIG>() as ULONG,
        PowerManaged: _WDF_TRI_STATE::WdfUseDefault,
        DefaultQueue: 1,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        EvtIoRead: Some(evt_io_read),
        EvtIoWrite: Some(evt_io_write),
        EvtIoDeviceControl: Some(evt_io_device_control),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut queue_attributes = attributes(Some(&QUEUE_CONTEXT_INFO), core::ptr::null_mut());
    queue_attributes.EvtDestroyCallback = Some(evt_queue_destroy);
    let mut queue: WDFQUEUE = core::ptr::null_mut();
    // SAFETY: a live device, valid config and attributes, a writable slot.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfIoQueueCreate,
            device,
            &raw mut config,
            &raw mut queue_attributes,
            &raw mut queue
        )
    };
    if !nt_success(status) {
        return status;
    }
    let mut child = attributes(None, queue as WDFOBJECT);
    let lock = match wdf::SpinLock::create(&mut child) {
        Ok(l) => l,
        Err(status) => return status,
    };
    let mut timer_config = WDF_TIMER_CONFIG {
        Size: core::mem::size_of::<WDF_TIMER_CONFIG>() as ULONG,
        EvtTimerFunc: Some(evt_timer),
        Period: PERIOD_MS,
        AutomaticSerialization: 1,
        ..WDF_TIMER_CONFIG::default()
    };
    let timer = match wdf::Timer::create(&mut timer_config, &mut child) {
        Ok(t) => t,
        Err(status) => return status,
    };
    // SAFETY: the queue was created with a QueueContext.
    let ctx = unsafe { context::<QueueContext>(queue as WDFOBJECT, &QUEUE_CONTEXT_INFO) };
    // SAFETY: the context of the queue just created, not yet seen by any
    // callback; wdf::SpinLock and wdf::Timer have no Drop, so writing over
    // the zeros is sound.
    let ctx = unsafe { &mut *ctx };
    ctx.lock = lock;
    ctx.timer = timer;
    STATUS_SUCCESS
}

pub extern "C" fn evt_self_managed_io_start(device: WDFDEVICE) -> NTSTATUS {
    // SAFETY: a live device.
    let queue = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetDefaultQueue, device) };
    // SAFETY: the device's default queue.
    unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStart, queue) };
    let _ = queue_context(queue).timer.start(-i64::from(PERIOD_MS) * 10_000);
    STATUS_SUCCESS
}

pub extern "C" fn evt_self_managed_io_suspend(device: WDFDEVICE) -> NTSTATUS {
    paged_code!();
    // SAFETY: a live device.
    let queue = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetDefaultQueue, device) };
    // SAFETY: the device's default queue.
    unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStopSynchronously, queue) };
    let _ = queue_context(queue).timer.stop(true);
    STATUS_SUCCESS
}

extern "C" fn evt_queue_destroy(object: WDFOBJECT) {
    // The context is valid through EvtDestroyCallback (F30).
    free_buffer(queue_context(object as WDFQUEUE));
}

/// Holds `request` until the timer completes it, cancelable meanwhile.
fn hold(queue: WDFQUEUE, request: WDFREQUEST) {
    let ctx = queue_context(queue);
    request_context(request).owners.store(1, Ordering::SeqCst);
    ctx.lock.acquire();
    ctx.current.set(request);
    // SAFETY: a request this driver owns; a cancel routine of this driver.
    let status =
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestMarkCancelableEx, request, Some(evt_request_cancel)) };
    if !nt_success(status) {
        ctx.current.set(core::ptr::null_mut());
    }
    ctx.lock.release();
    if !nt_success(status) {
        complete(request, status, 0);
    }
}

extern "C" fn evt_io_write(queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    if length > MAX_WRITE {
        complete(request, STATUS_INVALID_DEVICE_REQUEST, 0);
        return;
    }
    let mut memory: WDFMEMORY = core::ptr::null_mut();
    // SAFETY: a request presented to this callback; a writable slot.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveInputMemory, request, &raw mut memory) };
    if !nt_success(status) {
        complete(request, status, 0);
        return;
    }
    let ctx = queue_context(queue);
    free_buffer(ctx);
    // SAFETY: an ordinary allocation.
    let buffer: PVOID = unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, length as u64, POOL_TAG) };
    if buffer.is_null() {
        complete(request, STATUS_INSUFFICIENT_RESOURCES, 0);
        return;
    }
    ctx.buffer.set(buffer);
    // SAFETY: the request's input memory and a pool block of `length` bytes.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, memory, 0, buffer, length) };
    if !nt_success(status) {
        complete(request, status, 0);
        return;
    }
    ctx.length.set(length);
    ctx.writes.set(ctx.writes.get() + 1);
    // SAFETY: a presented request.
    unsafe { call_unsafe_wdf_function_binding!(WdfRequestSetInformation, request, length as u64) };
    hold(queue, request);
}

extern "C" fn evt_io_read(queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    let ctx = queue_context(queue);
    let buffer = ctx.buffer.get();
    if buffer.is_null() {
        complete(request, STATUS_SUCCESS, 0);
        return;
    }
    let n = length.min(ctx.length.get());
    let mut memory: WDFMEMORY = core::ptr::null_mut();
    // SAFETY: a presented request; a writable slot.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveOutputMemory, request, &raw mut memory) };
    if !nt_success(status) {
        complete(request, status, 0);
        return;
    }
    // SAFETY: the output memory and `n` bytes of the pool block.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyFromBuffer, memory, 0, buffer, n) };
    if !nt_success(status) {
        complete(request, status, 0);
        return;
    }
    // SAFETY: a presented request.
    unsafe { call_unsafe_wdf_function_binding!(WdfRequestSetInformation, request, n as u64) };
    hold(queue, request);
}

/// IOCTL_SAMPLE_MEMORY_ECHO: input to output through the request's WDFMEMORYs.
fn memory_echo(request: WDFREQUEST, n: usize) -> NTSTATUS {
    let (mut input, mut output): (WDFMEMORY, WDFMEMORY) = (core::ptr::null_mut(), core::ptr::null_mut());
    let mut scratch = alloc::vec![0u8; n];
    // SAFETY: a presented request; a writable slot.
    let mut status =
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveInputMemory, request, &raw mut input) };
    if nt_success(status) {
        // SAFETY: as above.
        status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestRetrieveOutputMemory, request, &raw mut output) };
    }
    if nt_success(status) {
        // SAFETY: the input memory; `scratch` has `n` bytes.
        status = unsafe {
            call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, input, 0, scratch.as_mut_ptr().cast(), n)
        };
    }
    if nt_success(status) {
        // SAFETY: the output memory; `scratch` has `n` bytes.
        status = unsafe {
            call_unsafe_wdf_function_binding!(WdfMemoryCopyFromBuffer, output, 0, scratch.as_mut_ptr().cast(), n)
        };
    }
    status
}

extern "C" fn evt_io_device_control(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    output_length: usize,
    input_length: usize,
    code: ULONG,
) {
    match code {
        IOCTL_SAMPLE_WRITE_COUNT => {
            let mut out: PVOID = core::ptr::null_mut();
            // SAFETY: a presented request; writable slots.
            let status = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveOutputBuffer,
                    request,
                    4,
                    &raw mut out,
                    core::ptr::null_mut()
                )
            };
            if !nt_success(status) {
                complete(request, status, 0);
                return;
            }
            // SAFETY: `out` has at least the 4 bytes asked for.
            unsafe { out.cast::<u32>().write_unaligned(queue_context(queue).writes.get()) };
            complete(request, STATUS_SUCCESS, 4);
        }
        IOCTL_SAMPLE_LEAK => {
            // The bug the tests expect Driver Verifier to catch at unload.
            // SAFETY: an ordinary allocation.
            let leaked = unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, POOL_TAG) };
            println!("sample: leaking {leaked:?}");
            complete(request, STATUS_SUCCESS, 0);
        }
        IOCTL_SAMPLE_MEMORY_ECHO => {
            let n = input_length.min(output_length);
            let status = memory_echo(request, n);
            complete(request, status, if nt_success(status) { n as u64 } else { 0 });
        }
        _ => complete(request, STATUS_INVALID_DEVICE_REQUEST, 0),
    }
}

/// Takes ownership of a held request: the holders' count drops to zero.
fn claim(request: WDFREQUEST) -> bool {
    request_context(request).owners.fetch_sub(1, Ordering::SeqCst) == 1
}

extern "C" fn evt_request_cancel(request: WDFREQUEST) {
    // SAFETY: a request of this driver's queue.
    let queue = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetIoQueue, request) };
    let ctx = queue_context(queue);
    ctx.lock.acquire();
    if ctx.current.get() == request {
        ctx.current.set(core::ptr::null_mut());
    }
    ctx.lock.release();
    if claim(request) {
        complete(request, STATUS_CANCELLED, 0);
    }
}

unsafe extern "C" fn evt_timer(timer: WDFTIMER) {
    // SAFETY: the timer's parent is the queue (see `initialize`).
    let queue = unsafe { call_unsafe_wdf_function_binding!(WdfTimerGetParentObject, timer) } as WDFQUEUE;
    let ctx = queue_context(queue);
    ctx.lock.acquire();
    let request = ctx.current.replace(core::ptr::null_mut());
    ctx.lock.release();
    if request.is_null() {
        return;
    }
    // SAFETY: a request this driver holds.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, request) };
    if status != STATUS_CANCELLED && claim(request) {
        // SAFETY: a request this driver owns; WdfRequestComplete keeps the
        // information WdfRequestSetInformation set.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestComplete, request, STATUS_SUCCESS) };
    }
}
