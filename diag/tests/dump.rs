//! The kernel-dump reader on dumps this file writes itself (the layouts of
//! `diag/src/dump.rs`, written independently here): every header field,
//! every dump type, the small dump's lists, the verdicts, the JSON schema,
//! the command line, and every malformed case — each must give an error,
//! never a panic.

use std::process::Command;
use wdfkey_diag::{dump, triage};

/// A small dump to write.
#[derive(Clone)]
struct Spec {
    bits: u8,
    code: u32,
    params: [u64; 4],
    build: u32,
    processors: u32,
    machine: u32,
    /// (path, base, size, timestamp)
    drivers: Vec<(String, u64, u32, u32)>,
    /// (stored name, Name.Length in characters, start, end)
    unloaded: Vec<(String, u16, u64, u64)>,
    stack_top: u64,
    stack: Vec<u64>,
    process_name: Option<&'static str>,
    current_thread: u64,
    ip: u64,
    sp: u64,
    /// FILETIME
    system_time: u64,
}

const NT: u64 = 0xFFFF_F800_1000_0000;
const WDF: u64 = 0xFFFF_F800_2000_0000;
const MYDRV: u64 = 0xFFFF_F800_3000_0000;

fn spec64() -> Spec {
    Spec {
        bits: 64,
        code: 0x93,
        params: [0x304, 0, 0, 0],
        build: 22621,
        processors: 4,
        machine: 0x8664,
        drivers: vec![
            (r"\SystemRoot\system32\ntoskrnl.exe".into(), NT, 0x0104_6000, 0x0D83_33E6),
            (r"\SystemRoot\System32\drivers\Wdf01000.sys".into(), WDF, 0xD1000, 0xA9A9_D36E),
            (r"\SystemRoot\System32\drivers\mydrv.sys".into(), MYDRV, 0x8000, 0x6500_0000),
        ],
        unloaded: vec![
            ("mydrv.sys".into(), 9, 0xFFFF_F800_4000_0000, 0xFFFF_F800_4000_8000),
            ("averyveryl".into(), 20, 0xFFFF_F800_5000_0000, 0xFFFF_F800_5001_0000),
        ],
        stack_top: 0xFFFF_8504_2989_0000,
        stack: vec![NT + 0x40F4E1, 7, WDF + 0x1234, WDF + 0x2000, 0, MYDRV + 0x10, NT + 0x10, 0xFFFF_F800_9999_0000],
        process_name: Some("System"),
        current_thread: 0xFFFF_C08B_DE9E_1640,
        ip: NT + 0x400,
        sp: 0xFFFF_8504_2989_0100,
        system_time: 132_583_451_029_877_657,
    }
}

fn spec32() -> Spec {
    Spec {
        bits: 32,
        machine: 0x14C,
        build: 7601,
        drivers: vec![
            (r"\SystemRoot\system32\ntkrnlpa.exe".into(), 0x8280_0000, 0x41_0000, 0x4CE7_8A09),
            (r"\SystemRoot\system32\drivers\Wdf01000.sys".into(), 0x8B00_0000, 0x9_0000, 0x4A5B_C2B3),
            (r"\SystemRoot\system32\drivers\mydrv.sys".into(), 0x9000_0000, 0x4000, 0x5000_0000),
        ],
        unloaded: vec![("olddrv.sys".into(), 10, 0x9100_0000, 0x9100_4000)],
        stack_top: 0x8D00_0000,
        stack: vec![0x8280_1000, 0x8B00_2000, 0x9000_0010, 0x1234],
        current_thread: 0x8500_1000,
        ip: 0x8280_0400,
        sp: 0x8D00_0010,
        ..spec64()
    }
}

