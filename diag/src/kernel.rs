//! The loaded and unloaded driver lists of a complete, kernel or bitmap
//! kernel dump (`MEMORY.DMP`): virtual memory read through the page tables
//! of the header's `DirectoryTableBase`.
//!
//! The physical-memory index and the x64 page-table walk are
//! \[kdmp-parser\]'s (0vercl0k's `kdmp-parser` crate, `src/parse.rs`,
//! `src/virt.rs`); this module checks everything the crate would trust
//! before handing the file to it, and walks the lists itself with bounds:
//!
//! * the page layout the header states — the physical-memory runs of a
//!   type-1 dump, the bitmap of a type-5/6 dump (`SDMP`/`FDMP`), the PFN
//!   ranges of a type-8/9/10 dump (`RDMP`) — is read here first, from the
//!   file's bytes, and checked: ranges disjoint, physical addresses below
//!   2^52 (the x64 limit), every count bounded by the file. The size it
//!   implies is compared with the file's size, so a dump cut short is
//!   reported as such (with the header's `RequiredDumpSpace`).
//! * kdmp-parser walks `PsLoadedModuleList` while it opens a dump, without
//!   a bound on a list whose links loop; it is handed the header with the
//!   directory table base pointed at a physical page no dump can hold (the
//!   layout check refuses addresses at 2^52 and above), so its own walk
//!   stops at once, and the lists are walked here with the real one, each
//!   entry read once, at most [`MAX_LIST`] entries.
//!
//! # Sources
//! * **\[kdmp-parser\]** — `src/structs.rs`: `Header64`, `BmpHeader64`,
//!   `RdmpHeader64`, `KdDebuggerData64` (after the SDK's `wdbgexts.h`
//!   `KDDEBUGGER_DATA64`: `MmUnloadedDrivers`, `MmLastUnloadedDriver`,
//!   `PsLoadedModuleList`, the `KDBG` owner tag).
//! * **\[KLDR\]** — `KLDR_DATA_TABLE_ENTRY` (x64) as kdmp-parser's
//!   `LdrDataTableEntry<u64>` declares it: `InLoadOrderLinks` at 0,
//!   `DllBase` at 0x30, `SizeOfImage` at 0x40, `FullDllName` at 0x48,
//!   `BaseDllName` at 0x58 (rizin's `dmp_specs.h` agrees). The image
//!   timestamp is read from the image's own PE header in memory (PE format:
//!   `e_lfanew` at 0x3C, `IMAGE_FILE_HEADER.TimeDateStamp` 8 bytes after the
//!   `PE\0\0` signature), not from a build-specific entry offset.
//! * **\[WRK\]** — the Windows Research Kernel's memory manager
//!   (`base/ntos/mm/sysload.c`, `MiRememberUnloadedDriver`; `mi.h`):
//!   `MmUnloadedDrivers` points to an array of `MI_UNLOADED_DRIVERS` (50)
//!   `UNLOADED_DRIVERS { UNICODE_STRING Name; PVOID StartAddress; PVOID
//!   EndAddress; LARGE_INTEGER CurrentTime; }`, filled in a ring;
//!   `MmLastUnloadedDriver` is the next slot to fill. The name kept there is
//!   the whole name (the 12-character cut is the small dump's).

use crate::dump::{Module, Unloaded};
use kdmp_parser::gxa::{Gpa, Gva};
use kdmp_parser::parse::KernelDumpParser;
use kdmp_parser::structs::{KdDebuggerData64, LdrDataTableEntry};
use kdmp_parser::virt;
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::mem::offset_of;

/// The most list entries walked (loaded drivers; the unloaded ring holds 50).
pub const MAX_LIST: usize = 4096;
/// Pages the header may describe beyond those the file holds (a dump cut
/// short): kdmp-parser's index costs about 40 bytes a page, so its memory
/// stays within about 1 % of the file plus 160 MiB.
pub const MAX_MISSING_PAGES: u64 = 1 << 22;
const PAGE: u64 = 0x1000;
/// x64 physical addresses are below 2^52 (MAXPHYADDR).
const MAX_PFN: u64 = 1 << 40;
/// \[WRK\] `MI_UNLOADED_DRIVERS`.
const UNLOADED_SLOTS: u64 = 50;
/// The directory table base kdmp-parser is given for its own list walk: a
/// page above every address the layout check admits.
const UNREACHABLE_DTB: u64 = 0xFFFF_FFFF_FFFF_F000;

