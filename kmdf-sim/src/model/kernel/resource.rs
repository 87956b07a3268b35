//! Executive resources (`ERESOURCE`, F143) on the machine's one thread:
//! `ExInitializeResourceLite`, the shared and exclusive acquires, the
//! release, `ExDeleteResourceLite` and the two ownership queries. A resource
//! is known by its address from `ExInitializeResourceLite` to
//! `ExDeleteResourceLite`.
//!
//! One thread owns every acquisition, so an acquire that would wait for
//! another owner waits for this thread: with `Wait` FALSE it returns FALSE,
//! with `Wait` TRUE it is a self-deadlock, stopped at once (a real machine
//! hangs). Releasing what the thread does not own is bug check 0xE3; pool
//! freed with a live resource in it is 0xC4 {0x17} under Driver Verifier's
//! Miscellaneous Checks.

use crate::model::{Name, State};
use std::collections::HashMap;

/// A live resource: how often this thread holds it, and who initialized it.
#[derive(Debug, Clone)]
struct Resource {
    /// Exclusive acquisitions (a shared acquire by the exclusive owner counts
    /// here: the kernel grants it as a recursive exclusive one, F143).
    exclusive: u32,
    /// Shared acquisitions.
    shared: u32,
    image: Name,
    /// The WithinCriticalRegion finding was recorded for this resource.
    warned: bool,
}

/// The live resources, by address.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    live: HashMap<u64, Resource>,
}

impl Resources {
    /// No resource is live.
    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

/// Driver Verifier's self-deadlock code (0xC4's Arg1 0x1000), as for a fast
/// mutex (F82); ASSUMPTION for an ERESOURCE (F143).
const SELF_DEADLOCK: u64 = 0x1000;

/// 0xC4 {0x17}: pool freed with an active ERESOURCE in it (F143).
const FREED_ACTIVE_RESOURCE: u64 = 0x17;

/// The simulated thread's address as 0xE3 reports it (ASSUMPTION: the
/// machine has one thread and no KTHREAD; a constant stands for it).
const THREAD: u64 = 0xFFFF_B000_0000_1080;

impl State {
    fn resource_not_modelled(&mut self, routine: &str, address: u64) {
        self.stop_not_modelled(format!(
            "{routine}({address:#x}) on an ERESOURCE ExInitializeResourceLite did not initialize, or one \
             ExDeleteResourceLite deleted (docs/facts.md#f143)"
        ));
    }

    /// ExInitializeResourceLite: STATUS_SUCCESS. Initializing a resource that
    /// is already live would put it on the kernel's resource list twice: not
    /// modelled (F143).
    pub(crate) fn ex_initialize_resource(&mut self, address: u64) -> Option<crate::abi::NTSTATUS> {
        if self.kernel.resources.live.contains_key(&address) {
            self.stop_not_modelled(format!(
                "ExInitializeResourceLite({address:#x}) on a live ERESOURCE (ExDeleteResourceLite first; \
                 docs/facts.md#f143)"
            ));
            return None;
        }
        let image = self.caller_image();
        self.kernel.resources.live.insert(address, Resource { exclusive: 0, shared: 0, image, warned: false });
        Some(crate::abi::STATUS_SUCCESS)
    }

    /// ExAcquireResourceExclusiveLite (`exclusive`) / SharedLite: whether it
    /// was acquired, `None` after a stop (F143).
    pub(crate) fn ex_acquire_resource(&mut self, address: u64, exclusive: bool, wait: bool) -> Option<bool> {
        let routine = if exclusive { "ExAcquireResourceExclusiveLite" } else { "ExAcquireResourceSharedLite" };
        let apcs_disabled = self.kernel.sync.critical_regions > 0 || self.kernel.irql >= crate::abi::APC_LEVEL as u8;
        let caller = self.caller_image();
        let Some(r) = self.kernel.resources.live.get_mut(&address) else {
            self.resource_not_modelled(routine, address);
            return None;
        };
        if !apcs_disabled && !r.warned {
            r.warned = true;
            self.framework.findings.push(format!(
                "{caller}: {routine}({address:#x}) with normal kernel APCs enabled: call KeEnterCriticalRegion first \
                 (the WithinCriticalRegion rule; docs/facts.md#f143)"
            ));
        }
        let r = self.kernel.resources.live.get_mut(&address)?;
        if r.exclusive > 0 {
            // The owner's own acquire, shared or exclusive: recursive.
            r.exclusive += 1;
            return Some(true);
        }
        if !exclusive {
            r.shared += 1;
            return Some(true);
        }
        if r.shared == 0 {
            r.exclusive = 1;
            return Some(true);
        }
        if !wait {
            return Some(false);
        }
        let notes = ["self-deadlock (see the root cause).".into(), "the resource".into(), String::new(), String::new()];
        self.bug_check(
            (0xC4, [SELF_DEADLOCK, address, 0, 0], "DRIVER_VERIFIER_DETECTED_VIOLATION", notes),
            None,
            Some(format!(
                "{caller} called ExAcquireResourceExclusiveLite({address:#x}, Wait TRUE) holding it shared: the \
                 thread waits for its own shared hold to end, a deadlock (docs/facts.md#f143)"
            )),
        );
        None
    }