fn put(buf: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    if buf.len() < at + bytes.len() {
        buf.resize(at + bytes.len(), 0);
    }
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}
fn put32(buf: &mut Vec<u8>, at: usize, v: u32) {
    put(buf, at, &v.to_le_bytes());
}
fn put64(buf: &mut Vec<u8>, at: usize, v: u64) {
    put(buf, at, &v.to_le_bytes());
}
fn put_ptr(buf: &mut Vec<u8>, bits: u8, at: usize, v: u64) {
    if bits == 64 { put64(buf, at, v) } else { put32(buf, at, v as u32) }
}
fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The header (DUMP_HEADER64 / DUMP_HEADER) of a dump of `dump_type`.
fn header(s: &Spec, dump_type: u32) -> Vec<u8> {
    let mut b = Vec::new();
    let w = s.bits == 64;
    let size = if w { 0x2000 } else { 0x1000 };
    b.resize(size, 0);
    // Unused header bytes are 'PAGE' in real dumps.
    for at in (0..size).step_by(4) {
        put(&mut b, at, b"PAGE");
    }
    put(&mut b, 0, if w { b"PAGEDU64" } else { b"PAGEDUMP" });
    put32(&mut b, 8, 0xF);
    put32(&mut b, 0xC, s.build);
    put32(&mut b, if w { 0x30 } else { 0x20 }, s.machine);
    put32(&mut b, if w { 0x34 } else { 0x24 }, s.processors);
    put32(&mut b, if w { 0x38 } else { 0x28 }, s.code);
    for (i, p) in s.params.iter().enumerate() {
        if w {
            put64(&mut b, 0x40 + 8 * i, *p);
        } else {
            put32(&mut b, 0x2C + 4 * i, *p as u32);
        }
    }
    put32(&mut b, if w { 0xF98 } else { 0xF88 }, dump_type);
    put64(&mut b, if w { 0xFA8 } else { 0xFC0 }, s.system_time);
    let ctx = if w { 0x348 } else { 0x320 };
    if w {
        put64(&mut b, ctx + 0xF8, s.ip);
        put64(&mut b, ctx + 0x98, s.sp);
    } else {
        put32(&mut b, ctx + 0xB8, s.ip as u32);
        put32(&mut b, ctx + 0xC4, s.sp as u32);
    }
    b
}

/// A whole small dump; the offsets of its sections as well.
fn small(s: &Spec) -> (Vec<u8>, Sections) {
    let w = s.bits == 64;
    let ptr = if w { 8 } else { 4 };
    let mut b = header(s, 4);
    let t = b.len();
    b.resize(t + 0x100, 0);
    let mut at = t + 0x100;
    let mut section = |b: &mut Vec<u8>, len: usize| {
        let here = at;
        b.resize(here + len, 0);
        at = here + len + (8 - len % 8) % 8;
        b.resize(at, 0);
        here
    };
    let prcb = section(&mut b, 0x100);
    put_ptr(&mut b, s.bits, prcb + if w { 8 } else { 4 }, s.current_thread);
    let process = section(&mut b, 0x800);
    if let Some(name) = s.process_name {
        // Something printable but not a name first, then the name field.
        put(&mut b, process + 0x100, b"Proc\0\0\0\0\0\0\0\0\0\0\0");
        put(&mut b, process + 0x5A8, name.as_bytes());
    }
    let thread = section(&mut b, 0x200);
    let entry = if w { 56 } else { 40 };
    let first = if w { 8 } else { 4 };
    let unloaded = section(&mut b, first + entry * s.unloaded.len());
    put32(&mut b, unloaded, s.unloaded.len() as u32);
    for (i, (name, chars, start, end)) in s.unloaded.iter().enumerate() {
        let e = unloaded + first + i * entry;
        b[e..e + 2].copy_from_slice(&(chars * 2).to_le_bytes());
        b[e + 2..e + 4].copy_from_slice(&(chars * 2).to_le_bytes());
        let mut n = utf16(name);
        n.truncate(24);
        put(&mut b, e + if w { 16 } else { 8 }, &n);
        put_ptr(&mut b, s.bits, e + if w { 40 } else { 32 }, *start);
        put_ptr(&mut b, s.bits, e + if w { 48 } else { 36 }, *end);
    }
    let stack = section(&mut b, ptr * s.stack.len());
    for (i, v) in s.stack.iter().enumerate() {
        put_ptr(&mut b, s.bits, stack + i * ptr, *v);
    }
    let entry = if w { 0x90 } else { 76 };
    let list = section(&mut b, entry * s.drivers.len());
    let mut names = Vec::new();
    for (path, _, _, _) in &s.drivers {
        let mut n = (path.encode_utf16().count() as u32).to_le_bytes().to_vec();
        n.extend(utf16(path));
        n.extend([0, 0]);
        names.push(n);
    }
    let pool_len: usize = names.iter().map(|n| n.len() + (8 - n.len() % 8) % 8).sum();
    let pool = section(&mut b, pool_len.max(8));
    let mut name_at = pool;
    for (i, ((_, base, size, ts), n)) in s.drivers.iter().zip(&names).enumerate() {
        let e = list + i * entry;
        put32(&mut b, e, name_at as u32);
        put(&mut b, name_at, n);
        name_at += n.len() + (8 - n.len() % 8) % 8;
        if w {
            put64(&mut b, e + 8 + 0x30, *base);
            put32(&mut b, e + 8 + 0x40, *size);
            put32(&mut b, e + 8 + 0x80, *ts);
        } else {
            put32(&mut b, e + 4 + 24, *base as u32);
            put32(&mut b, e + 4 + 32, *size);
            put32(&mut b, e + 4 + 68, *ts);
        }
    }
    let valid = section(&mut b, 4);
    put(&mut b, valid, b"TRGD");
    let total = b.len();
    let fields: [(usize, u32); 17] = [
        (0x00, 0),
        (0x04, total as u32),
        (0x08, valid as u32),
        (0x0C, if w { 0x348 } else { 0x320 }),
        (0x10, if w { 0xF00 } else { 0x7D0 }),
        (0x14, 0),
        (0x18, unloaded as u32),
        (0x1C, prcb as u32),
        (0x20, process as u32),
        (0x24, thread as u32),
        (0x28, stack as u32),
        (0x2C, (ptr * s.stack.len()) as u32),
        (0x30, list as u32),
        (0x34, s.drivers.len() as u32),
        (0x38, pool as u32),
        (0x3C, pool_len as u32),
        (0x44, 0xFFFF_FFFF),
    ];
    for (o, v) in fields {
        put32(&mut b, t + o, v);
    }
    put_ptr(&mut b, s.bits, t + 0x48, s.stack_top);
    (b, Sections { triage: t, unloaded, stack, list, pool, valid })
}

