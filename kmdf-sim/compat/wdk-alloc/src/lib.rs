//! `wdk-alloc` off Windows.
//!
//! On Windows `WdkAllocator` takes every heap allocation from
//! `ExAllocatePool2`. A driver's `#[global_allocator]` static becomes the
//! allocator of the whole test binary once the driver is linked into it, so
//! here it is the system allocator: sending it to the simulated pool would
//! charge the test harness's own allocations to the driver (and report them
//! as pool leaks at unload). The driver's explicit `ExAllocatePool2` calls
//! are tracked by the simulator's pool.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};

extern crate std;

/// The allocator a driver names in `#[global_allocator]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WdkAllocator;

// SAFETY: every method forwards to the system allocator with the same
// arguments, so its contract is the system allocator's.
unsafe impl GlobalAlloc for WdkAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout (GlobalAlloc contract).
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from System, with `layout`.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; `new_size` as the caller passed it.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}
