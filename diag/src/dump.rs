//! Reads a Windows kernel crash dump (`MEMORY.DMP`, `Minidump\*.dmp`)
//! without symbols and without Windows: the header of every kind of kernel
//! dump, and for small ("triage") dumps the lists they carry — loaded and
//! unloaded drivers, the faulting thread's saved stack, the current
//! process and thread.
//!
//! # Sources of every offset
//!
//! * **[Dump.h]** — Microsoft's `Dump.h` as published with Microsoft
//!   Research's Singularity RDK (`base/Windows/Inc/Dump.h`): `DUMP_HEADER`
//!   (32-bit) and `DUMP_HEADER64`, the dump-type values 1–4, `TRIAGE_DUMP64`,
//!   `DUMP_UNLOADED_DRIVERS64`, `DUMP_STRING`, the `TRGD` end marker
//!   (`TRIAGE_DUMP_VALID`) and the summary-dump signature (`SDMP` `DUMP`).
//!   The offsets below are those the structures give with natural
//!   alignment; `DUMP_HEADER` states its own (`DumpType` at 0xF88).
//! * **[rizin]** — rizin's dump reader (`librz/bin/format/dmp/dmp_specs.h`):
//!   dump types 5 and 6 (bitmap), the bitmap signatures `SDMPDUMP` /
//!   `FDMPDUMP` after the header, `TRIAGE_DUMP32`, and the driver-list entry
//!   (`DriverNameOffset` then a `KLDR_DATA_TABLE_ENTRY`, 64- and 32-bit).
//! * **[kdmp-parser]** — the `kdmp-parser` crate (`src/structs.rs`): dump
//!   types 8, 9 and 10 (bitmap-style kernel, kernel-and-user and complete
//!   memory dumps of newer Windows).
//! * **[winnt.h]** — the public `CONTEXT` structures: AMD64 `Rsp` at 0x98
//!   and `Rip` at 0xF8; x86 `Eip` at 0xB8 and `Esp` at 0xC4; ARM64 `Sp` at
//!   0x100 and `Pc` at 0x108.
//! * **ASSUMPTION** where no source gives the layout, each checked against
//!   the public sample `dmp/triage_x64.dmp` of rizinorg/rizin-testbins and
//!   marked where used.
//!
//! # Hostile input
//!
//! Every read is bounds-checked with checked arithmetic and fails with a
//! message naming the field; no count or length from the file sizes an
//! allocation before it has been checked against the bytes present; the
//! reader never panics (the `dump` fuzz target holds it to that).

use serde::Serialize;

/// The first bytes of a 64-bit kernel dump ([Dump.h] `DUMP_SIGNATURE64`,
/// `DUMP_VALID_DUMP64`).
pub const SIGNATURE64: &[u8; 8] = b"PAGEDU64";
/// The first bytes of a 32-bit kernel dump ([Dump.h] `DUMP_SIGNATURE32`,
/// `DUMP_VALID_DUMP32`).
pub const SIGNATURE32: &[u8; 8] = b"PAGEDUMP";
/// The largest small dump read whole: Windows writes them at 64 KiB to a
/// few MiB ([Dump.h] `TRIAGE_DUMP_SIZE64` is 128 KiB; the public x64 sample
/// is 1.4 MB).
pub const MAX_SMALL_DUMP: u64 = 64 << 20;
/// How much of any dump the header needs: the 64-bit header (0x2000 bytes)
/// and the signature of what follows it.
pub const HEADER_BYTES: u64 = 0x2000 + 0x10;

/// Whether `bytes` start like a kernel dump (then they are read as one;
/// anything else is text).
pub fn is_dump(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE64) || bytes.starts_with(SIGNATURE32)
}

