//! How a native driver's arguments reach a routine's shim, and the adapters
//! that let the machine call the driver's win64 callbacks through the host
//! ABI (as wdk-sys types declare every callback: `extern "C"`).
//!
//! An adapter is one of [`ADAPTERS`] fixed code slots: the machine calls it
//! with up to six integer arguments (every KMDF and kernel callback the
//! table adapts takes integers and pointers only, at most six: the
//! generator checks the count); the slot's number selects the driver
//! function it stands for (this thread's table), which is called with the
//! win64 ABI through the abandonable native call. One slot per distinct
//! driver function: passing the same callback twice gives the same adapter
//! (a routine that compares callbacks, as `PsSetCreateProcessNotifyRoutine`'s
//! removal does, sees the same value).

use super::{STUB_SIZE, call_native, native_code, stop_unmodelled, with_native};
use crate::model::STOPPED_STATUS;

/// How many distinct driver callbacks one image can hand the machine.
pub(super) const ADAPTERS: usize = 512;

// The adapter slots: `call 2f` and three `int3` each (STUB_SIZE bytes). The
// common part turns the after-call address into the slot number and calls
// `callback_called(slot, args)` with the six SysV argument registers
// stored as an array on the stack.
std::arch::global_asm!(
    ".pushsection .text.kmdf_sim_native,\"ax\",@progbits",
    ".p2align 4",
    ".globl kmdf_sim_callback_adapters",
    ".hidden kmdf_sim_callback_adapters",
    "kmdf_sim_callback_adapters:",
    ".rept 512",
    "call 2f",
    "int3",
    "int3",
    "int3",
    ".endr",
    "2:",
    "pop rax",
    "push r9",
    "push r8",
    "push rcx",
    "push rdx",
    "push rsi",
    "push rdi",
    "lea rdi, [rip + kmdf_sim_callback_adapters]",
    "sub rax, rdi",
    "sub rax, 5",
    "shr rax, 3",
    "mov rdi, rax",
    "mov rsi, rsp",
    // Entry RSP was 8 mod 16; the pop and six pushes leave it 8 mod 16 too.
    "sub rsp, 8",
    "call {called}",
    "add rsp, 56",
    "ret",
    ".popsection",
    called = sym callback_called,
);

unsafe extern "sysv64" {
    static kmdf_sim_callback_adapters: u8;
}

const _: () = assert!(STUB_SIZE == 8, "the adapter slots' `shr rax, 3` assumes 8-byte slots");

fn slot_address(slot: usize) -> usize {
    (&raw const kmdf_sim_callback_adapters) as usize + slot * STUB_SIZE
}

/// The machine called adapter `slot`: calls the driver function it stands
/// for with the six arguments. A call the machine's stop abandoned, or a
/// slot of an image that is gone, returns STOPPED_STATUS.
extern "sysv64" fn callback_called(slot: usize, args: *const [u64; 6]) -> u64 {
    // SAFETY: the slot's common code passes the six argument registers it
    // stored on its own stack.
    let args = unsafe { *args };
    let target = native_code(|n| n.adapters.get(slot).copied().unwrap_or(0), "a callback");
    let Some(target) = target else { return STOPPED_STATUS as u32 as u64 };
    // SAFETY: `target` is a function of the loaded image that the driver
    // handed the machine as a callback of this adapter's type; it takes at
    // most six integer arguments (the rest are ignored), win64 ABI.
    let r = unsafe { call_native(target, args) };
    r.unwrap_or(STOPPED_STATUS as u32 as u64)
}

/// The host-ABI adapter for the driver's win64 function at `target` (0 for
/// none); 0 with a not-modelled stop when the slots are used up.
fn adapter(target: usize) -> usize {
    if target == 0 {
        return 0;
    }
    let slot = with_native(|n| match n.adapters.iter().position(|&t| t == target) {
        Some(i) => Some(i),
        None if n.adapters.len() < ADAPTERS => {
            n.adapters.push(target);
            Some(n.adapters.len() - 1)
        }
        None => None,
    })
    .flatten();
    match slot {
        Some(i) => slot_address(i),
        None => {
            stop_unmodelled(
                &format!("a native driver's callback beyond the first {ADAPTERS}"),
                "kmdf_sim::surface::win64",
            );
            0
        }
    }
}

/// Replaces a driver callback (an `Option<unsafe extern "C" fn …>` holding
/// the driver's win64 function) with its adapter.
pub(super) fn adapt_field<F: Copy>(f: &mut F) {
    const { assert!(size_of::<F>() == size_of::<usize>(), "a callback is one pointer") };
    // SAFETY: F is a nullable function pointer (one pointer, the null niche
    // is None): its bits are an address.
    let target = unsafe { std::mem::transmute_copy::<F, usize>(f) };
    let adapted = adapter(target);
    // SAFETY: as above; `adapted` is 0 (None) or code callable with F's
    // host ABI (an adapter slot).
    *f = unsafe { std::mem::transmute_copy::<usize, F>(&adapted) };
}

/// A structure whose callbacks are adapted in a copy (generated: `table.rs`).
pub(super) trait Callbacks: Copy {
    fn adapt(&mut self);
}

/// An argument passed as is.
pub(super) struct Plain<T>(T);

impl<T: Copy> Plain<T> {
    pub(super) fn new(v: T) -> Self {
        Plain(v)
    }
    pub(super) fn get(&mut self) -> T {
        self.0
    }
}

/// A callback argument: its adapter is passed.
pub(super) struct Callback<F>(F);

impl<F: Copy> Callback<F> {
    pub(super) fn new(mut f: F) -> Self {
        adapt_field(&mut f);
        Callback(f)
    }
    pub(super) fn get(&mut self) -> F {
        self.0
    }
}

/// A `*mut` pointer to a versioned input structure with callbacks: a copy
/// with the callbacks adapted is passed (null stays null).
pub(super) struct Config<T: Callbacks> {
    ptr: *mut T,
    copy: Option<T>,
}

impl<T: Callbacks> Config<T> {
    pub(super) fn new(ptr: *mut T) -> Self {
        if ptr.is_null() {
            return Config { ptr, copy: None };
        }
        // The structure's first field is its `Size` (a ULONG): a driver
        // built against older headers passes a shorter one. The copy has the
        // driver's bytes up to its Size, zeros after; the shim checks Size.
        // SAFETY: non-null: the routine's contract gives a readable
        // structure, at least its Size field.
        let size = unsafe { ptr.cast::<u32>().read_unaligned() } as usize;
        // SAFETY: T is a plain C structure (bindgen's, Copy): all zeros is a
        // valid value (null callbacks and pointers).
        let mut copy: T = unsafe { std::mem::zeroed() };
        // SAFETY: the driver's structure has `size` readable bytes (its
        // contract), at most size_of::<T>() are copied into `copy`.
        unsafe {
            std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), (&raw mut copy).cast::<u8>(), size.min(size_of::<T>()))
        };
        copy.adapt();
        Config { ptr, copy: Some(copy) }
    }
    pub(super) fn get(&mut self) -> *mut T {
        match &mut self.copy {
            Some(c) => c,
            None => self.ptr,
        }
    }
}
