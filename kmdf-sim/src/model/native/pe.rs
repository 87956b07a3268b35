//! An x64 PE image (a KMDF `.sys`) read, checked and mapped into this
//! process: sections at their RVAs, base relocations applied, imports bound
//! through a resolver, the COFF symbol table kept for names.
//!
//! The format is the PE/COFF specification's
//! (learn.microsoft.com/windows/win32/debug/pe-format): DOS header
//! `e_lfanew` at 0x3C, `PE\0\0`, the COFF file header, the PE32+ optional
//! header (magic 0x20B) with its data directories (1 import, 5 base
//! relocation), 40-byte section headers, 20-byte import descriptors, 8-byte
//! thunks (bit 63: by ordinal), relocation blocks of 16-bit entries (type 10
//! `IMAGE_REL_BASED_DIR64`, type 0 padding), 18-byte symbol records followed
//! by the string table.
//!
//! Every offset read from the file is bounds-checked: a malformed image is an
//! [`ImageError`] before anything is mapped or run.

use std::fmt;

/// Why an image cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError(pub String);

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ImageError {}

fn err<T>(text: impl Into<String>) -> Result<T, ImageError> {
    Err(ImageError(text.into()))
}

/// The largest image the loader maps (a KMDF driver is far smaller).
const MAX_IMAGE: u32 = 64 << 20;

/// One import: the DLL, the routine (by name, or `#ordinal`), and the RVA
/// of its import-address-table slot.
#[derive(Debug, Clone)]
pub struct Import {
    /// The exporting image as the import table names it, e.g. `ntoskrnl.exe`.
    pub dll: String,
    /// The routine's name (`#N` for an import by ordinal).
    pub name: String,
    /// RVA of the 8-byte IAT slot the loader fills.
    slot: u32,
}

/// A section header's placement.
#[derive(Debug, Clone)]
struct Section {
    name: String,
    rva: u32,
    virtual_size: u32,
    raw_offset: u32,
    raw_size: u32,
    code: bool,
}

