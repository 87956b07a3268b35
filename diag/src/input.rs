//! What `triage` was given — a kernel dump, a user-mode minidump or text —
//! told by its first bytes, and read within bounds: a dump by its header's
//! checked fields, text only up to [`MAX_TEXT`] bytes, refused before it is
//! read when larger.

use crate::triage::{self, Report};
use crate::{dump, userdump};
use std::io::Read;
use std::path::Path;

/// The largest text read: WinDbg's `!analyze -v` is a few KiB, a pasted
/// session with `lm` and `!thread` a few MiB.
pub const MAX_TEXT: u64 = 64 << 20;

/// What the first bytes say the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `PAGEDU64` / `PAGEDUMP`.
    KernelDump,
    /// `MDMP`.
    UserDump,
    /// Anything else.
    Text,
}

/// The kind of input that starts with `head`.
pub fn kind(head: &[u8]) -> Kind {
    if dump::is_dump(head) {
        Kind::KernelDump
    } else if userdump::is_user_dump(head) {
        Kind::UserDump
    } else {
        Kind::Text
    }
}

fn too_much_text(what: &str, size: Option<u64>) -> String {
    let size = size.map(|s| format!(" ({s} bytes)")).unwrap_or_default();
    format!(
        "{what}{size} is neither a kernel dump (PAGEDU64/PAGEDUMP) nor a user-mode minidump (MDMP), so it would be \
         read as text, and text is limited to {MAX_TEXT} bytes (64 MiB): give triage the dump file itself, or paste \
         only WinDbg's `!analyze -v` output"
    )
}

/// Triage of the file at `path`; `driver` names the developer's driver.
pub fn triage_path(path: &Path, driver: Option<&str>) -> Result<Report, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let size = file.metadata().map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    let mut head = Vec::with_capacity(8);
    (&mut file).take(8).read_to_end(&mut head).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match kind(&head) {
        Kind::KernelDump => dump::read_file(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .map(|d| triage::triage_dump(&d, driver)),
        Kind::UserDump => userdump::read_file(path).map(|u| triage::triage_user_dump(&u, driver)),
        Kind::Text if size > MAX_TEXT => Err(too_much_text(&path.display().to_string(), Some(size))),
        Kind::Text => {
            let mut bytes = head;
            // The size may have grown since: read at most the bound.
            (&mut file)
                .take(MAX_TEXT + 1 - bytes.len() as u64)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if bytes.len() as u64 > MAX_TEXT {
                return Err(too_much_text(&path.display().to_string(), None));
            }
            triage::triage_text(&String::from_utf8_lossy(&bytes), driver)
        }
    }
}

/// Triage of standard input: read up to [`MAX_TEXT`] bytes (a small kernel
/// dump or a minidump fits; a larger dump is given by its path).
pub fn triage_reader(input: impl Read, driver: Option<&str>) -> Result<Report, String> {
    let mut bytes = Vec::new();
    input.take(MAX_TEXT + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read standard input: {e}"))?;
    let over = bytes.len() as u64 > MAX_TEXT;
    match kind(&bytes) {
        _ if over => Err(format!(
            "standard input is over {MAX_TEXT} bytes (64 MiB), the most read from a pipe: give the file's path instead"
        )),
        Kind::KernelDump => {
            dump::parse(&bytes, bytes.len() as u64).map_err(|e| format!("standard input: {e}")).map(|mut d| {
                if crate::kernel::has_memory(d.dump_type) {
                    d.notes.push(
                        "the driver lists of a complete, kernel or bitmap dump are read from a file: give its path \
                         instead of standard input"
                            .into(),
                    );
                }
                triage::triage_dump(&d, driver)
            })
        }
        Kind::UserDump => userdump::parse(&bytes, bytes.len() as u64)
            .map_err(|e| format!("standard input: {e}"))
            .map(|u| triage::triage_user_dump(&u, driver)),
        Kind::Text => triage::triage_text(&String::from_utf8_lossy(&bytes), driver),
    }
}
