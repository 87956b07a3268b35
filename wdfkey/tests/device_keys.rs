//! A device's hardware and software keys through RegKey, before and after
//! WdfDeviceCreate (F16), under the simulator's PnP.

use kmdf_sim::control::{DevnodeState, Machine, Settings};
use kmdf_sim::*;
use wdfkey::{Access, DeviceKey, RegKey};

const DRV: &str = "devkeys.sys";

fn device_add_inner(init: PWDFDEVICE_INIT) -> Result<(), wdfkey::Error> {
    // SAFETY: `init` is the live WDFDEVICE_INIT of this callback.
    let hw = unsafe { RegKey::open_device_init_key(init, DeviceKey::Hardware, Access::ALL) }?;
    hw.assign_u32("SeenAtAdd", 1)?;
    drop(hw);
    let mut init = init;
    let mut device: WDFDEVICE = core::ptr::null_mut();
    // SAFETY: the framework's init, consumed on success.
    let st =
        unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device) };
    if !NT_SUCCESS(st) {
        return Err(wdfkey::Error::new(st).unwrap_or(wdfkey::Error::UNSUCCESSFUL));
    }
    // SAFETY: `device` was just created.
    let hw = unsafe { RegKey::open_device_key(device, DeviceKey::Hardware, Access::READ) }?;
    let seen = hw.query_u32("SeenAtAdd")?;
    // SAFETY: as above.
    let sw = unsafe { RegKey::open_device_key(device, DeviceKey::Software, Access::ALL) }?;
    sw.assign_u32("Copied", seen)?;
    Ok(())
}

extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    device_add_inner(init).map_or_else(NTSTATUS::from, |()| STATUS_SUCCESS)
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    testing::driver_create(driver, path, None, testing::driver_config(Some(device_add), None), None)
}
const _: DRIVER_INITIALIZE = Some(entry);

#[test]
fn device_keys_open_before_and_after_device_create() {
    let m = Machine::new(Settings::default());
    m.install(DRV, "devkeys", Some(entry));
    let id = m.add_device(r"Root\DevKeys", None).expect("no stop");
    assert_eq!(m.device_state(id), Some(DevnodeState::Started));
    let (_, instance) = m.device_ids(id).expect("devnode");
    let hw = format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum\{instance}\Device Parameters");
    assert_eq!(m.registry_value(&hw, "SeenAtAdd"), Some((REG_DWORD, vec![1, 0, 0, 0])));
    assert!(m.live_keys().is_empty(), "every RegKey was dropped, every key closed");
    m.disable_device(id).expect("no stop");
    assert!(m.unload_reports().iter().all(|r| r.leaked_handles.is_empty() && r.leaked_objects.is_empty()));
    assert!(m.violations().is_empty());
}

#[test]
fn every_call_of_device_add_failed_once_fails_the_add_cleanly() {
    let mut failure_points = 0;
    for n in 1.. {
        let m = Machine::new(Settings::default());
        m.install(DRV, "devkeys", Some(entry));
        // Count from the first call of EvtDriverDeviceAdd on.
        m.load(DRV, "devkeys", Some(entry)).expect("loads");
        m.inject_fault(None, n, STATUS_INSUFFICIENT_RESOURCES);
        let id = m.add_device(r"Root\DevKeys", None).expect("no stop");
        if m.injected_faults().is_empty() {
            assert_eq!(m.device_state(id), Some(DevnodeState::Started));
            break;
        }
        failure_points += 1;
        assert_eq!(m.device_state(id), Some(DevnodeState::Failed(STATUS_INSUFFICIENT_RESOURCES)), "call {n}");
        assert!(m.live_objects().is_empty(), "call {n}: {:?}", m.live_objects());
        assert!(m.violations().is_empty(), "call {n}");
        assert!(m.unload_reports().iter().all(|r| r.leaked_handles.is_empty()), "call {n}");
    }
    assert!(failure_points >= 7, "{failure_points}");
}
