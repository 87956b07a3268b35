//! Pool of a POOL_TYPE (F144): ExAllocatePoolWithTag and ExAllocatePool —
//! the tag a block carries (checked by ExFreePoolWithTag and reported at a
//! leak), paged pool above APC_LEVEL, and the types that are not served.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

const TAG: u32 = u32::from_le_bytes(*b"Kern");

fn allocate(pool_type: POOL_TYPE, size: u64) -> PVOID {
    // SAFETY: no preconditions beyond the kernel's.
    unsafe { ExAllocatePoolWithTag(pool_type, size, TAG) }
}

fn bug(m: &Machine) -> (u32, u64) {
    let stop = m.stop().expect("a stop");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check, not {stop}"));
    (b.code, b.params[0])
}

#[test]
fn a_tagged_block_is_usable_and_freed_with_its_tag() {
    let m = Machine::new(Settings::default());
    m.run("pool.sys", "DriverEntry", || {
        for t in [_POOL_TYPE::NonPagedPoolNx, _POOL_TYPE::PagedPool, _POOL_TYPE::NonPagedPoolCacheAligned] {
            let p = allocate(t, 64).cast::<u8>();
            assert!(!p.is_null());
            // SAFETY: a 64-byte block just allocated; its last byte.
            let last = unsafe { p.add(63) };
            // SAFETY: as above.
            unsafe { last.write(7) };
            // SAFETY: the block, with its tag.
            unsafe { ExFreePoolWithTag(p.cast(), TAG) };
        }
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn freeing_with_another_tag_is_bad_pool_caller_0x0a() {
    let m = Machine::new(Settings::default());
    let _ = m.run("pool.sys", "DriverEntry", || {
        let p = allocate(_POOL_TYPE::NonPagedPoolNx, 16);
        // SAFETY: the block, with the wrong tag (the case under test).
        unsafe { ExFreePoolWithTag(p, u32::from_le_bytes(*b"Othr")) };
    });
    assert_eq!(bug(&m), (0xC2, 0x0A));
    assert_eq!(m.stop().expect("a stop").bug_check().expect("a bug check").params[2], u64::from(TAG));
}

#[test]
fn paged_pool_above_apc_level_is_bad_pool_caller_and_nonpaged_above_dispatch_the_irql_rule() {
    let m = Machine::new(Settings::default());
    let _ = m.run_at_irql("pool.sys", "EvtDpc", DISPATCH_LEVEL as u8, || allocate(_POOL_TYPE::PagedPool, 16));
    assert_eq!(bug(&m), (0xC2, 0x08));
    drop(m);
    let m = Machine::new(Settings::default());
    let _ = m.run_at_irql("pool.sys", "EvtIsr", HIGH_LEVEL as u8, || allocate(_POOL_TYPE::NonPagedPoolNx, 16));
    assert_eq!(bug(&m).0, 0xC4);
    assert!(m.stop().expect("a stop").to_string().contains("ExAllocatePoolWithTag"));
}

#[test]
fn must_succeed_pool_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let _ = m.run("pool.sys", "DriverEntry", || allocate(_POOL_TYPE::NonPagedPoolMustSucceed, 16));
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}

extern "C" fn leaks_untagged(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: no preconditions; never freed (the case under test).
    let p = unsafe { ExAllocatePool(_POOL_TYPE::NonPagedPoolNx, 24) };
    if p.is_null() { STATUS_INSUFFICIENT_RESOURCES } else { STATUS_SUCCESS }
}

#[test]
fn an_untagged_block_left_at_unload_is_the_leak_bug_check_with_the_tag_none() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("untag.sys", "untag", Some(leaks_untagged)).expect("no stop"), STATUS_SUCCESS);
    let live: Vec<(usize, u32, String)> = m.pool_allocations().into_iter().map(|a| (a.size, a.tag, a.owner)).collect();
    assert_eq!(live, [(24, u32::from_le_bytes(*b"None"), "untag.sys".to_string())]);
    let stop = m.unload().expect_err("the leak stops the machine");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[3]), (0xC4, 0x62, 1), "{stop}");
}
