//! Kernel pool: ExAllocatePool2 / ExFreePool / ExFreePoolWithTag, pool
//! tracking at unload (F50: 0xC4 {0x62, name, reserved, count}),
//! BAD_POOL_CALLER for misuse, and special pool for a verified driver (F51).

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{ExAllocatePool2, ExFreePool, ExFreePoolWithTag};
use kmdf_sim::*;

mod support;

const DRV: &str = "pooldrv.sys";
const TAG: u32 = u32::from_le_bytes(*b"Tst1");

fn alloc(flags: POOL_FLAGS, n: u64) -> PVOID {
    // SAFETY: no preconditions beyond the kernel's.
    unsafe { ExAllocatePool2(flags, n, TAG) }
}

fn free(p: PVOID) {
    // SAFETY: a block from `alloc`, or the defect under test.
    unsafe { ExFreePool(p) };
}

#[test]
fn a_block_is_zeroed_owned_by_its_caller_and_freed() {
    let m = Machine::new(Settings::default());
    let p = m.run(DRV, "DriverEntry", || alloc(POOL_FLAG_NON_PAGED, 100)).expect("no stop");
    assert!(!p.is_null());
    // SAFETY: 100 bytes the pool handed out.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), 100) };
    assert!(bytes.iter().all(|&b| b == 0));
    let live = m.pool_allocations();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].size, live[0].tag, live[0].owner.as_str(), live[0].address), (100, TAG, DRV, p as u64));
    // SAFETY: the block is 100 bytes; its last one.
    let last = unsafe { p.cast::<u8>().add(99) };
    // SAFETY: writable pool memory.
    unsafe { last.write(7) };
    m.run(DRV, "Free", || {
        // SAFETY: the block, freed once with its own tag.
        unsafe { ExFreePoolWithTag(p, TAG) }
    })
    .expect("no stop");
    assert!(m.pool_allocations().is_empty());
}

fn bad_pool_caller(m: &Machine, f: impl FnOnce()) -> [u64; 4] {
    let stop = m.run(DRV, "Test", f).expect_err("BAD_POOL_CALLER");
    let b = stop.bug_check().expect("bug check").clone();
    assert_eq!((b.code, b.name, b.blamed.as_str()), (0xC2, "BAD_POOL_CALLER", DRV));
    b.params
}

#[test]
fn a_double_free_is_bad_pool_caller_7() {
    let m = Machine::new(Settings::default());
    let p = m.run(DRV, "DriverEntry", || alloc(POOL_FLAG_NON_PAGED, 16)).expect("no stop");
    let params = bad_pool_caller(&m, || {
        free(p);
        free(p);
    });
    assert_eq!((params[0], params[3]), (0x07, p as u64));
}

#[test]
fn freeing_what_pool_never_handed_out_is_bad_pool_caller_42() {
    let m = Machine::new(Settings::default());
    let mut local = 0u64;
    let wild = std::ptr::from_mut(&mut local).cast();
    let params = bad_pool_caller(&m, || free(wild));
    assert_eq!(params, [0x42, wild as u64, 0, 0]);
}

#[test]
fn a_free_with_the_wrong_tag_is_bad_pool_caller_a() {
    let m = Machine::new(Settings::default());
    let p = m.run(DRV, "DriverEntry", || alloc(POOL_FLAG_NON_PAGED, 16)).expect("no stop");
    // SAFETY: the block; the tag is the defect under test.
    let params = bad_pool_caller(&m, || unsafe { ExFreePoolWithTag(p, 0x1234) });
    assert_eq!(params, [0x0A, p as u64, u64::from(TAG), 0x1234]);
}

#[test]
fn paged_pool_above_apc_level_is_bad_pool_caller_8() {
    let m = Machine::new(Settings::default());
    let stop = m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || alloc(POOL_FLAG_PAGED, 32)).expect_err("0xC2");
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params)), Some((0xC2, [0x08, 2, 1, 32])));
    // Nonpaged pool is fine there.
    let m = {
        drop(m);
        Machine::new(Settings::default())
    };
    let p = m.run_at_irql(DRV, "Dpc", DISPATCH_LEVEL as u8, || alloc(POOL_FLAG_NON_PAGED, 32)).expect("no stop");
    assert!(!p.is_null());
}

#[test]
fn a_zero_byte_request_under_pool_tracking_is_bad_pool_caller_0() {
    let m = Machine::new(Settings::default());
    let params = bad_pool_caller(&m, || {
        let _ = alloc(POOL_FLAG_NON_PAGED, 0);
    });
    assert_eq!(params, [0x00, 0, 512, u64::from(TAG)]);
}

#[test]
fn flags_naming_no_single_pool_type_give_null_and_a_finding() {
    let m = Machine::new(Settings::default());
    let p = m.run(DRV, "Test", || alloc(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 8)).expect("no stop");
    assert!(p.is_null());
    assert!(m.findings().iter().any(|f| f.contains("no single pool type")), "{:?}", m.findings());
}

extern "C" fn leaky_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    if let Err(st) = support::create_driver(driver, path, None, None) {
        return st;
    }
    let _ = alloc(POOL_FLAG_NON_PAGED, 24);
    let _ = alloc(POOL_FLAG_PAGED, 8);
    STATUS_SUCCESS
}

#[test]
fn pool_left_at_unload_is_0xc4_0x62_with_pool_tracking() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load(DRV, "pooldrv", Some(leaky_entry)).expect("loads"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("F50");
    let b = stop.bug_check().expect("bug check");
    assert_eq!((b.code, b.params[0], b.params[2], b.params[3]), (0xC4, 0x62, 0, 2));
    assert_eq!(b.blamed, DRV);
    assert!(b.param_notes[1].contains(DRV));
    // Arg2 points at the driver's name as a UNICODE_STRING, as on Windows.
    // SAFETY: the machine keeps the string alive while it lives.
    let name = unsafe { *(b.params[1] as *const UNICODE_STRING) };
    // SAFETY: Length bytes at Buffer.
    let units = unsafe { std::slice::from_raw_parts(name.Buffer, usize::from(name.Length / 2)) };
    assert_eq!(String::from_utf16_lossy(units), DRV);
}

#[test]
fn without_pool_tracking_a_leak_is_only_reported() {
    let m = Machine::new(Settings { pool_tracking: false, ..Settings::default() });
    m.load(DRV, "pooldrv", Some(leaky_entry)).expect("loads");
    let report = m.unload().expect("no stop");
    let mut sizes: Vec<usize> = report.leaked_pool.iter().map(|a| a.size).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![8, 24]);
    assert!(m.pool_allocations().is_empty(), "an unloaded image's blocks leave the live set");
}

#[test]
fn a_read_after_free_of_special_pool_is_bug_check_d5() {
    let m = Machine::new(Settings::default());
    let freed = std::cell::Cell::new(0usize);
    let stop = m
        .run(DRV, "Test", || {
            let p = alloc(POOL_FLAG_NON_PAGED, 64);
            free(p);
            freed.set(p as usize);
            // SAFETY: not sound — the use after free is what special pool catches.
            let stale = unsafe { std::ptr::read_volatile(p.cast::<u64>()) };
            std::hint::black_box(stale);
        })
        .expect_err("the read stops the machine");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[1]), (0xD5, freed.get() as u64, 0), "{stop}");
    assert!(b.param_notes[0].contains("ExFreePool"), "{stop}");
    assert_eq!(b.stack.get(1).map(String::as_str), Some("pooldrv!Test"), "{stop}");
}
