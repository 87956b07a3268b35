//! Traps for what a native driver's kernel-mode code does that a Linux
//! process may not: the host delivers a signal, the handler here decodes the
//! driver's instruction and either emulates it (the machine's rules are
//! `model::native::cpu`'s) and resumes the driver after it, or stops the
//! machine and leaves the driver's frames (as a stop in a routine does).
//!
//! * `mov rN, cr8` / `mov cr8, rN` (`KeGetCurrentIrql`, `KeRaiseIrql`,
//!   `KeLowerIrql` inlined, F161): the machine's IRQL.
//! * A load from KUSER_SHARED_DATA (`KeQueryTickCount`,
//!   `KeQueryInterruptTime`, `KeQuerySystemTime` inlined, F163): the page
//!   is in the kernel's half, so a user process's load faults; `mov r, [m]`
//!   (8B), `movzx r, byte/word [m]` (0F B6/B7) and `mov rax, [moffs64]` (A1)
//!   are emulated, any other form stops naming its bytes.
//! * `int 0x29` (`__fastfail`, F164) stops the machine; every other
//!   exception in driver code — a fault, `ud2`, `int3` — goes to the
//!   driver's `__except` if one takes it, else stops the machine (F165).
//!
//! A fault outside the driver's code, or on a special-pool page, goes to the
//! handler installed before this one (special pool's, or the default action).
//! `gs` points at the machine's processor control region (F162) while a
//! native image is bound on the thread: `arch_prctl(ARCH_SET_GS)`; the host's
//! own code does not use `gs` on x86_64 Linux (its thread pointer is `fs`).

use crate::model::kernel::special_pool;
use crate::model::native::cpu::{self, Exception, USER_SHARED_DATA};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The signals trapped: faults (#GP for CR8, `int 0x29`, non-canonical
/// addresses; page faults), `ud2`, `int3`.
const SIGNALS: [libc::c_int; 3] = [libc::SIGSEGV, libc::SIGILL, libc::SIGTRAP];

/// The handlers installed before this one, by [`SIGNALS`] index: where a
/// signal that is not the driver's goes (`sigaction` values as addresses of
/// leaked boxes; 0 before installation).
static PREVIOUS: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

/// Installs the trap handler (once per process), after special pool's.
pub(super) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        special_pool::install_handler();
        for (i, &signal) in SIGNALS.iter().enumerate() {
            // SAFETY: a zeroed sigaction is a valid starting value.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_signal as *const () as usize;
            // SA_NODEFER: a driver's exception filter or __finally block,
            // run from the handler, may trap in turn.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            let previous = Box::into_raw(Box::new(
                // SAFETY: as above.
                unsafe { std::mem::zeroed::<libc::sigaction>() },
            ));
            // SAFETY: installs this module's handler; the previous one is
            // written to a block leaked for the process's life.
            if unsafe { libc::sigaction(signal, &action, previous) } == 0 {
                PREVIOUS[i].store(previous as usize, Ordering::SeqCst);
            }
        }
    });
}

/// `arch_prctl`'s request to set the `gs` base.
const ARCH_SET_GS: libc::c_int = 0x1001;

/// Points this thread's `gs` at `kpcr` (0: back to none).
pub(super) fn set_gs(kpcr: u64) -> std::io::Result<()> {
    // SAFETY: sets this thread's gs base; nothing of the host uses gs.
    let r = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, kpcr) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Host register indices (`gregs`) by x86 register number (RAX, RCX, RDX,
/// RBX, RSP, RBP, RSI, RDI, R8…R15).
const GREG: [libc::c_int; 16] = [
    libc::REG_RAX,
    libc::REG_RCX,
    libc::REG_RDX,
    libc::REG_RBX,
    libc::REG_RSP,
    libc::REG_RBP,
    libc::REG_RSI,
    libc::REG_RDI,
    libc::REG_R8,
    libc::REG_R9,
    libc::REG_R10,
    libc::REG_R11,
    libc::REG_R12,
    libc::REG_R13,
    libc::REG_R14,
    libc::REG_R15,
];

/// The driver's registers at the trap.
struct Registers<'a>(&'a mut [libc::greg_t; 23]);

