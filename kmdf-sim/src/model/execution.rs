//! Where driver code runs, and how a stop halts it.
//!
//! A bug check never returns (F110): after it no code of the driver runs —
//! not the rest of the routine that called the failing DDI, not the callback
//! that called that routine, not the destructors of their locals (a panic
//! in a test build is the one exception, below). The machine gets the same
//! by running driver code on a stack of its own. The simulator's own frames
//! between nested callbacks are halted with them: what they hold across a
//! call into driver code is never dropped (a leak LeakSanitizer reports), so
//! the callback paths hold no owned values across it.
//!
//! * **Every entry into driver code** — DriverEntry, each callback, the
//!   `DriverUnload` routine, a closure given to `Machine::run` — goes through
//!   [`run_driver`]. The outermost one starts a stackful coroutine
//!   (`corosensei`) on a driver stack taken from a per-thread pool, and runs
//!   the entry point there; entries nested inside it (a cleanup callback run
//!   by the `WdfObjectDelete` a callback called, a work item, a completion)
//!   run on the same coroutine, so one suspension leaves all of them.
//!   The normal path makes no system call: a stack is mapped once per thread
//!   and reused, and starting, entering and leaving the coroutine are a few
//!   dozen instructions.
//! * **A stop inside a routine** — `enter` sees the machine stopped when the
//!   routine's body returns, or refuses a call because it had stopped — calls
//!   [`halt`]: the coroutine suspends and is never resumed. The entry point
//!   returns `None` to the machine, which returns the stop to the test. The
//!   coroutine is forgotten, not dropped: dropping it would unwind the
//!   driver's frames and run their destructors, which is driver code after
//!   the stop. Its stack is leaked with the frames on it (one driver stack,
//!   2 MiB reserved, per stop), so pointers the model kept into it stay
//!   valid.
//! * **A fault in driver code** — a Rust null dereference, a wild pointer, a
//!   special-pool page (F51), the driver stack's guard page — arrives as
//!   SIGSEGV or SIGBUS on the driver stack. The handler records nothing
//!   itself (it only reads the fault's address and registers); it points the
//!   interrupted coroutine at a function that records the bug check Windows
//!   raises for that fault (F111) and then returns from the coroutine
//!   (corosensei's trap handler: the stack is reset, the driver's frames are
//!   discarded without unwinding). A fault anywhere else keeps its old
//!   outcome (special pool's report and exit, or the host's default).
//! * **A panic in driver code** is wdk-panic's bug check (F112): on Windows
//!   the panic handler calls `KeBugCheckEx` and nothing unwinds. The panic
//!   hook records the stop before any unwinding, then returns: std holds its
//!   hook lock while a hook runs, so a hook that never returned would leave
//!   the process's next `take_hook` (libtest calls one as it exits) waiting
//!   forever. In a driver callback the panic then unwinds to the callback's
//!   `extern "C"` frame — running the destructors of the driver's locals in
//!   between, as a test build (`panic = "unwind"`) does and a Windows build
//!   (`panic = "abort"`) does not; a routine they call is refused and halts
//!   them — and Rust aborts there: the SIGABRT arrives on the driver stack
//!   and is handled as a fault is, so the coroutine returns, halted. A
//!   panic Rust raises without unwinding (its null-pointer check in debug
//!   builds) aborts straight after the hook, with no destructor run. A
//!   panic in a closure given to `Machine::run` (Rust code, no `extern "C"`
//!   frame of its own) unwinds to the machine as before, so a test's
//!   failing assertion inside it is reported normally.
//!
//! Why a coroutine and not the alternatives: a separate thread per callback
//! would move the driver's code off the test's thread, and drivers and tests
//! keep state in thread-locals; `longjmp` across Rust frames is undefined
//! behaviour; unwinding runs driver code and aborts at the `extern "C"`
//! frame. A coroutine keeps the thread and leaves the frames untouched.
//!
//! What a halted panic leaves: std never finishes it, so on that thread
//! `std::thread::panicking()` stays true (a `Mutex` locked and released
//! afterwards on it is not poisoned by that; a later panic on it unwinds
//! and is reported as usual).
//!
//! Native C images (`surface/win64`) run inside the same coroutines: a stop
//! in a routine a native driver called halts it the same way, before the
//! native surface's own abandon would run, and a fault in its code is a
//! stop.

use corosensei::stack::{DefaultStack, Stack as _};
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::cell::{Cell, RefCell};

/// The size of a driver stack, as a test thread's (Rust's default 2 MiB):
/// driver code under test is built without optimisation, with larger frames
/// than the 24 KiB of a real kernel stack would take.
pub(crate) const DRIVER_STACK_SIZE: usize = 2 << 20;

/// Driver stacks a thread keeps for reuse.
const SPARE_STACKS_KEPT: usize = 2;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
type Trap = corosensei::trap::CoroutineTrapHandler<()>;