/// A parsed (not yet mapped) image.
#[derive(Debug)]
pub struct Parsed {
    entry: u32,
    preferred_base: u64,
    size_of_image: u32,
    size_of_headers: u32,
    sections: Vec<Section>,
    /// The imports, in import-table order.
    pub imports: Vec<Import>,
    relocations: Vec<u32>,
    /// Function symbols: (RVA, name), sorted by RVA.
    symbols: Vec<(u32, String)>,
    /// Every RUNTIME_FUNCTION: (begin, end, UNWIND_INFO), sorted by begin.
    functions: Vec<(u32, u32, u32)>,
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&self, at: usize, len: usize, what: &str) -> Result<&[u8], ImageError> {
        at.checked_add(len)
            .and_then(|end| self.0.get(at..end))
            .map_or_else(|| err(format!("truncated image: {what} at file offset {at:#x} (+{len}) is past its end")), Ok)
    }
    fn u16(&self, at: usize, what: &str) -> Result<u16, ImageError> {
        let b = self.bytes(at, 2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize, what: &str) -> Result<u32, ImageError> {
        let b = self.bytes(at, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: usize, what: &str) -> Result<u64, ImageError> {
        let b = self.bytes(at, 8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A NUL-terminated string at `at`, at most `max` bytes.
    fn cstr(&self, at: usize, max: usize, what: &str) -> Result<String, ImageError> {
        let tail = self.0.get(at..).unwrap_or_default();
        let Some(end) = tail.iter().take(max).position(|&b| b == 0) else {
            return err(format!("{what} at file offset {at:#x} is not a terminated string"));
        };
        Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
    }
}

impl Parsed {
    /// Reads and checks an x64 PE image.
    pub fn parse(file: &[u8]) -> Result<Parsed, ImageError> {
        let r = Reader(file);
        if r.bytes(0, 2, "DOS header")? != b"MZ" {
            return err("not a PE image: no MZ signature");
        }
        let pe = r.u32(0x3C, "e_lfanew")? as usize;
        if r.bytes(pe, 4, "PE signature")? != b"PE\0\0" {
            return err("not a PE image: no PE signature at e_lfanew");
        }
        let coff = pe + 4;
        let machine = r.u16(coff, "Machine")?;
        if machine != 0x8664 {
            return err(format!("machine {machine:#06x} is not x64 (0x8664): kmdf-sim loads x64 drivers only"));
        }
        let nsections = r.u16(coff + 2, "NumberOfSections")? as usize;
        let symtab = r.u32(coff + 8, "PointerToSymbolTable")? as usize;
        let nsyms = r.u32(coff + 12, "NumberOfSymbols")? as usize;
        let opt_size = r.u16(coff + 16, "SizeOfOptionalHeader")? as usize;
        let opt = coff + 20;
        if r.u16(opt, "optional header magic")? != 0x20B {
            return err("not a PE32+ image (optional header magic is not 0x20B)");
        }
        let entry = r.u32(opt + 16, "AddressOfEntryPoint")?;
        let preferred_base = r.u64(opt + 24, "ImageBase")?;
        let size_of_image = r.u32(opt + 56, "SizeOfImage")?;
        let size_of_headers = r.u32(opt + 60, "SizeOfHeaders")?;
        let ndirs = r.u32(opt + 108, "NumberOfRvaAndSizes")? as usize;
        if size_of_image == 0 || size_of_image > MAX_IMAGE {
            return err(format!("SizeOfImage {size_of_image:#x} is 0 or above the loader's limit {MAX_IMAGE:#x}"));
        }
        if size_of_headers > size_of_image || size_of_headers as usize > file.len() {
            return err("SizeOfHeaders is larger than the image or the file");
        }
        let dir = |i: usize| -> Result<(u32, u32), ImageError> {
            if i >= ndirs || 112 + 8 * i + 8 > opt_size {
                return Ok((0, 0));
            }
            Ok((r.u32(opt + 112 + 8 * i, "data directory")?, r.u32(opt + 116 + 8 * i, "data directory")?))
        };
        let mut sections = Vec::with_capacity(nsections);
        for i in 0..nsections {
            let h = opt + opt_size + 40 * i;
            let raw_name = r.bytes(h, 8, "section name")?;
            let name = String::from_utf8_lossy(raw_name).trim_end_matches('\0').to_string();
            let s = Section {
                name,
                virtual_size: r.u32(h + 8, "VirtualSize")?,
                rva: r.u32(h + 12, "VirtualAddress")?,
                raw_size: r.u32(h + 16, "SizeOfRawData")?,
                raw_offset: r.u32(h + 20, "PointerToRawData")?,
                code: r.u32(h + 36, "Characteristics")? & 0x20 != 0,
            };
            let span = s.virtual_size.max(s.raw_size);
            if u64::from(s.rva) + u64::from(span) > u64::from(size_of_image) {
                return err(format!("section {} ({:#x}+{span:#x}) lies outside SizeOfImage", s.name, s.rva));
            }
            r.bytes(s.raw_offset as usize, s.raw_size.min(s.virtual_size.max(s.raw_size)) as usize, "section data")?;
            sections.push(s);
        }
        let mut parsed = Parsed {
            entry,
            preferred_base,
            size_of_image,
            size_of_headers,
            sections,
            imports: Vec::new(),
            relocations: Vec::new(),
            symbols: Vec::new(),
            functions: Vec::new(),
        };
        let (import_rva, _) = dir(1)?;
        if import_rva != 0 {
            parsed.read_imports(&r, import_rva)?;
        }
        let (reloc_rva, reloc_size) = dir(5)?;
        if reloc_rva != 0 {
            parsed.read_relocations(&r, reloc_rva, reloc_size)?;
        }
        if symtab != 0 && nsyms != 0 {
            parsed.read_symbols(&r, symtab, nsyms)?;
        }
        let (pdata_rva, pdata_size) = dir(3)?;
        if pdata_rva != 0 {
            parsed.read_exception_directory(&r, pdata_rva, pdata_size)?;
        }
        if parsed.section_of(entry).is_none_or(|s| !s.code) {
            return err(format!("the entry point {entry:#x} is not in a code section"));
        }
        Ok(parsed)
    }

    /// The exception directory (`.pdata`): RUNTIME_FUNCTION entries {begin,
    /// end, unwind info} (12 bytes each), each UNWIND_INFO's header in the
    /// file (F165; what they say is [`super::seh`]'s).
    fn read_exception_directory(&mut self, r: &Reader, rva: u32, size: u32) -> Result<(), ImageError> {
        let start = self.file_offset(rva, "exception directory")?;
        let count = size as usize / 12;
        r.bytes(start, count * 12, "exception directory")?;
        for i in 0..count {
            let at = start + 12 * i;
            let (begin, end, info) = (
                r.u32(at, "RUNTIME_FUNCTION")?,
                r.u32(at + 4, "RUNTIME_FUNCTION")?,
                r.u32(at + 8, "RUNTIME_FUNCTION")?,
            );
            r.bytes(self.file_offset(info, "UNWIND_INFO")?, 4, "UNWIND_INFO")?;
            self.functions.push((begin, end, info));
        }
        self.functions.sort_unstable();
        Ok(())
    }

    fn section_of(&self, rva: u32) -> Option<&Section> {
        self.sections.iter().find(|s| rva >= s.rva && rva - s.rva < s.virtual_size.max(s.raw_size))
    }

    /// The file offset of `rva` (in a section's file data).
    fn file_offset(&self, rva: u32, what: &str) -> Result<usize, ImageError> {
        match self.section_of(rva) {
            Some(s) if rva - s.rva < s.raw_size => Ok(s.raw_offset as usize + (rva - s.rva) as usize),
            _ => err(format!("{what}: RVA {rva:#x} is not in any section's file data")),
        }
    }

    fn read_imports(&mut self, r: &Reader<'_>, rva: u32) -> Result<(), ImageError> {
        let mut at = self.file_offset(rva, "import directory")?;
        for _ in 0..4096 {
            let lookup = r.u32(at, "OriginalFirstThunk")?;
            let name_rva = r.u32(at + 12, "import Name")?;
            let iat = r.u32(at + 16, "FirstThunk")?;
            if name_rva == 0 && iat == 0 {
                return Ok(());
            }
            let dll = r.cstr(self.file_offset(name_rva, "import DLL name")?, 256, "import DLL name")?;
            let table = if lookup != 0 { lookup } else { iat };
            let mut t = self.file_offset(table, "import lookup table")?;
            for n in 0..65536u32 {
                let v = r.u64(t, "import thunk")?;
                if v == 0 {
                    break;
                }
                let name = if v >> 63 == 1 {
                    format!("#{}", v & 0xFFFF)
                } else {
                    let hint = u32::try_from(v & 0x7FFF_FFFF).unwrap_or(0);
                    r.cstr(self.file_offset(hint, "import name")? + 2, 512, "import name")?
                };
                let slot = iat.checked_add(8 * n).filter(|&s| u64::from(s) + 8 <= u64::from(self.size_of_image));
                let Some(slot) = slot else { return err("an import address table slot lies outside the image") };
                self.imports.push(Import { dll: dll.clone(), name, slot });
                t += 8;
            }
            at += 20;
        }
        err("the import directory has no terminating descriptor")
    }

    fn read_relocations(&mut self, r: &Reader<'_>, rva: u32, size: u32) -> Result<(), ImageError> {
        let start = self.file_offset(rva, "base relocation directory")?;
        let end = start + size as usize;
        let mut at = start;
        while at + 8 <= end {
            let page = r.u32(at, "relocation block page")?;
            let block = r.u32(at + 4, "relocation block size")? as usize;
            if block < 8 || at + block > end {
                return err(format!("relocation block at {at:#x} has size {block}"));
            }
            for e in (at + 8..at + block).step_by(2) {
                let entry = r.u16(e, "relocation entry")?;
                match entry >> 12 {
                    0 => {}
                    10 => {
                        let target = u64::from(page) + u64::from(entry & 0xFFF);
                        if target + 8 > u64::from(self.size_of_image) {
                            return err(format!("a relocation at RVA {target:#x} lies outside the image"));
                        }
                        self.relocations.push(target as u32);
                    }
                    kind => {
                        return err(format!("relocation type {kind} is not an x64 one (10, DIR64) the loader applies"));
                    }
                }
            }
            at += block;
        }
        Ok(())
    }

    fn read_symbols(&mut self, r: &Reader<'_>, at: usize, count: usize) -> Result<(), ImageError> {
        let strings = at + 18 * count;
        let mut i = 0;
        while i < count {
            let s = at + 18 * i;
            let value = r.u32(s + 8, "symbol value")?;
            let section = r.u16(s + 12, "symbol section")? as i16;
            let aux = r.bytes(s + 17, 1, "symbol aux count")?[0] as usize;
            let raw = r.bytes(s, 8, "symbol name")?;
            let name = if raw[..4] == [0, 0, 0, 0] {
                let off = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]) as usize;
                r.cstr(strings + off, 1024, "symbol name")?
            } else {
                String::from_utf8_lossy(raw).trim_end_matches('\0').to_string()
            };
            if section > 0
                && let Some(sec) = self.sections.get(section as usize - 1)
                && sec.code
                && let Some(rva) = sec.rva.checked_add(value)
            {
                self.symbols.push((rva, name));
            }
            i += 1 + aux;
        }
        self.symbols.sort();
        Ok(())
    }
}

/// A mapped image.
///
/// # Invariants
/// `base..base+size` is one private anonymous mapping this value owns, read,
/// write and execute, holding the image at its RVAs with relocations applied;
/// it is unmapped when the value is dropped (no code of the image may run
/// after that).
#[derive(Debug)]
pub struct Mapped {
    /// The image's name, e.g. `regkey.sys`.
    pub name: String,
    /// Where it is mapped.
    pub base: usize,
    /// SizeOfImage.
    pub size: usize,
    /// The entry point's address.
    pub entry: usize,
    /// Function symbols: (RVA, name), sorted.
    symbols: Vec<(u32, String)>,
    /// The image as mapped, relocated and bound, before any of its code ran:
    /// what [`Mapped::reset`] puts back.
    pristine: Vec<u8>,
    /// Every RUNTIME_FUNCTION: (begin, end, UNWIND_INFO), sorted by begin.
    functions: Vec<(u32, u32, u32)>,
}

impl Mapped {
    /// Maps `parsed` (the contents of `file`), applies its relocations and
    /// fills each import's slot with `resolve(import)`.
    pub fn map(
        name: &str,
        file: &[u8],
        parsed: Parsed,
        mut resolve: impl FnMut(&Import) -> usize,
    ) -> Result<Mapped, ImageError> {
        let size = parsed.size_of_image as usize;
        // SAFETY: an anonymous private mapping of `size` bytes; no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return err(format!("cannot map {size:#x} bytes for the image: {}", std::io::Error::last_os_error()));
        }
        let mapped = Mapped {
            name: name.to_string(),
            base: base as usize,
            size,
            entry: base as usize + parsed.entry as usize,
            symbols: parsed.symbols,
            pristine: Vec::new(),
            functions: parsed.functions,
        };
        // SAFETY: the mapping is `size` bytes, writable, and owned by `mapped` alone.
        let image = unsafe { std::slice::from_raw_parts_mut(base.cast::<u8>(), size) };
        let headers = parsed.size_of_headers as usize;
        image[..headers].copy_from_slice(&file[..headers]);
        for s in &parsed.sections {
            let n = s.raw_size.min(s.virtual_size.max(s.raw_size)) as usize;
            let from = s.raw_offset as usize;
            image[s.rva as usize..s.rva as usize + n].copy_from_slice(&file[from..from + n]);
        }
        let delta = (mapped.base as u64).wrapping_sub(parsed.preferred_base);
        for &rva in &parsed.relocations {
            let at = rva as usize;
            let mut v = [0u8; 8];
            v.copy_from_slice(&image[at..at + 8]);
            image[at..at + 8].copy_from_slice(&u64::from_le_bytes(v).wrapping_add(delta).to_le_bytes());
        }
        for import in &parsed.imports {
            let at = import.slot as usize;
            image[at..at + 8].copy_from_slice(&(resolve(import) as u64).to_le_bytes());
        }
        let mut mapped = mapped;
        mapped.pristine = image.to_vec();
        // SAFETY: the mapping is ours and `size` bytes long.
        if unsafe { libc::mprotect(base, size, libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) } != 0 {
            return err(format!("cannot make the image executable: {}", std::io::Error::last_os_error()));
        }
        Ok(mapped)
    }

    /// Puts the image back as it was mapped, before any of its code ran: a
    /// load of the driver runs a fresh copy, its global variables as the
    /// file initializes them, as Windows maps a driver image anew at each
    /// load (F160).
    ///
    /// # Safety
    /// No code of the image is running and nothing holds a reference into
    /// its memory.
    pub unsafe fn reset(&self) {
        // SAFETY: the mapping is `size` bytes, writable (RWX) and this
        // value's; `pristine` is `size` bytes; the caller guarantees no code
        // of the image runs.
        unsafe { std::ptr::copy_nonoverlapping(self.pristine.as_ptr(), self.base as *mut u8, self.size) };
    }

    /// Whether `address` lies in the image.
    pub fn contains(&self, address: usize) -> bool {
        address >= self.base && address - self.base < self.size
    }

    /// `address` as the debugger prints it: `module!Symbol+0xNN
    /// (image+0xRVA)`, or `image+0xRVA` without a symbol.
    pub fn describe(&self, address: usize) -> String {
        let rva = address - self.base;
        let module = self.name.strip_suffix(".sys").unwrap_or(&self.name);
        let at = u32::try_from(rva).unwrap_or(u32::MAX);
        let symbol = self.symbols.iter().rev().find(|(start, _)| *start <= at);
        match symbol {
            Some((start, sym)) => format!("{module}!{sym}+{:#x} ({}+{rva:#x})", at - start, self.name),
            None => format!("{}+{rva:#x}", self.name),
        }
    }

    /// The RUNTIME_FUNCTION (begin, end, UNWIND_INFO RVAs) holding `rva`.
    pub fn function_at(&self, rva: u32) -> Option<(u32, u32, u32)> {
        let i = self.functions.partition_point(|&(begin, _, _)| begin <= rva);
        self.functions.get(i.checked_sub(1)?).copied().filter(|&(_, end, _)| rva < end)
    }

    /// `len` bytes of the image as mapped (before any code ran) at `rva`:
    /// its read-only data as the file gives it.
    pub fn mapped_bytes(&self, rva: u32, len: usize) -> Option<&[u8]> {
        self.pristine.get(rva as usize..(rva as usize).checked_add(len)?)
    }

    /// The image's bytes at `address` (up to `len`, fewer at its end); empty
    /// outside it.
    pub fn code_at(&self, address: usize, len: usize) -> &[u8] {
        if !self.contains(address) {
            return &[];
        }
        let len = len.min(self.base + self.size - address);
        // SAFETY: `address..address+len` lies in the mapping this value owns
        // (# Invariants), readable while it lives.
        unsafe { std::slice::from_raw_parts(address as *const u8, len) }
    }

    /// The RVA of the function symbol `name`, if the image carries a symbol table with it.
    pub fn symbol(&self, name: &str) -> Option<u32> {
        self.symbols.iter().find(|(_, n)| n == name).map(|(rva, _)| *rva)
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: `base..base+size` is the mapping this value owns (# Invariants).
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.size);
        }
    }
}