struct Sections {
    triage: usize,
    unloaded: usize,
    stack: usize,
    list: usize,
    pool: usize,
    valid: usize,
}

fn read(bytes: &[u8]) -> Result<dump::Dump, String> {
    dump::parse(bytes, bytes.len() as u64)
}

#[test]
fn every_field_of_a_64_bit_small_dump_is_read() {
    let s = spec64();
    let (bytes, _) = small(&s);
    let d = read(&bytes).expect("read");
    assert_eq!((d.format, d.pointer_bits, d.file_size), ("PAGEDU64", 64, bytes.len() as u64));
    assert_eq!((d.bugcheck_code, d.parameters), (0x93, [0x304, 0, 0, 0]));
    assert_eq!((d.build, d.processors, d.major_version), (22621, 4, 0xF));
    assert_eq!((d.machine, d.machine_name), (0x8664, Some("AMD64")));
    assert_eq!((d.dump_type, d.dump_kind), (4, "small"));
    assert_eq!(d.system_time.as_deref(), Some("2021-02-21T01:38:22Z"));
    let ctx = d.context.as_ref().expect("context");
    assert_eq!((ctx.instruction_pointer, ctx.stack_pointer), (s.ip, s.sp));
    let sm = d.small.as_ref().expect("small");
    assert_eq!(sm.size_of_dump as usize, bytes.len());
    assert_eq!(sm.triage_options, 0xFFFF_FFFF);
    let names: Vec<&str> = sm.drivers.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["ntoskrnl.exe", "Wdf01000.sys", "mydrv.sys"]);
    assert_eq!(sm.drivers[1].path, r"\SystemRoot\System32\drivers\Wdf01000.sys");
    assert_eq!((sm.drivers[1].base, sm.drivers[1].size, sm.drivers[1].timestamp), (WDF, 0xD1000, 0xA9A9_D36E));
    assert_eq!(sm.unloaded.len(), 2);
    assert_eq!((sm.unloaded[0].name.as_str(), sm.unloaded[0].name_truncated), ("mydrv.sys", false));
    assert_eq!((sm.unloaded[0].start, sm.unloaded[0].end), (0xFFFF_F800_4000_0000, 0xFFFF_F800_4000_8000));
    assert_eq!((sm.unloaded[1].name.as_str(), sm.unloaded[1].name_truncated), ("averyveryl", true));
    let st = sm.stack.as_ref().expect("stack");
    assert_eq!((st.top, st.size, st.words), (s.stack_top, 64, 8));
    let hits: Vec<(u64, &str, u64)> = st.hits.iter().map(|h| (h.address, h.module.as_str(), h.offset)).collect();
    assert_eq!(
        hits,
        [
            (s.stack_top, "ntoskrnl.exe", 0x40F4E1),
            (s.stack_top + 16, "Wdf01000.sys", 0x1234),
            (s.stack_top + 24, "Wdf01000.sys", 0x2000),
            (s.stack_top + 40, "mydrv.sys", 0x10),
            (s.stack_top + 48, "ntoskrnl.exe", 0x10),
        ]
    );
    assert_eq!(st.modules_in_order, ["ntoskrnl.exe", "Wdf01000.sys", "mydrv.sys", "ntoskrnl.exe"]);
    assert_eq!(sm.current_thread, Some(s.current_thread));
    assert_eq!(sm.process_name.as_deref(), Some("System"));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    // A user process's name is found too.
    let (bytes, _) = small(&Spec { process_name: Some("WUDFHost.exe"), ..s });
    assert_eq!(read(&bytes).expect("read").small.expect("small").process_name.as_deref(), Some("WUDFHost.exe"));
}

