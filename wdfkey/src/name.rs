//! Registry names: validated UTF-16 that a `UNICODE_STRING` can carry.

use crate::error::{Error, Result};
use crate::sys::UNICODE_STRING;
use alloc::vec::Vec;

/// The longest name a `UNICODE_STRING` holds: 32,767 UTF-16 units (its
/// lengths are byte counts in a `USHORT`).
pub const MAX_NAME_UNITS: usize = 32_767;

/// A key or value name (or an absolute `\Registry\...` path): non-empty, at
/// most [`MAX_NAME_UNITS`] UTF-16 units, no NUL.
///
/// # Invariants
/// `units` satisfies those three rules, so a `UNICODE_STRING` over it is
/// always well formed.
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey, RegName};
/// use wdfkey::sys::STATUS_INVALID_PARAMETER;
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// assert_eq!(RegName::new("").unwrap_err().status(), STATUS_INVALID_PARAMETER);
/// assert_eq!(RegName::new("a\0b").unwrap_err().status(), STATUS_INVALID_PARAMETER);
/// // Built once, used for many calls without converting again.
/// let level = RegName::new("TraceLevel")?;
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// key.assign_u32(&level, 4)?;
/// assert_eq!(key.query_u32(&level)?, 4);
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct RegName<'a> {
    units: Units<'a>,
}

/// Names up to this many UTF-16 units are converted into the `RegName`
/// itself, without a pool allocation (most key and value names are short).
const INLINE_UNITS: usize = 32;

#[derive(Debug, Clone)]
enum Units<'a> {
    Borrowed(&'a [u16]),
    /// The first `len` units of `buf` (`len <= INLINE_UNITS`).
    Inline {
        buf: [u16; INLINE_UNITS],
        len: u8,
    },
    Owned(Vec<u16>),
}

/// Two names are equal when their units are, however each holds them.
impl PartialEq for RegName<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_utf16() == other.as_utf16()
    }
}

impl Eq for RegName<'_> {}

fn validate(units: &[u16]) -> Result<()> {
    if units.is_empty() || units.len() > MAX_NAME_UNITS || units.contains(&0) {
        return Err(Error::invalid_name());
    }
    Ok(())
}

impl<'a> RegName<'a> {
    /// A name from UTF-16 units, borrowed.
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` if it is empty, too long, or holds a NUL.
    pub fn from_utf16(units: &'a [u16]) -> Result<Self> {
        validate(units)?;
        // INVARIANT: validated above.
        Ok(RegName { units: Units::Borrowed(units) })
    }

    /// A name from UTF-8, converted into the name itself when it is short
    /// (at most 32 UTF-16 units), else into a fallibly allocated buffer ([K5]).
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` as [`RegName::from_utf16`];
    /// `STATUS_INSUFFICIENT_RESOURCES` if the buffer cannot be allocated.
    #[doc = doc_links!()]
    pub fn new(name: &str) -> Result<RegName<'static>> {
        if name.is_empty() || name.len() > 3 * MAX_NAME_UNITS || name.contains('\0') {
            return Err(Error::invalid_name());
        }
        // UTF-16 never needs more units than UTF-8 has bytes: a name of at
        // most INLINE_UNITS bytes fits the inline buffer whole.
        if name.len() <= INLINE_UNITS {
            let mut buf = [0u16; INLINE_UNITS];
            let len = if name.is_ascii() {
                // One unit per byte.
                for (slot, byte) in buf.iter_mut().zip(name.bytes()) {
                    *slot = u16::from(byte);
                }
                name.len()
            } else {
                let mut len = 0;
                for (slot, unit) in buf.iter_mut().zip(name.encode_utf16()) {
                    *slot = unit;
                    len += 1;
                }
                len
            };
            // INVARIANT: non-empty and without NUL (checked on the text
            // above, and UTF-16 has a NUL unit only for a NUL character),
            // at most INLINE_UNITS units, which fits a u8.
            return Ok(RegName { units: Units::Inline { buf, len: len as u8 } });
        }
        let mut units = Vec::new();
        // UTF-16 never needs more units than UTF-8 has bytes.
        units.try_reserve_exact(name.len()).map_err(|_| Error::no_memory())?;
        if name.is_ascii() {
            // One unit per byte: a loop the compiler can widen.
            units.extend(name.bytes().map(u16::from));
        } else {
            units.extend(name.encode_utf16());
        }
        validate(&units)?;
        // INVARIANT: validated above.
        Ok(RegName { units: Units::Owned(units) })
    }

    /// The UTF-16 units.
    pub fn as_utf16(&self) -> &[u16] {
        match &self.units {
            Units::Borrowed(u) => u,
            Units::Inline { buf, len } => &buf[..usize::from(*len)],
            Units::Owned(u) => u,
        }
    }

    /// A counted string over the units, valid while `self` is borrowed.
    pub(crate) fn unicode_string(&self) -> UNICODE_STRING {
        let units = self.as_utf16();
        // The invariant bounds the length: 2 * 32,767 fits a USHORT.
        let bytes = u16::try_from(units.len() * 2).unwrap_or(u16::MAX - 1);
        // The callee reads `Buffer` only (PCUNICODE_STRING), never writes it.
        UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_ptr().cast_mut() }
    }
}

