//! The IOCTL wire format of wdfkey-guard: control codes and the byte layouts
//! of requests and responses, with an encoder and a decoder. Plain `no_std`
//! Rust with no kernel types, shared by the driver, the harness, the fuzzers
//! and the VM scripts' generated constants.
//!
//! All integers are little-endian. Names are UTF-16 units. Every request is
//! METHOD_BUFFERED on `FILE_DEVICE_UNKNOWN`.
//!
//! | IOCTL | input | output |
//! |---|---|---|
//! | `IOCTL_GET_VALUE` | name header + name | value header (`type: u32`, `len: u32`) + data |
//! | `IOCTL_SET_VALUE` | set header (`name_units: u16`, `0: u16`, `type: u32`, `len: u32`) + name + data | — |
//! | `IOCTL_DELETE_VALUE` | name header + name | — |
//! | `IOCTL_ENUM_VALUES` | `index: u32` | `type: u32`, `name_units: u16`, `0: u16` + name |
//! | `IOCTL_GET_STATS` | — | [`Stats`], 20 bytes |
//!
//! The name header is `name_units: u16` followed by `0: u16` (reserved).

/// `CTL_CODE(DeviceType, Function, Method, Access)` (a C macro, not bound).
pub const fn ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
    (device_type << 16) | (access << 14) | (function << 2) | method
}

const FILE_DEVICE_UNKNOWN: u32 = 0x22;
const METHOD_BUFFERED: u32 = 0;
const FILE_ANY_ACCESS: u32 = 0;
const FILE_READ_ACCESS: u32 = 1;
const FILE_WRITE_ACCESS: u32 = 2;

/// Reads one value of the store.
pub const IOCTL_GET_VALUE: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_READ_ACCESS);
/// Writes one value of the store.
pub const IOCTL_SET_VALUE: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_WRITE_ACCESS);
/// Deletes one value of the store.
pub const IOCTL_DELETE_VALUE: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_WRITE_ACCESS);
/// Names the `index`th value of the store.
pub const IOCTL_ENUM_VALUES: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x803, METHOD_BUFFERED, FILE_READ_ACCESS);
/// The driver's statistics.
pub const IOCTL_GET_STATS: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x804, METHOD_BUFFERED, FILE_ANY_ACCESS);

/// The longest value name the driver accepts, in UTF-16 units.
pub const MAX_NAME_UNITS: usize = 255;
/// Bytes of a name header.
pub const NAME_HEADER: usize = 4;
/// Bytes of a set header.
pub const SET_HEADER: usize = 12;
/// Bytes of a value header in a GET_VALUE response.
pub const VALUE_HEADER: usize = 8;
/// Bytes of an ENUM_VALUES response header.
pub const ENUM_HEADER: usize = 8;
/// Bytes of a GET_STATS response.
pub const STATS_LEN: usize = 20;

/// `REG_SZ`, `REG_EXPAND_SZ`, `REG_BINARY`, `REG_DWORD`, `REG_MULTI_SZ`, `REG_QWORD`.
pub const VALUE_TYPES: [u32; 6] = [1, 2, 3, 4, 7, 11];

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The input is shorter than its headers say (`STATUS_BUFFER_TOO_SMALL`
    /// for a short header, `STATUS_INVALID_PARAMETER` for inconsistent lengths).
    TooShort,
    /// Lengths that do not add up, a reserved field not 0, trailing bytes.
    Malformed,
    /// A name that is empty, too long, or holds `\`, `/`, NUL, or is `..`.
    BadName,
    /// A type the store does not take, or data that does not fit the type.
    BadValue,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

/// A validated name: UTF-16 bytes (little-endian), 1..=MAX_NAME_UNITS units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    bytes: &'a [u8],
}

impl<'a> Name<'a> {
    /// The UTF-16 units.
    pub fn units(&self) -> impl Iterator<Item = u16> + 'a {
        self.bytes.chunks_exact(2).map(|c| match c {
            [lo, hi] => u16::from_le_bytes([*lo, *hi]),
            _ => 0,
        })
    }

    /// How many UTF-16 units.
    pub fn len(&self) -> usize {
        self.bytes.len() / 2
    }

    /// Never true for a validated name.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Checks a name's bytes: the store is flat, so path separators and `..`
/// are refused, as are NUL, empty and over-long names.
fn name(bytes: &[u8]) -> Result<Name<'_>, WireError> {
    let units = bytes.len() / 2;
    if units == 0 || units > MAX_NAME_UNITS || !bytes.len().is_multiple_of(2) {
        return Err(WireError::BadName);
    }
    let n = Name { bytes };
    if n.units().any(|u| u == 0 || u == u16::from(b'\\') || u == u16::from(b'/')) {
        return Err(WireError::BadName);
    }
    let dot = u16::from(b'.');
    if n.units().all(|u| u == dot) {
        // `.` and `..` (and longer runs) name no value.
        return Err(WireError::BadName);
    }
    Ok(n)
}

