//! `wdfkey-guard`: the reference KMDF driver of this project.
//!
//! It holds every registry key it opens through `wdfkey::RegKey` (see
//! design.md, part 2). The driver's own logic arrives with its issue; this
//! crate currently carries the cross-host skeleton: the `no_std` switch, the
//! kernel-binding switch in [`sys`], and the Windows-only runtime pieces.
#![cfg_attr(not(test), no_std)]

#[cfg(all(windows, not(feature = "sim"), not(test)))]
extern crate wdk_panic;

#[cfg(all(windows, not(feature = "sim"), not(test)))]
#[global_allocator]
static GLOBAL_ALLOCATOR: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;

pub mod sys;
