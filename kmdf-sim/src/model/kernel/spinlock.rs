//! Executive spin locks (F142) on the machine's one thread: acquired by
//! `KeAcquireSpinLockRaiseToDpc` (raising to DISPATCH_LEVEL),
//! `KeAcquireSpinLockAtDpcLevel` (already there) and the in-stack queued
//! forms, released by their pairs. A lock is known by its address; its
//! `KSPIN_LOCK` value is 0 when free (`KeInitializeSpinLock`, inline in the
//! headers, zeroes it) and nonzero while held.
//!
//! The one thread can never wait for a lock another holds: acquiring a lock
//! it already holds is the deadlock Driver Verifier's SpinLock rule reports,
//! and so is every misuse below — never a silent return.

use crate::model::{Name, State};
use std::collections::HashMap;

/// How a held lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquire {
    /// KeAcquireSpinLockRaiseToDpc: the IRQL it raised from.
    Raise,
    /// KeAcquireSpinLockAtDpcLevel: no IRQL change.
    AtDpc,
    /// KeAcquireInStackQueuedSpinLock: the IRQL goes in the handle.
    Queued,
    /// KeAcquireInStackQueuedSpinLockAtDpcLevel.
    QueuedAtDpc,
}

impl Acquire {
    fn routine(self) -> &'static str {
        match self {
            Acquire::Raise => "KeAcquireSpinLockRaiseToDpc",
            Acquire::AtDpc => "KeAcquireSpinLockAtDpcLevel",
            Acquire::Queued => "KeAcquireInStackQueuedSpinLock",
            Acquire::QueuedAtDpc => "KeAcquireInStackQueuedSpinLockAtDpcLevel",
        }
    }

    fn release(self) -> &'static str {
        match self {
            Acquire::Raise => "KeReleaseSpinLock",
            Acquire::AtDpc => "KeReleaseSpinLockFromDpcLevel",
            Acquire::Queued => "KeReleaseInStackQueuedSpinLock",
            Acquire::QueuedAtDpc => "KeReleaseInStackQueuedSpinLockFromDpcLevel",
        }
    }

    fn raises(self) -> bool {
        matches!(self, Acquire::Raise | Acquire::Queued)
    }
}

/// A held lock: how, from which IRQL, by which image.
#[derive(Debug, Clone)]
struct Held {
    how: Acquire,
    old_irql: u8,
    image: Name,
}

/// The spin locks held now, by address.
#[derive(Debug, Default)]
pub(crate) struct SpinLocks {
    held: HashMap<u64, Held>,
}

/// Driver Verifier's DDI compliance codes (0xC4's Arg1) the rules below
/// report (F142).
const SPIN_LOCK_RULE: u64 = 0x0004_0009;
const IRQL_KE_RELEASE_SPIN_LOCK_RULE: u64 = 0x0002_0015;
const IRQL_DISPATCH_RULE: u64 = 0x0002_0003;

impl State {
    /// A DDI compliance violation: bug check 0xC4 with the rule's code.
    pub(crate) fn ddi_compliance_stop(&mut self, rule: u64, params: [u64; 3], cause: String) {
        let notes = ["DDI compliance rule (see the root cause).".into(), String::new(), String::new(), String::new()];
        let params = [rule, params[0], params[1], params[2]];
        self.bug_check((0xC4, params, "DRIVER_VERIFIER_DETECTED_VIOLATION", notes), None, Some(cause));
    }