/// How the file lays out physical memory, as its header states it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PageLayout {
    /// `runs` (type 1), `bitmap` (types 5, 6) or `pfn_ranges` (8, 9, 10).
    pub form: &'static str,
    /// Physical pages the header says the file holds.
    pub pages: u64,
    /// Where the first page's bytes start in the file.
    pub first_page_offset: u64,
    /// The size the file must have to hold them.
    pub required_size: u64,
}

/// What was read from a dump's memory.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemoryLists {
    /// The page layout the lists were read through.
    pub layout: PageLayout,
    /// `PsLoadedModuleList`, in load order (the kernel first).
    pub drivers: Vec<Module>,
    /// `MmUnloadedDrivers`, most recently unloaded first.
    pub unloaded: Vec<Unloaded>,
    /// What could not be read, and why (pages absent from the dump, a
    /// list cut short); empty when everything was read.
    pub not_read: Vec<String>,
}

/// The dump types whose memory this module reads.
pub fn has_memory(dump_type: u32) -> bool {
    matches!(dump_type, 1 | 5 | 6 | 8 | 9 | 10)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

fn read_at(file: &mut std::fs::File, offset: u64, len: usize, what: &str, size: u64) -> Result<Vec<u8>, String> {
    let end = offset.checked_add(len as u64).ok_or_else(|| format!("{what}: offset overflows"))?;
    if end > size {
        return Err(format!(
            "{what} at 0x{offset:X} (0x{len:X} bytes) lies beyond the end of the file (0x{size:X} bytes): the dump is \
             shorter than its header states (copy it again)"
        ));
    }
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_exact(&mut buf)).map_err(|e| format!("{what}: {e}"))?;
    Ok(buf)
}

/// Checks that the ranges (first PFN, count) are disjoint and in bounds;
/// returns the page total.
fn check_ranges(ranges: &mut [(u64, u64)], what: &str) -> Result<u64, String> {
    let mut total = 0u64;
    for &(pfn, count) in ranges.iter() {
        let end = pfn.checked_add(count).filter(|&e| e <= MAX_PFN);
        if end.is_none() {
            return Err(format!(
                "{what}: a range of 0x{count:X} pages from page 0x{pfn:X} lies above the x64 physical address limit: \
                 the dump is corrupt"
            ));
        }
        total = total.checked_add(count).ok_or_else(|| format!("{what}: the page count overflows"))?;
    }
    ranges.sort_unstable();
    if let Some(w) = ranges.windows(2).find(|w| w[0].0 + w[0].1 > w[1].0) {
        return Err(format!("{what}: page ranges overlap at page 0x{:X}: the dump is corrupt", w[1].0));
    }
    Ok(total)
}

