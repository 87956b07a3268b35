//! Complete and bitmap kernel dumps, user-mode minidumps and oversized
//! text, all written by this file (layouts from the public structures, not
//! from the reader): the driver lists read through page tables, the cut
//! and hostile variants, 12-character names, and the bounds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use wdfkey_diag::{input, triage};

const NT: u64 = 0xFFFF_F800_1000_0000;
const WDF: u64 = 0xFFFF_F800_2000_0000;
const MYDRV: u64 = 0xFFFF_F800_3000_0000;
const DATA: u64 = 0xFFFF_F800_7000_0000;
const HEAD: u64 = DATA; // PsLoadedModuleList
const KDBG: u64 = DATA + 0x1000;
const MM_UNLOADED: u64 = DATA + 0x2000; // MmUnloadedDrivers, then MmLastUnloadedDriver
const ARRAY: u64 = DATA + 0x3000;
const ENTRIES: u64 = DATA + 0x5000;
const STRINGS: u64 = DATA + 0x7000;
const PAGE: usize = 0x1000;

/// Physical memory with x64 4-level page tables (DTB at PFN 1).
struct Machine {
    pages: BTreeMap<u64, Vec<u8>>,
    next_pfn: u64,
}

impl Machine {
    fn new() -> Self {
        let mut m = Machine { pages: BTreeMap::new(), next_pfn: 2 };
        m.pages.insert(1, vec![0; PAGE]);
        m
    }
    fn alloc(&mut self) -> u64 {
        let pfn = self.next_pfn;
        self.next_pfn += 1;
        self.pages.insert(pfn, vec![0; PAGE]);
        pfn
    }
    fn entry(&mut self, table: u64, index: u64) -> u64 {
        let at = (index * 8) as usize;
        let e = u64::from_le_bytes(self.pages[&table][at..at + 8].try_into().unwrap());
        if e & 1 != 0 {
            return e >> 12;
        }
        let pfn = self.alloc();
        self.pages.get_mut(&table).unwrap()[at..at + 8].copy_from_slice(&((pfn << 12) | 3).to_le_bytes());
        pfn
    }
    /// The physical page of `va`, mapped on first use.
    fn page_of(&mut self, va: u64) -> u64 {
        let mut table = 1;
        for shift in [39, 30, 21, 12] {
            table = self.entry(table, (va >> shift) & 0x1FF);
        }
        table
    }
    fn write(&mut self, va: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = va + i as u64;
            let pfn = self.page_of(a & !0xFFF);
            self.pages.get_mut(&pfn).unwrap()[(a & 0xFFF) as usize] = *b;
        }
    }
    fn w64(&mut self, va: u64, v: u64) {
        self.write(va, &v.to_le_bytes());
    }
    fn w32(&mut self, va: u64, v: u32) {
        self.write(va, &v.to_le_bytes());
    }
    /// A UNICODE_STRING at `at` whose buffer is at `buffer`.
    fn unicode(&mut self, at: u64, buffer: u64, s: &str) {
        let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        self.write(at, &(units.len() as u16).to_le_bytes());
        self.write(at + 2, &(units.len() as u16).to_le_bytes());
        self.w64(at + 8, buffer);
        self.write(buffer, &units);
    }
}

