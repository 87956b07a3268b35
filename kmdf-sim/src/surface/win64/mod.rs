//! The surface a natively loaded driver image (x64 PE, Linux x86_64) calls:
//! its imports and WDF function-table slots bound to `extern "win64"` entry
//! points over the same shims a Rust driver calls (one implementation per
//! routine, two ABIs), and the driver's callbacks called back with the
//! win64 ABI.
//!
//! * Every entry point records its return address first, so the model's
//!   stack carries the driver's call site as `module!Symbol+0xNN
//!   (image+0xRVA)` — the name every stop, violation and handle-history line
//!   shows. A tail call (`jmp` to the import) leaves no driver return
//!   address; the callback's own frame names the driver then.
//! * Driver code runs through [`call_native`], which can be abandoned: when
//!   a call into the model stops the machine, the entry point does not
//!   return to the driver; the driver's frames are left at once and control
//!   is back in the simulator where it entered the driver (a bug check
//!   halts the driver's code).
//! * An import the model lacks, and a function-table slot of a DDI it does
//!   not serve for native images, is bound to a stub that stops the machine
//!   naming the routine and its caller at the first call.
//!
//! * The entry points are generated from the routine table (`table.rs`,
//!   by kmdf-sim/gen): every routine the surface implements is served to a
//!   native image, each through its one shim.
//! * The machine calls the driver's callbacks as wdk-sys types declare them
//!   (`extern "C"`, the host's ABI): every callback a native driver hands a
//!   routine — as an argument, or in a WDF configuration structure or
//!   object attributes it passes — is replaced by a host-ABI adapter that
//!   calls the driver's win64 function (`adapt.rs`).

/// One win64 entry point per line: `Name(arg: Type = Mode, …) -> R = shim;`
/// (`Mode`: how the argument reaches the shim, `adapt::{Plain, Callback,
/// Config}`); `$lookup(name)` gives the entry point serving `name`.
macro_rules! entry_points {
    ($lookup:ident: $( $name:ident ( $($a:ident : $t:ty = $mode:ident),* ) -> $r:ty = $shim:expr ; )*) => {
        $(
            #[allow(non_snake_case)]
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                /// The body: the routine's shim, for the driver.
                pub(super) unsafe extern "win64" fn body($($a: $t),*) -> $r {
                    crate::surface::win64::served(|| {
                        $( #[allow(unused_mut)] let mut $a = $mode::new($a); )*
                        // SAFETY: the driver's arguments go to the shim as the
                        // routine's contract gives them, as a Rust driver's do
                        // (callbacks replaced by their adapters).
                        unsafe { $shim($($a.get()),*) }
                    })
                }
                /// The entry point the driver's import or table slot holds.
                #[unsafe(naked)]
                pub(super) unsafe extern "win64" fn entry() {
                    core::arch::naked_asm!(
                        "push rcx",
                        "push rdx",
                        "push r8",
                        "push r9",
                        "sub rsp, 40",
                        "mov rcx, [rsp + 72]",
                        "call {record}",
                        "add rsp, 40",
                        "pop r9",
                        "pop r8",
                        "pop rdx",
                        "pop rcx",
                        "jmp {body}",
                        record = sym crate::surface::win64::record_caller,
                        body = sym body,
                    )
                }
            }
        )*
        /// The entry point serving `name`, if this list has it.
        pub(in crate::surface::win64) fn $lookup(name: &str) -> Option<usize> {
            match name {
                $( stringify!($name) => Some($name::entry as unsafe extern "win64" fn() as usize), )*
                _ => None,
            }
        }
    };
}

/// `Struct: [callback fields] [contained structures with callbacks];`: how
/// a copy of each structure gets its callbacks adapted.
macro_rules! callbacks {
    ($( $s:ident : [ $($f:ident),* ] [ $($n:ident),* ] ; )*) => {
        $(
            impl super::adapt::Callbacks for $s {
                fn adapt(&mut self) {
                    $( super::adapt::adapt_field(&mut self.$f); )*
                    $( super::adapt::Callbacks::adapt(&mut self.$n); )*
                }
            }
        )*
    };
}

mod adapt;
mod dbgprint;
#[allow(clippy::all, reason = "generated")]
mod table;
mod thunks;
mod trap;

use crate::abi::*;
use crate::model::STOPPED_STATUS;
use crate::model::kernel::stack::{machine_stopped, pop_call_site, push_call_site};
use crate::model::native::describe;
pub(super) use crate::model::native::stop_unmodelled;
use std::cell::RefCell;

/// How many slots of `WdfFunctions_01033` KMDF 1.33 has
/// (WdfFunctionTableNumEntries, data/kmdf-1.33-function-table.txt).
pub const WDF_FUNCTION_COUNT: usize = 458;