impl Registers<'_> {
    fn get(&self, n: usize) -> u64 {
        self.0[GREG[n] as usize] as u64
    }
    fn set(&mut self, n: usize, v: u64) {
        self.0[GREG[n] as usize] = v as libc::greg_t;
    }
    fn rip(&self) -> usize {
        self.0[libc::REG_RIP as usize] as usize
    }
    fn set_rip(&mut self, v: usize) {
        self.0[libc::REG_RIP as usize] = v as libc::greg_t;
    }
}

/// What the trap does with the driver's instruction.
enum Outcome {
    /// Emulated: the registers are updated, the driver resumes.
    Resumed,
    /// The machine stopped: the driver's frames are left.
    Stopped,
    /// Not the driver's: the previous handler decides.
    NotOurs,
}

extern "C" fn on_signal(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: for an SA_SIGINFO handler the third argument is the
    // interrupted thread's ucontext_t, writable (sigreturn restores it).
    let uc = unsafe { &mut *context.cast::<libc::ucontext_t>() };
    let error = uc.uc_mcontext.gregs[libc::REG_ERR as usize];
    let mut regs = Registers(&mut uc.uc_mcontext.gregs);
    // SAFETY: the kernel passes a valid siginfo_t.
    let info_ref = unsafe { &*info };
    let outcome = match signal {
        libc::SIGSEGV => {
            // SAFETY: for SIGSEGV the siginfo carries the faulting address.
            let address = unsafe { info_ref.si_addr() } as usize;
            segv(&mut regs, info_ref.si_code, address, error & 2 != 0)
        }
        libc::SIGILL if cpu::in_image(regs.rip()) => {
            let at = regs.rip();
            raise(&mut regs, Exception::IllegalInstruction, at)
        }
        // int3 leaves RIP after it.
        libc::SIGTRAP if cpu::in_image(regs.rip().wrapping_sub(1)) => {
            let at = regs.rip() - 1;
            raise(&mut regs, Exception::Breakpoint, at)
        }
        _ => Outcome::NotOurs,
    };
    match outcome {
        Outcome::Resumed => {}
        Outcome::Stopped => match super::innermost_call() {
            // Resume in the abandon path instead of the driver: back to where
            // the simulator called the driver's code.
            Some(call) => {
                regs.0[libc::REG_RDI as usize] = call as libc::greg_t;
                regs.set_rip(super::abandon_address());
            }
            None => chain(signal, info, context),
        },
        Outcome::NotOurs => chain(signal, info, context),
    }
}

/// An exception in the driver's code at `at`: resumed in the driver's
/// `__except` block (its filters and `__finally` blocks run from here), or
/// the machine stopped.
fn raise(regs: &mut Registers, exception: Exception, at: usize) -> Outcome {
    let mut all = [0u64; 16];
    for (n, r) in all.iter_mut().enumerate() {
        *r = regs.get(n);
    }
    // The driver's filters and __finally blocks run from here (a fault in
    // one traps again: SA_NODEFER).
    let mut call = |f: u64, args: [u64; 6]| {
        // SAFETY: `f` is a filter or termination handler of the image, with
        // the arguments its scope table's contract gives it.
        unsafe { super::call_native(f as usize, args) }
    };
    // SAFETY: the driver's registers at the fault, its stack above RSP.
    match unsafe { cpu::exception(exception, at, &all, &mut call) } {
        Some((rip, resumed)) => {
            for (n, &r) in resumed.iter().enumerate() {
                regs.set(n, r);
            }
            regs.set_rip(rip as usize);
            Outcome::Resumed
        }
        None => Outcome::Stopped,
    }
}

