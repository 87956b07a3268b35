//! More Rtl string routines (F148): ANSI strings and their conversions to
//! and from Unicode, the buffers those conversions allocate (freed by
//! RtlFreeUnicodeString / RtlFreeAnsiString), integers to and from Unicode
//! strings, prefixes. The surface reads and writes the driver's strings; the
//! rules are here.

use crate::abi::NTSTATUS;
use crate::model::{Name, State};
use std::collections::HashMap;

/// The ANSI code page, modelled as ISO-8859-1 (ASSUMPTION, F148): a Unicode
/// unit up to U+00FF is that byte, any other the default character `?`.
pub(crate) fn to_ansi(units: &[u16]) -> Vec<u8> {
    units.iter().map(|&u| u8::try_from(u).unwrap_or(b'?')).collect()
}

/// ANSI bytes as Unicode units (ISO-8859-1, F148).
pub(crate) fn from_ansi(bytes: &[u8]) -> Vec<u16> {
    bytes.iter().map(|&b| u16::from(b)).collect()
}

/// The digits of `value` in `base` (0 means 10; 2, 8, 10 and 16 are the
/// others allowed; hex digits upper case); `None` for another base (F148).
pub(crate) fn integer_units(value: u64, base: u32) -> Option<Vec<u16>> {
    let base = match base {
        0 => 10,
        2 | 8 | 10 | 16 => u64::from(base),
        _ => return None,
    };
    let mut digits = Vec::new();
    let mut v = value;
    loop {
        let d = (v % base) as u8;
        digits.push(u16::from(if d < 10 { b'0' + d } else { b'A' + d - 10 }));
        v /= base;
        if v == 0 {
            break;
        }
    }
    digits.reverse();
    Some(digits)
}

/// RtlUnicodeStringToInteger (F148): leading white space, an optional sign,
/// with `base` 0 an optional `0x`/`0o`/`0b` prefix (else decimal), then the
/// digits valid in the base up to the first that is not; `None` for a base
/// other than 0, 2, 8, 10, 16. A minus sign negates (two's complement).
pub(crate) fn parse_integer(units: &[u16], base: u32) -> Option<u32> {
    if !matches!(base, 0 | 2 | 8 | 10 | 16) {
        return None;
    }
    let mut rest: Vec<char> = char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or('\u{FFFD}')).collect();
    while rest.first().is_some_and(|c| u32::from(*c) <= u32::from(b' ')) {
        rest.remove(0);
    }
    let negative = rest.first() == Some(&'-');
    if matches!(rest.first(), Some('-' | '+')) {
        rest.remove(0);
    }
    let mut base = base;
    if base == 0 {
        base = match (rest.first(), rest.get(1)) {
            (Some('0'), Some('x')) => 16,
            (Some('0'), Some('o')) => 8,
            (Some('0'), Some('b')) => 2,
            _ => 10,
        };
        if base != 10 {
            rest.drain(..2);
        }
    }
    let mut value: u32 = 0;
    for c in rest {
        let Some(d) = c.to_digit(base) else { break };
        value = value.wrapping_mul(base).wrapping_add(d);
    }
    Some(if negative { value.wrapping_neg() } else { value })
}

/// A buffer an Rtl conversion allocated for its destination string.
#[derive(Debug)]
struct StringBuffer {
    /// Only held: the string's Buffer points into it.
    #[allow(dead_code, reason = "owns the memory the string's Buffer points into")]
    memory: Box<[u64]>,
    image: Name,
}

/// The buffers the conversions allocated and the free routines have not
/// freed, by address.
#[derive(Debug, Default)]
pub(crate) struct StringBuffers {
    live: HashMap<u64, StringBuffer>,
}

impl State {
    /// A zeroed buffer of `bytes` for an Rtl conversion's destination (paged
    /// pool, F148), owned by the calling image; its address.
    pub(crate) fn rtl_allocate_string(&mut self, bytes: usize) -> u64 {
        let mut memory = vec![0u64; bytes.div_ceil(8).max(1)].into_boxed_slice();
        let address = memory.as_mut_ptr() as u64;
        let image = self.caller_image();
        self.kernel.string_buffers.live.insert(address, StringBuffer { memory, image });
        address
    }

    /// RtlFreeUnicodeString / RtlFreeAnsiString (`routine`) of `buffer`: a
    /// null buffer is nothing to free; one no conversion allocated is not
    /// modelled (F148). `None` after a stop.
    pub(crate) fn rtl_free_string(&mut self, routine: &str, buffer: u64) -> Option<()> {
        if buffer == 0 || self.kernel.string_buffers.live.remove(&buffer).is_some() {
            return Some(());
        }
        self.stop_not_modelled(format!(
            "{routine} of a buffer ({buffer:#x}) no Rtl conversion allocated (docs/facts.md#f148)"
        ));
        None
    }

    /// At unload: a conversion's buffer the image never freed is a finding
    /// (ASSUMPTION, F148: the kernel allocated it, so Pool Tracking does not
    /// count it against the driver).
    pub(crate) fn string_buffer_leak_check(&mut self, image: &str) {
        let left = self.kernel.string_buffers.live.values().filter(|b| b.image.as_str() == image).count();
        if left == 0 {
            return;
        }
        self.kernel.string_buffers.live.retain(|_, b| b.image.as_str() != image);
        self.framework.findings.push(format!(
            "{image} unloaded without RtlFreeUnicodeString/RtlFreeAnsiString for {left} string buffer(s) an Rtl \
             conversion allocated (docs/facts.md#f148)"
        ));
    }
}

/// STATUS_BUFFER_OVERFLOW: a destination too small for the conversion.
pub(crate) const STATUS_BUFFER_OVERFLOW: NTSTATUS = 0x8000_0005_u32 as NTSTATUS;

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn integers_in_every_base_and_back() {
        assert_eq!(integer_units(0, 10), Some(w("0")));
        assert_eq!(integer_units(255, 16), Some(w("FF")));
        assert_eq!(integer_units(5, 2), Some(w("101")));
        assert_eq!(integer_units(8, 0), Some(w("8")));
        assert_eq!(integer_units(8, 3), None);
        assert_eq!(parse_integer(&w("  42xyz"), 10), Some(42));
        assert_eq!(parse_integer(&w("0x1f"), 0), Some(31));
        assert_eq!(parse_integer(&w("-1"), 10), Some(u32::MAX));
        assert_eq!(parse_integer(&w("0b101"), 0), Some(5));
        assert_eq!(parse_integer(&w("12"), 7), None);
    }

    #[test]
    fn the_ansi_code_page_is_latin_1() {
        assert_eq!(to_ansi(&w("aé€")), [b'a', 0xE9, b'?']);
        assert_eq!(from_ansi(&[b'a', 0xE9]), w("aé"));
    }
}