/// KMDF 1.33's function table, slot order: one DDI name per line.
pub fn function_table_names() -> impl Iterator<Item = &'static str> {
    include_str!("../../../data/kmdf-1.33-function-table.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
}

/// Stubs for what is not served: slots `0..WDF_FUNCTION_COUNT` are the WDF
/// function table's, the rest unresolved imports of the loaded image.
const STUBS: usize = 1024;
/// One stub: `call common` (5 bytes) and 3 bytes of `int3`.
const STUB_SIZE: usize = 8;

// The stubs and the native call / abandon pair. SysV side: `native_call(buf,
// f, args)` saves the host's callee-saved registers and its stack pointer in
// `buf`, calls `f(args[0..6])` with the win64 ABI (RCX, RDX, R8, R9, the
// fifth and sixth on the stack above 32 bytes of shadow space, a 16-byte
// aligned stack) and returns its RAX;
// `native_abandon(buf)` returns from that `native_call` again — with 0 and
// `buf.abandoned` set — from any depth of driver frames above it.
std::arch::global_asm!(
    ".pushsection .text.kmdf_sim_native,\"ax\",@progbits",
    ".p2align 4",
    ".globl kmdf_sim_unmodelled_stubs",
    ".hidden kmdf_sim_unmodelled_stubs",
    "kmdf_sim_unmodelled_stubs:",
    ".rept 1024",
    "call 2f",
    "int3",
    "int3",
    "int3",
    ".endr",
    "2:",
    // RCX = the address after the stub's call; RDX = the driver's return
    // address; the stack is as the driver's call left it.
    "pop rcx",
    "mov rdx, [rsp]",
    "jmp {unmodelled}",
    ".globl kmdf_sim_native_call",
    ".hidden kmdf_sim_native_call",
    "kmdf_sim_native_call:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rdi], rsp",
    "mov qword ptr [rdi + 8], 0",
    "mov rax, rsi",
    "mov r10, rdx",
    "sub rsp, 56",
    "mov r11, [r10 + 32]",
    "mov [rsp + 32], r11",
    "mov r11, [r10 + 40]",
    "mov [rsp + 40], r11",
    "mov rcx, [r10]",
    "mov rdx, [r10 + 8]",
    "mov r8, [r10 + 16]",
    "mov r9, [r10 + 24]",
    "call rax",
    "add rsp, 56",
    // The return path, shared with native_abandon: RSP is the value saved in the buffer.
    "3:",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".globl kmdf_sim_native_abandon",
    ".hidden kmdf_sim_native_abandon",
    "kmdf_sim_native_abandon:",
    "mov rsp, [rdi]",
    "mov qword ptr [rdi + 8], 1",
    "xor eax, eax",
    "jmp 3b",
    ".popsection",
    unmodelled = sym unmodelled_called,
);

/// Where [`call_native`] can be returned to.
#[repr(C)]
struct NativeCall {
    /// The host stack pointer after the saved registers.
    rsp: u64,
    /// Set when the call was abandoned.
    abandoned: u64,
}

unsafe extern "sysv64" {
    static kmdf_sim_unmodelled_stubs: u8;
    fn kmdf_sim_native_call(call: *mut NativeCall, f: usize, args: *const u64) -> u64;
    fn kmdf_sim_native_abandon(call: *mut NativeCall) -> !;
}

/// What this thread's native driver registered, and what its stubs name.
#[derive(Default)]
struct Native {
    /// The image's entry point (FxDriverEntry).
    entry: usize,
    /// The driver functions the callback adapters stand for, by slot.
    adapters: Vec<usize>,
    /// The `DriverUnload` the image left in its driver object (win64 code:
    /// the stub's FxStubDriverUnload), which the machine calls through
    /// [`native_driver_unload`].
    driver_unload: usize,
    /// The function table WdfVersionBind hands out.
    table: Vec<usize>,
    /// The imports bound to stubs, `dll!name`, by stub index − WDF_FUNCTION_COUNT.
    unresolved: Vec<String>,
    /// The driver's return addresses, innermost last (one per entry point running).
    callers: Vec<usize>,
    /// The processor control region `gs` points at (F162).
    processor: crate::model::native::cpu::ProcessorBlock,
    /// The native calls in progress, innermost last.
    #[allow(
        clippy::vec_box,
        reason = "the assembly holds each record's address: a box keeps it when the vector grows"
    )]
    calls: Vec<Box<NativeCall>>,
}

thread_local! {
    static NATIVE: RefCell<Option<Native>> = const { RefCell::new(None) };
}