/// The SIGSEGV cases: a general-protection fault (no address: a privileged
/// instruction or a non-canonical address) or a page fault.
fn segv(regs: &mut Registers, code: libc::c_int, address: usize, write: bool) -> Outcome {
    let rip = regs.rip();
    if !cpu::in_image(rip) {
        return Outcome::NotOurs;
    }
    const SI_KERNEL: libc::c_int = 0x80;
    // KUSER_SHARED_DATA's page is the kernel half's: a user process's load
    // from it is a page fault with the address.
    let shared = (address as u64).wrapping_sub(USER_SHARED_DATA) < 0x1000;
    if code != SI_KERNEL && !shared {
        if special_pool::holds(address) {
            return Outcome::NotOurs;
        }
        return raise(regs, Exception::AccessViolation { address: address as u64, write }, rip);
    }
    let bytes = cpu::code_at(rip, 16);
    match decode(&bytes) {
        Some(Instruction::ReadCr8 { reg, len }) => {
            regs.set(reg, cpu::read_irql());
            regs.set_rip(rip + len);
            Outcome::Resumed
        }
        Some(Instruction::WriteCr8 { reg, len }) => {
            cpu::write_irql(regs.get(reg));
            regs.set_rip(rip + len);
            Outcome::Resumed
        }
        Some(Instruction::FastFail) => {
            cpu::fast_fail(regs.get(1), rip);
            Outcome::Stopped
        }
        Some(Instruction::Load { dest, size, zero_extend_to_64, address: operand, len }) => {
            let Some(at) = operand.effective(regs) else {
                cpu::unemulated(rip, &bytes, "a general-protection fault on a load the machine cannot place");
                return Outcome::Stopped;
            };
            let offset = at.wrapping_sub(USER_SHARED_DATA);
            if offset >= 0x1000 {
                cpu::unemulated(rip, &bytes, &format!("a load from {at:#x}, which the host refuses a user process"));
                return Outcome::Stopped;
            }
            let Some(value) = cpu::read_user_shared_data(offset, size) else {
                cpu::unemulated(
                    rip,
                    &bytes,
                    &format!("a read of KUSER_SHARED_DATA+{offset:#x}, a field the machine does not model"),
                );
                return Outcome::Stopped;
            };
            // A 32-bit destination zero-extends; 8/16-bit movzx likewise; a
            // 16-bit mov keeps the upper bits.
            let merged = if size == 2 && !zero_extend_to_64 { (regs.get(dest) & !0xFFFF) | value } else { value };
            regs.set(dest, merged);
            regs.set_rip(rip + len);
            Outcome::Resumed
        }
        None => {
            cpu::unemulated(rip, &bytes, "a general-protection fault the machine does not emulate");
            Outcome::Stopped
        }
    }
}

/// Hands the signal to the handler installed before this one.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let i = SIGNALS.iter().position(|&s| s == signal).unwrap_or(0);
    let previous = PREVIOUS[i].load(Ordering::SeqCst) as *const libc::sigaction;
    // SAFETY: a block leaked by `install`, never freed; null before it ran.
    let handler = if previous.is_null() { libc::SIG_DFL } else { unsafe { (*previous).sa_sigaction } };
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // The default action, once this handler returns (the signal is
        // blocked until then): a fault would recur anyway, a trap (`int3`,
        // RIP past it) would not.
        // SAFETY: signal(2) is async-signal-safe.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
        // SAFETY: raise(3) is async-signal-safe.
        unsafe { libc::raise(signal) };
        return;
    }
    // SAFETY: the previous handler was installed with SA_SIGINFO (special
    // pool's) or as a plain handler, which ignores the extra arguments.
    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
        unsafe { std::mem::transmute(handler) };
    f(signal, info, context);
}

/// A memory operand: `[base + index*scale + disp]` or an absolute address.
#[derive(Debug, PartialEq, Eq)]
enum Operand {
    Based { base: Option<usize>, index: Option<(usize, u64)>, disp: i64 },
    Absolute(u64),
}