/// What was read from a dump.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dump {
    /// `PAGEDU64` (64-bit) or `PAGEDUMP` (32-bit).
    pub format: &'static str,
    /// 64 or 32.
    pub pointer_bits: u8,
    /// The file's size in bytes.
    pub file_size: u64,
    /// `MachineImageType` (0x8664 AMD64, 0x14C x86, 0xAA64 ARM64).
    pub machine: u32,
    /// Its name, when known.
    pub machine_name: Option<&'static str>,
    /// `MajorVersion` (0xF: a free build, 0xC: checked).
    pub major_version: u32,
    /// `MinorVersion`: the Windows build number.
    pub build: u32,
    /// `NumberProcessors`.
    pub processors: u32,
    /// `BugCheckCode`.
    pub bugcheck_code: u32,
    /// `BugCheckParameter1..4`.
    pub parameters: [u64; 4],
    /// `DumpType`, as stored.
    pub dump_type: u32,
    /// What it means: `full`, `kernel`, `small`, `header`, `bitmap_full`,
    /// `bitmap_kernel`, `bitmap_kernel_user`, `bitmap`, `unknown`.
    pub dump_kind: &'static str,
    /// The kind in words.
    pub dump_kind_text: String,
    /// `SystemTime`: when the dump was written (UTC), if set.
    pub system_time: Option<String>,
    /// The instruction and stack pointers of the saved context, where the
    /// machine's CONTEXT layout is known ([winnt.h]).
    pub context: Option<Context>,
    /// What only a small dump carries.
    pub small: Option<SmallDump>,
    /// The size the header states the file has (`RequiredDumpSpace`, or
    /// what its page layout needs when larger), when it states one.
    pub size_stated: Option<u64>,
    /// Whether the file is shorter than that: copied or written only in part.
    pub shorter_than_stated: bool,
    /// The driver lists read from a complete, kernel or bitmap dump's memory.
    pub memory: Option<crate::kernel::MemoryLists>,
    /// Things noticed while reading that do not stop it.
    pub notes: Vec<String>,
}

/// The saved processor context's pointers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Context {
    /// Instruction pointer (`Rip`, `Eip`, `Pc`).
    pub instruction_pointer: u64,
    /// Stack pointer (`Rsp`, `Esp`, `Sp`).
    pub stack_pointer: u64,
}

/// The lists of a small (triage) dump.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SmallDump {
    /// `ServicePackBuild`.
    pub service_pack_build: u32,
    /// `SizeOfDump`.
    pub size_of_dump: u32,
    /// `TriageOptions`.
    pub triage_options: u32,
    /// The loaded driver list, in the dump's order (the kernel first).
    pub drivers: Vec<Module>,
    /// Drivers unloaded before the crash, in the dump's order.
    pub unloaded: Vec<Unloaded>,
    /// The faulting thread's saved stack, mapped to modules.
    pub stack: Option<Stack>,
    /// The current thread (`KPRCB.CurrentThread`), where the layout is known.
    pub current_thread: Option<u64>,
    /// The current process's image name, found by its shape in the dump's
    /// copy of the process object (not by a symbol offset).
    pub process_name: Option<String>,
}

/// One loaded driver.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Module {
    /// The file name (`Wdf01000.sys`).
    pub name: String,
    /// The path as the kernel recorded it.
    pub path: String,
    /// `DllBase`.
    pub base: u64,
    /// `SizeOfImage`.
    pub size: u32,
    /// `TimeDateStamp` of the image (PE header): a date, or for
    /// reproducible builds a hash.
    pub timestamp: u32,
}

impl Module {
    fn contains(&self, address: u64) -> bool {
        address >= self.base && address - self.base < u64::from(self.size)
    }
}

/// One unloaded driver.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unloaded {
    /// The name as stored (a small dump keeps at most 12 characters).
    pub name: String,
    /// Whether the stored name may have been cut to a small dump's 12
    /// characters (see [`UNLOADED_NAME_CHARS`]).
    pub name_truncated: bool,
    /// Where its image started.
    pub start: u64,
    /// Where its image ended.
    pub end: u64,
    /// When it was unloaded (UTC), where the dump records it (the kernel's
    /// own list does; a small dump's copy does not).
    pub unloaded_at: Option<String>,
}

/// How many characters of an unloaded driver's name a small dump keeps
/// ([Dump.h] `DUMP_UNLOADED_DRIVERS64.DriverName`, 24 bytes). Windows cuts
/// longer names there and sets `Name.Length` to the cut length (the public
/// ARM64 sample holds `dump_storpor` for dump_storport.sys with Length 24),
/// so a 12-character name is taken as cut unless it ends in an image
/// extension (`.sys`, `.dll`, `.exe`) — a 12-character file name.
pub const UNLOADED_NAME_CHARS: usize = 12;

/// Whether a small dump's unloaded-driver name looks cut: 12 characters not
/// ending in an image extension (see [`UNLOADED_NAME_CHARS`]).
pub fn looks_cut(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.chars().count() == UNLOADED_NAME_CHARS && ![".sys", ".dll", ".exe"].iter().any(|x| lower.ends_with(x))
}