/// Anything a name can be made from: `&str`, `&[u16]`, or a [`RegName`].
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey, RegName, Volatility};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// let utf16: Vec<u16> = "Sub".encode_utf16().collect();
/// key.create_subkey("Sub", Access::ALL, Volatility::NonVolatile)?; // &str
/// key.open_subkey(utf16.as_slice(), Access::READ)?;              // &[u16]
/// key.open_subkey(RegName::new("Sub")?, Access::READ)?;          // RegName
/// # Ok(()) }).unwrap().unwrap();
/// ```
pub trait IntoRegName<'a> {
    /// The validated name.
    ///
    /// # Errors
    /// As [`RegName::new`] / [`RegName::from_utf16`].
    fn into_reg_name(self) -> Result<RegName<'a>>;
}

impl<'a> IntoRegName<'a> for &str {
    fn into_reg_name(self) -> Result<RegName<'a>> {
        RegName::new(self)
    }
}

impl<'a> IntoRegName<'a> for &'a [u16] {
    fn into_reg_name(self) -> Result<RegName<'a>> {
        RegName::from_utf16(self)
    }
}

impl<'a> IntoRegName<'a> for RegName<'a> {
    fn into_reg_name(self) -> Result<RegName<'a>> {
        Ok(self)
    }
}

/// A borrowed name lends its units: no copy, no allocation.
impl<'b> IntoRegName<'b> for &'b RegName<'_> {
    fn into_reg_name(self) -> Result<RegName<'b>> {
        // INVARIANT: the units of a RegName are already validated.
        Ok(RegName { units: Units::Borrowed(self.as_utf16()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_name_lends_its_units() {
        let owned = RegName::new("Parameters").unwrap();
        let lent = (&owned).into_reg_name().unwrap();
        assert_eq!(lent, RegName::from_utf16(owned.as_utf16()).unwrap());
        assert_eq!(lent.as_utf16().as_ptr(), owned.as_utf16().as_ptr(), "no copy");
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(RegName::new("").unwrap_err(), Error::invalid_name());
        assert_eq!(RegName::new("a\0b").unwrap_err(), Error::invalid_name());
        assert!(RegName::new(&"x".repeat(MAX_NAME_UNITS)).is_ok());
        assert_eq!(RegName::new(&"x".repeat(MAX_NAME_UNITS + 1)).unwrap_err(), Error::invalid_name());
        assert_eq!(RegName::from_utf16(&[0x41, 0]).unwrap_err(), Error::invalid_name());
        let n = RegName::new("Größe").unwrap();
        let us = n.unicode_string();
        assert_eq!((us.Length, us.MaximumLength), (10, 10));
        let long = "Parameters of a name longer than thirty-two units";
        for text in ["Größe", "Parameters", "€ and 𝄞", long, "x", &"y".repeat(32), &"z".repeat(33)] {
            let units: Vec<u16> = text.encode_utf16().collect();
            let name = RegName::new(text).unwrap();
            assert_eq!(name.as_utf16(), units.as_slice(), "{text}");
            assert_eq!(name, RegName::from_utf16(&units).unwrap(), "equal however held: {text}");
        }
        // A short name's 𝄞 is two units; a NUL anywhere is refused either way.
        assert_eq!(RegName::new("𝄞").unwrap().as_utf16().len(), 2);
        assert_eq!(RegName::new(&format!("{}\0", "a".repeat(40))).unwrap_err(), Error::invalid_name());
    }
}