/// Decodes the input of GET_VALUE / DELETE_VALUE.
///
/// # Errors
/// [`WireError`] for a short, inconsistent or badly named request.
pub fn decode_name_request(input: &[u8]) -> Result<Name<'_>, WireError> {
    let units = usize::from(u16_at(input, 0).ok_or(WireError::TooShort)?);
    if u16_at(input, 2).ok_or(WireError::TooShort)? != 0 {
        return Err(WireError::Malformed);
    }
    let end = NAME_HEADER + units * 2;
    let bytes = input.get(NAME_HEADER..end).ok_or(WireError::TooShort)?;
    if input.len() != end {
        return Err(WireError::Malformed);
    }
    name(bytes)
}

/// A decoded SET_VALUE request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRequest<'a> {
    /// The value's name.
    pub name: Name<'a>,
    /// `REG_*` type.
    pub kind: u32,
    /// The data.
    pub data: &'a [u8],
}

/// Whether `data` is well formed for `kind`.
fn value_fits(kind: u32, data: &[u8]) -> bool {
    match kind {
        4 => data.len() == 4,
        11 => data.len() == 8,
        1 | 2 => data.len().is_multiple_of(2),
        7 => data.len().is_multiple_of(2) && (data.is_empty() || data.ends_with(&[0, 0])),
        3 => true,
        _ => false,
    }
}

/// Decodes the input of SET_VALUE; `max_data` is the driver's limit.
///
/// # Errors
/// [`WireError`] for a short, inconsistent or badly named request, a type the
/// store does not take, data over `max_data` or not fitting its type.
pub fn decode_set_request(input: &[u8], max_data: usize) -> Result<SetRequest<'_>, WireError> {
    let units = usize::from(u16_at(input, 0).ok_or(WireError::TooShort)?);
    let reserved = u16_at(input, 2).ok_or(WireError::TooShort)?;
    let kind = u32_at(input, 4).ok_or(WireError::TooShort)?;
    let len = usize::try_from(u32_at(input, 8).ok_or(WireError::TooShort)?).map_err(|_| WireError::Malformed)?;
    if reserved != 0 {
        return Err(WireError::Malformed);
    }
    let name_end = SET_HEADER + units * 2;
    let name_bytes = input.get(SET_HEADER..name_end).ok_or(WireError::TooShort)?;
    let data_end = name_end.checked_add(len).ok_or(WireError::Malformed)?;
    let data = input.get(name_end..data_end).ok_or(WireError::TooShort)?;
    if input.len() != data_end {
        return Err(WireError::Malformed);
    }
    let name = name(name_bytes)?;
    if !VALUE_TYPES.contains(&kind) || len > max_data || !value_fits(kind, data) {
        return Err(WireError::BadValue);
    }
    Ok(SetRequest { name, kind, data })
}

/// Decodes the input of ENUM_VALUES.
///
/// # Errors
/// [`WireError::TooShort`] / [`WireError::Malformed`] unless exactly 4 bytes.
pub fn decode_enum_request(input: &[u8]) -> Result<u32, WireError> {
    if input.len() < 4 {
        return Err(WireError::TooShort);
    }
    if input.len() != 4 {
        return Err(WireError::Malformed);
    }
    u32_at(input, 0).ok_or(WireError::TooShort)
}

/// The driver's statistics (GET_STATS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// `LoadCount` from the persistent-state key: loads so far, this one included.
    pub load_count: u32,
    /// Registry keys this load opened.
    pub keys_opened: u32,
    /// Registry keys this load closed.
    pub keys_closed: u32,
    /// Requests that failed.
    pub failures: u32,
    /// Requests handled.
    pub requests: u32,
}