fn with_native<R>(f: impl FnOnce(&mut Native) -> R) -> Option<R> {
    NATIVE.with(|n| n.borrow_mut().as_mut().map(f))
}

/// Why a native image cannot be bound on this thread.
#[derive(Debug)]
pub struct BindError(pub String);

/// Prepares this thread for a native image whose entry point is `entry`
/// once mapped: the function table, with every slot either a served DDI's
/// entry point or its stub.
pub fn begin_image() -> Result<(), BindError> {
    NATIVE.with(|n| {
        let mut n = n.borrow_mut();
        if n.is_some() {
            return Err(BindError("a native driver image is already loaded on this thread; drop it first".into()));
        }
        let table = function_table_names()
            .enumerate()
            .map(|(i, name)| table::ddi(name).unwrap_or_else(|| stub(i)))
            .collect::<Vec<_>>();
        let native = Native { table, ..Native::default() };
        // The driver's privileged instructions trap to the machine; its
        // `gs:` reads see the processor control region.
        trap::install();
        trap::set_gs(native.processor.address())
            .map_err(|e| BindError(format!("cannot point gs at the processor control region: {e}")))?;
        *n = Some(native);
        Ok(())
    })
}

/// Sets the mapped image's entry point.
pub fn set_entry(entry: usize) {
    with_native(|n| n.entry = entry);
}

/// Forgets this thread's native image (after its mapping is gone, nothing
/// may call it).
pub fn end_image() {
    let _ = NATIVE.try_with(|n| {
        if n.borrow_mut().take().is_some() {
            // The control region goes with the image.
            let _ = trap::set_gs(0);
        }
    });
}

/// The innermost native call in progress on this thread (what a stop
/// returns to), if any. Async-signal-safe enough for a synchronous trap in
/// driver code: no borrow is held while driver code runs.
fn innermost_call() -> Option<*mut NativeCall> {
    NATIVE
        .try_with(|n| n.try_borrow_mut().ok()?.as_mut()?.calls.last_mut().map(|c| std::ptr::from_mut(c.as_mut())))
        .ok()
        .flatten()
}

/// Where a trap resumes a stopped driver: the abandon path, with the
/// innermost call's record in RDI.
fn abandon_address() -> usize {
    kmdf_sim_native_abandon as unsafe extern "sysv64" fn(*mut NativeCall) -> ! as usize
}

fn stub(index: usize) -> usize {
    (&raw const kmdf_sim_unmodelled_stubs) as usize + index * STUB_SIZE
}

/// The address an import of `dll!name` is bound to: the routine's win64
/// entry point, or a stub that stops the machine naming it when called
/// (`None` when the image has more unresolved imports than stubs).
pub fn resolve(dll: &str, name: &str) -> Option<usize> {
    let served = if dll.eq_ignore_ascii_case("ntoskrnl.exe") {
        table::kernel(name).or_else(|| thunks::runtime(name)).or_else(|| dbgprint::variadic(name))
    } else if dll.eq_ignore_ascii_case("wdfldr.sys") {
        thunks::loader(name)
    } else {
        None
    };
    if served.is_some() {
        return served;
    }
    with_native(|n| {
        let index = WDF_FUNCTION_COUNT + n.unresolved.len();
        (index < STUBS).then(|| {
            n.unresolved.push(format!("{dll}!{name}"));
            stub(index)
        })
    })
    .flatten()
}

/// The imports bound to stubs so far (`dll!name`).
pub fn unresolved() -> Vec<String> {
    with_native(|n| n.unresolved.clone()).unwrap_or_default()
}

/// Calls the driver's win64 function `f` with up to six integer arguments.
/// `None` when the call was abandoned because the machine stopped inside it.
///
/// # Safety
/// `f` is a function of the loaded image taking the arguments given (the
/// rest ignored), with the win64 ABI.
unsafe fn call_native(f: usize, args: [u64; 6]) -> Option<u64> {
    let mut call = Box::new(NativeCall { rsp: 0, abandoned: 0 });
    let at: *mut NativeCall = &mut *call;
    with_native(|n| n.calls.push(call));
    // SAFETY: `at` lives in the box now on the calls stack until the pop
    // below; `f` is win64 code of the image (the caller's contract).
    let r = unsafe { kmdf_sim_native_call(at, f, args.as_ptr()) };
    let call = with_native(|n| n.calls.pop()).flatten();
    match call {
        Some(c) if c.abandoned == 0 => Some(r),
        _ => None,
    }
}

