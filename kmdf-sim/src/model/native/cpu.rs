//! The processor as a native driver's kernel-mode code sees it (x64): what
//! its privileged instructions and fixed addresses mean to the machine.
//! The surface traps each one the host refuses a user process and asks here.
//!
//! * CR8 is the IRQL (F161): a read is the machine's IRQL, a write sets it.
//! * `gs:` is the processor control region (F162): a KPCR whose `Self`,
//!   `CurrentPrcb` and current thread the inlined routines read.
//! * KUSER_SHARED_DATA (F163) at 0xFFFFF78000000000: the fields the WDK's
//!   inlined routines read, from the machine's clock; any other field stops
//!   the machine naming its offset.
//! * `__fastfail` (`int 0x29`, F164): bug check 0x139 with its code — the
//!   kit's `/GS` check fails through it.
//! * An exception the driver's code raises (F165): the `__except` of the
//!   driver's frames that takes it (filters asked, `__finally` blocks run),
//!   else bug check 0x1E.

use super::IMAGES;
use super::seh::{self, Dispatch, Registers};
use crate::model::{Stop, with_state};
use std::borrow::Cow;

/// The IRQL the driver's code reads from CR8.
pub(crate) fn read_irql() -> u64 {
    with_state(|s| u64::from(s.kernel.irql)).unwrap_or(0)
}

/// The driver's code wrote CR8: the IRQL is now `value` (F161; bits 3:0,
/// the task-priority class).
pub(crate) fn write_irql(value: u64) {
    with_state(|s| s.kernel.irql = (value & 0xF) as u8);
}

/// Where KUSER_SHARED_DATA lies in every process and in the kernel (F163).
pub const USER_SHARED_DATA: u64 = 0xFFFF_F780_0000_0000;

/// The clock rate the machine's KUSER_SHARED_DATA states: one tick per
/// 15.625 ms (156,250 units of 100 ns). ASSUMPTION: the default timer
/// resolution of an x64 machine (KeQueryTimeIncrement's usual value).
const TIME_INCREMENT: u64 = 156_250;

/// The system time at the machine's boot (100-ns units since 1601-01-01):
/// 2026-01-01 00:00 UTC. ASSUMPTION: any fixed date; the machine has no
/// wall clock.
const BOOT_SYSTEM_TIME: u64 = 134_116_992_000_000_000;

/// A read of `size` bytes at `offset` in KUSER_SHARED_DATA (F163): the
/// value, or `None` when the machine does not model that field.
pub(crate) fn read_user_shared_data(offset: u64, size: usize) -> Option<u64> {
    let clock = with_state(|s| s.kernel.clock).unwrap_or(0);
    let ticks = clock / TIME_INCREMENT;
    // (offset, bytes): KSYSTEM_TIME is LowPart, High1Time, High2Time.
    let field = |value: u64| {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&value.to_le_bytes());
        b[8..].copy_from_slice(&((value >> 32) as u32).to_le_bytes());
        b
    };
    let fields: [(u64, Vec<u8>); 6] = [
        // TickCountMultiplier: (TimeIncrement << 24) / 10,000.
        (0x004, (((TIME_INCREMENT << 24) / 10_000) as u32).to_le_bytes().to_vec()),
        (0x008, field(clock).to_vec()),                    // InterruptTime
        (0x014, field(BOOT_SYSTEM_TIME + clock).to_vec()), // SystemTime
        (0x26C, 10u32.to_le_bytes().to_vec()),             // NtMajorVersion
        (0x270, 0u32.to_le_bytes().to_vec()),              // NtMinorVersion
        (0x320, field(ticks).to_vec()),                    // TickCount
    ];
    let (start, bytes) =
        fields.iter().find(|(start, b)| offset >= *start && offset + size as u64 <= start + b.len() as u64)?;
    let at = (offset - start) as usize;
    let mut value = [0u8; 8];
    value[..size].copy_from_slice(&bytes[at..at + size]);
    Some(u64::from_le_bytes(value))
}