impl Unloaded {
    /// Whether this entry is the driver `wanted` (`mydrv.sys`): the whole
    /// name, or — a name cut to [`UNLOADED_NAME_CHARS`] characters
    /// (`name_truncated`) — its first 12 characters. Case does not matter.
    pub fn is(&self, wanted: &str) -> bool {
        let stored = self.name.to_lowercase();
        let wanted = wanted.to_lowercase();
        if stored == wanted {
            return true;
        }
        let cut: String = wanted.chars().take(UNLOADED_NAME_CHARS).collect();
        self.name_truncated && stored.chars().count() == UNLOADED_NAME_CHARS && stored == cut
    }
}

/// The faulting thread's saved stack.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stack {
    /// `TopOfStack`: the address of the first saved word.
    pub top: u64,
    /// `SizeOfCallStack`, in bytes.
    pub size: u32,
    /// How many pointer-sized words were examined.
    pub words: u32,
    /// Every word that points into a loaded driver, lowest address
    /// (innermost) first.
    pub hits: Vec<StackHit>,
    /// The drivers those words point into, in stack order, runs merged.
    pub modules_in_order: Vec<String>,
}

/// A stack word pointing into a driver.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StackHit {
    /// Where on the stack (virtual address).
    pub address: u64,
    /// The word.
    pub value: u64,
    /// The driver it points into.
    pub module: String,
    /// Its offset in that driver.
    pub offset: u64,
}

/// The pointer-size dependent offsets.
struct Layout {
    bits: u8,
    header_size: u64,
    machine: u64,
    processors: u64,
    bugcheck: u64,
    parameters: u64,
    dump_type: u64,
    system_time: u64,
    context: u64,
    // TRIAGE_DUMP64 / TRIAGE_DUMP32: TopOfStack is a pointer at 0x48.
    entry_size: u64,
    entry_base: u64,
    entry_size_of_image: u64,
    entry_timestamp: u64,
    unloaded_first: u64,
    unloaded_size: u64,
    unloaded_start: u64,
    current_thread: u64,
}

/// [Dump.h] `DUMP_HEADER64`, `TRIAGE_DUMP64`, `DUMP_UNLOADED_DRIVERS64`;
/// [rizin] `dmp_driver_entry64`.
const LAYOUT64: Layout = Layout {
    bits: 64,
    header_size: 0x2000,
    machine: 0x30,
    processors: 0x34,
    bugcheck: 0x38,
    parameters: 0x40,
    dump_type: 0xF98,
    system_time: 0xFA8,
    context: 0x348,
    // DriverNameOffset (4) + 4 alignment + KLDR_DATA_TABLE_ENTRY64 (0x88).
    entry_size: 0x90,
    entry_base: 0x08 + 0x30,
    entry_size_of_image: 0x08 + 0x40,
    entry_timestamp: 0x08 + 0x80,
    // ASSUMPTION: the section is a ULONG count, 4 bytes of alignment, then
    // the entries (Dump.h defines the entry, not the section; the public
    // sample has count 4 at +0 and its first name at +0x18).
    unloaded_first: 8,
    // UNICODE_STRING64 (16) + WCHAR[12] (24) + StartAddress + EndAddress.
    unloaded_size: 56,
    unloaded_start: 40,
    // ASSUMPTION: AMD64 KPRCB.CurrentThread at +8 (ReactOS
    // sdk/include/ndk/amd64/ketypes.h: MxCsr, four bytes, CurrentThread;
    // wdm.h's KeGetCurrentThread reads gs:[0x188] = KPCR.Prcb (0x180) + 8).
    current_thread: 8,
};

/// [Dump.h] `DUMP_HEADER` (32-bit, with its stated offsets); [rizin]
/// `dmp32_triage`, `dmp_driver_entry32`.
const LAYOUT32: Layout = Layout {
    bits: 32,
    header_size: 0x1000,
    machine: 0x20,
    processors: 0x24,
    bugcheck: 0x28,
    parameters: 0x2C,
    dump_type: 0xF88,
    system_time: 0xFC0,
    context: 0x320,
    // DriverNameOffset (4) + KLDR_DATA_TABLE_ENTRY32 (72).
    entry_size: 76,
    entry_base: 4 + 24,
    entry_size_of_image: 4 + 32,
    entry_timestamp: 4 + 68,
    // ASSUMPTION: a ULONG count then the 32-bit entries (UNICODE_STRING32,
    // WCHAR[12], StartAddress, EndAddress), by analogy with the 64-bit form.
    unloaded_first: 4,
    unloaded_size: 40,
    unloaded_start: 32,
    // ASSUMPTION: x86 KPRCB.CurrentThread at +4 (ReactOS
    // sdk/include/ndk/i386/ketypes.h: MinorVersion, MajorVersion, CurrentThread).
    current_thread: 4,
};

