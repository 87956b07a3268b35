//! `DbgPrint` and `DbgPrintEx` for a native image (F81): win64 C-variadic.
//! The caller always reserves 32 bytes of home space above its return
//! address, and passes every variadic argument — a `double` too — in the
//! integer registers RCX, RDX, R8, R9, then in 8-byte stack slots: the entry
//! point spills the four registers into the home space, and the arguments
//! are one array of slots from there (as Windows' `va_list`, a pointer
//! walking 8-byte slots; Microsoft's x64 calling convention, "Varargs").

use crate::surface::dbgprint::{ArgumentSlots, DriverArguments, print};
use core::ffi::c_char;

/// The driver's variadic arguments, one 8-byte slot each.
///
/// # Invariants
/// `next` points into the argument slots of a DbgPrint call still running,
/// and is read only where the driver passed an argument (the printf
/// contract).
struct Slots {
    next: *const u64,
}

impl ArgumentSlots for Slots {
    fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    fn u64(&mut self) -> u64 {
        // SAFETY: a slot the driver passed (the type's invariant).
        let v = unsafe { self.next.read_unaligned() };
        // SAFETY: the next slot, or one past the last (not read then).
        self.next = unsafe { self.next.add(1) };
        v
    }
    fn f64(&mut self) -> f64 {
        // A double is passed in the integer slot too.
        f64::from_bits(self.u64())
    }
}

/// `DbgPrint(Format, ...)` / `DbgPrintEx(ComponentId, Level, Format, ...)`:
/// `slots` are the spilled arguments, `caller` the driver's return address.
extern "win64" fn dbg_print(slots: *const u64, caller: usize, ex: u64) -> u32 {
    super::record_caller(caller);
    super::served(|| {
        let mut args = Slots { next: slots };
        let (component, level) = if ex == 1 { (args.u32(), args.u32()) } else { (0, 0) };
        let format = args.u64() as *const c_char;
        // SAFETY: the driver's format and arguments (DbgPrint's contract).
        unsafe { print(ex == 1, component, level, format, &mut DriverArguments(args)) }
    })
}

/// Spills the register arguments into the home space and calls
/// [`dbg_print`] with (slots, return address, `$ex`) in a frame of its own.
macro_rules! variadic_entry {
    ($name:ident, $ex:literal) => {
        #[unsafe(naked)]
        unsafe extern "win64" fn $name() {
            core::arch::naked_asm!(
                "mov [rsp + 8], rcx",
                "mov [rsp + 16], rdx",
                "mov [rsp + 24], r8",
                "mov [rsp + 32], r9",
                "lea rcx, [rsp + 8]",
                "mov rdx, [rsp]",
                concat!("mov r8, ", $ex),
                // The body's own home space (its callee may use ours), and
                // a 16-byte aligned stack at its call.
                "sub rsp, 40",
                "call {body}",
                "add rsp, 40",
                "ret",
                body = sym dbg_print,
            )
        }
    };
}

variadic_entry!(dbg_print_entry, 0);
variadic_entry!(dbg_print_ex_entry, 1);

/// The entry point serving the variadic kernel routine `name`, if it is one.
pub(super) fn variadic(name: &str) -> Option<usize> {
    match name {
        "DbgPrint" => Some(dbg_print_entry as unsafe extern "win64" fn() as usize),
        "DbgPrintEx" => Some(dbg_print_ex_entry as unsafe extern "win64" fn() as usize),
        _ => None,
    }
}
