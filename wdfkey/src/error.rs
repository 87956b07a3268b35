//! The crate's error: an `NTSTATUS`, and the needed length where the
//! framework reports one ([F21]: `STATUS_BUFFER_OVERFLOW` with the length).
#![doc = doc_links!()]

use crate::sys::{
    NTSTATUS, STATUS_BUFFER_OVERFLOW, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_NO_MORE_ENTRIES,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_TYPE_MISMATCH, STATUS_RESOURCE_DATA_NOT_FOUND, STATUS_UNSUCCESSFUL,
};

/// A failed registry operation: a failure `NTSTATUS` (never a success or
/// informational one), and the length the value needs when the buffer was
/// too small.
///
/// Converts into the `NTSTATUS` a driver callback returns (`?` in a function
/// returning `Result<_, NTSTATUS>` works through `From`). Implements
/// [`core::error::Error`], so it also fits `Box<dyn Error>` in host tools and
/// tests.
///
/// # Invariants
/// `NT_SUCCESS(status)` is false.
///
/// # Examples
/// ```
/// use wdfkey::Error;
/// use wdfkey::sys::{NTSTATUS, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS};
///
/// // Only a failure status makes an error.
/// assert_eq!(Error::new(STATUS_SUCCESS), None);
/// let e = Error::new(STATUS_OBJECT_NAME_NOT_FOUND).ok_or("a failure status")?;
/// assert_eq!(e.to_string(), "NTSTATUS 0xC0000034");
/// assert_eq!(NTSTATUS::from(e), STATUS_OBJECT_NAME_NOT_FOUND);
///
/// // A framework status, as a Result.
/// assert_eq!(Error::check(STATUS_SUCCESS), Ok(()));
/// assert_eq!(Error::check(STATUS_OBJECT_NAME_NOT_FOUND), Err(e));
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    status: NTSTATUS,
    needed: Option<u32>,
}

impl Error {
    /// `STATUS_UNSUCCESSFUL`: for a failure whose status is not known.
    pub const UNSUCCESSFUL: Error = Error::failure(STATUS_UNSUCCESSFUL);

    /// An error with `status` and no length; `None` when `status` is not a
    /// failure (`NT_SUCCESS(status)`: success and informational statuses).
    pub const fn new(status: NTSTATUS) -> Option<Self> {
        // NT_SUCCESS, as a const expression: the severity bits are 00 or 01.
        if status >= 0 { None } else { Some(Error { status, needed: None }) }
    }

    /// `Ok(())` for a success status, the error otherwise — what to do with
    /// the status a framework or `Zw*` call returned.
    pub const fn check(status: NTSTATUS) -> Result<()> {
        match Error::new(status) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// An error from a status known to be a failure. Used only to build the
    /// constants above and below: in a `const` item the assertion is checked
    /// by the compiler, so it can never fail at run time (K5).
    const fn failure(status: NTSTATUS) -> Self {
        assert!(status < 0, "not a failure status");
        // INVARIANT: asserted above.
        Error { status, needed: None }
    }

    pub(crate) const INVALID_PARAMETER: Error = Error::failure(STATUS_INVALID_PARAMETER);
    pub(crate) const TYPE_MISMATCH: Error = Error::failure(STATUS_OBJECT_TYPE_MISMATCH);
    /// `STATUS_BUFFER_OVERFLOW` without a length (a value that kept growing).
    pub(crate) const OVERFLOW: Error = Error::failure(STATUS_BUFFER_OVERFLOW);
    pub(crate) const DATA_NOT_FOUND: Error = Error::failure(STATUS_RESOURCE_DATA_NOT_FOUND);
    pub(crate) const NAME_NOT_FOUND: Error = Error::failure(STATUS_OBJECT_NAME_NOT_FOUND);
    pub(crate) const NO_MORE_ENTRIES: Error = Error::failure(STATUS_NO_MORE_ENTRIES);
    const NO_MEMORY: Error = Error::failure(STATUS_INSUFFICIENT_RESOURCES);

    /// `STATUS_BUFFER_OVERFLOW` with the length (bytes, or UTF-16 units for
    /// string buffers, as the method documents) the value needs.
    pub const fn overflow(needed: u32) -> Self {
        Error { status: STATUS_BUFFER_OVERFLOW, needed: Some(needed) }
    }

    /// A name that is empty, too long for a `UNICODE_STRING`, or holds a NUL.
    pub const fn invalid_name() -> Self {
        Error::INVALID_PARAMETER
    }

    /// An allocation that failed ([K5]: never an infallible one).
    #[doc = doc_links!()]
    pub const fn no_memory() -> Self {
        Error::NO_MEMORY
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

impl core::error::Error for Error {}

/// The crate's result.
///
/// # Examples
/// ```
/// use wdfkey::sys::NTSTATUS;
///
/// // `?` turns a wdfkey::Error into the NTSTATUS a callback returns.
/// fn callback(r: wdfkey::Result<u32>) -> Result<u32, NTSTATUS> {
///     Ok(r?)
/// }
/// let failed = wdfkey::Error::new(wdfkey::sys::STATUS_ACCESS_DENIED).unwrap();
/// assert_eq!(callback(Err(failed)), Err(wdfkey::sys::STATUS_ACCESS_DENIED));
/// ```
pub type Result<T> = core::result::Result<T, Error>;

/// Maps a framework status to `Ok(())` or an [`Error`] ([`Error::check`]).
pub(crate) const fn check(status: NTSTATUS) -> Result<()> {
    Error::check(status)
}
