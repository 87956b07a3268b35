//! The crate's error: an `NTSTATUS`, and the needed length where the
//! framework reports one ([F21]: `STATUS_BUFFER_OVERFLOW` with the length).
//!
//! [F21]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/facts.md#f21

use crate::sys::{NTSTATUS, STATUS_BUFFER_OVERFLOW, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER};

/// A failed registry operation.
///
/// Converts into the `NTSTATUS` a driver callback returns (`?` in a function
/// returning `Result<_, NTSTATUS>` works through `From`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    status: NTSTATUS,
    needed: Option<u32>,
}

impl Error {
    /// An error with `status` and no length.
    pub const fn new(status: NTSTATUS) -> Self {
        Error { status, needed: None }
    }

    /// `STATUS_BUFFER_OVERFLOW` with the length (bytes, or UTF-16 units for
    /// string buffers, as the method documents) the value needs.
    pub const fn overflow(needed: u32) -> Self {
        Error { status: STATUS_BUFFER_OVERFLOW, needed: Some(needed) }
    }

    /// A name that is empty, too long for a `UNICODE_STRING`, or holds a NUL.
    pub const fn invalid_name() -> Self {
        Error::new(STATUS_INVALID_PARAMETER)
    }

    /// An allocation that failed ([K5]: never an infallible one).
    ///
    /// [K5]: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/invariants.md#k5
    pub const fn no_memory() -> Self {
        Error::new(STATUS_INSUFFICIENT_RESOURCES)
    }

    /// The status.
    pub const fn status(&self) -> NTSTATUS {
        self.status
    }

    /// The length the value needs, when the buffer was too small.
    pub const fn needed(&self) -> Option<u32> {
        self.needed
    }
}

impl From<Error> for NTSTATUS {
    fn from(e: Error) -> NTSTATUS {
        e.status
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // NTSTATUS as the two's-complement hex the debugger prints.
        write!(f, "NTSTATUS {:#010X}", self.status as u32)?;
        if let Some(n) = self.needed {
            write!(f, " (needs {n})")?;
        }
        Ok(())
    }
}

/// The crate's result.
pub type Result<T> = core::result::Result<T, Error>;

/// Maps a framework status to `Ok(())` or an [`Error`].
pub(crate) fn check(status: NTSTATUS) -> Result<()> {
    if crate::sys::NT_SUCCESS(status) { Ok(()) } else { Err(Error::new(status)) }
}