/// Bounds-checked little-endian reads over the bytes present.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn slice(&self, offset: u64, len: u64, what: &str) -> Result<&'a [u8], String> {
        let end =
            offset.checked_add(len).ok_or_else(|| format!("{what}: offset 0x{offset:X} + 0x{len:X} overflows"))?;
        let (start, end) = (usize::try_from(offset), usize::try_from(end));
        match (start, end) {
            (Ok(s), Ok(e)) if e <= self.bytes.len() => Ok(&self.bytes[s..e]),
            _ => Err(format!(
                "{what} at 0x{offset:X} (0x{len:X} bytes) lies beyond the end of the data (0x{:X} bytes): the dump is truncated or corrupt",
                self.bytes.len()
            )),
        }
    }
    fn u16(&self, offset: u64, what: &str) -> Result<u16, String> {
        let s = self.slice(offset, 2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&self, offset: u64, what: &str) -> Result<u32, String> {
        let s = self.slice(offset, 4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&self, offset: u64, what: &str) -> Result<u64, String> {
        let s = self.slice(offset, 8, what)?;
        Ok(u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
    }
    fn ptr(&self, layout: &Layout, offset: u64, what: &str) -> Result<u64, String> {
        if layout.bits == 64 { self.u64(offset, what) } else { self.u32(offset, what).map(u64::from) }
    }
    /// UTF-16LE text of `units` code units (lossy).
    fn utf16(&self, offset: u64, units: u64, what: &str) -> Result<String, String> {
        let len = units.checked_mul(2).ok_or_else(|| format!("{what}: length overflows"))?;
        let s = self.slice(offset, len, what)?;
        let units: Vec<u16> = s.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        Ok(String::from_utf16_lossy(&units))
    }
}

/// Machine names ([winnt.h] `IMAGE_FILE_MACHINE_*`).
fn machine_name(machine: u32) -> Option<&'static str> {
    match machine {
        0x8664 => Some("AMD64"),
        0x14C => Some("x86"),
        0xAA64 => Some("ARM64"),
        0x1C4 => Some("ARM"),
        _ => None,
    }
}

/// The dump type's meaning; `after_header` is the signature following the
/// header (bitmap dumps).
fn dump_kind(dump_type: u32, after_header: Option<&[u8]>) -> (&'static str, String) {
    let bitmap_sig = match after_header {
        Some(b) if b.starts_with(b"FDMPDUMP") => Some("full"),
        Some(b) if b.starts_with(b"SDMPDUMP") => Some("kernel"),
        _ => None,
    };
    match (dump_type, bitmap_sig) {
        (1, _) => ("full", "complete memory dump (type 1)".into()),
        (2, _) => ("kernel", "kernel memory dump (summary, type 2)".into()),
        (3, _) => ("header", "header-only dump (type 3)".into()),
        (4, _) => ("small", "small memory dump (triage / minidump, type 4)".into()),
        (5 | 6, Some("full")) => ("bitmap_full", format!("complete memory dump, bitmap form (type {dump_type}, FDMP)")),
        (5 | 6, Some(_)) => ("bitmap_kernel", format!("kernel memory dump, bitmap form (type {dump_type}, SDMP)")),
        (5 | 6, None) => {
            ("bitmap", format!("bitmap dump (type {dump_type}) without a bitmap signature after the header"))
        }
        (8, _) => ("bitmap_kernel", "kernel memory dump (type 8)".into()),
        (9, _) => ("bitmap_kernel_user", "kernel and user memory dump (type 9)".into()),
        (10, _) => ("bitmap_full", "complete memory dump (type 10)".into()),
        (other, _) => ("unknown", format!("dump type {other}, not one this reader knows")),
    }
}

/// `FILETIME` (100 ns since 1601-01-01 UTC) as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn filetime_utc(filetime: u64) -> Option<String> {
    const SECONDS_1601_TO_1970: u64 = 11_644_473_600;
    let secs = (filetime / 10_000_000).checked_sub(SECONDS_1601_TO_1970)?;
    Some(unix_utc(secs))
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian).
pub fn unix_utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from a day count: shift to an era starting 0000-03-01, so
    // the leap day ends each 400-year era and each year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Reads a dump from its bytes: the whole file, or at least