#[test]
fn a_32_bit_small_dump_is_read_with_its_own_layout() {
    let s = spec32();
    let (bytes, _) = small(&s);
    let d = read(&bytes).expect("read");
    assert_eq!((d.format, d.pointer_bits, d.machine_name), ("PAGEDUMP", 32, Some("x86")));
    assert_eq!((d.bugcheck_code, d.parameters, d.build), (0x93, [0x304, 0, 0, 0], 7601));
    assert_eq!(d.system_time.as_deref(), Some("2021-02-21T01:38:22Z"));
    let ctx = d.context.expect("context");
    assert_eq!((ctx.instruction_pointer, ctx.stack_pointer), (0x8280_0400, 0x8D00_0010));
    let sm = d.small.expect("small");
    let m: Vec<(&str, u64, u32, u32)> =
        sm.drivers.iter().map(|m| (m.name.as_str(), m.base, m.size, m.timestamp)).collect();
    assert_eq!(m[2], ("mydrv.sys", 0x9000_0000, 0x4000, 0x5000_0000));
    assert_eq!(
        (sm.unloaded[0].name.as_str(), sm.unloaded[0].start, sm.unloaded[0].end),
        ("olddrv.sys", 0x9100_0000, 0x9100_4000)
    );
    let st = sm.stack.expect("stack");
    assert_eq!(st.modules_in_order, ["ntkrnlpa.exe", "Wdf01000.sys", "mydrv.sys"]);
    assert_eq!(sm.current_thread, Some(0x8500_1000));
}

#[test]
fn every_dump_type_is_named_from_the_header() {
    let s = spec64();
    let cases: &[(u32, &[u8], &str)] = &[
        (1, b"", "full"),
        (2, b"SDMPDUMP", "kernel"),
        (3, b"", "header"),
        (5, b"FDMPDUMP", "bitmap_full"),
        (5, b"SDMPDUMP", "bitmap_kernel"),
        (6, b"SDMPDUMP", "bitmap_kernel"),
        (6, b"", "bitmap"),
        (8, b"SDMPDUMP", "bitmap_kernel"),
        (9, b"SDMPDUMP", "bitmap_kernel_user"),
        (10, b"FDMPDUMP", "bitmap_full"),
        (77, b"", "unknown"),
    ];
    for &(ty, after, kind) in cases {
        let mut b = header(&s, ty);
        b.extend_from_slice(after);
        b.resize(b.len() + 0x100, 0);
        // A full dump is not read whole: its real size is only reported.
        let d = dump::parse(&b, 8 << 30).unwrap_or_else(|e| panic!("type {ty}: {e}"));
        assert_eq!((d.dump_type, d.dump_kind), (ty, kind), "type {ty}");
        assert_eq!(d.file_size, 8 << 30);
        assert!(d.small.is_none());
        assert_eq!((d.bugcheck_code, d.build, d.processors), (0x93, 22621, 4));
        let r = triage::triage_dump(&d, None);
        assert!(r.limits.iter().any(|l| l.contains("Only the header was read")), "{:?}", r.limits);
    }
    let mut b = header(&spec32(), 1);
    b.resize(0x1100, 0);
    let d = read(&b).expect("32-bit full");
    assert_eq!((d.format, d.dump_kind, d.bugcheck_code), ("PAGEDUMP", "full", 0x93));
}