/// The coroutine running driver code on this thread.
#[derive(Clone, Copy)]
struct Running {
    /// Its yielder (null until the coroutine has started).
    yielder: *const Yielder<(), ()>,
    /// Redirects it when it faults.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    trap: Trap,
    /// The lowest address of its stack: the guard page starts there.
    limit: usize,
}

thread_local! {
    /// The coroutine running driver code, while one runs.
    static RUNNING: Cell<Option<Running>> = const { Cell::new(None) };
    /// Driver stacks ready for reuse.
    /// (A fixed array: keeping one allocates nothing, so a test counting
    /// the heap driver code allocates sees none of the machine's.)
    static SPARE: RefCell<[Option<DefaultStack>; SPARE_STACKS_KEPT]> = const { RefCell::new([None, None]) };
}

/// Clears the running coroutine when the outermost entry point is left, by
/// return or by a panic propagated out of the coroutine.
struct RunningGuard;

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.set(None);
    }
}

/// Runs driver code `f` on the driver stack: `Some` with its value, or
/// `None` when the machine stopped inside it and the driver's code was
/// halted. A panic of `f` that unwinds (the simulator's own, or a
/// `Machine::run` closure's) propagates to the caller as before.
pub(crate) fn run_driver<R>(f: impl FnOnce() -> R) -> Option<R> {
    if RUNNING.get().is_some() {
        // Nested in driver code already running on this thread's coroutine.
        return Some(f());
    }
    run_outermost(f)
}

fn run_outermost<R>(f: impl FnOnce() -> R) -> Option<R> {
    install_fault_handler();
    let stack = SPARE.with(|s| s.borrow_mut().iter_mut().find_map(Option::take)).unwrap_or_else(new_stack);
    let limit = stack.limit().get();
    let mut result: Option<R> = None;
    let out: *mut Option<R> = &raw mut result;
    let body = move |yielder: &Yielder<(), ()>, ()| {
        if let Some(mut running) = RUNNING.get() {
            running.yielder = yielder;
            RUNNING.set(Some(running));
        }
        let value = f();
        // SAFETY: `out` points to `result` in the frame below, which waits in
        // `resume` while this runs; nothing else accesses it meanwhile.
        unsafe { *out = Some(value) };
    };
    // SAFETY: `body` borrows `result` and what `f` borrows, all of which
    // outlive the coroutine whenever it is resumed: it is resumed once, here,
    // and afterwards either finished or forgotten and never resumed again
    // (corosensei's condition for forgetting one: its stack is never reused,
    // below).
    let mut coroutine: Coroutine<(), (), (), DefaultStack> = unsafe { Coroutine::with_stack_unchecked(stack, body) };
    let _clear = RunningGuard;
    RUNNING.set(Some(Running {
        yielder: std::ptr::null(),
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        trap: coroutine.trap_handler(),
        limit,
    }));
    let step = coroutine.resume(());
    RUNNING.set(None);
    match step {
        CoroutineResult::Return(()) if result.is_some() => {
            let stack = coroutine.into_stack();
            SPARE.with(|s| {
                if let Some(free) = s.borrow_mut().iter_mut().find(|slot| slot.is_none()) {
                    *free = Some(stack);
                }
            });
            result
        }
        // Halted: suspended at a stop, or returned from a fault's trap
        // function. Never resumed, never unwound; its stack is leaked.
        _ => {
            std::mem::forget(coroutine);
            None
        }
    }
}

fn new_stack() -> DefaultStack {
    DefaultStack::new(DRIVER_STACK_SIZE).expect("kmdf-sim: could not map a driver stack")
}

/// Whether driver code runs on this thread's driver stack right now.
pub(crate) fn in_driver_stack() -> bool {
    RUNNING.try_with(Cell::get).ok().flatten().is_some()
}

/// The machine has stopped: leaves the driver's code for good. Returns only
/// when no driver code of the machine is running on this thread (a test
/// calling a routine directly): then the routine's caller gets its failure
/// value as before.
pub(crate) fn halt() {
    let Some(running) = RUNNING.try_with(Cell::get).ok().flatten() else { return };
    if running.yielder.is_null() {
        return;
    }
    // SAFETY: `yielder` is the running coroutine's, on its stack, valid while
    // it runs — and this code runs on it.
    let yielder = unsafe { &*running.yielder };
    yielder.suspend(());
    unreachable!("kmdf-sim: a halted driver is never resumed");
}

// -- Faults ------------------------------------------------------------------

/// A fault in driver code, as the handler read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fault {
    /// The address accessed.
    pub(crate) address: usize,
    /// The instruction that accessed it.
    pub(crate) pc: usize,
    /// A write (`Some(true)`), a read, or unknown.
    pub(crate) write: Option<bool>,
    /// Special pool's page: `Some(true)` freed, `Some(false)` past the end.
    pub(crate) special_pool: Option<bool>,
    /// The driver stack's guard page: the stack overflowed.
    pub(crate) stack_overflow: bool,
}

