//! The `PWDFDEVICE_INIT` a driver gets in EvtDriverDeviceAdd, checked as
//! KMDF checks it (docs/facts.md F94; microsoft/Windows-Driver-Frameworks
//! `src/framework/shared/core/fxdeviceinitapi.cpp`, `fxdeviceapi.cpp`): a
//! NULL init or a NULL required structure is 0x10D
//! {WDF_REQUIRED_PARAMETER_IS_NULL} with or without any verifier; an init
//! used after WdfDeviceCreate consumed it is a finding, never a clean run; a
//! callbacks structure of a size KMDF does not take, both usage-notification
//! callbacks, or request attributes naming a parent are a KMDF verifier
//! break and set nothing; the V1_9 callbacks structure is read up to its size.

use kmdf_sim::control::{DevnodeState, Machine, Settings};
use kmdf_sim::*;
use std::cell::{Cell, RefCell};
use std::mem::offset_of;

mod support;

const DRV: &str = "init.sys";
const HWID: &str = r"Root\InitTest";
const KEY_READ_ACCESS: u32 = 0x20019;

/// What EvtDriverDeviceAdd does with its init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// `WdfDeviceCreate` with DeviceInit, *DeviceInit or Device NULL.
    CreateNull(u8),
    /// One of the init DDIs with a NULL init.
    NullInit(&'static str),
    /// `WdfDeviceInitSetPnpPowerEventCallbacks` with NULL callbacks.
    NullCallbacks,
    /// `WdfDeviceInitSetRequestAttributes` with NULL attributes.
    NullRequestAttributes,
    /// `WdfDeviceInitSetIoType` on the init WdfDeviceCreate consumed.
    StaleInit,
    /// Callbacks (D0Entry) with this `Size`.
    CallbacksSize(u32),
    /// Both EvtDeviceUsageNotification and EvtDeviceUsageNotificationEx.
    BothUsageCallbacks,
    /// Request attributes that name a ParentObject.
    RequestAttributesWithParent,
}

thread_local! {
    static CASE: Cell<Case> = const { Cell::new(Case::StaleInit) };
    static EVENTS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn d0_entry(_: WDFDEVICE, _: WDF_POWER_DEVICE_STATE) -> NTSTATUS {
    EVENTS.with(|e| e.borrow_mut().push("D0Entry"));
    STATUS_SUCCESS
}
extern "C" fn usage(_: WDFDEVICE, _: WDF_SPECIAL_FILE_TYPE, _: BOOLEAN) {}
extern "C" fn usage_ex(_: WDFDEVICE, _: WDF_SPECIAL_FILE_TYPE, _: BOOLEAN) -> NTSTATUS {
    STATUS_SUCCESS
}

fn callbacks(size: u32) -> WDF_PNPPOWER_EVENT_CALLBACKS {
    WDF_PNPPOWER_EVENT_CALLBACKS {
        Size: size,
        EvtDeviceD0Entry: Some(d0_entry),
        ..WDF_PNPPOWER_EVENT_CALLBACKS::default()
    }
}

/// `WdfDeviceCreate` on `init` (its address), no attributes.
fn create(init: *mut PWDFDEVICE_INIT, device: *mut WDFDEVICE) -> NTSTATUS {
    // SAFETY: as the case under test passes them.
    unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, init, WDF_NO_OBJECT_ATTRIBUTES, device) }
}

extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let null: PWDFDEVICE_INIT = std::ptr::null_mut();
    let mut init_slot = init;
    let mut device: WDFDEVICE = std::ptr::null_mut();
    match CASE.with(Cell::get) {
        Case::CreateNull(0) => return create(std::ptr::null_mut(), &mut device),
        Case::CreateNull(1) => return create(&mut std::ptr::null_mut(), &mut device),
        Case::CreateNull(_) => return create(&mut init_slot, std::ptr::null_mut()),
        Case::NullInit(ddi) => {
            let mut key: WDFKEY = std::ptr::null_mut();
            match ddi {
                // SAFETY: the defect under test: a NULL init; the rest valid.
                "WdfDeviceInitSetIoType" => unsafe {
                    call_unsafe_wdf_function_binding!(
                        WdfDeviceInitSetIoType,
                        null,
                        _WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered
                    )
                },
                // SAFETY: the defect under test: a NULL init; the rest valid.
                "WdfDeviceInitSetPnpPowerEventCallbacks" => unsafe {
                    call_unsafe_wdf_function_binding!(
                        WdfDeviceInitSetPnpPowerEventCallbacks,
                        null,
                        &mut callbacks(size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>() as u32)
                    )
                },
                // SAFETY: the defect under test: a NULL init; the rest valid.
                "WdfDeviceInitSetRequestAttributes" => unsafe {
                    call_unsafe_wdf_function_binding!(
                        WdfDeviceInitSetRequestAttributes,
                        null,
                        &mut testing::object_attributes()
                    )
                },
                _ => {
                    // SAFETY: the defect under test: a NULL init; the rest valid.
                    let _ = unsafe {
                        call_unsafe_wdf_function_binding!(
                            WdfFdoInitOpenRegistryKey,
                            null,
                            PLUGPLAY_REGKEY_DEVICE,
                            KEY_READ_ACCESS,
                            WDF_NO_OBJECT_ATTRIBUTES,
                            &mut key
                        )
                    };
                }
            }
        }
        Case::NullCallbacks => {
            // SAFETY: the defect under test.
            unsafe {
                call_unsafe_wdf_function_binding!(WdfDeviceInitSetPnpPowerEventCallbacks, init, std::ptr::null_mut())
            }
        }
        Case::NullRequestAttributes => {
            // SAFETY: the defect under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetRequestAttributes, init, std::ptr::null_mut()) }
        }
        Case::StaleInit => {
            let st = create(&mut init_slot, &mut device);
            assert!(NT_SUCCESS(st) && init_slot.is_null(), "{st:#x}: WdfDeviceCreate clears *DeviceInit");
            // SAFETY: the defect under test: the init WdfDeviceCreate consumed.
            unsafe {
                call_unsafe_wdf_function_binding!(WdfDeviceInitSetIoType, init, _WDF_DEVICE_IO_TYPE::WdfDeviceIoDirect)
            };
            return STATUS_SUCCESS;
        }
        Case::CallbacksSize(size) => {
            let mut c = callbacks(size);
            // SAFETY: a live init and a whole 1.33 structure.
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetPnpPowerEventCallbacks, init, &mut c) };
        }
        Case::BothUsageCallbacks => {
            let mut c = WDF_PNPPOWER_EVENT_CALLBACKS {
                EvtDeviceUsageNotification: Some(usage),
                EvtDeviceUsageNotificationEx: Some(usage_ex),
                ..callbacks(size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>() as u32)
            };
            // SAFETY: a live init and a whole structure.
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetPnpPowerEventCallbacks, init, &mut c) };
        }
        Case::RequestAttributesWithParent => {
            let mut attrs = WDF_OBJECT_ATTRIBUTES { ParentObject: _driver.cast(), ..testing::object_attributes() };
            // SAFETY: a live init and valid attributes; the parent is the defect under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitSetRequestAttributes, init, &mut attrs) };
        }
    }
    create(&mut init_slot, &mut device)
}

