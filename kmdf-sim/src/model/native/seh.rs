//! Structured exception handling for a native image (F165): which
//! `__except` takes an exception raised in the driver's code, found as the
//! x64 dispatcher finds it — a virtual unwind of the driver's frames through
//! the image's unwind data (`.pdata` RUNTIME_FUNCTION → UNWIND_INFO and its
//! unwind codes), each frame's `__C_specific_handler` scope table
//! consulted at its control PC.
//!
//! Phase one asks each `__except` covering a frame's PC, innermost first:
//! EXCEPTION_EXECUTE_HANDLER as a constant (the scope entry's handler field
//! is 1), or the driver's filter function called with the exception
//! pointers and the frame's establisher frame (> 0 execute, 0 search on,
//! < 0 continue execution — a not-modelled stop: the faulting instruction would
//! fault again). Phase two runs each `__finally` between the fault and the
//! chosen `__except` (innermost first, with AbnormalTermination TRUE), then
//! the driver resumes at the `__except` block in that frame, with its
//! non-volatile registers as the unwind restores them and the exception code
//! in EAX (what `GetExceptionCode()` reads there). With no `__except` taking
//! it nothing runs: the machine bug checks. The XMM non-volatile registers
//! are not restored (ASSUMPTION: a driver's `__except` path does not rely on
//! them); the filter's CONTEXT record is zeroes but for Rip/Rsp
//! (ASSUMPTION: filters read the exception record).
//!
//! Layouts: Microsoft's "x64 exception handling" (UNWIND_INFO, UNWIND_CODE,
//! chained unwind info, the language-specific data after the handler RVA)
//! and the C scope table `__C_specific_handler` reads (count, then
//! {BeginAddress, EndAddress, HandlerAddress, JumpTarget}); EXCEPTION_RECORD
//! and CONTEXT as winnt.h lays them out for x64.

use super::pe::Mapped;

/// The registers a frame's unwind restores, by x86 number (RAX, RCX, RDX,
/// RBX, RSP, RBP, RSI, RDI, R8…R15).
pub type Registers = [u64; 16];
const RSP: usize = 4;

/// What dispatching an exception found.
#[derive(Debug)]
pub enum Dispatch {
    /// Resume the driver at `rip` with `registers` (RSP and the
    /// non-volatile ones of the frame; RAX the exception code).
    Handled { rip: u64, registers: Registers },
    /// No frame of the driver's handles it.
    Unhandled,
    /// The machine stopped inside a filter or a `__finally` block.
    Stopped,
    /// A handler the machine does not run: what and where.
    NotModelled(String),
}

/// The driver's code the dispatch calls: `call(function, arguments)` runs
/// a filter or a `__finally` block (win64); `None` when the machine stopped
/// inside it.
pub type NativeCall<'a> = &'a mut dyn FnMut(u64, [u64; 6]) -> Option<u64>;

