//! Kernel synchronisation on the machine's one thread (F82): events,
//! KMUTEX, FAST_MUTEX, KeWaitForSingleObject, critical regions.
//!
//! Objects are known by the address of the driver's structure, recorded when
//! a routine initializes it (`KeInitializeEvent`, `KeInitializeMutex`) or,
//! for a FAST_MUTEX (initialized inline by `ExInitializeFastMutex`), when it
//! is first acquired. The machine runs one thread, so a wait that another
//! thread would have to end never ends: that is a stop, never a silent
//! return.

use crate::abi::NTSTATUS;
use crate::model::State;
use std::collections::HashMap;

/// A dispatcher object or lock the driver initialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncObject {
    /// A KEVENT: a notification event stays signalled; a synchronization
    /// event is reset by the wait it satisfies.
    Event { notification: bool, signaled: bool },
    /// A KMUTEX: how many times this (the only) thread holds it.
    Mutex { held: u32 },
    /// A FAST_MUTEX: the IRQL it was acquired at, while held.
    FastMutex { held_from: Option<u8> },
}

/// The machine's synchronisation objects.
#[derive(Debug, Default)]
pub(crate) struct SyncObjects {
    objects: HashMap<u64, SyncObject>,
    /// KeEnterCriticalRegion minus KeLeaveCriticalRegion calls.
    pub(crate) critical_regions: i64,
}

/// What a wait returned, or that it would never return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    Done(NTSTATUS),
    Stopped,
}

impl State {
    fn sync_stop(&mut self, code: u32, params: [u64; 4], name: &'static str, cause: String) {
        let notes = [String::new(), String::new(), String::new(), String::new()];
        self.bug_check((code, params, name, notes), None, Some(cause));
    }

    /// A routine was handed an object the machine never saw initialized: a
    /// not-modelled stop (F82), never a bug check the kernel would not raise.
    fn not_modelled_object(&mut self, routine: &str, address: u64, what: &str) {
        self.stop_not_modelled(format!("{routine} on {address:#x}, {what} (docs/facts.md#f82)"));
    }

    /// KeInitializeEvent.
    pub(crate) fn ke_initialize_event(&mut self, address: u64, notification: bool, signaled: bool) {
        self.kernel.sync.objects.insert(address, SyncObject::Event { notification, signaled });
    }

    /// KeSetEvent (`set` true), KeResetEvent / KeClearEvent (`set` false):
    /// the previous state (1 signalled, 0 not), or `None` after a stop.
    pub(crate) fn ke_set_event(&mut self, routine: &str, address: u64, set: bool) -> Option<i32> {
        match self.kernel.sync.objects.get_mut(&address) {
            Some(SyncObject::Event { signaled, .. }) => {
                let previous = i32::from(*signaled);
                *signaled = set;
                Some(previous)
            }
            _ => {
                self.not_modelled_object(routine, address, "which is not an event KeInitializeEvent initialized");
                None
            }
        }
    }

    /// KeReadStateEvent: 1 if signalled.
    pub(crate) fn ke_read_state_event(&mut self, address: u64) -> Option<i32> {
        match self.kernel.sync.objects.get(&address) {
            Some(SyncObject::Event { signaled, .. }) => Some(i32::from(*signaled)),
            _ => {
                self.not_modelled_object("KeReadStateEvent", address, "which is not an initialized event");
                None
            }
        }
    }

    /// KeInitializeMutex: a KMUTEX, signalled (not held).
    pub(crate) fn ke_initialize_mutex(&mut self, address: u64) {
        self.kernel.sync.objects.insert(address, SyncObject::Mutex { held: 0 });
    }

    /// KeReleaseMutex: the previous signal state (0 while held once, as the
    /// mutant's count before the release). Releasing a mutex the thread does
    /// not hold raises STATUS_MUTANT_NOT_OWNED, unhandled in kernel mode
    /// (F82).
    pub(crate) fn ke_release_mutex(&mut self, address: u64) -> Option<i32> {
        match self.kernel.sync.objects.get_mut(&address) {
            Some(SyncObject::Mutex { held }) if *held > 0 => {
                let previous = 1 - i32::try_from(*held).unwrap_or(i32::MAX);
                *held -= 1;
                Some(previous)
            }
            Some(SyncObject::Mutex { .. }) => {
                self.sync_stop(
                    0x1E,
                    [0xC000_0046, 0, 0, 0], // STATUS_MUTANT_NOT_OWNED,
                    "KMODE_EXCEPTION_NOT_HANDLED",
                    format!("KeReleaseMutex({address:#x}) of a mutex this thread does not hold (docs/facts.md#f82)"),
                );
                None
            }
            _ => {
                self.not_modelled_object("KeReleaseMutex", address, "which KeInitializeMutex did not initialize");
                None
            }
        }
    }

