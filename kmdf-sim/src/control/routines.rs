//! Routine identity: every DDI and kernel routine the surface serves is
//! named by a `&'static str` at its entry ([`super::enter`]); the machine
//! turns that name into a position in its routine table once, and from then
//! on finds the routine's IRQL rule by the name's address — no hashing or
//! comparing of the name's text on a call.
//!
//! Two literals with the same text may have different addresses (one per
//! codegen unit); the table then holds both addresses for one position, so
//! every routine has exactly one entry whatever its callers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A routine's position in the machine's table.
pub(crate) type RoutineId = u32;

/// What the machine knows about one routine.
#[derive(Debug, Clone)]
pub(crate) struct Routine {
    /// Its name, e.g. `"WdfRegistryOpenKey"`.
    pub name: &'static str,
    /// The highest IRQL it may be called at ([`super::irql::max_irql`]).
    pub max_irql: Option<u8>,
    /// Calls counted (refused calls excluded).
    pub calls: u64,
}

/// Hashes a name's address and length: both are already well spread, so
/// one multiply mixes them enough.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The machine's routine table.
///
/// # Invariants
/// Every value of `by_address` and `by_name` is an index of `routines`;
/// `by_address` maps a name's (address, length) to the routine whose name
/// has that text, and `by_name` maps each name's text to its one entry.
#[derive(Debug, Default)]
pub(crate) struct Routines {
    routines: Vec<Routine>,
    by_address: HashMap<(usize, usize), RoutineId, BuildHasherDefault<AddressHasher>>,
    by_name: HashMap<&'static str, RoutineId>,
}

impl Routines {
    /// The position of `name`, entered on its first call.
    #[inline]
    pub(crate) fn intern(&mut self, name: &'static str) -> RoutineId {
        match self.by_address.get(&(name.as_ptr() as usize, name.len())) {
            Some(&id) => id,
            None => self.intern_new_address(name),
        }
    }

    #[cold]
    fn intern_new_address(&mut self, name: &'static str) -> RoutineId {
        let next = self.routines.len() as RoutineId;
        let id = *self.by_name.entry(name).or_insert(next);
        if id == next {
            self.routines.push(Routine { name, max_irql: super::irql::max_irql(name), calls: 0 });
        }
        self.by_address.insert((name.as_ptr() as usize, name.len()), id);
        id
    }

    /// The routine at `id` (from [`Routines::intern`]).
    #[inline]
    pub(crate) fn get(&self, id: RoutineId) -> &Routine {
        &self.routines[id as usize]
    }

    /// Counts a call of the routine at `id`.
    #[inline]
    pub(crate) fn count(&mut self, id: RoutineId) {
        self.routines[id as usize].calls += 1;
    }

    /// Calls counted over every routine.
    pub(crate) fn total(&self) -> u64 {
        self.routines.iter().map(|r| r.calls).sum()
    }

    /// How often each routine was called, by name (routines never counted
    /// are left out).
    pub(crate) fn calls(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.routines.iter().filter(|r| r.calls > 0).map(|r| (r.name, r.calls)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_name_whatever_its_address() {
        let mut t = Routines::default();
        let a = t.intern("WdfRegistryOpenKey");
        // The same text at another address (a static of its own).
        static COPY: [u8; 18] = *b"WdfRegistryOpenKey";
        let copy: &'static str = std::str::from_utf8(&COPY).expect("ASCII");
        assert_ne!(copy.as_ptr(), "WdfRegistryOpenKey".as_ptr());
        assert_eq!(t.intern(copy), a);
        assert_eq!(t.intern("WdfRegistryOpenKey"), a);
        let z = t.intern("ZwClose");
        assert_ne!(z, a);
        assert_eq!(t.get(a).name, "WdfRegistryOpenKey");
        assert_eq!(t.get(a).max_irql, Some(0));
        assert_eq!(t.get(z).max_irql, Some(0));
        let rtl = t.intern("RtlInitUnicodeString");
        assert_eq!(t.get(rtl).max_irql, None);
        let delete = t.intern("WdfObjectDelete");
        assert_eq!(t.get(delete).max_irql, Some(2));
        t.count(a);
        let again = t.intern(copy);
        t.count(again);
        t.count(z);
        let calls = t.calls();
        assert_eq!(calls.len(), 2, "routines never counted are left out: {calls:?}");
        assert_eq!(calls.get("WdfRegistryOpenKey"), Some(&2));
        assert_eq!(calls.get("ZwClose"), Some(&1));
        assert_eq!(t.total(), 3);
    }
}
