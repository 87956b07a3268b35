//! Replays the original crash against the simulator and prints the stop the
//! way `!analyze -v` shows it: a driver closes the WDM handle of a WDFKEY it
//! left to the framework, another component's protected handle takes the
//! freed slot, and at unload the framework's key teardown closes the stale
//! value again.
//!
//! `cargo run -p kmdf-sim --example original_crash`

use kmdf_sim::control::{Machine, ReusePolicy, Settings};
use kmdf_sim::ntddk::ZwClose;
use kmdf_sim::*;

const PARAMS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\rawclient\Parameters";

/// DriverEntry of the crashing driver.
extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let status = testing::plain_entry(driver, path);
    if !NT_SUCCESS(status) {
        return status;
    }
    let name = testing::wide(PARAMS);
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: `name` and `key` outlive the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRegistryOpenKey,
            core::ptr::null_mut(),
            &name.us,
            KEY_READ,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
    if !NT_SUCCESS(status) {
        return status;
    }
    // SAFETY: `key` is live.
    let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
    // SAFETY: the defect being replayed: the handle belongs to the key object.
    unsafe { ZwClose(handle) }
}
const _: DRIVER_INITIALIZE = Some(driver_entry);

fn main() -> std::process::ExitCode {
    let m = Machine::new(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    m.registry_create_key(PARAMS).expect("well-formed path");
    match m.load("rawclient.sys", "rawclient", Some(driver_entry)) {
        Ok(status) if NT_SUCCESS(status) => {}
        other => {
            eprintln!("the driver did not load: {other:?}");
            return std::process::ExitCode::FAILURE;
        }
    }
    m.open_foreign_handle("other.sys", r"\Registry\Machine\SOFTWARE", true).expect("opens");
    match m.unload() {
        Err(stop) => {
            println!("{stop}");
            std::process::ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("the simulator did not catch the double close");
            std::process::ExitCode::FAILURE
        }
    }
}