/// Finds the `__except` that takes exception `code` raised at `rip` with
/// `registers`, walking the driver's frames in `image` (innermost first)
/// until a return address leaves it; runs filters and `__finally` blocks
/// through `call`.
///
/// # Safety
/// `registers[RSP]` is the stack pointer of the driver's faulting frame:
/// the driver's frames and their return addresses lie above it, readable.
/// The filters and `__finally` blocks may run (the driver is stopped at the
/// fault on this thread).
pub unsafe fn dispatch(image: &Mapped, rip: u64, registers: &Registers, code: u32, call: NativeCall) -> Dispatch {
    let mut regs = *registers;
    let mut pc = rip;
    let mut faulting = true;
    // (handler, establisher frame) of each __finally the unwind would run.
    let mut finally: Vec<(u64, u64)> = Vec::new();
    // EXCEPTION_RECORD (ExceptionCode, ExceptionFlags, ExceptionRecord,
    // ExceptionAddress, NumberParameters, ExceptionInformation[15]) and a
    // CONTEXT (1232 bytes; Rsp at 0x98, Rip at 0xF8), for filters.
    let mut record = [0u64; 19];
    record[0] = u64::from(code);
    record[2] = rip;
    let mut context = vec![0u64; 1232 / 8];
    context[0x98 / 8] = registers[RSP];
    context[0xF8 / 8] = rip;
    let pointers = [record.as_mut_ptr() as u64, context.as_mut_ptr() as u64];
    // A bounded walk: a corrupt stack cannot loop it.
    for _ in 0..256 {
        if !image.contains(pc as usize) {
            return Dispatch::Unhandled;
        }
        let rva = (pc as usize - image.base) as u32;
        let Some((begin, _, info)) = image.function_at(rva) else {
            // A leaf function: no unwind data, RSP at the return address.
            // SAFETY: the caller's contract (the driver's stack).
            pc = unsafe { read(regs[RSP]) };
            regs[RSP] += 8;
            faulting = false;
            continue;
        };
        let Some(unwind) = Unwind::read(image, info) else {
            return Dispatch::NotModelled(format!("malformed unwind data for {}", image.describe(pc as usize)));
        };
        let offset = rva - begin;
        let establisher = unwind.establisher(&regs, offset, faulting);
        for scope in unwind.scopes(image) {
            if !(scope.begin..scope.end).contains(&rva) {
                continue;
            }
            let handler = (image.base + scope.handler as usize) as u64;
            if scope.target == 0 {
                finally.push((handler, establisher));
                continue;
            }
            let verdict = if scope.handler == 1 {
                1
            } else {
                let Some(v) = call(handler, [pointers.as_ptr() as u64, establisher, 0, 0, 0, 0]) else {
                    return Dispatch::Stopped;
                };
                v as i32
            };
            if verdict < 0 {
                return Dispatch::NotModelled(format!(
                    "EXCEPTION_CONTINUE_EXECUTION from the filter {} of the __except at {} (docs/facts.md#f165)",
                    image.describe(handler as usize),
                    image.describe(pc as usize)
                ));
            }
            if verdict == 0 {
                continue;
            }
            for &(block, frame) in &finally {
                if call(block, [1, frame, 0, 0, 0, 0]).is_none() {
                    return Dispatch::Stopped;
                }
            }
            regs[0] = u64::from(code);
            return Dispatch::Handled { rip: (image.base + scope.target as usize) as u64, registers: regs };
        }
        // SAFETY: the caller's contract (the driver's stack).
        if let Err(what) = unsafe { unwind.apply(image, &mut regs, offset, faulting) } {
            return Dispatch::NotModelled(format!("{what} in the unwind data of {}", image.describe(pc as usize)));
        }
        // SAFETY: as above: the return address the frame's unwind reached.
        pc = unsafe { read(regs[RSP]) };
        regs[RSP] += 8;
        faulting = false;
    }
    Dispatch::NotModelled("a stack of more than 256 driver frames".into())
}

/// # Safety
/// `at` is readable (8 bytes).
unsafe fn read(at: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { (at as *const u64).read_unaligned() }
}

/// One entry of a C scope table.
struct Scope {
    begin: u32,
    end: u32,
    handler: u32,
    target: u32,
}

/// An UNWIND_INFO, read from the image as mapped.
struct Unwind {
    flags: u8,
    prolog: u32,
    frame_register: usize,
    frame_offset: u64,
    codes: Vec<u16>,
    /// Where what follows the codes lies: the handler RVA and its data, or
    /// the chained RUNTIME_FUNCTION.
    tail: u32,
}

const UNW_FLAG_EHANDLER: u8 = 1;
const UNW_FLAG_UHANDLER: u8 = 2;
const UNW_FLAG_CHAININFO: u8 = 4;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The 32-bit value at `rva` of the image as mapped.
fn image_u32(image: &Mapped, rva: u32) -> Option<u32> {
    u32_at(image.mapped_bytes(rva, 4)?, 0)
}

impl Unwind {
    fn read(image: &Mapped, rva: u32) -> Option<Unwind> {
        let head = image.mapped_bytes(rva, 4)?;
        let count = usize::from(head[2]);
        let codes_len = 2 * (count + (count & 1));
        let body = image.mapped_bytes(rva + 4, codes_len)?;
        let codes = (0..count).map(|i| u16::from_le_bytes([body[2 * i], body[2 * i + 1]])).collect();
        let tail = rva + 4 + codes_len as u32;
        Some(Unwind {
            flags: head[0] >> 3,
            prolog: u32::from(head[1]),
            frame_register: usize::from(head[3] & 0xF),
            frame_offset: u64::from(head[3] >> 4) * 16,
            codes,
            tail,
        })
    }

