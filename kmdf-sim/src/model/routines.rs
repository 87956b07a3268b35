//! Routine identity: every DDI and kernel routine the surface serves names
//! itself at its entry ([`super::enter`]) by a [`Routine`], a position in
//! the generated routine table (`routine_table.rs`, written by kmdf-sim-gen
//! from `data/kmdf-1.33-ddi.tsv`, `data/ddi-irql-overrides.tsv` and
//! `data/kernel-routines.tsv`). Its name and maximum IRQL are array entries
//! at that position; its call count is a slot of a fixed array.

#[cfg(test)]
use super::routine_table::ALL;
pub(crate) use super::routine_table::Routine;
use super::routine_table::{COUNT, DDI_COUNT, MAX_IRQL, NAME, SYMBOL};
use super::{FRAMEWORK_MODULE, KERNEL_MODULE};

impl Routine {
    /// Its name, e.g. `"WdfRegistryOpenKey"`.
    #[inline]
    pub(crate) const fn name(self) -> &'static str {
        NAME[self as usize]
    }

    /// The image that implements it: the framework's for a DDI, the
    /// kernel's for a kernel routine.
    #[inline]
    pub(crate) const fn image(self) -> &'static str {
        if (self as usize) < DDI_COUNT { FRAMEWORK_MODULE } else { KERNEL_MODULE }
    }

    /// Its frame's symbol as the debugger prints it, e.g.
    /// `"Wdf01000!imp_WdfRegistryOpenKey"` or `"nt!ZwClose"`.
    #[inline]
    pub(crate) const fn symbol(self) -> &'static str {
        SYMBOL[self as usize]
    }

    /// The highest IRQL it may be called at; `None` for routines without a
    /// rule (pure library routines).
    #[inline]
    pub(crate) const fn max_irql(self) -> Option<u8> {
        MAX_IRQL[self as usize]
    }
}

/// The machine's call counts, one per routine of the table.
///
/// # Invariants
/// `calls[r as usize]` counts the admitted calls of routine `r`.
#[derive(Debug)]
pub(crate) struct Routines {
    calls: Box<[u64; COUNT]>,
}

impl Default for Routines {
    fn default() -> Self {
        Routines { calls: Box::new([0; COUNT]) }
    }
}

impl Routines {
    /// Counts a call of `routine`.
    #[inline]
    pub(crate) fn count(&mut self, routine: Routine) {
        self.calls[routine as usize] += 1;
    }

    /// Calls counted over every routine.
    pub(crate) fn total(&self) -> u64 {
        self.calls.iter().sum()
    }

    /// How often each routine was called, by name (routines never counted
    /// are left out).
    pub(crate) fn calls(&self) -> std::collections::BTreeMap<&'static str, u64> {
        NAME.iter().zip(self.calls.iter()).filter(|&(_, &n)| n > 0).map(|(&name, &n)| (name, n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The routine of the table named `name`.
    fn named(name: &str) -> Option<Routine> {
        NAME.iter().position(|&n| n == name).map(|i| ALL[i])
    }

    #[test]
    fn names_and_rules_are_the_tables() {
        for (i, r) in ALL.into_iter().enumerate() {
            assert_eq!(r as usize, i, "{r:?}");
            assert_eq!(format!("{r:?}"), r.name(), "the variant is its routine's name");
            assert_eq!(named(r.name()), Some(r), "{r:?}: names repeat");
        }
        assert_eq!(Routine::WdfRegistryQueryULong.max_irql(), Some(0));
        assert_eq!(Routine::WdfObjectDelete.max_irql(), Some(2));
        // Overrides (data/ddi-irql-overrides.tsv): an empty irql_max column;
        // an annotation that holds for Wait TRUE / a nonzero Timeout only.
        assert_eq!(Routine::WdfObjectGetTypedContextWorker.max_irql(), Some(15));
        assert_eq!(Routine::WdfTimerStop.max_irql(), Some(2));
        assert_eq!(Routine::WdfWaitLockAcquire.max_irql(), Some(2));
        // Kernel routines (data/kernel-routines.tsv).
        assert_eq!(Routine::ZwClose.max_irql(), Some(0));
        assert_eq!(Routine::ExAllocatePool2.max_irql(), Some(2));
        assert_eq!(Routine::RtlInitUnicodeString.max_irql(), None);
        assert_eq!(NAME.len(), COUNT);
        // Identity: image and symbol as the crash's stack prints them (F41).
        assert_eq!(Routine::WdfRegistryClose.image(), "Wdf01000.sys");
        assert_eq!(Routine::WdfRegistryClose.symbol(), "Wdf01000!imp_WdfRegistryClose");
        assert_eq!(Routine::ZwClose.image(), "ntoskrnl.exe");
        assert_eq!(Routine::ZwClose.symbol(), "nt!ZwClose");
        assert_eq!(Routine::ExFreePoolWithTag.symbol(), "nt!ExFreePoolWithTag");
        assert_eq!(named("NotARoutine"), None);
    }

    #[test]
    fn calls_are_counted_per_routine_by_name() {
        let mut t = Routines::default();
        t.count(Routine::WdfRegistryOpenKey);
        t.count(Routine::WdfRegistryOpenKey);
        t.count(Routine::ZwClose);
        let calls = t.calls();
        assert_eq!(calls.len(), 2, "routines never counted are left out: {calls:?}");
        assert_eq!(calls.get("WdfRegistryOpenKey"), Some(&2));
        assert_eq!(calls.get("ZwClose"), Some(&1));
        assert_eq!(t.total(), 3);
    }
}
