//! Executive resources (F143): shared and exclusive acquisition on the
//! machine's one thread, recursion, the ownership queries, and the stops and
//! findings for a release not owned, a self-deadlock, an acquire with APCs
//! enabled, a resource freed in pool while live, one never deleted at unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

/// Storage for one resource (the model knows it by address).
fn storage() -> Box<ERESOURCE> {
    // SAFETY: ERESOURCE is plain data; all zero is a valid (uninitialized) value.
    Box::new(unsafe { std::mem::zeroed() })
}

// One wrapper per routine, each on the test's live ERESOURCE storage `p`
// (or one the case under test hands it).
fn init(p: PERESOURCE) -> NTSTATUS {
    // SAFETY: `p` points at ERESOURCE storage that outlives the call.
    unsafe { ExInitializeResourceLite(p) }
}
fn exclusive(p: PERESOURCE, wait: bool) -> BOOLEAN {
    // SAFETY: as `init`.
    unsafe { ExAcquireResourceExclusiveLite(p, BOOLEAN::from(wait)) }
}
fn shared(p: PERESOURCE) -> BOOLEAN {
    // SAFETY: as `init`.
    unsafe { ExAcquireResourceSharedLite(p, 1) }
}
fn release(p: PERESOURCE) {
    // SAFETY: as `init`.
    unsafe { ExReleaseResourceLite(p) }
}
fn delete(p: PERESOURCE) -> NTSTATUS {
    // SAFETY: as `init`.
    unsafe { ExDeleteResourceLite(p) }
}
fn is_exclusive(p: PERESOURCE) -> BOOLEAN {
    // SAFETY: as `init`.
    unsafe { ExIsResourceAcquiredExclusiveLite(p) }
}
fn count(p: PERESOURCE) -> ULONG {
    // SAFETY: as `init`.
    unsafe { ExIsResourceAcquiredSharedLite(p) }
}
fn critical_region(enter: bool) {
    if enter {
        // SAFETY: no arguments.
        unsafe { KeEnterCriticalRegion() }
    } else {
        // SAFETY: no arguments.
        unsafe { KeLeaveCriticalRegion() }
    }
}

fn bug(m: &Machine) -> (u32, u64) {
    let stop = m.stop().expect("a stop");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check, not {stop}"));
    (b.code, b.params[0])
}

#[test]
fn exclusive_and_shared_acquisition_recurse_and_release() {
    let m = Machine::new(Settings::default());
    let mut r = storage();
    let p: PERESOURCE = &raw mut *r;
    let seen = m
        .run("res.sys", "DriverEntry", || {
            assert_eq!(init(p), STATUS_SUCCESS);
            critical_region(true);
            let first = exclusive(p, true);
            let again = shared(p); // the owner: recursive
            let excl = is_exclusive(p);
            let n = count(p);
            release(p);
            release(p);
            let after = count(p);
            let sh = shared(p);
            let sh_excl = is_exclusive(p);
            let no_wait = exclusive(p, false); // over its own shared hold
            release(p);
            critical_region(false);
            assert_eq!(delete(p), STATUS_SUCCESS);
            (first, again, excl, n, after, sh, sh_excl, no_wait)
        })
        .expect("no stop");
    assert_eq!(seen, (1, 1, 1, 2, 0, 1, 0, 0));
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn releasing_a_resource_not_owned_is_0xe3() {
    let m = Machine::new(Settings::default());
    let mut r = storage();
    let p: PERESOURCE = &raw mut *r;
    // The release without an acquire is the case under test.
    let _ = m.run("res.sys", "DriverEntry", || {
        init(p);
        release(p);
    });
    assert_eq!(bug(&m), (0xE3, p as u64));
}

#[test]
fn exclusive_over_the_threads_own_shared_hold_deadlocks() {
    let m = Machine::new(Settings::default());
    let mut r = storage();
    let p: PERESOURCE = &raw mut *r;
    // The upgrade is the case under test.
    let _ = m.run("res.sys", "DriverEntry", || {
        init(p);
        critical_region(true);
        shared(p);
        exclusive(p, true);
    });
    assert_eq!(bug(&m), (0xC4, 0x1000));
    assert!(m.stop().expect("a stop").to_string().contains("holding it shared"));
}

#[test]
fn an_acquire_with_apcs_enabled_is_a_finding_and_above_apc_level_a_stop() {
    let m = Machine::new(Settings::default());
    let mut r = storage();
    let p: PERESOURCE = &raw mut *r;
    // No critical region is the case under test.
    m.run("res.sys", "DriverEntry", || {
        init(p);
        exclusive(p, true);
        release(p);
        delete(p);
    })
    .expect("a finding, no stop");
    let findings = m.findings();
    assert!(findings.len() == 1 && findings[0].contains("WithinCriticalRegion"), "{findings:?}");
    // At DISPATCH_LEVEL the acquire breaks its IRQL rule (<= APC_LEVEL).
    drop(m);
    let m = Machine::new(Settings::default());
    let _ = m.run("res.sys", "DriverEntry", || init(p));
    // The IRQL is the case under test.
    let _ = m.run_at_irql("res.sys", "EvtDpc", DISPATCH_LEVEL as u8, || shared(p));
    assert_eq!(bug(&m).0, 0xC4);
    assert!(m.stop().expect("a stop").to_string().contains("ExAcquireResourceSharedLite"));
}

#[test]
fn pool_freed_with_a_live_resource_in_it_is_0xc4_0x17() {
    let m = Machine::new(Settings::default());
    let tag = u32::from_le_bytes(*b"Eres");
    // Freeing the block before ExDeleteResourceLite is the case under test.
    let _ = m.run("res.sys", "DriverEntry", || {
        // SAFETY: no preconditions.
        let block = unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, size_of::<ERESOURCE>() as u64, tag) };
        init(block.cast());
        // SAFETY: the block allocated above, with its tag.
        unsafe { ExFreePoolWithTag(block, tag) };
    });
    let b = m.stop().expect("a stop").bug_check().expect("a bug check").clone();
    assert_eq!((b.code, b.params[0], b.params[1]), (0xC4, 0x17, b.params[3]), "the resource is the block itself");
}

#[test]
fn an_unknown_resource_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let mut r = storage();
    let p: PERESOURCE = &raw mut *r;
    // Storage ExInitializeResourceLite never saw: the case under test.
    let _ = m.run("res.sys", "DriverEntry", || shared(p));
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}

static KEPT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn keeps_a_resource(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    let p = KEPT.load(std::sync::atomic::Ordering::Relaxed) as PERESOURCE;
    // Storage the test keeps alive; never deleted (the case under test).
    init(p)
}

#[test]
fn a_resource_never_deleted_at_unload_is_a_finding() {
    let mut r = storage();
    KEPT.store(&raw mut *r as u64, std::sync::atomic::Ordering::Relaxed);
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("keep.sys", "keep", Some(keeps_a_resource)).expect("no stop"), STATUS_SUCCESS);
    m.unload().expect("no bug check");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.starts_with("keep.sys unloaded without ExDeleteResourceLite")), "{findings:?}");
}