    /// KeWaitForSingleObject on an event or KMUTEX. `timeout`: `None` waits
    /// forever; `Some(0)` polls. A wait another thread would have to end is a
    /// timeout when it has one, a stop when it has none (F82).
    pub(crate) fn ke_wait(&mut self, address: u64, timeout: Option<i64>) -> Wait {
        // F82: only a zero timeout may wait at DISPATCH_LEVEL.
        if timeout != Some(0)
            && self.driver_verifier_irql_check("KeWaitForSingleObject", crate::abi::APC_LEVEL as u8)
                == crate::model::IrqlVerdict::Fail
        {
            return Wait::Stopped;
        }
        let satisfied = match self.kernel.sync.objects.get_mut(&address) {
            Some(SyncObject::Event { notification, signaled }) => {
                let was = *signaled;
                if was && !*notification {
                    *signaled = false;
                }
                was
            }
            Some(SyncObject::Mutex { held }) => {
                // One thread: the mutex is free or already this thread's
                // (a KMUTEX may be acquired recursively).
                *held += 1;
                true
            }
            Some(SyncObject::FastMutex { .. }) | None => {
                self.not_modelled_object(
                    "KeWaitForSingleObject",
                    address,
                    "which is not an event or KMUTEX the machine saw initialized",
                );
                return Wait::Stopped;
            }
        };
        if satisfied {
            return Wait::Done(crate::abi::STATUS_SUCCESS);
        }
        if timeout.is_some() {
            return Wait::Done(crate::abi::STATUS_TIMEOUT);
        }
        self.sync_stop(
            0,
            [address, 0, 0, 0],
            "THREAD_WAITS_FOREVER (kmdf-sim: a real machine hangs here)",
            format!(
                "KeWaitForSingleObject({address:#x}, no timeout) on an event nothing will signal: the machine runs one \
                 thread, so no other code can set it (docs/facts.md#f82)"
            ),
        );
        Wait::Stopped
    }

    /// ExAcquireFastMutex: `count` is the structure's Count (FM_LOCK_BIT set
    /// = free, as ExInitializeFastMutex leaves it). Raises the IRQL to
    /// APC_LEVEL. Returns the new Count, or `None` after a stop: acquiring
    /// it again on the thread that holds it deadlocks (F82).
    pub(crate) fn ex_acquire_fast_mutex(&mut self, address: u64, count: i32) -> Option<i32> {
        let free = count & crate::abi::FM_LOCK_BIT as i32 != 0;
        let held = matches!(self.kernel.sync.objects.get(&address), Some(SyncObject::FastMutex { held_from: Some(_) }));
        if held || !free {
            self.sync_stop(
                0xC4,
                [0x1000, address, 0, 0],
                "DRIVER_VERIFIER_DETECTED_VIOLATION",
                format!(
                    "ExAcquireFastMutex({address:#x}) on the thread that already holds it: a self-deadlock \
                     (docs/facts.md#f82)"
                ),
            );
            return None;
        }
        let irql = self.kernel.irql;
        self.kernel.sync.objects.insert(address, SyncObject::FastMutex { held_from: Some(irql) });
        self.kernel.irql = irql.max(crate::abi::APC_LEVEL as u8);
        Some(count & !(crate::abi::FM_LOCK_BIT as i32))
    }

    /// ExReleaseFastMutex: back to the IRQL it was acquired at; the new
    /// Count, or `None` after a stop (releasing one that is not held, F82).
    pub(crate) fn ex_release_fast_mutex(&mut self, address: u64, count: i32) -> Option<i32> {
        match self.kernel.sync.objects.get_mut(&address) {
            Some(SyncObject::FastMutex { held_from }) if held_from.is_some() => {
                self.kernel.irql = held_from.take().unwrap_or(0);
                Some(count | crate::abi::FM_LOCK_BIT as i32)
            }
            _ => {
                self.sync_stop(
                    0xC4,
                    [0x1007, address, 0, 0],
                    "DRIVER_VERIFIER_DETECTED_VIOLATION",
                    format!("ExReleaseFastMutex({address:#x}) of a fast mutex that is not held (docs/facts.md#f82)"),
                );
                None
            }
        }
    }

    /// KeEnterCriticalRegion (+1) / KeLeaveCriticalRegion (-1). A leave
    /// without an enter is a finding (F82).
    pub(crate) fn ke_critical_region(&mut self, delta: i64) {
        self.kernel.sync.critical_regions += delta;
        if self.kernel.sync.critical_regions < 0 {
            self.kernel.sync.critical_regions = 0;
            let n = self.kernel.frames.len();
            let image = if n >= 2 { self.kernel.frames[n - 2].image.to_string() } else { String::new() };
            self.framework.findings.push(format!(
                "{image}: KeLeaveCriticalRegion without a matching KeEnterCriticalRegion (docs/facts.md#f82)"
            ));
        }
    }
}

/// Runs a kernel routine's `body` on the machine state through the call
/// gate; `refused` after a stop. The result is carried outside the gate so
/// that a LONG-returning routine is never taken for a status (fault
/// injection fails status-returning routines only).
pub(crate) fn gated<R: Copy>(
    routine: crate::model::Routine,
    refused: R,
    body: impl FnOnce(&mut State) -> Option<R>,
) -> R {
    let mut out = refused;
    crate::model::enter(routine, (), || {
        if let Some(Some(r)) = crate::model::with_state(body) {
            out = r;
        }
    });
    out
}