impl Stats {
    /// The 20-byte response.
    pub fn encode(&self) -> [u8; STATS_LEN] {
        let mut out = [0u8; STATS_LEN];
        let fields = [self.load_count, self.keys_opened, self.keys_closed, self.failures, self.requests];
        for (dst, v) in out.chunks_exact_mut(4).zip(fields) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads a GET_STATS response: exactly [`STATS_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> Option<Stats> {
        if bytes.len() != STATS_LEN {
            return None;
        }
        Some(Stats {
            load_count: u32_at(bytes, 0)?,
            keys_opened: u32_at(bytes, 4)?,
            keys_closed: u32_at(bytes, 8)?,
            failures: u32_at(bytes, 12)?,
            requests: u32_at(bytes, 16)?,
        })
    }
}

/// Encoders for callers (harness, tests, fuzzers). They allocate, so they
/// are only built where `alloc` is the caller's business.
// Caller-side helpers, never reached from the driver's callbacks: the K5 ban
// on infallible allocation (clippy.toml) is for driver code.
#[allow(clippy::disallowed_methods)]
pub mod encode {
    extern crate alloc;
    use super::{NAME_HEADER, SET_HEADER};
    use alloc::vec::Vec;

    /// Appends the name's UTF-16LE bytes.
    fn push_utf16(v: &mut Vec<u8>, name: &str) {
        for unit in name.encode_utf16() {
            v.extend_from_slice(&unit.to_le_bytes());
        }
    }

    fn units(name: &str) -> u16 {
        u16::try_from(name.encode_utf16().count()).unwrap_or(u16::MAX)
    }

    /// GET_VALUE / DELETE_VALUE input.
    pub fn name_request(name: &str) -> Vec<u8> {
        let mut v = Vec::with_capacity(NAME_HEADER + name.len() * 2);
        v.extend_from_slice(&units(name).to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        push_utf16(&mut v, name);
        v
    }

    /// SET_VALUE input.
    pub fn set_request(name: &str, kind: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(SET_HEADER + name.len() * 2 + data.len());
        v.extend_from_slice(&units(name).to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
        push_utf16(&mut v, name);
        v.extend_from_slice(data);
        v
    }

    /// ENUM_VALUES input.
    pub fn enum_request(index: u32) -> Vec<u8> {
        index.to_le_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_buffered_unknown_device_ioctls() {
        assert_eq!(IOCTL_GET_VALUE, 0x0022_6000);
        assert_eq!(IOCTL_SET_VALUE, 0x0022_A004);
        assert_eq!(IOCTL_GET_STATS & 3, 0, "METHOD_BUFFERED");
    }

    #[test]
    fn requests_round_trip_and_bad_ones_are_refused() {
        let n = encode::name_request("Level");
        assert_eq!(decode_name_request(&n).map(|n| n.len()), Ok(5));
        let s = encode::set_request("Level", 4, &7u32.to_le_bytes());
        let d = decode_set_request(&s, 64).unwrap();
        assert_eq!((d.kind, d.data), (4, &7u32.to_le_bytes()[..]));
        for bad in ["", "a\\b", "a/b", "..", ".", "a\0b"] {
            assert_eq!(decode_name_request(&encode::name_request(bad)), Err(WireError::BadName), "{bad:?}");
        }
        assert_eq!(
            decode_name_request(&encode::name_request(&"x".repeat(MAX_NAME_UNITS + 1))),
            Err(WireError::BadName)
        );
        assert!(decode_name_request(&encode::name_request("..x")).is_ok(), "dots inside a name are fine");
        assert_eq!(decode_name_request(&[5, 0]), Err(WireError::TooShort));
        assert_eq!(decode_name_request(&[1, 0, 1, 0, 65, 0]), Err(WireError::Malformed));
        let mut trailing = encode::name_request("a");
        trailing.push(0);
        assert_eq!(decode_name_request(&trailing), Err(WireError::Malformed));
        assert_eq!(decode_set_request(&encode::set_request("a", 4, &[1, 2, 3]), 64), Err(WireError::BadValue));
        assert_eq!(decode_set_request(&encode::set_request("a", 9, &[]), 64), Err(WireError::BadValue));
        assert_eq!(decode_set_request(&encode::set_request("a", 3, &[0; 65]), 64), Err(WireError::BadValue));
        assert_eq!(decode_set_request(&encode::set_request("a", 7, &[65, 0]), 64), Err(WireError::BadValue));
        let mut huge = encode::set_request("a", 3, &[]);
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_set_request(&huge, 64), Err(WireError::TooShort));
        assert_eq!(decode_enum_request(&[1, 0, 0]), Err(WireError::TooShort));
        let stats = Stats { load_count: 1, keys_opened: 2, keys_closed: 3, failures: 4, requests: 5 };
        assert_eq!(Stats::decode(&stats.encode()), Some(stats));
        // Regression (fuzz/decode): a longer buffer is not a GET_STATS response.
        let crash = [5, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 86, 0, 97, 0, 108, 0, 117, 0, 101, 0, 7, 0, 0, 0];
        assert_eq!(Stats::decode(&crash), None);
        assert_eq!(Stats::decode(&stats.encode()[..STATS_LEN - 1]), None);
    }
}