    /// The C scope table (`__C_specific_handler`'s) when the frame has a handler.
    fn scopes(&self, image: &Mapped) -> Vec<Scope> {
        if self.flags & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER) == 0 || self.flags & UNW_FLAG_CHAININFO != 0 {
            return Vec::new();
        }
        // The handler RVA, the count, then the entries.
        let Some(count) = image_u32(image, self.tail + 4) else { return Vec::new() };
        let Some(table) = image.mapped_bytes(self.tail + 8, 16 * count.min(4096) as usize) else {
            return Vec::new();
        };
        table
            .chunks_exact(16)
            .filter_map(|e| {
                Some(Scope { begin: u32_at(e, 0)?, end: u32_at(e, 4)?, handler: u32_at(e, 8)?, target: u32_at(e, 12)? })
            })
            .collect()
    }

    /// The frame's establisher frame (what its funclets are passed): the
    /// frame register less its offset when the function has one and has set
    /// it, else RSP.
    fn establisher(&self, regs: &Registers, offset: u32, faulting: bool) -> u64 {
        if self.frame_register != 0 && !(faulting && offset < self.prolog) {
            regs[self.frame_register].wrapping_sub(self.frame_offset)
        } else {
            regs[RSP]
        }
    }

    /// Undoes the frame's prolog in `regs` (RSP and the non-volatile
    /// registers), `offset` bytes into its function; `faulting`: the frame
    /// where the exception was raised (it may be inside its prolog).
    ///
    /// # Safety
    /// `regs[RSP]` is the frame's stack pointer, its saved registers readable.
    unsafe fn apply(&self, image: &Mapped, regs: &mut Registers, offset: u32, faulting: bool) -> Result<(), String> {
        let in_prolog = faulting && offset < self.prolog;
        let frame = self.establisher(regs, offset, faulting);
        let mut i = 0;
        while i < self.codes.len() {
            let slot = self.codes[i];
            let (at, op, info) = (u32::from(slot & 0xFF), (slot >> 8) & 0xF, usize::from(slot >> 12));
            let extra = |n: usize| self.codes.get(i + n).copied().map(u64::from).ok_or("a truncated unwind code");
            let skip = in_prolog && at > offset;
            let used = match op {
                0 => {
                    if !skip {
                        // SAFETY: the caller's contract: a pushed register.
                        regs[info] = unsafe { read(regs[RSP]) };
                        regs[RSP] += 8;
                    }
                    1
                }
                1 => {
                    let (size, used) = if info == 0 { (extra(1)? * 8, 2) } else { (extra(1)? | (extra(2)? << 16), 3) };
                    if !skip {
                        regs[RSP] += size;
                    }
                    used
                }
                2 => {
                    if !skip {
                        regs[RSP] += info as u64 * 8 + 8;
                    }
                    1
                }
                3 => {
                    if !skip {
                        regs[RSP] = regs[self.frame_register].wrapping_sub(self.frame_offset);
                    }
                    1
                }
                4 | 5 => {
                    let (off, used) = if op == 4 { (extra(1)? * 8, 2) } else { (extra(1)? | (extra(2)? << 16), 3) };
                    if !skip {
                        // SAFETY: the caller's contract: a saved register in the frame.
                        regs[info] = unsafe { read(frame + off) };
                    }
                    used
                }
                // UWOP_SAVE_XMM128(_FAR): XMM registers are not restored (module doc).
                8 => 2,
                9 => 3,
                _ => return Err(format!("unwind operation {op}")),
            };
            i += used;
        }
        if self.flags & UNW_FLAG_CHAININFO != 0 {
            let parent = image_u32(image, self.tail + 8).ok_or("a truncated chained RUNTIME_FUNCTION")?;
            let chained = Unwind::read(image, parent).ok_or("malformed chained unwind data")?;
            // SAFETY: the caller's contract, for the same frame.
            return unsafe { chained.apply(image, regs, offset, false) };
        }
        Ok(())
    }
}