/// Reads and checks the page layout (see the module's documentation).
/// `header` is the file's first 0x2000 bytes.
pub fn page_layout(file: &mut std::fs::File, header: &[u8], size: u64) -> Result<PageLayout, String> {
    let dump_type = le32(header, 0xF98);
    match dump_type {
        1 => {
            // PHYSICAL_MEMORY_DESCRIPTOR64 in the header's 700-byte buffer at
            // 0x88: NumberOfRuns, NumberOfPages, then (BasePage, PageCount).
            let runs = u64::from(le32(header, 0x88));
            if runs > (700 - 16) / 16 {
                return Err(format!(
                    "the header's physical memory descriptor claims {runs} runs; its buffer holds at most 42: the \
                     dump is corrupt"
                ));
            }
            let mut ranges: Vec<(u64, u64)> =
                (0..runs as usize).map(|i| (le64(header, 0x98 + 16 * i), le64(header, 0xA0 + 16 * i))).collect();
            let pages = check_ranges(&mut ranges, "the physical memory runs")?;
            Ok(PageLayout { form: "runs", pages, first_page_offset: 0x2000, required_size: 0x2000 + pages * PAGE })
        }
        5 | 6 => {
            let b = read_at(file, 0x2000, 0x38, "the bitmap header", size)?;
            if !(b.starts_with(b"SDMPDUMP") || b.starts_with(b"FDMPDUMP")) {
                return Err(
                    "the bitmap header (SDMP/FDMP DUMP after the dump header) is missing: the dump is corrupt \
                            or not a bitmap dump"
                        .into(),
                );
            }
            let first = le64(&b, 0x20);
            let bits = le64(&b, 0x30);
            if bits > MAX_PFN {
                return Err(format!("the bitmap claims 0x{bits:X} pages, above the x64 limit: the dump is corrupt"));
            }
            let bytes = bits.div_ceil(8);
            if 0x2038 + bytes > size {
                return Err(format!(
                    "the page bitmap ({bytes} bytes from 0x2038) runs past the end of the file ({size} bytes): the \
                     dump is shorter than its header states (copy it again)"
                ));
            }
            // Count the set bits in bounded chunks; the unused bits of the
            // last byte do not count (as kdmp-parser masks them).
            file.seek(SeekFrom::Start(0x2038)).map_err(|e| format!("the page bitmap: {e}"))?;
            let mut left = bytes;
            let mut pages = 0u64;
            let mut chunk = vec![0u8; 1 << 16];
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                file.read_exact(&mut chunk[..n]).map_err(|e| format!("the page bitmap: {e}"))?;
                left -= n as u64;
                if left == 0 && !bits.is_multiple_of(8) {
                    chunk[n - 1] &= (1u8 << (bits % 8)) - 1;
                }
                pages += chunk[..n].iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
            }
            if first < 0x2038 + bytes {
                return Err(format!("the bitmap's first page offset 0x{first:X} lies inside the bitmap: corrupt"));
            }
            Ok(PageLayout {
                form: "bitmap",
                pages,
                first_page_offset: first,
                required_size: first.saturating_add(pages * PAGE),
            })
        }
        8..=10 => {
            let b = read_at(file, 0x2000, 0x30, "the RDMP header", size)?;
            if le32(&b, 0) != 0x40 || &b[4..12] != b"RDMPDUMP" {
                return Err("the RDMP header after the dump header is missing: the dump is corrupt".into());
            }
            let metadata = le64(&b, 0x10);
            let first = le64(&b, 0x18);
            let total = (dump_type == 10).then(|| le64(&b, 0x28));
            // The pages follow the table: FirstPageOffset - 0x2040 equals
            // MetadataSize - 0x20 (kdmp-parser's `RdmpHeader64::looks_good`,
            // which would overflow on values below those bases).
            if metadata < 0x20 || first < 0x2040 || metadata - 0x20 != first - 0x2040 {
                return Err(format!(
                    "the RDMP header's metadata size 0x{metadata:X} and first page offset 0x{first:X} disagree: the \
                     dump is corrupt"
                ));
            }
            // kdmp-parser reads MetadataSize / 16 ranges from 0x2030 (the
            // last 16 bytes lie past the table; it stops at a zero PFN or at
            // the page total): they must be in the file.
            if !metadata.is_multiple_of(16) || metadata.saturating_add(0x2030) > size {
                return Err(format!(
                    "the RDMP page-range table (0x{metadata:X} bytes, pages from 0x{first:X}) does not fit the file \
                     ({size} bytes): the dump is corrupt or cut short"
                ));
            }
            let table = read_at(file, 0x2030, metadata as usize, "the RDMP page ranges", size)?;
            let mut ranges = Vec::new();
            let mut counted = 0u64;
            for r in table.chunks_exact(16) {
                let (pfn, count) = (le64(r, 0), le64(r, 8));
                // kdmp-parser stops at a zero PFN, or (complete dumps) once
                // the header's page total is reached.
                if pfn == 0 || total.is_some_and(|t| counted >= t) {
                    break;
                }
                counted = counted.saturating_add(count);
                ranges.push((pfn, count));
            }
            let pages = check_ranges(&mut ranges, "the RDMP page ranges")?;
            if total.is_some_and(|t| counted > t) {
                return Err("the RDMP page ranges hold more pages than the header's total: the dump is corrupt".into());
            }
            Ok(PageLayout {
                form: "pfn_ranges",
                pages,
                first_page_offset: first,
                required_size: first.saturating_add(pages.saturating_mul(PAGE)),
            })
        }
        other => Err(format!("dump type {other} holds no page layout this reader knows")),
    }
}

