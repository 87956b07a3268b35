//! The kernel-dump reader on any bytes: a result or an error, never a
//! panic, and a report that renders. The input is made to look like a dump
//! (signature, a triage header) often enough to reach the small-dump lists.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wdfkey_diag::{dump, triage};

fuzz_target!(|data: &[u8]| {
    // As given (mostly refused at the signature)...
    let _ = dump::parse(data, data.len() as u64);
    // ...and with a 64- and a 32-bit small dump's signature and type
    // forced, the rest of the bytes from the input.
    for (sig, type_at, size) in [(dump::SIGNATURE64, 0xF98usize, 0x2000usize), (dump::SIGNATURE32, 0xF88, 0x1000)] {
        let mut bytes = vec![0u8; size];
        bytes.extend_from_slice(data);
        bytes[..8].copy_from_slice(sig);
        bytes[type_at..type_at + 4].copy_from_slice(&4u32.to_le_bytes());
        if let Ok(d) = dump::parse(&bytes, bytes.len() as u64) {
            let _ = triage::render(&triage::triage_dump(&d, Some("mydrv.sys")));
        }
    }
});
