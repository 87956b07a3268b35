//! The dump readers on any bytes: a result or an error, never a panic, and
//! a report that renders. The input is made to look like a dump often
//! enough to reach the deeper readers: a small dump's lists (64- and
//! 32-bit), a complete, bitmap or RDMP kernel dump's page layout and page
//! tables (through a file: that reader works on files), and a user-mode
//! minidump's streams.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wdfkey_diag::{dump, input, triage, userdump};

fuzz_target!(|data: &[u8]| {
    // As given (mostly refused at the signature)...
    let _ = dump::parse(data, data.len() as u64);
    let _ = input::triage_reader(data, Some("mydrv.sys")).map(|r| triage::render(&r));
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
    // A user-mode minidump: the signature forced.
    let mut mdmp = b"MDMP".to_vec();
    mdmp.extend_from_slice(data);
    if let Ok(u) = userdump::parse(&mdmp, mdmp.len() as u64) {
        let _ = triage::render(&triage::triage_user_dump(&u, None));
    }
    // A kernel dump with memory: the first byte picks the type, the input
    // fills the header from 0x10 (DirectoryTableBase, PsLoadedModuleList,
    // the runs, the context...) and what follows it.
    if let Some((&pick, rest)) = data.split_first() {
        let kind = [1u32, 5, 6, 8, 9, 10][usize::from(pick) % 6];
        let mut bytes = b"PAGEDU64".to_vec();
        bytes.resize(0x10, 0);
        bytes.extend_from_slice(rest);
        bytes.resize(bytes.len().max(0x2000), 0);
        bytes[0x30..0x34].copy_from_slice(&0x8664u32.to_le_bytes());
        bytes[0xF98..0xF9C].copy_from_slice(&kind.to_le_bytes());
        let path = std::env::temp_dir().join(format!("wdfkey-fuzz-kernel-{}.dmp", std::process::id()));
        if std::fs::write(&path, &bytes).is_ok()
            && let Ok(d) = dump::read_file(&path)
        {
            let _ = triage::render(&triage::triage_dump(&d, Some("mydrv.sys")));
        }
    }
});