unsafe extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    support::driver_create(driver, path, Some(device_add))
}

/// Runs `case` on a fresh machine: the machine and the result of adding the device.
fn add(settings: Settings, case: Case) -> (Machine, Result<kmdf_sim::control::DeviceId, kmdf_sim::control::Stopped>) {
    CASE.with(|c| c.set(case));
    EVENTS.with(|e| e.borrow_mut().clear());
    let m = Machine::new(settings);
    m.install(DRV, "init", Some(driver_entry));
    let added = m.add_device(HWID, None);
    (m, added)
}

#[test]
fn a_null_init_or_required_structure_is_wdf_required_parameter_is_null_without_any_verifier() {
    let mut cases: Vec<Case> = (0..3).map(Case::CreateNull).collect();
    for ddi in [
        "WdfDeviceInitSetIoType",
        "WdfDeviceInitSetPnpPowerEventCallbacks",
        "WdfDeviceInitSetRequestAttributes",
        "WdfFdoInitOpenRegistryKey",
    ] {
        cases.push(Case::NullInit(ddi));
    }
    cases.extend([Case::NullCallbacks, Case::NullRequestAttributes]);
    for case in cases {
        let (m, added) = add(Settings::without_verifiers(), case);
        let stop = added.expect_err(&format!("{case:?} stops"));
        let b = stop.bug_check().unwrap_or_else(|| panic!("{case:?}: {stop:?}"));
        assert_eq!((b.code, b.params[0]), (0x10D, 0x4), "{case:?}");
        assert!(m.live_objects().iter().all(|(_, t)| *t != "WDFDEVICE"), "{case:?}: no device");
    }
}

#[test]
fn an_init_used_after_device_create_consumed_it_is_a_finding() {
    let (m, added) = add(Settings::default(), Case::StaleInit);
    let id = added.expect("no stop: KMDF reads through it");
    assert_eq!(m.device_state(id), Some(DevnodeState::Started));
    let findings = m.findings();
    assert!(
        findings.iter().any(|f| f.contains("WdfDeviceInitSetIoType") && f.contains("not live") && f.contains("f94")),
        "{findings:?}"
    );
}

#[test]
fn the_callbacks_structure_is_read_up_to_a_size_kmdf_takes_else_a_verifier_break() {
    let v1_9 = offset_of!(WDF_PNPPOWER_EVENT_CALLBACKS, EvtDeviceUsageNotificationEx) as u32;
    for size in [size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>() as u32, v1_9] {
        let (m, added) = add(Settings::default(), Case::CallbacksSize(size));
        added.expect("starts");
        assert_eq!(EVENTS.with(|e| e.borrow().clone()), ["D0Entry"], "Size {size}");
        assert!(m.verifier_breaks().is_empty() && m.findings().is_empty());
    }
    let debugger = Settings { kernel_debugger: true, ..Settings::default() };
    for case in [Case::CallbacksSize(v1_9 - 8), Case::BothUsageCallbacks] {
        let (m, added) = add(debugger.clone(), case);
        added.expect("the debugger takes the break; the device starts");
        assert_eq!(m.verifier_breaks().len(), 1, "{case:?}: {:?}", m.verifier_breaks());
        assert!(EVENTS.with(|e| e.borrow().is_empty()), "{case:?}: the callbacks were not set");
    }
    // The KMDF verifier on without a debugger: the break is 0x7E {0x80000003} (F65).
    let (_, added) = add(Settings::default(), Case::BothUsageCallbacks);
    let b = added.expect_err("an unhandled breakpoint").bug_check().expect("bug check").clone();
    assert_eq!((b.code, b.params[0]), (0x7E, 0x8000_0003));
}

#[test]
fn request_attributes_that_name_a_parent_are_a_verifier_break() {
    let (m, added) = add(Settings { kernel_debugger: true, ..Settings::default() }, Case::RequestAttributesWithParent);
    added.expect("the debugger takes the break");
    assert_eq!(m.verifier_breaks().len(), 1, "{:?}", m.verifier_breaks());
}