    /// ExReleaseResourceLite: one acquisition fewer; a resource the thread
    /// does not own is RESOURCE_NOT_OWNED (0xE3, F143).
    pub(crate) fn ex_release_resource(&mut self, address: u64) -> Option<()> {
        let Some(r) = self.kernel.resources.live.get_mut(&address) else {
            self.resource_not_modelled("ExReleaseResourceLite", address);
            return None;
        };
        if r.exclusive > 0 {
            r.exclusive -= 1;
            return Some(());
        }
        if r.shared > 0 {
            r.shared -= 1;
            return Some(());
        }
        let caller = self.caller_image();
        let notes = ["the resource".into(), "the thread".into(), "the owner table".into(), String::new()];
        self.bug_check(
            (0xE3, [address, THREAD, 0, 0], "RESOURCE_NOT_OWNED", notes),
            None,
            Some(format!(
                "{caller} called ExReleaseResourceLite({address:#x}) on a resource this thread does not own \
                 (docs/facts.md#f143)"
            )),
        );
        None
    }

    /// ExDeleteResourceLite: STATUS_SUCCESS; the resource leaves the list.
    /// Deleting one still held is a finding (ASSUMPTION, F143: the kernel
    /// does not check it).
    pub(crate) fn ex_delete_resource(&mut self, address: u64) -> Option<crate::abi::NTSTATUS> {
        let Some(r) = self.kernel.resources.live.remove(&address) else {
            self.resource_not_modelled("ExDeleteResourceLite", address);
            return None;
        };
        if r.exclusive + r.shared > 0 {
            let caller = self.caller_image();
            self.framework.findings.push(format!(
                "{caller}: ExDeleteResourceLite({address:#x}) of a resource still held ({} exclusive, {} shared) \
                 (docs/facts.md#f143)",
                r.exclusive, r.shared
            ));
        }
        Some(crate::abi::STATUS_SUCCESS)
    }

    /// ExIsResourceAcquiredExclusiveLite (`exclusive`): 1 or 0;
    /// ExIsResourceAcquiredSharedLite: how many times this thread holds it,
    /// shared or exclusive (F143).
    pub(crate) fn ex_is_resource_acquired(&mut self, address: u64, exclusive: bool) -> Option<u32> {
        let Some(r) = self.kernel.resources.live.get(&address) else {
            let routine =
                if exclusive { "ExIsResourceAcquiredExclusiveLite" } else { "ExIsResourceAcquiredSharedLite" };
            self.resource_not_modelled(routine, address);
            return None;
        };
        Some(if exclusive { u32::from(r.exclusive > 0) } else { r.exclusive + r.shared })
    }

    /// Before a pool block at `address` of `size` bytes is freed: with
    /// Driver Verifier's Miscellaneous Checks, a live ERESOURCE inside it is
    /// bug check 0xC4 {0x17, resource, pool type, address} (F143). `true`
    /// after that stop.
    pub(crate) fn freed_pool_holds_resource(&mut self, address: u64, size: usize, pool_type: u64) -> bool {
        if !self.settings.verifier_misc_checks {
            return false;
        }
        let end = address.saturating_add(size as u64);
        let Some(&resource) = self.kernel.resources.live.keys().filter(|r| (address..end).contains(*r)).min() else {
            return false;
        };
        let caller = self.caller_image();
        let notes = [String::new(), "the resource".into(), "pool type".into(), "the block freed".into()];
        self.bug_check(
            (0xC4, [FREED_ACTIVE_RESOURCE, resource, pool_type, address], "DRIVER_VERIFIER_DETECTED_VIOLATION", notes),
            None,
            Some(format!(
                "{caller} freed pool block {address:#x} that holds the ERESOURCE {resource:#x}, never deleted \
                 (ExDeleteResourceLite before the free; docs/facts.md#f143)"
            )),
        );
        true
    }

    /// At unload: a resource the image initialized and never deleted stays
    /// on the kernel's resource list, pointing into the unloaded image or its
    /// pool — a finding (ASSUMPTION, F143: no bug check is documented for it).
    pub(crate) fn resource_leak_check(&mut self, image: &str) {
        let mut left: Vec<(u64, u32)> = self
            .kernel
            .resources
            .live
            .iter()
            .filter(|(_, r)| r.image.as_str() == image)
            .map(|(a, r)| (*a, r.exclusive + r.shared))
            .collect();
        left.sort_unstable();
        self.kernel.resources.live.retain(|_, r| r.image.as_str() != image);
        for (address, held) in left {
            self.framework.findings.push(format!(
                "{image} unloaded without ExDeleteResourceLite({address:#x}) (held {held} time(s)): the kernel's \
                 resource list still points at it (docs/facts.md#f143)"
            ));
        }
    }
}
