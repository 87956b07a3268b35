//! Driver images loaded natively (x64 PE, Linux x86_64): the images mapped
//! on this thread, addresses named as `image+offset`, and the stop for a
//! routine or table slot the model does not serve.
//!
//! The image format and its mapping are [`pe`]'s; the binding of imports to
//! the model's routines (`extern "win64"` entry points) is the surface's.

pub mod cpu;
pub mod pe;
pub mod seh;

use crate::model::{Stop, with_state};
use pe::Mapped;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// The images mapped on this thread, for naming addresses.
    static IMAGES: RefCell<Vec<Rc<Mapped>>> = const { RefCell::new(Vec::new()) };
}

/// Makes `image`'s addresses nameable on this thread.
pub(crate) fn register(image: Rc<Mapped>) {
    IMAGES.with(|l| l.borrow_mut().push(image));
}

/// Forgets the image mapped at `base`.
pub(crate) fn unregister(base: usize) {
    let _ = IMAGES.try_with(|l| l.borrow_mut().retain(|m| m.base != base));
}

/// Puts the image holding `address` back as mapped, before a load runs its
/// code (F160); false when no image holds it.
///
/// # Safety
/// No code of that image is running (the driver is not loaded).
pub(crate) unsafe fn reset_image(address: usize) -> bool {
    IMAGES.with(|l| {
        l.borrow().iter().find(|m| m.contains(address)).is_some_and(|m| {
            // SAFETY: the caller's contract; the list holds the image alive.
            unsafe { m.reset() };
            true
        })
    })
}

/// Whether an image is mapped on this thread: its own stub displaces the
/// driver object's `DriverUnload` (F126).
pub(crate) fn any_mapped() -> bool {
    IMAGES.with(|l| !l.borrow().is_empty())
}

/// The image holding `address`, and the address as the debugger names it
/// (`module!Symbol+0xNN (image+0xRVA)`).
pub(crate) fn describe(address: usize) -> Option<(String, String)> {
    IMAGES.with(|l| l.borrow().iter().find(|m| m.contains(address)).map(|m| (m.name.clone(), m.describe(address))))
}

/// Stops the machine: the driver called `what`, which the model does not
/// serve: the not-modelled stop every layer uses (the simulator's gap, not
/// the driver's bug), naming the routine and the call site, never a silent
/// success.
pub(crate) fn stop_unmodelled(what: &str, site: &str) {
    with_state(|s| s.record_stop(Stop::NotModelled { what: what.to_string(), location: site.to_string() }));
}