/// The file as kdmp-parser is given it: the header with its directory
/// table base replaced (see the module's documentation), the rest as is.
struct Patched {
    file: std::fs::File,
    header: Vec<u8>,
    pos: u64,
}

impl Read for Patched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(rest) = usize::try_from(self.pos).ok().and_then(|p| self.header.get(p..)).filter(|r| !r.is_empty())
        {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        self.file.seek(SeekFrom::Start(self.pos))?;
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let to = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.file.metadata()?.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = to.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range"))?;
        Ok(self.pos)
    }
}

/// Bounded virtual reads through the dump's page tables.
struct Memory<'a> {
    reader: virt::Reader<'a>,
}

impl Memory<'_> {
    fn bytes(&self, at: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.reader.read_exact(Gva::new(at), &mut buf).ok().map(|()| buf)
    }
    fn u64(&self, at: u64) -> Option<u64> {
        self.bytes(at, 8).map(|b| le64(&b, 0))
    }
    fn u32(&self, at: u64) -> Option<u32> {
        self.bytes(at, 4).map(|b| le32(&b, 0))
    }
    /// A `UNICODE_STRING` (x64: Length, MaximumLength, 4 bytes, Buffer).
    fn unicode(&self, at: u64) -> Option<String> {
        let s = self.bytes(at, 16)?;
        let len = u16::from_le_bytes([s[0], s[1]]);
        if len % 2 != 0 {
            return None;
        }
        let text = self.bytes(le64(&s, 8), usize::from(len))?;
        let units: Vec<u16> = text.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        Some(String::from_utf16_lossy(&units))
    }
    /// The PE header's `TimeDateStamp` of the image at `base`.
    fn image_timestamp(&self, base: u64) -> Option<u32> {
        let lfanew = u64::from(self.u32(base.checked_add(0x3C)?)?);
        let pe = base.checked_add(lfanew)?;
        (self.u32(pe)? == 0x0000_4550).then_some(())?;
        self.u32(pe.checked_add(8)?)
    }
}

/// Reads the lists of the dump at `path` (an x64 dump of a type
/// [`has_memory`] accepts), whose `header` and checked `layout` are given.
pub fn read_lists(path: &std::path::Path, header: &[u8], layout: PageLayout, size: u64) -> Result<MemoryLists, String> {
    let pages_in_file = size.saturating_sub(layout.first_page_offset) / PAGE;
    if layout.pages > pages_in_file.saturating_add(MAX_MISSING_PAGES) {
        return Err(format!(
            "the header describes {} pages, the file holds {pages_in_file}: too much is missing to index it (more \
             than {MAX_MISSING_PAGES} pages)",
            layout.pages
        ));
    }
    // DUMP_HEADER64.DirectoryTableBase (kdmp-parser's `Header64`, after
    // Signature, ValidDump, MajorVersion and MinorVersion).
    let dtb = le64(header, 0x10);
    let mut patched = header.to_vec();
    patched[0x10..0x18].copy_from_slice(&UNREACHABLE_DTB.to_le_bytes());
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let reader = std::io::BufReader::with_capacity(1 << 16, Patched { file, header: patched, pos: 0 });
    let parser = KernelDumpParser::with_reader(reader)
        .map_err(|e| format!("kdmp-parser cannot index the dump's memory: {e}"))?;
    let (loaded_head, kdbg) = (parser.headers().ps_loaded_module_list, parser.headers().kd_debugger_data_block);
    let memory = Memory { reader: virt::Reader::with_dtb(&parser, Gpa::new(dtb)) };
    let mut not_read = Vec::new();
    let drivers = walk_loaded(&memory, loaded_head, &mut not_read);
    let unloaded = walk_unloaded(&memory, kdbg, &mut not_read);
    Ok(MemoryLists { layout, drivers, unloaded, not_read })
}

/// A loaded-module entry's x64 layout, as kdmp-parser declares it.
type Entry = LdrDataTableEntry<u64>;

