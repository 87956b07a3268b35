//! A KMDF driver image (`.sys`, x64 PE) loaded natively into a machine
//! (Linux x86_64): the same test API as a Rust driver linked into the test.
//!
//! ```no_run
//! use kmdf_sim::control::{Machine, Settings, native::NativeImage};
//! let m = Machine::new(Settings::default());
//! let image = NativeImage::open("regkey.sys".as_ref()).expect("a loadable image");
//! let status = m.load(image.name(), "Regkey", image.driver_entry());
//! ```
//!
//! [`NativeImage::open`] maps the image (sections, base relocations), binds
//! its imports to the model's win64 entry points — an import the model lacks
//! is bound to a stub that stops the machine with its name when called —
//! and names the image's addresses for stops and histories. The image's
//! entry point is its `FxDriverEntry` (WdfDriverEntry.lib's, which binds to
//! the framework through `WDFLDR.SYS!WdfVersionBind`); the machine's
//! [`Machine::load`] calls it as it calls a Rust driver's DriverEntry, and
//! add-device, PnP, unload and every view then work unchanged.
//!
//! One native image per thread (per machine) at a time; drop it after the
//! machine is done with the driver.

use crate::model::native::pe::{Mapped, Parsed};
use crate::model::native::{register, unregister};
use crate::surface::win64;
use std::path::Path;
use std::rc::Rc;

pub use crate::model::native::pe::ImageError;

/// A driver image mapped into this process and bound to this thread's
/// machine.
///
/// # Invariants
/// While it lives, this thread's win64 surface holds its entry point and
/// function table, and its addresses are registered for naming; dropping it
/// unregisters both before the mapping goes.
pub struct NativeImage {
    image: Rc<Mapped>,
    unresolved: Vec<String>,
}

impl std::fmt::Debug for NativeImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeImage").field("name", &self.image.name).field("base", &self.image.base).finish()
    }
}

impl NativeImage {
    /// Reads, checks, maps and binds the image at `path`. Fails with what is
    /// wrong before anything runs: not a file, not an x64 PE, a malformed
    /// header or table, or a native image already bound on this thread.
    pub fn open(path: &Path) -> Result<NativeImage, ImageError> {
        let file = std::fs::read(path).map_err(|e| ImageError(format!("cannot read {}: {e}", path.display())))?;
        let name = path.file_name().map_or_else(|| "driver.sys".into(), |n| n.to_string_lossy().into_owned());
        NativeImage::from_bytes(&name, &file)
    }

    /// As [`NativeImage::open`], from the image's bytes; `name` is the image
    /// name stops and histories show (e.g. `regkey.sys`).
    pub fn from_bytes(name: &str, file: &[u8]) -> Result<NativeImage, ImageError> {
        let parsed = Parsed::parse(file).map_err(|e| ImageError(format!("{name}: {e}")))?;
        win64::begin_image().map_err(|e| ImageError(e.0))?;
        let mut overflow = None;
        let mapped = Mapped::map(name, file, parsed, |import| {
            win64::resolve(&import.dll, &import.name).unwrap_or_else(|| {
                overflow.get_or_insert_with(|| format!("{}!{}", import.dll, import.name));
                0
            })
        });
        let mapped = match (mapped, overflow) {
            (Ok(m), None) => m,
            (Ok(_), Some(first)) => {
                win64::end_image();
                return Err(ImageError(format!("{name}: too many imports the model lacks (first beyond: {first})")));
            }
            (Err(e), _) => {
                win64::end_image();
                return Err(ImageError(format!("{name}: {e}")));
            }
        };
        win64::set_entry(mapped.entry);
        let image = Rc::new(mapped);
        register(Rc::clone(&image));
        Ok(NativeImage { image, unresolved: win64::unresolved() })
    }

    /// Where the image is mapped (its offsets in stops are from here).
    pub fn base(&self) -> usize {
        self.image.base
    }

    /// The image name stops and histories show.
    pub fn name(&self) -> &str {
        &self.image.name
    }

    /// What [`Machine::load`](super::Machine::load) and
    /// [`Machine::install`](super::Machine::install) take: the image's entry
    /// point, called with the win64 ABI.
    pub fn driver_entry(&self) -> crate::abi::DRIVER_INITIALIZE {
        Some(win64::native_driver_entry)
    }

    /// The imports the model lacks (`dll!name`): each stops the machine
    /// naming itself when the driver calls it.
    pub fn unmodelled_imports(&self) -> &[String] {
        &self.unresolved
    }

    /// `address` as stops show it (`module!Symbol+0xNN (image+0xRVA)`), if
    /// it lies in the image.
    pub fn describe(&self, address: usize) -> Option<String> {
        self.image.contains(address).then(|| self.image.describe(address))
    }

    /// The address of the function symbol `name`, if the image has a COFF
    /// symbol table (the kit links with `/DEBUG:SYMTAB`) that names it.
    pub fn symbol_address(&self, name: &str) -> Option<usize> {
        self.image.symbol(name).map(|rva| self.image.base + rva as usize)
    }
}

impl Drop for NativeImage {
    fn drop(&mut self) {
        win64::end_image();
        unregister(self.image.base);
    }
}