/// [`HEADER_BYTES`] of it for anything but a small dump. `file_size` is the
/// file's real size (a full dump is not read whole).
pub fn parse(bytes: &[u8], file_size: u64) -> Result<Dump, String> {
    let (format, layout) = if bytes.starts_with(SIGNATURE64) {
        ("PAGEDU64", &LAYOUT64)
    } else if bytes.starts_with(SIGNATURE32) {
        ("PAGEDUMP", &LAYOUT32)
    } else {
        return Err("not a kernel dump: it does not start with PAGEDU64 or PAGEDUMP".into());
    };
    let r = Reader { bytes };
    if (bytes.len() as u64) < layout.header_size {
        return Err(format!(
            "the {format} header needs 0x{:X} bytes, the file has 0x{:X}: it is truncated (copy the dump again)",
            layout.header_size,
            bytes.len()
        ));
    }
    let machine = r.u32(layout.machine, "MachineImageType")?;
    let dump_type = r.u32(layout.dump_type, "DumpType")?;
    let after = r.slice(layout.header_size, 8, "bitmap signature").ok();
    let (dump_kind, dump_kind_text) = dump_kind(dump_type, after);
    let mut parameters = [0u64; 4];
    let width = u64::from(layout.bits / 8);
    for (i, p) in parameters.iter_mut().enumerate() {
        *p = r.ptr(layout, layout.parameters + width * i as u64, "BugCheckParameter")?;
    }
    let system_time = r.u64(layout.system_time, "SystemTime")?;
    let mut dump = Dump {
        format,
        pointer_bits: layout.bits,
        file_size,
        machine,
        machine_name: machine_name(machine),
        major_version: r.u32(0x8, "MajorVersion")?,
        build: r.u32(0xC, "MinorVersion")?,
        processors: r.u32(layout.processors, "NumberProcessors")?,
        bugcheck_code: r.u32(layout.bugcheck, "BugCheckCode")?,
        parameters,
        dump_type,
        dump_kind,
        dump_kind_text,
        system_time: filetime_utc(system_time).filter(|_| system_time != 0),
        context: None,
        small: None,
        size_stated: None,
        shorter_than_stated: false,
        memory: None,
        notes: Vec::new(),
    };
    if dump.processors == 0 || dump.processors > 4096 {
        dump.notes.push(format!("NumberProcessors is {}, not a plausible count", dump.processors));
    }
    let mut context_at = layout.context;
    if dump_kind == "small" {
        let small = read_small(&r, layout, file_size, &mut dump.notes)?;
        let triage = layout.header_size;
        let offset = u64::from(r.u32(triage + 0x0C, "ContextOffset")?);
        if offset != 0 {
            context_at = offset;
        }
        dump.small = Some(small);
    }
    dump.context = read_context(&r, machine, context_at);
    Ok(dump)
}

fn read_context(r: &Reader<'_>, machine: u32, at: u64) -> Option<Context> {
    let (ip, sp, wide) = match machine {
        0x8664 => (0xF8, 0x98, true),
        0xAA64 => (0x108, 0x100, true),
        0x14C => (0xB8, 0xC4, false),
        _ => return None,
    };
    let read = |o: u64| if wide { r.u64(at + o, "CONTEXT") } else { r.u32(at + o, "CONTEXT").map(u64::from) };
    Some(Context { instruction_pointer: read(ip).ok()?, stack_pointer: read(sp).ok()? })
}

