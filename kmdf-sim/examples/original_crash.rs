//! Replays the original crash against the simulator and prints the stop the
//! way `!analyze -v` shows it: a driver closes the WDM handle of a WDFKEY,
//! another component's protected handle takes the freed slot, and the
//! framework's key teardown closes the stale value at unload.
//!
//! `cargo run -p kmdf-sim --example original_crash`

use kmdf_sim::control::{Machine, ReusePolicy, Settings};
use kmdf_sim::ntddk::ZwClose;
use kmdf_sim::{
    KEY_READ, NT_SUCCESS, UNICODE_STRING, WDF_NO_OBJECT_ATTRIBUTES, WDFKEY, call_unsafe_wdf_function_binding,
};

const PARAMS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\rawclient\Parameters";

fn main() -> std::process::ExitCode {
    let m = Machine::new(Settings { reuse_policy: ReusePolicy::Lifo, ..Settings::default() });
    m.registry_create_key(PARAMS).expect("well-formed path");
    let key = m
        .run("rawclient.sys", "DriverEntry", || {
            let mut path: Vec<u16> = PARAMS.encode_utf16().collect();
            let bytes = (path.len() * 2) as u16;
            let name = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: path.as_mut_ptr() };
            let mut key: WDFKEY = core::ptr::null_mut();
            // SAFETY: `name` and `key` outlive the call.
            let status = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRegistryOpenKey,
                    core::ptr::null_mut(),
                    &name,
                    KEY_READ,
                    WDF_NO_OBJECT_ATTRIBUTES,
                    &mut key
                )
            };
            assert!(NT_SUCCESS(status));
            // SAFETY: `key` is live.
            let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
            // SAFETY: the defect being replayed: the handle belongs to the key object.
            let _ = unsafe { ZwClose(handle) };
            key as u64
        })
        .expect("the driver's own close does not stop the machine");
    m.open_foreign_handle("other.sys", r"\Registry\Machine\SOFTWARE", true).expect("opens");
    match m.framework_destroy_key(key) {
        Err(stop) => {
            println!("{stop}");
            std::process::ExitCode::SUCCESS
        }
        Ok(()) => {
            eprintln!("the simulator did not catch the double close");
            std::process::ExitCode::FAILURE
        }
    }
}