/// Every malformed input: an error naming what is wrong, never a panic.
#[test]
fn malformed_dumps_are_refused_with_a_message() {
    let s = spec64();
    let (good, at) = small(&s);
    let t = at.triage;
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "not a kernel dump"),
        ("only the signature", b"PAGEDU64".to_vec(), "truncated"),
        ("header cut", good[..0x1800].to_vec(), "truncated"),
        ("small dump cut", good[..good.len() - 100].to_vec(), "truncated"),
        ("no end marker", with(&|b| put(b, at.valid, b"XXXX")), "end marker"),
        ("end marker offset beyond the file", with(&|b| put32(b, t + 8, 0xFFFF_FFF0)), "end marker"),
        ("driver list beyond the end", with(&|b| put32(b, t + 0x30, (good.len() - 0x10) as u32)), "driver list"),
        ("a billion drivers", with(&|b| put32(b, t + 0x34, 1_000_000_000)), "driver list"),
        ("driver name beyond the end", with(&|b| put32(b, at.list, 0xFFFF_FFFF)), "name"),
        ("driver name 2^31 characters", with(&|b| put32(b, at.pool, 0x8000_0000)), "characters"),
        ("driver name longer than the file", with(&|b| put32(b, at.pool, 0x7FFF)), "name"),
        ("unloaded list beyond the end", with(&|b| put32(b, t + 0x18, 0xFFFF_FFFC)), "unloaded"),
        ("four billion unloaded drivers", with(&|b| put32(b, at.unloaded, 0xFFFF_FFFF)), "unloaded-driver list"),
        ("stack beyond the end", with(&|b| put32(b, t + 0x2C, 0x7FFF_FFFF)), "saved stack"),
        ("stack offset at the end", with(&|b| put32(b, t + 0x28, 0xFFFF_FFFF)), "saved stack"),
        ("SizeOfDump past the file", with(&|b| put32(b, t + 4, 0xFFFF_FFFF)), "truncated"),
        ("process control block beyond the end", with(&|b| put32(b, t + 0x1C, 0xFFFF_FFFF)), "KPRCB"),
    ];
    for (what, bytes, phrase) in cases {
        let e = read(&bytes).expect_err(what);
        assert!(e.contains(phrase), "{what}: {e}");
    }
    // Every prefix of a good dump: an error or (for none) a result, never a panic.
    for len in (0..good.len()).step_by(61) {
        assert!(read(&good[..len]).is_err(), "prefix {len}");
    }
    // Every single-byte corruption of the triage header and lists: no panic.
    for i in (at.triage..at.valid).step_by(3) {
        let mut b = good.clone();
        b[i] ^= 0xA5;
        let _ = read(&b);
    }
    let _ = at.stack;
}