/// The sections of a small dump.
fn read_small(r: &Reader<'_>, layout: &Layout, file_size: u64, notes: &mut Vec<String>) -> Result<SmallDump, String> {
    let t = layout.header_size;
    let field = |o: u64, name: &str| r.u32(t + o, name);
    let size_of_dump = field(0x04, "SizeOfDump")?;
    if u64::from(size_of_dump) > r.bytes.len() as u64 {
        return Err(format!(
            "the small dump says it is {size_of_dump} bytes long (SizeOfDump), the file has {file_size}: it is truncated (copy it again from %SystemRoot%\\Minidump)"
        ));
    }
    // [Dump.h] TRIAGE_DUMP_VALID 'DGRT' at ValidOffset: written last.
    let valid_offset = field(0x08, "ValidOffset")?;
    let valid = r.u32(u64::from(valid_offset), "the end marker (ValidOffset)")?;
    if valid != 0x4447_5254 {
        return Err(format!(
            "the small dump's end marker (TRGD at ValidOffset 0x{valid_offset:X}) is missing (0x{valid:08X}): the dump was not completely written or is corrupt"
        ));
    }
    let process_offset = field(0x20, "ProcessOffset")?;
    let thread_offset = field(0x24, "ThreadOffset")?;
    let prcb_offset = field(0x1C, "PrcbOffset")?;
    let call_stack_offset = field(0x28, "CallStackOffset")?;
    let size_of_call_stack = field(0x2C, "SizeOfCallStack")?;
    let driver_list_offset = field(0x30, "DriverListOffset")?;
    let driver_count = field(0x34, "DriverCount")?;
    let unloaded_offset = field(0x18, "UnloadedDriversOffset")?;
    let top_of_stack = r.ptr(layout, t + 0x48, "TopOfStack")?;

    let drivers = read_drivers(r, layout, driver_list_offset, driver_count)?;
    let unloaded = read_unloaded(r, layout, unloaded_offset)?;
    let stack = if call_stack_offset != 0 && size_of_call_stack != 0 {
        Some(read_stack(r, layout, call_stack_offset, size_of_call_stack, top_of_stack, &drivers)?)
    } else {
        notes.push("the small dump holds no saved stack (CallStackOffset is 0)".into());
        None
    };
    let current_thread = if prcb_offset != 0 {
        let t = r.ptr(layout, u64::from(prcb_offset) + layout.current_thread, "KPRCB.CurrentThread")?;
        (t != 0).then_some(t)
    } else {
        None
    };
    let sections = [
        field(0x0C, "ContextOffset")?,
        field(0x10, "ExceptionOffset")?,
        field(0x14, "MmOffset")?,
        unloaded_offset,
        prcb_offset,
        process_offset,
        thread_offset,
        call_stack_offset,
        driver_list_offset,
        field(0x38, "StringPoolOffset")?,
        valid_offset,
    ];
    let process_name = (process_offset != 0)
        .then(|| {
            let next = sections.iter().copied().filter(|&o| o > process_offset).min().unwrap_or(size_of_dump);
            let len = next.saturating_sub(process_offset).min(0x2000);
            r.slice(u64::from(process_offset), u64::from(len), "the process copy").ok().and_then(image_name)
        })
        .flatten();
    Ok(SmallDump {
        service_pack_build: field(0x00, "ServicePackBuild")?,
        size_of_dump,
        triage_options: field(0x44, "TriageOptions")?,
        drivers,
        unloaded,
        stack,
        current_thread,
        process_name,
    })
}

/// The driver list: `DriverCount` entries from `DriverListOffset`, each
/// naming its path through a `DUMP_STRING` ([Dump.h]; its `Length` counts
/// UTF-16 units, as rizin reads it and as the public sample's strings end:
/// Dump.h's comment says bytes).
fn read_drivers(r: &Reader<'_>, layout: &Layout, offset: u32, count: u32) -> Result<Vec<Module>, String> {
    if offset == 0 || count == 0 {
        return Ok(Vec::new());
    }
    let total = u64::from(count) * layout.entry_size;
    r.slice(u64::from(offset), total, &format!("the driver list ({count} entries)"))?;
    let mut drivers = Vec::with_capacity(count as usize);
    for i in 0..u64::from(count) {
        let e = u64::from(offset) + i * layout.entry_size;
        let what = format!("driver entry {i}");
        let name_offset = u64::from(r.u32(e, &what)?);
        let units = u64::from(r.u32(name_offset, &format!("{what}'s name length"))?);
        if units > 0x7FFF {
            return Err(format!("{what}'s name is {units} characters long: the dump is corrupt"));
        }
        let path = r.utf16(name_offset + 4, units, &format!("{what}'s name"))?;
        let name = path.rsplit(['\\', '/']).next().unwrap_or(&path).to_string();
        drivers.push(Module {
            name,
            path,
            base: r.ptr(layout, e + layout.entry_base, &what)?,
            size: r.u32(e + layout.entry_size_of_image, &what)?,
            timestamp: r.u32(e + layout.entry_timestamp, &what)?,
        });
    }
    Ok(drivers)
}

