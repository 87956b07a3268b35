//! The Rtl counted-string routines (F83): copy, append, compare, equal, on
//! the UTF-16 code units a `UNICODE_STRING` holds. The surface reads and
//! writes the driver's buffers; the rules are here.

use std::cmp::Ordering;

/// The code unit a case-insensitive comparison uses: its upper case where
/// that is one unit (ASSUMPTION, F83: the kernel's upcase table, approximated
/// by Unicode's simple upper-case mapping).
fn upcase(unit: u16) -> u16 {
    char::from_u32(u32::from(unit))
        .and_then(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u16::try_from(u32::from(u)).ok(),
                _ => None,
            }
        })
        .unwrap_or(unit)
}

/// RtlCompareUnicodeString (F83): the difference of the first units that
/// differ (upcased when `insensitive`), else of the lengths: < 0, 0, > 0.
pub(crate) fn compare(a: &[u16], b: &[u16], insensitive: bool) -> i32 {
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = if insensitive { (upcase(x), upcase(y)) } else { (x, y) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// RtlEqualUnicodeString (F83): same length and every unit equal.
pub(crate) fn equal(a: &[u16], b: &[u16], insensitive: bool) -> bool {
    a.len() == b.len() && compare(a, b, insensitive) == 0
}

/// RtlCopyUnicodeString (F83): how many units of `source` (of `units` in
/// all) fit a destination of `capacity` units, and whether a NUL follows
/// them (when room is left).
pub(crate) fn copy_plan(units: usize, capacity: usize) -> (usize, bool) {
    let n = units.min(capacity);
    (n, n < capacity)
}

/// RtlAppendUnicodeToString (F83): where `units` more go after `length` in
/// a buffer of `capacity` units, or STATUS_BUFFER_TOO_SMALL (the
/// destination unchanged); and whether a NUL follows.
pub(crate) fn append_plan(length: usize, units: usize, capacity: usize) -> Result<bool, crate::abi::NTSTATUS> {
    let end = length.checked_add(units).filter(|&e| e <= capacity).ok_or(crate::abi::STATUS_BUFFER_TOO_SMALL)?;
    Ok(end < capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn comparison_orders_by_unit_then_length() {
        assert_eq!(compare(&w("abc"), &w("abc"), false), 0);
        assert!(compare(&w("abc"), &w("abd"), false) < 0);
        assert!(compare(&w("abc"), &w("ab"), false) > 0);
        assert!(compare(&w("ABC"), &w("abc"), false) < 0);
        assert_eq!(compare(&w("ABC"), &w("abc"), true), 0);
        assert!(equal(&w("Ünï"), &w("ÜNÏ"), true) && !equal(&w("Ünï"), &w("ÜNÏ"), false));
        assert!(!equal(&w("ab"), &w("abc"), true));
    }

    #[test]
    fn copies_and_appends_fit_the_destination() {
        assert_eq!(copy_plan(5, 10), (5, true));
        assert_eq!(copy_plan(10, 10), (10, false));
        assert_eq!(copy_plan(12, 10), (10, false), "truncated to MaximumLength");
        assert_eq!(append_plan(3, 4, 8), Ok(true));
        assert_eq!(append_plan(3, 5, 8), Ok(false));
        assert_eq!(append_plan(3, 6, 8), Err(crate::abi::STATUS_BUFFER_TOO_SMALL));
    }
}