/// Installs the one SIGSEGV/SIGBUS handler of the process (once).
#[cfg(unix)]
pub(crate) fn install_fault_handler() {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    linux::install();
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: a zeroed sigaction is a valid starting value.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = super::kernel::special_pool::on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            // SAFETY: installs special pool's reporting handler for SIGSEGV.
            unsafe { libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut()) };
        });
    }
}

#[cfg(not(unix))]
pub(crate) fn install_fault_handler() {}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod linux {
    use super::{Fault, RUNNING};
    use crate::model::kernel::special_pool;
    use std::sync::OnceLock;

    /// The signals handled: faults, and the abort that ends a panic at a
    /// callback's `extern "C"` frame.
    const SIGNALS: [libc::c_int; 3] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGABRT];

    /// The handlers that were installed before ours (std's stack-overflow
    /// report, or the default), for signals that are not the machine's.
    static PREVIOUS: OnceLock<[libc::sigaction; 3]> = OnceLock::new();

    pub(super) fn install() {
        PREVIOUS.get_or_init(|| {
            SIGNALS.map(|signal| {
                // SAFETY: a zeroed sigaction is a valid starting value.
                let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
                action.sa_sigaction = on_fault as *const () as usize;
                // On the thread's alternate stack where it has one (std gives
                // its threads one), so a driver stack overflow is handled too.
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                // SAFETY: a zeroed sigaction is a valid value to be filled in.
                let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
                // SAFETY: installs this module's handler; `previous` is writable.
                unsafe { libc::sigaction(signal, &action, &mut previous) };
                previous
            })
        });
    }

    /// Whether the simulator's state is free (no borrow held), so the
    /// stop can be recorded after the handler returns.
    fn state_free() -> bool {
        crate::model::try_with_state(|_| ()).is_some()
    }

    extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        let abort = signal == libc::SIGABRT;
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
        let info_ref = unsafe { &*info };
        // SAFETY: for SIGSEGV and SIGBUS the siginfo carries the faulting address.
        let address = if abort { 0 } else { (unsafe { info_ref.si_addr() }) as usize };
        let running = RUNNING.try_with(std::cell::Cell::get).ok().flatten();
        if let Some(running) = running
            && !context.is_null()
        {
            // SAFETY: for SA_SIGINFO handlers the third argument is the
            // interrupted ucontext_t, which the handler may change.
            let uc = unsafe { &mut *context.cast::<libc::ucontext_t>() };
            let gregs = &mut uc.uc_mcontext.gregs;
            let sp = gregs[libc::REG_RSP as usize] as usize;
            if running.trap.stack_ptr_in_bounds(sp) && state_free() {
                let page = 4096;
                let fault = Fault {
                    address,
                    pc: gregs[libc::REG_RIP as usize] as usize,
                    write: special_pool::was_write(context),
                    special_pool: special_pool::fault_kind(address),
                    stack_overflow: address >= running.limit && address < running.limit + page,
                };
                // SAFETY: the interrupted stack pointer is inside the running
                // coroutine (checked); the registers are set as the returned
                // values say, so the coroutine runs `record_fault` from the
                // base of its stack when the handler returns. The frames it
                // discards are the driver's (and, for a fault inside a routine,
                // the routine's, which holds no borrow of the state: checked).
                let regs = unsafe {
                    running.trap.setup_trap_handler(move || {
                        if abort { super::record_abort() } else { super::record_fault(fault) }
                    })
                };
                gregs[libc::REG_RIP as usize] = regs.rip as i64;
                gregs[libc::REG_RSP as usize] = regs.rsp as i64;
                gregs[libc::REG_RBP as usize] = regs.rbp as i64;
                gregs[libc::REG_RDI as usize] = regs.rdi as i64;
                gregs[libc::REG_RSI as usize] = regs.rsi as i64;
                return;
            }
        }
        if !abort && special_pool::fault_kind(address).is_some() {
            special_pool::on_fault(signal, info, context);
            return;
        }
        previous(signal, info, context);
    }

    /// Hands a fault that is not the machine's to the handler installed
    /// before (std's stack-overflow report), or to the default action.
    fn previous(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        let index = SIGNALS.iter().position(|&s| s == signal).unwrap_or(0);
        let handler = PREVIOUS.get().map_or(libc::SIG_DFL, |p| p[index].sa_sigaction);
        let siginfo = PREVIOUS.get().is_some_and(|p| p[index].sa_flags & libc::SA_SIGINFO != 0);
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN || !siginfo {
            // SAFETY: restoring the default disposition is async-signal-safe;
            // the access faults again and the host's default action follows.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
            return;
        }
        // SAFETY: an SA_SIGINFO handler installed before ours, called as
        // the kernel would have called it.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        f(signal, info, context);
    }
}

