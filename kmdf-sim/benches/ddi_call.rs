//! Cost of simulated DDI calls with every verifier on (the test-VM settings).
//!
//! `cargo bench -p kmdf-sim --bench ddi_call` prints nanoseconds per call.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;
use std::hint::black_box;
use std::time::Instant;

fn open_key() -> WDFKEY {
    let mut wide: Vec<u16> = r"\Registry\Machine\SOFTWARE\Bench".encode_utf16().collect();
    let bytes = (wide.len() * 2) as u16;
    let us = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: wide.as_mut_ptr() };
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: pointers to live locals.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRegistryCreateKey,
            core::ptr::null_mut(),
            &us,
            KEY_ALL_ACCESS,
            REG_OPTION_NON_VOLATILE,
            core::ptr::null_mut(),
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
    assert_eq!(st, STATUS_SUCCESS);
    key
}

fn measure(label: &str, iterations: u32, mut op: impl FnMut()) {
    // Warm up, then time.
    for _ in 0..iterations / 10 {
        op();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        op();
    }
    let per_call = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{label:<48} {per_call:>10.1} ns/call  ({iterations} calls)");
}

fn main() {
    let m = Machine::new(Settings::default());
    println!("kmdf-sim DDI cost, all verifiers on (Settings::default())");
    m.run("bench.sys", "Bench", || {
        let key = open_key();
        let mut name_buf: Vec<u16> = "Value".encode_utf16().collect();
        let bytes = (name_buf.len() * 2) as u16;
        let name = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: name_buf.as_mut_ptr() };
        // SAFETY: live key, pointer to a local.
        let st = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignULong, key, &name, 1) };
        assert_eq!(st, STATUS_SUCCESS);

        measure("WdfRegistryWdmGetHandle", 1_000_000, || {
            // SAFETY: live key.
            black_box(unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, black_box(key)) });
        });
        measure("WdfRegistryQueryULong", 500_000, || {
            let mut v = 0u32;
            // SAFETY: live key, pointers to locals.
            black_box(unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, &name, &mut v) });
        });
        measure("WdfRegistryCreateKey + WdfRegistryClose (pair)", 100_000, || {
            let k = open_key();
            // SAFETY: live key, closed once.
            unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, k) };
        });
    })
    .expect("no stop");
}
