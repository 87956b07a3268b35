//! What the simulator does not model stops the machine with its name — a
//! finding about the simulator, never a pass or an invented result: a
//! `ZwQueryKey` information class it does not build, a manual queue, a
//! queue's `EvtIoCanceledOnQueue`, a request type it cannot dispatch.

use kmdf_sim::control::{Machine, Settings, Stop};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;
use std::cell::Cell;

const DRV: &str = "gaps.sys";

/// Asserts the machine stopped as not modelled, naming `what`, and that no
/// bug check was invented for it.
fn assert_not_modelled(m: &Machine, what: &str) {
    match m.stop() {
        Some(stop @ Stop::NotModelled { .. }) => {
            let text = stop.to_string();
            assert!(text.starts_with("not modelled: ") && text.contains(what), "{text}");
            assert!(stop.bug_check().is_none());
        }
        other => panic!("expected a not-modelled stop naming {what}, got {other:?}"),
    }
}

#[test]
fn a_key_information_class_the_model_does_not_build_stops_the_machine() {
    let m = Machine::new(Settings::default());
    let mut path = testing::wide(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services");
    let status = m.run(DRV, "DriverEntry", || {
        let mut oa = OBJECT_ATTRIBUTES {
            Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
            ObjectName: &mut path.us,
            Attributes: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
            ..OBJECT_ATTRIBUTES::default()
        };
        let mut h: HANDLE = core::ptr::null_mut();
        // SAFETY: all pointers are to live locals.
        assert_eq!(unsafe { ZwOpenKey(&mut h, KEY_READ, &mut oa) }, STATUS_SUCCESS);
        let mut buf = [0u8; 256];
        let mut need = 0u32;
        // SAFETY: 256 writable bytes.
        unsafe { ZwQueryKey(h, _KEY_INFORMATION_CLASS::KeyNodeInformation, buf.as_mut_ptr().cast(), 256, &mut need) }
    });
    assert!(status.is_err(), "the run stops: {status:?}");
    assert_not_modelled(&m, "KEY_INFORMATION_CLASS 1");
}

thread_local! {
    /// Which gap the device-add callback walks into.
    static GAP: Cell<u8> = const { Cell::new(0) };
}

const MANUAL_QUEUE: u8 = 0;
const CANCELED_ON_QUEUE: u8 = 1;
const DISPATCH_CREATE: u8 = 2;

extern "C" fn on_canceled(_queue: WDFQUEUE, _request: WDFREQUEST) {}

extern "C" fn device_add(_driver: WDFDRIVER, mut init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut device: WDFDEVICE = std::ptr::null_mut();
    // SAFETY: the init's address, no attributes, a writable slot.
    let st =
        unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device) };
    if !NT_SUCCESS(st) {
        return st;
    }
    let gap = GAP.with(Cell::get);
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DefaultQueue: (gap != DISPATCH_CREATE).into(),
        DispatchType: if gap == MANUAL_QUEUE {
            _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchManual
        } else {
            _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential
        },
        EvtIoCanceledOnQueue: if gap == CANCELED_ON_QUEUE { Some(on_canceled) } else { None },
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    let mut queue: WDFQUEUE = std::ptr::null_mut();
    // SAFETY: a live device, valid config, a writable slot.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfIoQueueCreate, device, &mut config, WDF_NO_OBJECT_ATTRIBUTES, &mut queue)
    };
    if !NT_SUCCESS(st) || gap != DISPATCH_CREATE {
        return st;
    }
    // SAFETY: a live device and queue.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceConfigureRequestDispatching,
            device,
            queue,
            _WDF_REQUEST_TYPE::WdfRequestTypeCreate
        )
    }
}

extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    testing::driver_create(driver, path, None, testing::driver_config(Some(device_add), None), None)
}

fn add_device_walking_into(gap: u8) -> Machine {
    GAP.with(|g| g.set(gap));
    let m = Machine::new(Settings::default());
    m.install(DRV, "gaps", Some(driver_entry));
    assert!(m.add_device(r"Root\Gaps", None).is_err(), "the device add stops");
    m
}

#[test]
fn a_manual_queue_stops_the_machine() {
    assert_not_modelled(&add_device_walking_into(MANUAL_QUEUE), "a manual queue");
}

#[test]
fn an_evt_io_canceled_on_queue_callback_stops_the_machine() {
    assert_not_modelled(&add_device_walking_into(CANCELED_ON_QUEUE), "EvtIoCanceledOnQueue");
}

#[test]
fn dispatching_a_request_type_the_model_does_not_route_stops_the_machine() {
    assert_not_modelled(&add_device_walking_into(DISPATCH_CREATE), "WdfDeviceConfigureRequestDispatching");
}