/// The processor control region `gs:` points at while a native image is
/// bound (F162): 4 KiB, with `Self` (+0x18), `CurrentPrcb` (+0x20, the
/// embedded KPRCB at +0x180), the current thread (KPRCB+0x8, `gs:[0x188]`)
/// and the processor number (KPRCB+0x24, `gs:[0x1A4]`, 0: the machine has
/// one processor). The thread object is opaque to drivers: 4 KiB of zeros.
///
/// # Invariants
/// `kpcr` and `thread` are heap blocks this value owns; the KPCR's pointers
/// name them.
pub struct ProcessorBlock {
    kpcr: Box<[u64; 512]>,
    #[allow(dead_code, reason = "named by the KPCR; kept alive with it")]
    thread: Box<[u64; 512]>,
}

impl ProcessorBlock {
    pub fn new() -> ProcessorBlock {
        let mut kpcr = Box::new([0u64; 512]);
        let thread = Box::new([0u64; 512]);
        let base = kpcr.as_ptr() as u64;
        kpcr[0x18 / 8] = base;
        kpcr[0x20 / 8] = base + 0x180;
        kpcr[0x188 / 8] = thread.as_ptr() as u64;
        ProcessorBlock { kpcr, thread }
    }

    /// The KPCR's address (the `gs` base).
    pub fn address(&self) -> u64 {
        self.kpcr.as_ptr() as u64
    }
}

impl Default for ProcessorBlock {
    fn default() -> Self {
        Self::new()
    }
}

/// `__fastfail(code)` ran at `address` (F164): bug check 0x139
/// KERNEL_SECURITY_CHECK_FAILURE {code, 0, 0, 0}.
pub(crate) fn fast_fail(code: u64, address: usize) {
    let site = super::describe(address);
    let note = match code {
        2 => "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE: a stack buffer overran its /GS cookie".to_string(),
        _ => format!("the __fastfail code ({code})"),
    };
    stop_at(
        site,
        (0x139, [code, 0, 0, 0], "KERNEL_SECURITY_CHECK_FAILURE", [note, String::new(), String::new(), String::new()]),
        format!("__fastfail({code}) in driver code (docs/facts.md#f164)"),
    );
}

/// What an exception in driver code was.
pub(crate) enum Exception {
    /// An access to `address` that faulted (`write`: a write).
    AccessViolation { address: u64, write: bool },
    /// An instruction the processor does not know (`ud2`).
    IllegalInstruction,
    /// `int3` (`DbgBreakPoint`, `__debugbreak`) with no kernel debugger.
    Breakpoint,
}

/// An exception in the driver's code at `address` (F165), `registers` the
/// driver's at the fault. The driver's structured exception handlers are
/// dispatched first ([`seh`](super::seh)): when an `__except` takes it, the
/// registers to resume with and the address of its block; otherwise bug
/// check 0x1E KMODE_EXCEPTION_NOT_HANDLED {code, address, parameter 0,
/// parameter 1}, or — where the machine cannot follow the driver — a
/// not-modelled stop naming it. `call` runs the driver's filters and
/// `__finally` blocks.
///
/// # Safety
/// `registers` are the driver's at the fault (its RSP the faulting frame's,
/// the driver's frames readable above it).
pub(crate) unsafe fn exception(
    exception: Exception,
    address: usize,
    registers: &Registers,
    call: seh::NativeCall,
) -> Option<(u64, Registers)> {
    let (code, p0, p1, what) = match exception {
        Exception::AccessViolation { address, write } => (
            0xC000_0005u32,
            u64::from(write),
            address,
            format!("an access violation ({} of {address:#x})", if write { "write" } else { "read" }),
        ),
        Exception::IllegalInstruction => (0xC000_001D, 0, 0, "an illegal instruction".to_string()),
        Exception::Breakpoint => (0x8000_0003, 0, 0, "a breakpoint (int3) with no kernel debugger".to_string()),
    };
    // The image, held while the driver's handlers run (they may not unmap it).
    let image = IMAGES.with(|l| l.borrow().iter().find(|m| m.contains(address)).cloned());
    let dispatched = image.map(|m| {
        // SAFETY: the caller's contract.
        unsafe { seh::dispatch(&m, address as u64, registers, code, call) }
    });
    let site = super::describe(address);
    match dispatched {
        Some(Dispatch::Handled { rip, registers }) => return Some((rip, registers)),
        Some(Dispatch::NotModelled(handler)) => {
            let location = site.map_or_else(|| format!("{address:#x}"), |(_, s)| s);
            with_state(|s| s.record_stop(Stop::NotModelled { what: format!("{what}; {handler}"), location }));
            return None;
        }
        Some(Dispatch::Stopped) => return None,
        Some(Dispatch::Unhandled) | None => {}
    }
    stop_at(
        site,
        (
            0x1E,
            [u64::from(code), address as u64, p0, p1],
            "KMODE_EXCEPTION_NOT_HANDLED",
            [
                format!("the exception code ({what})"),
                "the address of the faulting instruction".into(),
                String::new(),
                String::new(),
            ],
        ),
        format!("{what} in driver code, no handler (docs/facts.md#f165)"),
    );
    None
}