    /// Acquires `lock` (its `KSPIN_LOCK` value `value`) as `how` does.
    /// Returns the IRQL to restore at the release, or `None` after a stop.
    pub(crate) fn spin_acquire(&mut self, lock: u64, value: u64, how: Acquire) -> Option<u8> {
        let irql = self.kernel.irql;
        let dispatch = crate::abi::DISPATCH_LEVEL as u8;
        let caller = self.caller_image();
        if !how.raises() && irql < dispatch {
            self.ddi_compliance_stop(
                IRQL_DISPATCH_RULE,
                [u64::from(irql), lock, 0],
                format!(
                    "{caller} called {}({lock:#x}) at IRQL {irql}: it must already run at DISPATCH_LEVEL \
                     (docs/facts.md#f142)",
                    how.routine()
                ),
            );
            return None;
        }
        if let Some(held) = self.kernel.spin_locks.held.get(&lock) {
            let first = held.how.routine();
            self.ddi_compliance_stop(
                SPIN_LOCK_RULE,
                [lock, 0, 0],
                format!(
                    "{caller} called {}({lock:#x}) on the thread that already holds it ({first}): a deadlock \
                     (docs/facts.md#f142)",
                    how.routine()
                ),
            );
            return None;
        }
        if value != 0 {
            self.stop_not_modelled(format!(
                "{}({lock:#x}) on a KSPIN_LOCK whose value is {value:#x} and which this machine did not see acquired \
                 (KeInitializeSpinLock zeroes it; docs/facts.md#f142)",
                how.routine()
            ));
            return None;
        }
        self.kernel.spin_locks.held.insert(lock, Held { how, old_irql: irql, image: caller });
        if how.raises() {
            self.kernel.irql = dispatch.max(irql);
        }
        Some(irql)
    }

    /// Releases `lock` as `how`'s pair does; `new_irql` is KeReleaseSpinLock's
    /// NewIrql or the queue handle's OldIrql. `None` after a stop.
    pub(crate) fn spin_release(&mut self, lock: u64, how: Acquire, new_irql: u8) -> Option<()> {
        let irql = self.kernel.irql;
        let dispatch = crate::abi::DISPATCH_LEVEL as u8;
        let caller = self.caller_image();
        let release = how.release();
        let Some(held) = self.kernel.spin_locks.held.get(&lock).cloned() else {
            self.ddi_compliance_stop(
                SPIN_LOCK_RULE,
                [lock, 0, 0],
                format!("{caller} called {release}({lock:#x}) on a spin lock that is not held (docs/facts.md#f142)"),
            );
            return None;
        };
        if held.how != how {
            self.ddi_compliance_stop(
                SPIN_LOCK_RULE,
                [lock, 0, 0],
                format!(
                    "{caller} called {release}({lock:#x}) on a spin lock acquired by {}: its pair is {} \
                     (docs/facts.md#f142)",
                    held.how.routine(),
                    held.how.release()
                ),
            );
            return None;
        }
        if irql != dispatch {
            let rule = if how == Acquire::Raise { IRQL_KE_RELEASE_SPIN_LOCK_RULE } else { IRQL_DISPATCH_RULE };
            self.ddi_compliance_stop(
                rule,
                [u64::from(irql), lock, 0],
                format!("{caller} called {release}({lock:#x}) at IRQL {irql}, not DISPATCH_LEVEL (docs/facts.md#f142)"),
            );
            return None;
        }
        if how.raises() && new_irql != held.old_irql {
            self.ddi_compliance_stop(
                IRQL_KE_RELEASE_SPIN_LOCK_RULE,
                [u64::from(new_irql), lock, u64::from(held.old_irql)],
                format!(
                    "{caller} called {release}({lock:#x}) to return to IRQL {new_irql}; the lock was acquired at \
                     IRQL {} (docs/facts.md#f142)",
                    held.old_irql
                ),
            );
            return None;
        }
        self.kernel.spin_locks.held.remove(&lock);
        if how.raises() {
            self.kernel.irql = new_irql;
        }
        Some(())
    }

    /// At unload: a spin lock the image still holds is the SpinLock rule's
    /// violation (every lock released before the routine ends, F142).
    pub(crate) fn spin_lock_leak_check(&mut self, image: &str) {
        let mut held: Vec<(u64, Acquire)> = self
            .kernel
            .spin_locks
            .held
            .iter()
            .filter(|(_, h)| h.image.as_str() == image)
            .map(|(l, h)| (*l, h.how))
            .collect();
        held.sort_unstable_by_key(|(l, _)| *l);
        self.kernel.spin_locks.held.retain(|_, h| h.image.as_str() != image);
        let Some(&(lock, how)) = held.first() else { return };
        if self.is_stopped() {
            return;
        }
        self.ddi_compliance_stop(
            SPIN_LOCK_RULE,
            [lock, 0, 0],
            format!(
                "{image} unloaded holding the spin lock {lock:#x} ({} without {}; docs/facts.md#f142)",
                how.routine(),
                how.release()
            ),
        );
    }
}