impl Operand {
    fn effective(&self, regs: &Registers) -> Option<u64> {
        match *self {
            Operand::Absolute(a) => Some(a),
            Operand::Based { base, index, disp } => {
                let b = base.map_or(0, |r| regs.get(r));
                let i = index.map_or(0, |(r, scale)| regs.get(r).wrapping_mul(scale));
                Some(b.wrapping_add(i).wrapping_add(disp as u64))
            }
        }
    }
}

/// The instructions the trap emulates.
#[derive(Debug, PartialEq, Eq)]
enum Instruction {
    ReadCr8 { reg: usize, len: usize },
    WriteCr8 { reg: usize, len: usize },
    FastFail,
    Load { dest: usize, size: usize, zero_extend_to_64: bool, address: Operand, len: usize },
}

/// Decodes the forms above (Intel SDM vol. 2: MOV to/from control
/// registers, MOV, MOVZX, INT n; the REX prefix and ModRM/SIB addressing).
fn decode(code: &[u8]) -> Option<Instruction> {
    let mut at = 0;
    let mut operand16 = false;
    if code.first() == Some(&0x66) {
        operand16 = true;
        at += 1;
    }
    let rex = match code.get(at) {
        Some(&b) if (0x40..=0x4F).contains(&b) => {
            at += 1;
            b
        }
        _ => 0,
    };
    let (w, r, x, b) =
        (rex & 8 != 0, usize::from(rex & 4 != 0) << 3, usize::from(rex & 2 != 0) << 3, usize::from(rex & 1 != 0) << 3);
    match (code.get(at)?, code.get(at + 1)) {
        (0xCD, Some(0x29)) if at == 0 => Some(Instruction::FastFail),
        (0x0F, Some(&op)) if op == 0x20 || op == 0x22 => {
            let modrm = *code.get(at + 2)?;
            let cr = r | usize::from((modrm >> 3) & 7);
            let reg = b | usize::from(modrm & 7);
            (modrm >> 6 == 3 && cr == 8).then_some(if op == 0x20 {
                Instruction::ReadCr8 { reg, len: at + 3 }
            } else {
                Instruction::WriteCr8 { reg, len: at + 3 }
            })
        }
        (0xA1, _) => {
            let imm = code.get(at + 1..at + 9)?;
            let address = u64::from_le_bytes(imm.try_into().ok()?);
            let size = if w {
                8
            } else if operand16 {
                2
            } else {
                4
            };
            Some(Instruction::Load {
                dest: 0,
                size,
                zero_extend_to_64: size != 2,
                address: Operand::Absolute(address),
                len: at + 9,
            })
        }
        (0x8B, _) => {
            let size = if w {
                8
            } else if operand16 {
                2
            } else {
                4
            };
            let (dest, address, len) = modrm_memory(code, at + 1, r, x, b)?;
            Some(Instruction::Load { dest, size, zero_extend_to_64: size != 2, address, len })
        }
        (0x0F, Some(&op)) if op == 0xB6 || op == 0xB7 => {
            let size = if op == 0xB6 { 1 } else { 2 };
            let (dest, address, len) = modrm_memory(code, at + 2, r, x, b)?;
            Some(Instruction::Load { dest, size, zero_extend_to_64: !operand16, address, len })
        }
        _ => None,
    }
}