struct Kernel {
    drivers: Vec<(&'static str, u64, u32, u32)>,
    unloaded: Vec<(&'static str, u64, u64, u64)>,
    /// Make the last loaded entry link to itself instead of the head.
    looping: bool,
}

fn kernel() -> Kernel {
    Kernel {
        drivers: vec![
            ("ntoskrnl.exe", NT, 0x0104_6000, 0x0D83_33E6),
            ("Wdf01000.sys", WDF, 0xD1000, 0xA9A9_D36E),
            ("mydrv.sys", MYDRV, 0x8000, 0x6500_0000),
        ],
        unloaded: vec![
            ("dump_storport.sys", 0xFFFF_F800_4000_0000, 0xFFFF_F800_4001_0000, 133_000_000_000_000_000),
            ("mydrv.sys", 0xFFFF_F800_5000_0000, 0xFFFF_F800_5000_8000, 133_000_000_100_000_000),
        ],
        looping: false,
    }
}

/// The machine's memory: PsLoadedModuleList, the images' PE headers, the
/// KDDEBUGGER_DATA64 block and the MmUnloadedDrivers ring.
fn memory(k: &Kernel) -> Machine {
    let mut m = Machine::new();
    let n = k.drivers.len() as u64;
    let entry = |i: u64| ENTRIES + i * 0xA0;
    m.w64(HEAD, entry(0));
    m.w64(HEAD + 8, entry(n - 1));
    for (i, (name, base, size, stamp)) in k.drivers.iter().enumerate() {
        let i = i as u64;
        let e = entry(i);
        let next = if i + 1 == n { if k.looping { e } else { HEAD } } else { entry(i + 1) };
        m.w64(e, next);
        m.w64(e + 8, if i == 0 { HEAD } else { entry(i - 1) });
        m.w64(e + 0x30, *base);
        m.w32(e + 0x40, *size);
        m.unicode(e + 0x48, STRINGS + i * 0x100, &format!(r"\SystemRoot\system32\drivers\{name}"));
        m.unicode(e + 0x58, STRINGS + i * 0x100 + 0x80, name);
        // PE: e_lfanew at 0x3C, "PE\0\0", IMAGE_FILE_HEADER.TimeDateStamp at +8.
        m.write(*base, b"MZ");
        m.w32(base + 0x3C, 0x80);
        m.write(base + 0x80, b"PE\0\0");
        m.w32(base + 0x88, *stamp);
    }
    // KDDEBUGGER_DATA64 (wdbgexts.h): header (LIST_ENTRY64, OwnerTag 'KDBG',
    // Size), then pointers; MmUnloadedDrivers at 0x220, MmLastUnloadedDriver at 0x228.
    m.write(KDBG + 0x10, b"KDBG");
    m.w32(KDBG + 0x14, 0x340);
    m.w64(KDBG + 0x48, HEAD);
    m.w64(KDBG + 0x220, MM_UNLOADED);
    m.w64(KDBG + 0x228, MM_UNLOADED + 8);
    m.w64(MM_UNLOADED, ARRAY);
    m.w32(MM_UNLOADED + 8, k.unloaded.len() as u32);
    for (i, (name, start, end, time)) in k.unloaded.iter().enumerate() {
        let e = ARRAY + i as u64 * 40;
        m.unicode(e, STRINGS + 0x1000 + i as u64 * 0x80, name);
        m.w64(e + 16, *start);
        m.w64(e + 24, *end);
        m.w64(e + 32, *time);
    }
    m.write(ARRAY + 50 * 40, &[0]);
    m
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// DUMP_HEADER64 (Dump.h offsets) of a dump of `dump_type`.
fn header(dump_type: u32, code: u32, params: [u64; 4], ip: u64) -> Vec<u8> {
    let mut h = vec![0u8; 0x2000];
    for at in (0..0x2000).step_by(4) {
        put(&mut h, at, b"PAGE");
    }
    put(&mut h, 0, b"PAGEDU64");
    put(&mut h, 8, &0xFu32.to_le_bytes());
    put(&mut h, 0xC, &22621u32.to_le_bytes());
    put(&mut h, 0x10, &0x1000u64.to_le_bytes()); // DirectoryTableBase: PFN 1
    put(&mut h, 0x18, &0xFFFF_FA80_0000_0000u64.to_le_bytes()); // PfnDataBase
    put(&mut h, 0x20, &HEAD.to_le_bytes()); // PsLoadedModuleList
    put(&mut h, 0x30, &0x8664u32.to_le_bytes());
    put(&mut h, 0x34, &4u32.to_le_bytes());
    put(&mut h, 0x38, &code.to_le_bytes());
    for (i, p) in params.iter().enumerate() {
        put(&mut h, 0x40 + 8 * i, &p.to_le_bytes());
    }
    put(&mut h, 0x80, &KDBG.to_le_bytes());
    put(&mut h, 0x348 + 0xF8, &ip.to_le_bytes());
    put(&mut h, 0x348 + 0x98, &0xFFFF_8504_2989_0100u64.to_le_bytes());
    put(&mut h, 0xF98, &dump_type.to_le_bytes());
    put(&mut h, 0xFA0, &0u64.to_le_bytes());
    put(&mut h, 0xFA8, &132_583_451_029_877_657u64.to_le_bytes());
    h
}

/// A complete memory dump (type 1): the header's physical memory runs,
/// pages from 0x2000.
fn complete(m: &Machine, code: u32, params: [u64; 4], ip: u64) -> Vec<u8> {
    let mut h = header(1, code, params, ip);
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &pfn in m.pages.keys() {
        match runs.last_mut() {
            Some((base, count)) if *base + *count == pfn => *count += 1,
            _ => runs.push((pfn, 1)),
        }
    }
    put(&mut h, 0x88, &(runs.len() as u32).to_le_bytes());
    put(&mut h, 0x90, &(m.pages.len() as u64).to_le_bytes());
    for (i, (base, count)) in runs.iter().enumerate() {
        put(&mut h, 0x98 + 16 * i, &base.to_le_bytes());
        put(&mut h, 0xA0 + 16 * i, &count.to_le_bytes());
    }
    let size = 0x2000 + m.pages.len() * PAGE;
    put(&mut h, 0xFA0, &(size as u64).to_le_bytes());
    for page in m.pages.values() {
        h.extend_from_slice(page);
    }
    h
}

/// A bitmap kernel dump (type 5, SDMP): a bitmap of present pages, then
/// the pages in PFN order from `FirstPage`.
fn bitmap(m: &Machine, code: u32, params: [u64; 4], ip: u64) -> Vec<u8> {
    let mut b = header(5, code, params, ip);
    // A whole number of bitmap bytes, as Windows writes it (readers differ
    // on a partial last byte).
    let bits = (m.pages.keys().max().unwrap() + 1).div_ceil(64) * 64;
    let bytes = bits.div_ceil(8) as usize;
    let first = (0x2038 + bytes).div_ceil(PAGE) * PAGE;
    let mut sub = vec![0u8; first - 0x2000];
    put(&mut sub, 0, b"SDMPDUMP");
    put(&mut sub, 0x20, &(first as u64).to_le_bytes());
    put(&mut sub, 0x28, &(m.pages.len() as u64).to_le_bytes());
    put(&mut sub, 0x30, &bits.to_le_bytes());
    for &pfn in m.pages.keys() {
        sub[0x38 + (pfn / 8) as usize] |= 1 << (pfn % 8);
    }
    b.extend_from_slice(&sub);
    put(&mut b, 0xFA0, &((first + m.pages.len() * PAGE) as u64).to_le_bytes());
    for page in m.pages.values() {
        b.extend_from_slice(page);
    }
    b
}

/// A complete memory dump of newer Windows (type 10): the RDMP header, its
/// PFN ranges (first page, count), the pages from `FirstPageOffset`.
fn rdmp_complete(m: &Machine, code: u32, params: [u64; 4], ip: u64) -> Vec<u8> {
    let mut b = header(10, code, params, ip);
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for &pfn in m.pages.keys() {
        match ranges.last_mut() {
            Some((base, count)) if *base + *count == pfn => *count += 1,
            _ => ranges.push((pfn, 1)),
        }
    }
    // The table is counted from 0x2020 and the pages follow it at once.
    let metadata = 0x10 + ranges.len() * 16;
    let first = 0x2020 + metadata;
    let mut sub = vec![0u8; first - 0x2000];
    put(&mut sub, 0, &0x40u32.to_le_bytes());
    put(&mut sub, 4, b"RDMPDUMP");
    put(&mut sub, 0x10, &(metadata as u64).to_le_bytes());
    put(&mut sub, 0x18, &(first as u64).to_le_bytes());
    put(&mut sub, 0x20, &(ranges.len() as u32).to_le_bytes());
    put(&mut sub, 0x28, &(m.pages.len() as u64).to_le_bytes());
    for (i, (pfn, count)) in ranges.iter().enumerate() {
        put(&mut sub, 0x30 + 16 * i, &pfn.to_le_bytes());
        put(&mut sub, 0x38 + 16 * i, &count.to_le_bytes());
    }
    b.extend_from_slice(&sub);
    put(&mut b, 0xFA0, &((first + m.pages.len() * PAGE) as u64).to_le_bytes());
    for page in m.pages.values() {
        b.extend_from_slice(page);
    }
    b
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wdfkey-diag-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn triage_file(path: &Path, driver: Option<&str>) -> triage::Report {
    input::triage_path(path, driver).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes `bytes` to a file named `name`, triages it, removes it — unless
/// `WDFKEY_KEEP_DUMPS` names a directory to keep it in (for reading the
/// generated dumps with another reader).
fn triage_bytes(name: &str, bytes: &[u8], driver: Option<&str>) -> triage::Report {
    let path = temp(name, bytes);
    let report = triage_file(&path, driver);
    if let Some(keep) = std::env::var_os("WDFKEY_KEEP_DUMPS") {
        let _ = std::fs::copy(&path, Path::new(&keep).join(name));
    }
    let _ = std::fs::remove_file(&path);
    report
}

#[test]
fn complete_and_bitmap_dumps_give_both_driver_lists_and_the_faulting_module() {
    let m = memory(&kernel());
    for (kind, bytes) in [
        ("complete", complete(&m, 0x1000_007E, [0xC000_0005, MYDRV + 0x334C, 0, 0], MYDRV + 0x334C)),
        ("bitmap", bitmap(&m, 0x1000_007E, [0xC000_0005, MYDRV + 0x334C, 0, 0], MYDRV + 0x334C)),
        ("rdmp", rdmp_complete(&m, 0x1000_007E, [0xC000_0005, MYDRV + 0x334C, 0, 0], MYDRV + 0x334C)),
    ] {
        let r = triage_bytes(&format!("{kind}.dmp"), &bytes, Some("dump_storport.sys"));
        let d = r.dump.as_ref().expect("dump");
        let mem = d.memory.as_ref().unwrap_or_else(|| panic!("{kind}: no lists: {:?}", d.notes));
        assert!(!d.shorter_than_stated, "{kind}");
        assert!(mem.not_read.is_empty(), "{kind}: {:?}", mem.not_read);
        let names: Vec<&str> = mem.drivers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["ntoskrnl.exe", "Wdf01000.sys", "mydrv.sys"], "{kind}");
        let mydrv = &mem.drivers[2];
        assert_eq!((mydrv.base, mydrv.size, mydrv.timestamp), (MYDRV, 0x8000, 0x6500_0000), "{kind}");
        assert_eq!(mydrv.path, r"\SystemRoot\system32\drivers\mydrv.sys");
        // Newest first, whole names (the kernel's list is not cut), with the time.
        let unloaded: Vec<&str> = mem.unloaded.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(unloaded, ["mydrv.sys", "dump_storport.sys"], "{kind}");
        assert!(mem.unloaded.iter().all(|u| !u.name_truncated && u.unloaded_at.is_some()), "{kind}");
        assert_eq!(r.parsed.image.as_deref(), Some("mydrv.sys"), "{kind}: the faulting module");
        assert!(
            r.verdict.reasons[0].contains("instruction pointer is at mydrv.sys+0x334C"),
            "{kind}: {:?}",
            r.verdict.reasons
        );
        assert!(r.verdict.reasons.iter().any(|x| x.starts_with("dump_storport.sys is in the unloaded-driver list")));
        let text = triage::render(&r);
        assert!(text.contains("Loaded drivers (3)") && text.contains("Unloaded drivers (2)"), "{text}");
        validate(&r);
        // From standard input: the header, and what to do for the lists.
        let r = input::triage_reader(&bytes[..], None).expect("read");
        assert!(r.warnings.iter().any(|w| w.contains("give its path")), "{kind}: {:?}", r.warnings);
    }
}

#[test]
fn a_0x93_in_a_complete_dump_blames_the_framework_only_from_the_faulting_instruction() {
    let m = memory(&kernel());
    let r = triage_bytes("fw.dmp", &complete(&m, 0x93, [0x304, 0, 0, 0], WDF + 0x1234), None);
    assert_eq!((r.verdict.kind, r.verdict.confidence), ("wdfkey_double_close", "medium"));
    let r = triage_bytes("kernel.dmp", &complete(&m, 0x93, [0x304, 0, 0, 0], NT + 0x400), None);
    assert_eq!((r.verdict.kind, r.verdict.confidence), ("invalid_kernel_handle", "low"), "{:?}", r.verdict);
}

#[test]
fn a_dump_cut_short_is_reported_and_read_as_far_as_it_goes() {
    let m = memory(&kernel());
    for (kind, bytes) in
        [("complete", complete(&m, 0xD1, [0, 2, 0, 0], NT)), ("bitmap", bitmap(&m, 0xD1, [0, 2, 0, 0], NT))]
    {
        let cut = &bytes[..bytes.len() - 3 * PAGE];
        let r = triage_bytes(&format!("cut-{kind}.dmp"), cut, None);
        let d = r.dump.as_ref().expect("dump");
        assert!(d.shorter_than_stated, "{kind}");
        assert_eq!(d.size_stated, Some(bytes.len() as u64), "{kind}");
        assert!(r.warnings.iter().any(|w| w.contains("shorter than its header states")), "{kind}: {:?}", r.warnings);
        // The pages lost held the last tables and strings: said, not guessed.
        let mem = d.memory.as_ref().expect("lists");
        assert!(!mem.not_read.is_empty(), "{kind}");
        // Only the header: cut inside the page layout.
        let r = triage_bytes(&format!("cut-header-{kind}.dmp"), &bytes[..0x2010], None);
        let d = r.dump.as_ref().expect("dump");
        let nothing = d.memory.as_ref().is_none_or(|m| m.drivers.is_empty() && !m.not_read.is_empty());
        assert!(nothing && d.shorter_than_stated, "{kind}: {:?} {:?}", d.notes, d.memory);
    }
}

#[test]
fn hostile_layouts_and_lists_end_with_a_message() {
    // A loaded-driver list whose last entry links to itself.
    let m = memory(&Kernel { looping: true, ..kernel() });
    let r = triage_bytes("loop.dmp", &complete(&m, 0xD1, [0; 4], NT), None);
    let mem = r.dump.as_ref().and_then(|d| d.memory.as_ref()).expect("lists");
    assert_eq!(mem.drivers.len(), 3);
    assert!(mem.not_read.iter().any(|n| n.contains("loops back")), "{:?}", mem.not_read);

    let good = complete(&memory(&kernel()), 0xD1, [0; 4], NT);
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    // A run of 2^39 pages: refused before anything is indexed.
    let mut huge = good.clone();
    put(&mut huge, 0xA0, &(1u64 << 39).to_le_bytes());
    cases.push(("huge run", huge, "too much is missing"));
    let mut over = good.clone();
    put(&mut over, 0x98, &(u64::MAX - 1).to_le_bytes());
    cases.push(("run above the physical limit", over, "physical address limit"));
    let mut runs = good.clone();
    put(&mut runs, 0x88, &1000u32.to_le_bytes());
    cases.push(("too many runs", runs, "at most 42"));
    let mut overlap = good.clone();
    let first_base = u64::from_le_bytes(good[0x98..0xA0].try_into().unwrap());
    put(&mut overlap, 0x88, &2u32.to_le_bytes());
    put(&mut overlap, 0xA8, &first_base.to_le_bytes());
    put(&mut overlap, 0xB0, &1u64.to_le_bytes());
    cases.push(("overlapping runs", overlap, "overlap"));
    let mut bmp = bitmap(&memory(&kernel()), 0xD1, [0; 4], NT);
    put(&mut bmp, 0x2030, &(1u64 << 38).to_le_bytes());
    cases.push(("bitmap past the end", bmp, "runs past the end"));
    let mut rdmp = rdmp_complete(&memory(&kernel()), 0xD1, [0; 4], NT);
    put(&mut rdmp, 0x2010, &(u64::MAX - 15).to_le_bytes());
    cases.push(("RDMP table larger than the file", rdmp, "disagree"));
    let mut rdmp = rdmp_complete(&memory(&kernel()), 0xD1, [0; 4], NT);
    put(&mut rdmp, 0x2010, &4u64.to_le_bytes());
    put(&mut rdmp, 0x2018, &4u64.to_le_bytes());
    cases.push(("RDMP sizes below their bases", rdmp, "disagree"));
    let mut rdmp = rdmp_complete(&memory(&kernel()), 0xD1, [0; 4], NT);
    put(&mut rdmp, 0x2038, &(1u64 << 41).to_le_bytes());
    cases.push(("RDMP range above the limit", rdmp, "physical address limit"));
    let mut sig = bitmap(&memory(&kernel()), 0xD1, [0; 4], NT);
    put(&mut sig, 0x2000, b"XXXX");
    cases.push(("bitmap signature", sig, "bitmap header"));
    for (what, bytes, phrase) in cases {
        let r = triage_bytes("hostile.dmp", &bytes, None);
        let d = r.dump.as_ref().expect("dump");
        assert!(d.memory.is_none(), "{what}");
        assert!(d.notes.iter().any(|n| n.contains(phrase)), "{what}: {:?}", d.notes);
        assert!(r.limits.iter().any(|l| l.contains("Only the header was read")), "{what}");
    }
}

#[test]
fn a_huge_sparse_text_file_is_refused_before_it_is_read() {
    let dir = std::env::temp_dir().join(format!("wdfkey-diag-sparse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("zeros.txt");
    let f = std::fs::File::create(&path).expect("create");
    f.set_len(20 << 30).expect("a 20 GiB sparse file");
    let e = input::triage_path(&path, None).expect_err("refused");
    assert!(e.contains("limited to 67108864 bytes") && e.contains("21474836480 bytes"), "{e}");
    // The binary with 512 MiB of address space: had it read the file it
    // would fail allocating; it gives the message and exit 2 instead.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 524288; exec '{}' triage '{}'", env!("CARGO_BIN_EXE_wdfkey-diag"), path.display()))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("text is limited to"));
    // Standard input: read up to the bound, then refused.
    let e = input::triage_reader(std::io::repeat(b'a').take(input::MAX_TEXT + 10), None).expect_err("refused");
    assert!(e.contains("over 67108864 bytes"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

use std::io::Read as _;

#[test]
fn driver_on_text_is_searched_or_refused() {
    let text = "INVALID_KERNEL_HANDLE (93)\nArg1: 0000000000000304\nArg2: 0\nArg3: 0\nArg4: 0\n\
                STACK_TEXT:\nffff 0 : nt!KeBugCheckEx\nffff 0 : mydrv!Unload+0x20\n\n\
                start             end                 module name\n\
                fffff801`2d310000 fffff801`2d330000   mydrv      (deferred)\n\n\
                Unloaded modules:\nfffff801`2e000000 fffff801`2e010000   dump_storpor\n";
    let r = triage::triage_text(text, Some("mydrv.sys")).expect("read");
    let last = r.verdict.reasons.last().expect("a reason");
    assert!(last.contains("on the stack (mydrv!Unload)") && last.contains("`lm` loaded-module list"), "{last}");
    let r = triage::triage_text(text, Some("dump_storport.sys")).expect("read");
    assert!(r.verdict.reasons.last().unwrap().contains("unloaded-module list"), "{:?}", r.verdict.reasons);
    let r = triage::triage_text(text, Some("other.sys")).expect("read");
    assert!(r.verdict.reasons.last().unwrap().contains("appears nowhere"));
    let e = triage::triage_text("BugCheck 93, {304, 0, 0, 0}\n", Some("mydrv.sys")).expect_err("nothing to search");
    assert!(e.contains("--driver mydrv.sys") && e.contains("no stack"), "{e}");
}

/// A user-mode minidump (MINIDUMP_HEADER, directory, SystemInfo,
/// ModuleList, Exception, ThreadList; minidumpapiset.h layouts).
fn mdmp() -> Vec<u8> {
    let mut b = vec![0u8; 0x400];
    put(&mut b, 0, b"MDMP");
    put(&mut b, 4, &0xA793u32.to_le_bytes());
    put(&mut b, 8, &4u32.to_le_bytes()); // streams
    put(&mut b, 12, &0x20u32.to_le_bytes()); // directory
    let dir = |b: &mut Vec<u8>, i: usize, kind: u32, size: u32, rva: u32| {
        put(b, 0x20 + 12 * i, &kind.to_le_bytes());
        put(b, 0x24 + 12 * i, &size.to_le_bytes());
        put(b, 0x28 + 12 * i, &rva.to_le_bytes());
    };
    // SystemInfo (7) at 0x80: AMD64 (9), Windows NT (platform 2), 10.0.19045.
    dir(&mut b, 0, 7, 56, 0x80);
    put(&mut b, 0x80, &9u16.to_le_bytes());
    b[0x86] = 8;
    b[0x87] = 1;
    put(&mut b, 0x88, &10u32.to_le_bytes());
    put(&mut b, 0x8C, &0u32.to_le_bytes());
    put(&mut b, 0x90, &19045u32.to_le_bytes());
    put(&mut b, 0x94, &2u32.to_le_bytes());
    // ModuleList (4) at 0x100: two 108-byte MINIDUMP_MODULEs, names at 0x300.
    dir(&mut b, 1, 4, 4 + 2 * 108, 0x100);
    put(&mut b, 0x100, &2u32.to_le_bytes());
    let mut names = 0x300usize;
    for (i, (name, base, size, stamp)) in [
        (r"C:\Tools\app.exe", 0x7FF6_0000_0000u64, 0x20000u32, 0x6000_0001u32),
        (r"C:\Windows\System32\ntdll.dll", 0x7FFE_0000_0000, 0x1F0000, 0x5000_0002),
    ]
    .iter()
    .enumerate()
    {
        let m = 0x104 + 108 * i;
        put(&mut b, m, &base.to_le_bytes());
        put(&mut b, m + 8, &size.to_le_bytes());
        put(&mut b, m + 16, &stamp.to_le_bytes());
        put(&mut b, m + 20, &(names as u32).to_le_bytes());
        let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        put(&mut b, names, &(units.len() as u32).to_le_bytes());
        put(&mut b, names + 4, &units);
        names += 4 + units.len() + 2;
        names = names.div_ceil(4) * 4;
    }
    // Exception (6) at 0x1E0: thread 0x1234, access violation in app.exe+0x1500.
    dir(&mut b, 2, 6, 168, 0x1E0);
    put(&mut b, 0x1E0, &0x1234u32.to_le_bytes());
    put(&mut b, 0x1E8, &0xC000_0005u32.to_le_bytes());
    put(&mut b, 0x1F8, &0x7FF6_0000_1500u64.to_le_bytes());
    // ThreadList (3) at 0x290: one MINIDUMP_THREAD.
    dir(&mut b, 3, 3, 4 + 48, 0x290);
    put(&mut b, 0x290, &1u32.to_le_bytes());
    put(&mut b, 0x294, &0x1234u32.to_le_bytes());
    b
}

#[test]
fn a_user_mode_minidump_is_read_and_said_to_be_no_kernel_crash() {
    let path = temp("app.dmp", &mdmp());
    let r = triage_file(&path, Some("mydrv.sys"));
    assert_eq!((r.source, r.verdict.kind), ("user_dump", "user_mode_process_dump"));
    let u = r.user_dump.as_ref().expect("user dump");
    assert_eq!(u.process.as_deref(), Some("app.exe"));
    assert_eq!(u.modules.len(), 2);
    assert_eq!(
        (u.modules[1].name.as_str(), u.modules[1].base, u.modules[1].timestamp),
        ("ntdll.dll", 0x7FFE_0000_0000, 0x5000_0002)
    );
    assert_eq!(u.threads, Some(1));
    let x = u.exception.as_ref().expect("exception");
    assert_eq!((x.code, x.thread_id, x.faulting_module.as_deref()), (0xC000_0005, 0x1234, Some("app.exe+0x1500")));
    assert!(x.name.contains("ACCESS_VIOLATION"), "{}", x.name);
    assert!(r.verdict.summary.contains("Not a kernel crash") && r.verdict.summary.contains("MEMORY.DMP"));
    assert!(r.warnings.iter().any(|w| w.contains("--driver mydrv.sys")), "never silently ignored");
    assert!(triage::render(&r).contains("exception: 0xC0000005"));
    validate(&r);
    // Standard input too; cut or corrupt ones give an error, not a panic.
    let bytes = mdmp();
    assert!(input::triage_reader(&bytes[..], None).is_ok());
    for len in [4, 16, 0x30, 0x100, 0x1F0] {
        let _ = input::triage_reader(&bytes[..len], None);
    }
    let mut bad = bytes.clone();
    put(&mut bad, 8, &u32::MAX.to_le_bytes());
    let _ = input::triage_reader(&bad[..], None);
    // The command line: exit 0, JSON.
    let out = Command::new(env!("CARGO_BIN_EXE_wdfkey-diag"))
        .args(["triage", "--format", "json"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["user_dump"]["process"], "app.exe");
    let _ = std::fs::remove_file(&path);
}

fn validate(r: &triage::Report) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/triage-report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let v = serde_json::to_value(r).expect("serialises");
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}