/// Records the stop for an abort in driver code (on the driver stack, after
/// the signal handler returned): a panic that reached a callback's
/// `extern "C"` frame (its stop recorded by the panic hook already), or an
/// abort the driver called. A driver built for Windows aborts only through
/// its panic handler, wdk-panic's bug check (F112).
fn record_abort() {
    crate::model::with_state(|s| {
        if !s.is_stopped() {
            let (image, symbol) =
                s.kernel.frames.last().map(|f| (f.image.to_string(), f.symbol.to_string())).unwrap_or_default();
            s.rust_panic_stop(format!("{image} aborted in {symbol} (K5: the driver must return an NTSTATUS instead)"));
        }
    });
}

/// Records the stop for a fault in driver code (on the driver stack, after
/// the signal handler returned).
fn record_fault(fault: Fault) {
    crate::model::with_state(|s| s.fault_stop(&fault));
}

impl crate::model::State {
    /// The bug check Windows raises for `fault` (F111; special pool F51).
    pub(crate) fn fault_stop(&mut self, fault: &Fault) {
        let Fault { address, pc, write, special_pool, stack_overflow } = *fault;
        let (address, pc) = (address as u64, pc as u64);
        let irql = self.kernel.irql;
        let access = match write {
            Some(true) => "wrote",
            Some(false) if address == pc => "executed",
            Some(false) => "read",
            None => "accessed",
        };
        let site = self.kernel.frames.last().map(|f| f.symbol.to_string()).unwrap_or_default();
        let image = self.kernel.frames.last().map(|f| f.image.to_string()).unwrap_or_default();
        let cause = format!("{image} {access} address {address:#x} in {site} (instruction at host address {pc:#x})");
        let rw = u64::from(write == Some(true));
        let none = String::new;
        let check = if stack_overflow {
            (
                0x7F,
                [8, 0, 0, 0],
                "UNEXPECTED_KERNEL_MODE_TRAP",
                ["EXCEPTION_DOUBLE_FAULT: the kernel stack overflowed.".into(), none(), none(), none()],
            )
        } else if let Some(freed) = special_pool {
            let (code, name, what) = if freed {
                (
                    0xD5,
                    "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL",
                    "Memory referenced: special pool after it was freed (a driver pool block after ExFreePool, \
                     or an object context after its destroy callback).",
                )
            } else {
                (
                    0xD6,
                    "DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION",
                    "Memory referenced: past the end of a special-pool allocation (a driver pool block or an \
                     object context).",
                )
            };
            (
                code,
                [address, rw, pc, 0],
                name,
                [what.into(), "0: read, 1: write.".into(), "Address that referenced the memory.".into(), none()],
            )
        } else if irql >= crate::abi::DISPATCH_LEVEL as u8 {
            (
                0xD1,
                [address, u64::from(irql), if access == "executed" { 8 } else { rw }, pc],
                "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
                [
                    "Memory referenced.".into(),
                    "IRQL at the time of the reference.".into(),
                    "0: read, 1: write, 8: execute.".into(),
                    "Address that referenced the memory.".into(),
                ],
            )
        } else if address < NULL_PAGES_END {
            // An access to the never-mapped low addresses is an access
            // violation the driver does not handle.
            let status = STATUS_ACCESS_VIOLATION;
            if self.kernel.process.has_peb {
                (
                    0x3B,
                    [status, pc, 0, 0],
                    "SYSTEM_SERVICE_EXCEPTION",
                    [
                        "The exception: c0000005, STATUS_ACCESS_VIOLATION.".into(),
                        "Address of the instruction that caused it.".into(),
                        none(),
                        none(),
                    ],
                )
            } else {
                (
                    0x7E,
                    [status, pc, 0, 0],
                    "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
                    [
                        "The exception: c0000005, STATUS_ACCESS_VIOLATION.".into(),
                        "Address of the instruction that caused it.".into(),
                        none(),
                        none(),
                    ],
                )
            }
        } else {
            (
                0x50,
                [address, if access == "executed" { 10 } else { 2 * rw }, pc, 0],
                "PAGE_FAULT_IN_NONPAGED_AREA",
                [
                    "Memory referenced.".into(),
                    "0: read, 2: write, 10: execute.".into(),
                    "Address that referenced the memory.".into(),
                    none(),
                ],
            )
        };
        self.bug_check(check, None, Some(cause));
    }
}

/// STATUS_ACCESS_VIOLATION, the exception of an access to an invalid address.
const STATUS_ACCESS_VIOLATION: u64 = 0xC000_0005;

/// The low addresses Windows never maps (the first 64 KiB): an access there
/// is a NULL pointer dereference.
const NULL_PAGES_END: u64 = 0x1_0000;