/// A ModRM (and SIB, displacement) memory operand at `code[at]`: the reg
/// field's register, the operand, and the instruction's whole length.
fn modrm_memory(code: &[u8], at: usize, r: usize, x: usize, b: usize) -> Option<(usize, Operand, usize)> {
    let modrm = *code.get(at)?;
    let (md, reg, rm) = (modrm >> 6, r | usize::from((modrm >> 3) & 7), modrm & 7);
    if md == 3 || (md == 0 && rm == 5) {
        // A register, or RIP-relative: never KUSER_SHARED_DATA or a kernel address.
        return None;
    }
    let mut next = at + 1;
    let (base, index) = if rm == 4 {
        let sib = *code.get(next)?;
        next += 1;
        let idx = x | usize::from((sib >> 3) & 7);
        let index = (idx != 4).then(|| (idx, 1u64 << (sib >> 6)));
        let base = if md == 0 && sib & 7 == 5 { None } else { Some(b | usize::from(sib & 7)) };
        (base, index)
    } else {
        (Some(b | usize::from(rm)), None)
    };
    let disp_len = match (md, base) {
        (1, _) => 1,
        (2, _) | (0, None) => 4,
        _ => 0,
    };
    let d = code.get(next..next + disp_len)?;
    let disp = match disp_len {
        1 => i64::from(d[0] as i8),
        4 => i64::from(i32::from_le_bytes(d.try_into().ok()?)),
        _ => 0,
    };
    Some((reg, Operand::Based { base, index, disp }, next + disp_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_forms_the_wdk_inlines_compile_to() {
        // mov rax, cr8 / mov cr8, rcx / mov r9, cr8
        assert_eq!(decode(&[0x44, 0x0F, 0x20, 0xC0]), Some(Instruction::ReadCr8 { reg: 0, len: 4 }));
        assert_eq!(decode(&[0x44, 0x0F, 0x22, 0xC1]), Some(Instruction::WriteCr8 { reg: 1, len: 4 }));
        assert_eq!(decode(&[0x45, 0x0F, 0x20, 0xC1]), Some(Instruction::ReadCr8 { reg: 9, len: 4 }));
        // mov rax, cr0 is not CR8.
        assert_eq!(decode(&[0x0F, 0x20, 0xC0]), None);
        assert_eq!(decode(&[0xCD, 0x29]), Some(Instruction::FastFail));
        // movabs rax, [0xfffff78000000320]
        let mut movabs = vec![0x48, 0xA1];
        movabs.extend_from_slice(&0xFFFF_F780_0000_0320u64.to_le_bytes());
        assert_eq!(
            decode(&movabs),
            Some(Instruction::Load {
                dest: 0,
                size: 8,
                zero_extend_to_64: true,
                address: Operand::Absolute(0xFFFF_F780_0000_0320),
                len: 10
            })
        );
        // mov rcx, [rax] ; mov eax, [rcx+0x26c] ; mov r8, [rsp+rdx*8+0x10]
        assert_eq!(
            decode(&[0x48, 0x8B, 0x08]),
            Some(Instruction::Load {
                dest: 1,
                size: 8,
                zero_extend_to_64: true,
                address: Operand::Based { base: Some(0), index: None, disp: 0 },
                len: 3
            })
        );
        assert_eq!(
            decode(&[0x8B, 0x81, 0x6C, 0x02, 0, 0]),
            Some(Instruction::Load {
                dest: 0,
                size: 4,
                zero_extend_to_64: true,
                address: Operand::Based { base: Some(1), index: None, disp: 0x26C },
                len: 6
            })
        );
        assert_eq!(
            decode(&[0x4C, 0x8B, 0x44, 0xD4, 0x10]),
            Some(Instruction::Load {
                dest: 8,
                size: 8,
                zero_extend_to_64: true,
                address: Operand::Based { base: Some(4), index: Some((2, 8)), disp: 0x10 },
                len: 5
            })
        );
        // movzx eax, byte ptr [rcx-1]
        assert_eq!(
            decode(&[0x0F, 0xB6, 0x41, 0xFF]),
            Some(Instruction::Load {
                dest: 0,
                size: 1,
                zero_extend_to_64: true,
                address: Operand::Based { base: Some(1), index: None, disp: -1 },
                len: 4
            })
        );
        // A store or a RIP-relative load is not emulated; truncated bytes decode to nothing.
        assert_eq!(decode(&[0x48, 0x89, 0x08]), None);
        assert_eq!(decode(&[0x48, 0x8B, 0x05, 0, 0, 0, 0]), None);
        assert_eq!(decode(&[0x48, 0x8B]), None);
    }
}