/// Raises `check` with the driver's faulting instruction as the innermost frame.
fn stop_at(site: Option<(String, String)>, check: (u32, [u64; 4], &'static str, [String; 4]), root_cause: String) {
    with_state(|s| {
        let pushed = site.map(|(image, symbol)| s.push_frame(Cow::Owned(image), Cow::Owned(symbol))).is_some();
        s.bug_check(check, None, Some(root_cause));
        if pushed {
            s.pop_frame();
        }
    });
}

/// Whether `address` lies in a natively loaded image on this thread (the
/// trap handler's first question; `false` when the thread is exiting).
pub(crate) fn in_image(address: usize) -> bool {
    IMAGES.try_with(|l| l.try_borrow().is_ok_and(|l| l.iter().any(|m| m.contains(address)))).unwrap_or(false)
}

/// Up to `len` bytes of the image's code at `address` (empty outside every image).
pub(crate) fn code_at(address: usize, len: usize) -> Vec<u8> {
    IMAGES
        .with(|l| l.borrow().iter().find(|m| m.contains(address)).map(|m| m.code_at(address, len).to_vec()))
        .unwrap_or_default()
}

/// Stops the machine: the driver's instruction at `address` is one the
/// machine does not emulate.
pub(crate) fn unemulated(address: usize, bytes: &[u8], why: &str) {
    let location = super::describe(address).map_or_else(|| format!("{address:#x}"), |(_, s)| s);
    let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    with_state(|s| {
        s.record_stop(Stop::NotModelled {
            what: format!("the instruction {} ({why}), which a user-mode host cannot run", hex.join(" ")),
            location,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_shared_data_answers_its_modelled_fields_only() {
        // No machine on this thread: the clock reads 0.
        assert_eq!(read_user_shared_data(0x26C, 4), Some(10), "NtMajorVersion");
        assert_eq!(read_user_shared_data(0x270, 4), Some(0), "NtMinorVersion");
        assert_eq!(read_user_shared_data(0x004, 4), Some(0x0FA0_0000), "TickCountMultiplier for 15.625 ms");
        assert_eq!(read_user_shared_data(0x320, 8), Some(0), "TickCount");
        assert_eq!(read_user_shared_data(0x014, 8), Some(BOOT_SYSTEM_TIME), "SystemTime at boot");
        assert_eq!(read_user_shared_data(0x018, 4), Some(BOOT_SYSTEM_TIME >> 32), "SystemTime.High1Time");
        assert_eq!(read_user_shared_data(0x01C, 4), Some(BOOT_SYSTEM_TIME >> 32), "SystemTime.High2Time");
        assert_eq!(read_user_shared_data(0x26E, 1), Some(0), "a byte inside a field");
        // Across two fields, or a field the machine does not model.
        assert_eq!(read_user_shared_data(0x26C, 8), None);
        assert_eq!(read_user_shared_data(0x2D4, 4), None, "KdDebuggerEnabled is not modelled");
    }

    #[test]
    fn the_processor_block_names_itself_its_prcb_and_a_thread() {
        let p = ProcessorBlock::new();
        let at = |offset: usize| p.kpcr[offset / 8];
        assert_eq!(at(0x18), p.address(), "Self");
        assert_eq!(at(0x20), p.address() + 0x180, "CurrentPrcb");
        assert_ne!(at(0x188), 0, "CurrentThread");
        assert_eq!(p.kpcr[0x1A0 / 8] >> 32, 0, "processor number 0 at +0x1A4");
    }
}