/// The unloaded-driver list ([Dump.h] `DUMP_UNLOADED_DRIVERS64`: the name
/// as a `UNICODE_STRING64` whose `Length` is in bytes, its first 12
/// characters inline, start and end address; the format has no unload
/// time).
fn read_unloaded(r: &Reader<'_>, layout: &Layout, offset: u32) -> Result<Vec<Unloaded>, String> {
    if offset == 0 {
        return Ok(Vec::new());
    }
    let offset = u64::from(offset);
    let count = r.u32(offset, "the unloaded-driver count")?;
    let first = offset + layout.unloaded_first;
    r.slice(first, u64::from(count) * layout.unloaded_size, &format!("the unloaded-driver list ({count} entries)"))?;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..u64::from(count) {
        let e = first + i * layout.unloaded_size;
        let what = format!("unloaded driver {i}");
        let length_units = u64::from(r.u16(e, &what)?) / 2;
        let name_at = e + if layout.bits == 64 { 16 } else { 8 };
        let raw = r.utf16(name_at, 12, &what)?;
        let stored: String = raw.chars().take_while(|&c| c != '\0').take(length_units as usize).collect();
        out.push(Unloaded {
            name_truncated: length_units > 12 || looks_cut(&stored),
            name: stored,
            start: r.ptr(layout, e + layout.unloaded_start, &what)?,
            end: r.ptr(layout, e + layout.unloaded_start + u64::from(layout.bits / 8), &what)?,
            unloaded_at: None,
        });
    }
    Ok(out)
}

/// The saved stack: `SizeOfCallStack` bytes from `CallStackOffset`, the
/// first being the word at `TopOfStack`. ASSUMPTION: `TopOfStack` is the
/// lowest saved address (the stack pointer side; Dump.h's comment calls it
/// "the top (highest address)"): in the public x64 sample the exception and
/// context record addresses of its 0x1000007E (Arg3, Arg4) lie inside
/// [TopOfStack, TopOfStack + SizeOfCallStack), and the saved RSP too.
fn read_stack(
    r: &Reader<'_>,
    layout: &Layout,
    offset: u32,
    size: u32,
    top: u64,
    drivers: &[Module],
) -> Result<Stack, String> {
    let bytes = r.slice(u64::from(offset), u64::from(size), "the saved stack")?;
    let width = usize::from(layout.bits / 8);
    let mut sorted: Vec<&Module> = drivers.iter().filter(|m| m.size > 0).collect();
    sorted.sort_by_key(|m| m.base);
    let find = |v: u64| -> Option<&Module> {
        let at = sorted.partition_point(|m| m.base <= v);
        // Overlapping (corrupt) entries: look back over those that start below.
        sorted[..at].iter().rev().take(8).find(|m| m.contains(v)).copied()
    };
    let mut hits = Vec::new();
    let mut order: Vec<String> = Vec::new();
    for (i, chunk) in bytes.chunks_exact(width).enumerate() {
        let value = if width == 8 {
            u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]])
        } else {
            u64::from(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        };
        if let Some(m) = find(value) {
            if order.last() != Some(&m.name) {
                order.push(m.name.clone());
            }
            hits.push(StackHit {
                address: top.wrapping_add((i * width) as u64),
                value,
                module: m.name.clone(),
                offset: value - m.base,
            });
        }
    }
    Ok(Stack { top, size, words: (bytes.len() / width) as u32, hits, modules_in_order: order })
}

/// The image name in a copy of the process object: the first 8-aligned
/// 15-byte field holding a printable name padded with NULs that ends in
/// `.exe` or is one of the processes Windows names without one (ASSUMPTION:
/// `EPROCESS.ImageFileName` is `UCHAR[15]` at a build-specific, 8-aligned
/// offset — 0x5A8 in the public 19041 sample; found by shape, not offset).
fn image_name(process: &[u8]) -> Option<String> {
    const BARE: [&str; 5] = ["System", "Registry", "MemCompression", "Secure System", "Idle"];
    (0..process.len().saturating_sub(15)).step_by(8).find_map(|at| {
        let field = &process[at..at + 15];
        let len = field.iter().position(|&b| b == 0)?;
        let (name, pad) = field.split_at(len);
        let printable = |b: &u8| b.is_ascii_alphanumeric() || b" ._-".contains(b);
        if len == 0 || !pad.iter().all(|&b| b == 0) || !name.iter().all(printable) || !name[0].is_ascii_alphabetic() {
            return None;
        }
        let name = std::str::from_utf8(name).ok()?;
        (name.to_ascii_lowercase().ends_with(".exe") || BARE.contains(&name)).then(|| name.to_string())
    })
}

impl Dump {
    /// The loaded driver list: a small dump's, or the one read from memory.
    pub fn drivers(&self) -> Option<&[Module]> {
        match (&self.small, &self.memory) {
            (Some(s), _) => Some(&s.drivers),
            (None, Some(m)) => Some(&m.drivers),
            (None, None) => None,
        }
    }