/// `PsLoadedModuleList`: each entry once, at most [`MAX_LIST`].
fn walk_loaded(m: &Memory<'_>, head: u64, not_read: &mut Vec<String>) -> Vec<Module> {
    let mut out = Vec::new();
    let Some(mut entry) = m.u64(head) else {
        not_read.push(format!(
            "the loaded driver list: its head (PsLoadedModuleList 0x{head:X}) is not in the dump's memory"
        ));
        return out;
    };
    let mut seen = std::collections::HashSet::new();
    let mut no_timestamp = 0usize;
    while entry != head {
        if !seen.insert(entry) {
            not_read.push(format!("the loaded driver list loops back to entry 0x{entry:X}: read up to there"));
            break;
        }
        if out.len() == MAX_LIST {
            not_read
                .push(format!("the loaded driver list has more than {MAX_LIST} entries: read the first {MAX_LIST}"));
            break;
        }
        let Some(e) = m.bytes(entry, std::mem::size_of::<Entry>()) else {
            not_read.push(format!(
                "the loaded driver list: entry 0x{entry:X} is not in the dump's memory; {} drivers read before it",
                out.len()
            ));
            break;
        };
        let base = le64(&e, offset_of!(Entry, dll_base));
        let (full, short) =
            (entry + offset_of!(Entry, full_dll_name) as u64, entry + offset_of!(Entry, base_dll_name) as u64);
        let path = m.unicode(full).or_else(|| m.unicode(short)).unwrap_or_default();
        let name = m
            .unicode(short)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| path.rsplit(['\\', '/']).next().unwrap_or(&path).to_string());
        let timestamp = m.image_timestamp(base);
        no_timestamp += usize::from(timestamp.is_none());
        let size = le32(&e, offset_of!(Entry, size_of_image));
        out.push(Module { name, path, base, size, timestamp: timestamp.unwrap_or(0) });
        entry = le64(&e, 0);
    }
    if no_timestamp > 0 {
        not_read.push(format!(
            "the image timestamp of {no_timestamp} driver(s), shown as 0: their PE header page is not in the dump"
        ));
    }
    out
}

/// `MmUnloadedDrivers` through the `KDDEBUGGER_DATA64` block, newest first.
fn walk_unloaded(m: &Memory<'_>, kdbg: u64, not_read: &mut Vec<String>) -> Vec<Unloaded> {
    let mut out = Vec::new();
    let block = m.bytes(kdbg, std::mem::size_of::<KdDebuggerData64>());
    let Some(block) = block.filter(|b| &b[0x10..0x14] == b"KDBG") else {
        not_read.push(format!(
            "the unloaded driver list: the debugger data block (KdDebuggerDataBlock 0x{kdbg:X}) is not in the dump's \
             memory or does not carry its KDBG tag"
        ));
        return out;
    };
    let field = |name: &str| -> u64 {
        let at = match name {
            "MmUnloadedDrivers" => offset_of!(KdDebuggerData64, mm_unloaded_drivers),
            _ => offset_of!(KdDebuggerData64, mm_last_unloaded_driver),
        };
        le64(&block, at)
    };
    let (array_at, last_at) = (field("MmUnloadedDrivers"), field("MmLastUnloadedDriver"));
    let (Some(array), Some(last)) = (m.u64(array_at), m.u32(last_at)) else {
        not_read.push("the unloaded driver list: MmUnloadedDrivers or MmLastUnloadedDriver is not in the dump".into());
        return out;
    };
    if array == 0 {
        return out; // No driver has been unloaded since boot.
    }
    let Some(ring) = m.bytes(array, (UNLOADED_SLOTS * 40) as usize) else {
        not_read.push(format!("the unloaded driver list: its array at 0x{array:X} is not in the dump's memory"));
        return out;
    };
    let last = u64::from(last) % UNLOADED_SLOTS;
    for k in 1..=UNLOADED_SLOTS {
        let slot = (last + UNLOADED_SLOTS - k) % UNLOADED_SLOTS;
        let e = &ring[(slot * 40) as usize..(slot * 40 + 40) as usize];
        if le64(e, 8) == 0 {
            continue;
        }
        let Some(name) = m.unicode(array + slot * 40) else {
            not_read.push(format!("the name of unloaded driver slot {slot}: not in the dump's memory"));
            continue;
        };
        out.push(Unloaded {
            name,
            name_truncated: false,
            start: le64(e, 16),
            end: le64(e, 24),
            unloaded_at: crate::dump::filetime_utc(le64(e, 32)),
        });
    }
    out
}
