//! The harness's global allocator: mimalloc, entered where a request needs
//! nothing beyond what its plain `malloc` gives.
//!
//! The simulator allocates on many DDI calls (names, histories, objects),
//! so the allocator's entry is part of every stress cycle's cost. mimalloc's
//! own `GlobalAlloc` sends every request through its aligned entry point,
//! which first works out whether the alignment is one the block has anyway;
//! this one asks that question once, in Rust, the way std's `System`
//! allocator does for `malloc` (library/std/src/sys/alloc/unix.rs): an
//! alignment of at most `MIN_ALIGN` that does not exceed the size is what
//! `malloc` returns for that size, so `mi_malloc` serves it; any other goes
//! to `mi_malloc_aligned`.

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// The alignment every `malloc` result of at least this size has on x86-64
/// (mimalloc's `MI_MAX_ALIGN_SIZE`, `sizeof(max_align_t)`).
const MIN_ALIGN: usize = 16;

/// mimalloc with plain entry points for plain requests.
pub struct Allocator;

/// Whether `malloc(size)` is aligned enough for an `align` request.
#[inline]
fn plain(size: usize, align: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

/// A block for `layout` from `plain_entry(size)` when [`plain`] admits the
/// request, else from `aligned_entry(size, align)`.
///
/// # Safety
/// `plain_entry` and `aligned_entry` are mimalloc's matching allocation
/// entry points (`mi_malloc`/`mi_malloc_aligned` or the zeroing pair).
#[inline(always)]
unsafe fn allocate(
    layout: Layout,
    plain_entry: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned_entry: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    let (size, align) = (layout.size(), layout.align());
    if plain(size, align) {
        // SAFETY: the caller's contract; see the impl's comment below.
        unsafe { plain_entry(size) }.cast()
    } else {
        // SAFETY: the caller's contract; `align` is a power of two.
        unsafe { aligned_entry(size, align) }.cast()
    }
}

// SAFETY: every method forwards to mimalloc, which returns null or a block
// of at least `size` bytes aligned as asked: `mi_*_aligned` by contract,
// the plain entry points only for requests `plain` admits, which a
// `malloc`-compatible allocator aligns so (C17 7.22.3); frees and reallocs
// get only pointers these methods returned, as `GlobalAlloc` requires.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocating pair, as `allocate` requires.
        unsafe { allocate(layout, mi_malloc, mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's zeroing pair, as `allocate` requires.
        unsafe { allocate(layout, mi_zalloc, mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract).
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        if plain(new_size, align) {
            // SAFETY: `ptr` came from this allocator; the new block keeps
            // `malloc`'s alignment for `new_size`.
            unsafe { mi_realloc(ptr.cast::<c_void>(), new_size) }.cast()
        } else {
            // SAFETY: as above; `align` is a power of two.
            unsafe { mi_realloc_aligned(ptr.cast::<c_void>(), new_size, align) }.cast()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn every_block_is_aligned_as_asked_and_keeps_its_bytes() {
        let a = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 7, 8, 15, 16, 24, 40, 48, 100, 1000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; the block is freed below.
                let p = unsafe { a.alloc_zeroed(layout) };
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "size {size} align {align}");
                // SAFETY: `size` bytes were allocated zeroed.
                assert!(unsafe { std::slice::from_raw_parts(p, size) }.iter().all(|&b| b == 0));
                // SAFETY: within the block.
                unsafe { p.write(0xA5) };
                // SAFETY: `p` came from `a` with `layout`.
                let q = unsafe { a.realloc(p, layout, size * 3) };
                assert_eq!(q as usize % align, 0, "realloc: size {size} align {align}");
                // SAFETY: the first byte survived the move.
                assert_eq!(unsafe { q.read() }, 0xA5);
                // SAFETY: `q` came from `a`; its layout is the grown one.
                unsafe { a.dealloc(q, Layout::from_size_align(size * 3, align).unwrap()) };
            }
        }
    }
}