/// After a call into the model: when the machine has stopped, leaves the
/// driver's code for good — back to where the simulator called it.
fn abandon_if_stopped() {
    if !machine_stopped() {
        return;
    }
    let innermost = with_native(|n| n.calls.last_mut().map(|c| std::ptr::from_mut(c.as_mut()))).flatten();
    if let Some(call) = innermost {
        // SAFETY: `call` is the innermost native call in progress on this
        // thread; every frame above it is the driver's or an entry point's
        // that holds nothing to drop (the borrow above has ended).
        unsafe { kmdf_sim_native_abandon(call) }
    }
}

/// Records the driver's return address of the entry point being entered
/// (called by every entry point's prologue).
pub(super) extern "win64" fn record_caller(address: usize) {
    with_native(|n| n.callers.push(address));
}

/// Runs a served routine's shim for the driver: the driver's call site is the
/// innermost simulated frame while it runs; afterwards a stop abandons the
/// driver's code.
pub(super) fn served<R: Copy>(body: impl FnOnce() -> R) -> R {
    let caller = with_native(|n| n.callers.pop()).flatten().unwrap_or(0);
    let site = describe(caller);
    let pushed = match site {
        Some((image, symbol)) => push_call_site(image, symbol),
        None => false,
    };
    let r = body();
    if pushed {
        pop_call_site();
    }
    abandon_if_stopped();
    r
}

/// A stub was called: the WDF slot or the import it stands for is not
/// served. Stops the machine naming it and its caller, then leaves the
/// driver's code.
extern "win64" fn unmodelled_called(after_call: usize, caller: usize) -> NTSTATUS {
    let index = (after_call - 5 - stub(0)) / STUB_SIZE;
    let what = if index < WDF_FUNCTION_COUNT {
        let name = function_table_names().nth(index).unwrap_or("?");
        format!("WDF function table slot {index} ({name}, for a natively loaded driver)")
    } else {
        let name = with_native(|n| n.unresolved.get(index - WDF_FUNCTION_COUNT).cloned()).flatten();
        format!("the import {}", name.unwrap_or_else(|| "?".into()))
    };
    let site = describe(caller).map_or_else(|| format!("{caller:#x}"), |(_, s)| s);
    stop_unmodelled(&what, &site);
    // Nothing owned may be live when the driver's frames are left.
    drop((what, site));
    abandon_if_stopped();
    STOPPED_STATUS
}

/// The host-ABI `DRIVER_INITIALIZE` the machine calls for the native image:
/// runs its entry point (FxDriverEntry).
///
/// # Safety
/// As DRIVER_INITIALIZE; a native image is bound on this thread.
pub unsafe extern "C" fn native_driver_entry(object: PDRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let Some(entry) = native_code(|n| n.entry, "DriverEntry") else {
        return STOPPED_STATUS;
    };
    // A load runs a fresh copy of the image (F160).
    // SAFETY: the machine calls DriverEntry only when the driver is not
    // loaded: no code of the image runs.
    unsafe { crate::model::native::reset_image(entry) };
    // SAFETY: `entry` is the image's entry point, FxDriverEntry(DriverObject, RegistryPath).
    let r = unsafe { call_native(entry, [object as u64, path as u64, 0, 0, 0, 0]) };
    // The image set its DriverUnload with the win64 ABI: the machine calls
    // the host-ABI adapter in its place (F79).
    // SAFETY: `object` is the driver object the machine passed and still owns.
    let unload = unsafe { (*object).DriverUnload };
    if let Some(f) = unload {
        with_native(|n| n.driver_unload = f as usize);
        // SAFETY: as above; the machine reads the routine back at unload.
        unsafe { (*object).DriverUnload = Some(native_driver_unload) };
    }
    r.map_or(STOPPED_STATUS, |v| v as u32 as NTSTATUS)
}

/// DriverUnload adapter: the image's win64 unload routine.
unsafe extern "C" fn native_driver_unload(object: PDRIVER_OBJECT) {
    if let Some(f) = native_code(|n| n.driver_unload, "DriverUnload") {
        // SAFETY: `f` is the image's DriverUnload(PDRIVER_OBJECT).
        let _ = unsafe { call_native(f, [object as u64, 0, 0, 0, 0, 0]) };
    }
}

/// The address of the driver's `callback` (`which` of the bound image), or —
/// when no image is bound on this thread any more (its `NativeImage` was
/// dropped while the machine still runs the driver) — a stop saying so.
fn native_code(which: impl FnOnce(&Native) -> usize, callback: &str) -> Option<usize> {
    let address = with_native(|n| which(n));
    if address.is_none() {
        stop_unmodelled(
            &format!("calling {callback} of a native driver whose image was dropped"),
            "kmdf_sim::control::native",
        );
    }
    address.filter(|&a| a != 0)
}