    /// The unloaded driver list: a small dump's, or the one read from memory.
    pub fn unloaded(&self) -> Option<&[Unloaded]> {
        match (&self.small, &self.memory) {
            (Some(s), _) => Some(&s.unloaded),
            (None, Some(m)) => Some(&m.unloaded),
            (None, None) => None,
        }
    }

    /// The loaded driver containing `address`, with the offset in it.
    pub fn module_at(&self, address: u64) -> Option<(&Module, u64)> {
        self.drivers()?.iter().find(|m| m.contains(address)).map(|m| (m, address - m.base))
    }

    /// The unloaded driver whose old range contains `address`.
    pub fn unloaded_at(&self, address: u64) -> Option<&Unloaded> {
        self.unloaded()?.iter().find(|u| address >= u.start && address < u.end)
    }

    /// `name+0xoffset` for an address in a loaded driver, else
    /// `(in the range NAME had before it was unloaded)`, else `None`.
    pub fn describe_address(&self, address: u64) -> Option<String> {
        if let Some((m, off)) = self.module_at(address) {
            return Some(format!("{}+0x{off:X}", m.name));
        }
        self.unloaded_at(address).map(|u| format!("inside the range of {}, which had been unloaded", u.name))
    }
}

/// For a complete, kernel or bitmap dump: the size its header states, and
/// the driver lists from its memory ([`crate::kernel`]); what cannot be read
/// is said in the notes, the header's fields stand.
fn read_memory(path: &std::path::Path, head: &[u8], dump: &mut Dump) {
    if dump.format != "PAGEDU64" || !crate::kernel::has_memory(dump.dump_type) {
        if dump.format == "PAGEDUMP" && matches!(dump.dump_kind, "full" | "kernel") {
            dump.notes.push(
                "a 32-bit complete or kernel dump: only its header is read (the page-table walk is x64's)".into(),
            );
        }
        return;
    }
    let stated = u64::from_le_bytes(head[0xFA0..0xFA8].try_into().unwrap_or_default());
    let layout = std::fs::File::open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
        .and_then(|mut f| crate::kernel::page_layout(&mut f, head, dump.file_size));
    let needed = layout.as_ref().map_or(0, |l| l.required_size).max(stated);
    if needed > 0 {
        dump.size_stated = Some(needed);
        if needed > dump.file_size {
            dump.shorter_than_stated = true;
            dump.notes.push(format!(
                "the dump is shorter than its header states: {} bytes of {needed} ({:.1} %) — it was copied or \
                 written only in part (copy MEMORY.DMP again after the machine restarted completely)",
                dump.file_size,
                dump.file_size as f64 * 100.0 / needed as f64
            ));
        }
    }
    let layout = match layout {
        Ok(l) => l,
        Err(e) => {
            dump.notes.push(format!("the driver lists were not read: {e}"));
            return;
        }
    };
    if dump.machine != 0x8664 {
        dump.notes.push(format!(
            "the driver lists were not read: the page-table walk is x64's, this dump is of machine 0x{:X}",
            dump.machine
        ));
        return;
    }
    match crate::kernel::read_lists(path, head, layout, dump.file_size) {
        Ok(lists) => dump.memory = Some(lists),
        Err(e) => dump.notes.push(format!("the driver lists were not read: {e}")),
    }
}

/// Reads the dump at `path`: the header for every kind, the whole file for
/// a small dump (at most [`MAX_SMALL_DUMP`] bytes), and the driver lists of
/// a complete, kernel or bitmap dump from its memory.
pub fn read_file(path: &std::path::Path) -> Result<Dump, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    let mut head = Vec::new();
    file.take(HEADER_BYTES).read_to_end(&mut head).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let small = is_dump(&head) && {
        let layout = if head.starts_with(SIGNATURE64) { &LAYOUT64 } else { &LAYOUT32 };
        Reader { bytes: &head }.u32(layout.dump_type, "DumpType").is_ok_and(|t| t == 4)
    };
    if !small {
        let mut dump = parse(&head, size)?;
        read_memory(path, &head, &mut dump);
        return Ok(dump);
    }
    if size > MAX_SMALL_DUMP {
        return Err(format!(
            "{} says it is a small dump but is {size} bytes; small dumps are at most a few MB (limit {MAX_SMALL_DUMP})",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&bytes, size)
}