#[test]
fn the_verdicts_come_from_what_the_dump_shows() {
    // 0x93 with the framework on the stack and the client unloaded.
    let (b, _) = small(&spec64());
    let d = read(&b).expect("read");
    let r = triage::triage_dump(&d, Some("mydrv.sys"));
    assert_eq!((r.source, r.verdict.kind), ("dump", "wdfkey_double_close"));
    assert!(r.verdict.wdfkey_double_close);
    assert!(
        r.verdict.reasons.iter().any(|x| x.contains("mydrv.sys is loaded, and was unloaded once before")),
        "{:?}",
        r.verdict.reasons
    );
    assert!(r.verdict.reasons.iter().any(|x| x.contains("other drivers") && x.contains("mydrv.sys")));
    assert!(!r.verdict.reasons.iter().any(|x| x.contains("client")), "{:?}", r.verdict.reasons);
    assert_eq!(r.verdict.confidence, "medium");
    assert!(r.limits.iter().any(|l| l.contains("Not established without symbols")));
    assert!(r.limits.iter().any(|l| l.contains("when a driver was unloaded")));
    assert_eq!(r.parsed.process.as_deref(), Some("System"));
    let text = triage::render(&r);
    for needle in [
        "bug check 0x00000093",
        "Windows build 22621",
        "Loaded drivers (3)",
        "Unloaded drivers (2)",
        "Drivers on the stack: ntoskrnl.exe, Wdf01000.sys, mydrv.sys",
        "VERDICT: wdfkey_double_close",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    let r = triage::triage_dump(&d, Some("other.sys"));
    assert!(r.warnings.iter().any(|w| w.contains("other.sys is in neither")), "{:?}", r.warnings);

    // 0x93 without the framework on the stack.
    let s = Spec { stack: vec![NT + 0x10, MYDRV + 0x20], ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert_eq!(r.verdict.kind, "invalid_kernel_handle");
    assert!(
        r.verdict.reasons.iter().any(|x| x.contains("the close was made from mydrv.sys")),
        "{:?}",
        r.verdict.reasons
    );

    // Stale framework words deeper in the stack, behind another driver:
    // not the framework's teardown (the stack's innermost driver decides).
    let s = Spec { stack: vec![NT + 0x10, MYDRV + 0x20, NT + 0x30, WDF + 0x1234], ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert_eq!((r.verdict.kind, r.verdict.confidence), ("invalid_kernel_handle", "low"));
    assert!(r.verdict.reasons.iter().any(|x| x.contains("not on the faulting path")), "{:?}", r.verdict.reasons);

    // The saved context's instruction pointer in another driver outranks
    // framework words anywhere on the stack.
    let s = Spec { ip: MYDRV + 0x40, ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert_eq!((r.verdict.kind, r.verdict.confidence), ("invalid_kernel_handle", "medium"));
    assert!(
        r.verdict.reasons[0].contains("instruction pointer is at mydrv.sys+0x40"),
        "strongest evidence first: {:?}",
        r.verdict.reasons
    );

    // A KMDF verifier break, the exception code sign-extended.
    let s = Spec { code: 0x1000_007E, params: [0xFFFF_FFFF_8000_0003, WDF + 0x50, 0, 0], ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert_eq!(r.verdict.kind, "kmdf_verifier_break");
    assert_eq!(r.parsed.image.as_deref(), Some("Wdf01000.sys"));
    assert!(
        r.verdict.reasons.iter().any(|x| x.contains("Arg2 = 0xFFFFF80020000050 lies in Wdf01000.sys+0x50")),
        "{:?}",
        r.verdict.reasons
    );

    // An access violation in the driver.
    let s = Spec { code: 0x1000_007E, params: [0xFFFF_FFFF_C000_0005, MYDRV + 0x334C, 0, 0], ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert_eq!((r.verdict.kind, r.parsed.image.as_deref()), ("not_a_handle_bug", Some("mydrv.sys")));
    assert!(r.verdict.arguments.iter().any(|a| a.contains("0xC0000005 STATUS_ACCESS_VIOLATION")));

    // A Rust panic.
    let s = Spec { code: 0x5250_4E43, params: [MYDRV + 0x100, 0x1A, 0x57, 0x13], ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert_eq!(r.verdict.kind, "rust_driver_panic");
    assert!(r.verdict.arguments.iter().any(|a| a.contains("line of the panic (87)")), "{:?}", r.verdict.arguments);
    assert!(r.verdict.reasons.iter().any(|x| x.contains("Arg1 = 0xFFFFF80030000100 lies in mydrv.sys+0x100")));

    // An address in an unloaded driver's old range.
    let s = Spec { code: 0xD1, params: [0, 2, 0, 0xFFFF_F800_4000_0010], ..spec64() };
    let r = triage::triage_dump(&read(&small(&s).0).expect("read"), None);
    assert!(
        r.verdict.reasons.iter().any(|x| x.contains("inside the range of mydrv.sys, which had been unloaded")),
        "{:?}",
        r.verdict.reasons
    );
}

#[test]
fn the_dump_report_matches_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/triage-report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let mut full = header(&spec64(), 1);
    full.resize(0x2100, 0);
    for bytes in [small(&spec64()).0, small(&spec32()).0, full] {
        let r = triage::triage_dump(&read(&bytes).expect("read"), Some("mydrv.sys"));
        let v = serde_json::to_value(&r).expect("serialises");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
    // The schema is strict about the dump's fields.
    let mut v =
        serde_json::to_value(triage::triage_dump(&read(&small(&spec64()).0).expect("read"), None)).expect("JSON");
    v["dump"]["dump_kind"] = "triage".into();
    assert!(validator.iter_errors(&v).next().is_some());
}

#[test]
fn the_command_line_reads_a_dump_and_exits_2_on_a_corrupt_one() {
    let dir = std::env::temp_dir().join(format!("wdfkey-diag-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (good, at) = small(&spec64());
    let ok = dir.join("good.dmp");
    std::fs::write(&ok, &good).expect("written");
    let out = Command::new(env!("CARGO_BIN_EXE_wdfkey-diag"))
        .args(["triage", "--format", "json", "--driver", "mydrv.sys"])
        .arg(&ok)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["source"], "dump");
    assert_eq!(report["dump"]["small"]["drivers"][1]["name"], "Wdf01000.sys");
    assert_eq!(report["verdict"]["kind"], "wdfkey_double_close");
    // The same bytes on standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wdfkey-diag"))
        .arg("triage")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &good).expect("written");
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Kernel dump (PAGEDU64, 64-bit)"));
    // Corrupt and truncated: exit 2, the file and the fault named.
    let mut bad = good.clone();
    bad[at.valid..at.valid + 4].copy_from_slice(b"XXXX");
    for (name, bytes) in [("bad.dmp", bad), ("cut.dmp", good[..good.len() - 200].to_vec())] {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("written");
        let out = Command::new(env!("CARGO_BIN_EXE_wdfkey-diag")).arg("triage").arg(&p).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("wdfkey-diag triage: ") && err.contains(name), "{err}");
        assert!(out.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dates_are_converted_exactly() {
    assert_eq!(dump::unix_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(dump::unix_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(dump::unix_utc(4_107_542_399), "2100-02-28T23:59:59Z");
    assert_eq!(dump::filetime_utc(116_444_736_000_000_000).as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(dump::filetime_utc(1), None);
}

#[test]
fn unloaded_names_are_matched_as_windows_cut_them() {
    // Windows keeps 12 characters and sets Name.Length to the cut length.
    let s = Spec {
        unloaded: vec![
            ("dump_storpor".into(), 12, 0xFFFF_F800_4000_0000, 0xFFFF_F800_4001_0000),
            ("WdNisDrv.sys".into(), 12, 0xFFFF_F800_5000_0000, 0xFFFF_F800_5001_0000),
        ],
        ..spec64()
    };
    let d = read(&small(&s).0).expect("read");
    let unloaded = &d.small.as_ref().expect("small").unloaded;
    assert!(unloaded[0].name_truncated, "12 characters, no extension: cut");
    assert!(!unloaded[1].name_truncated, "a whole 12-character file name");
    assert!(unloaded[0].is("dump_storport.sys") && unloaded[0].is("DUMP_STORPORT.SYS"));
    assert!(!unloaded[0].is("dump_stor.sys") && !unloaded[1].is("WdNisDrv.sys.old") && unloaded[1].is("wdnisdrv.sys"));
    let r = triage::triage_dump(&d, Some("dump_storport.sys"));
    assert!(
        r.verdict
            .reasons
            .iter()
            .any(|x| x.starts_with("dump_storport.sys is in the unloaded-driver list (as `dump_storpor`")),
        "{:?} {:?}",
        r.verdict.reasons,
        r.warnings
    );
    assert!(triage::render(&r).contains("dump_storpor… (name cut to 12 characters)"));
}
