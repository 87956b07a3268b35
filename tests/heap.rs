//! The driver's own heap (K5), in a test binary whose global allocator
//! counts what *driver code* allocates (kmdf_sim::control::in_driver_code):
//! * a full cycle — load, device, every IOCTL, disable (unload) — leaves no
//!   driver heap behind, like a pool leak at unload;
//! * failing the driver's Nth allocation, for every N the cycle makes, gives
//!   a clean NTSTATUS: no stop (a panic would be wdk-panic's bug check), no
//!   ownership violation, no leaked handle, object or heap;
//! * fresh driver allocations are filled with a pattern, and no IOCTL output
//!   carries it (no uninitialised bytes reach the caller).
#![cfg(any(not(windows), feature = "sim"))]

use kmdf_sim::control::{Caller, IoOutcome, Machine, Settings, in_driver_code};
use kmdf_sim::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use wdfkey_guard::wire::{self, encode};
use wdfkey_guard::{DEVICE_SDDL, HARDWARE_ID, SERVICE_NAME, driver_entry};

/// What fresh driver allocations are filled with.
const PATTERN: u8 = 0xA7;
/// Open-addressing table of live driver blocks (address → size), so a block
/// the driver allocated is accounted when it is freed anywhere.
const SLOTS: usize = 1 << 14;
static ADDRS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static SIZES: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

thread_local! {
    /// Driver allocations so far on this thread (each test runs its machine on its own thread).
    static COUNT: Cell<u64> = const { Cell::new(0) };
    /// Live driver bytes on this thread.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    /// Fail the driver's allocation number FAIL_AT (0: never).
    static FAIL_AT: Cell<u64> = const { Cell::new(0) };
}

struct DriverHeap;

fn slot_of(addr: usize) -> usize {
    (addr >> 4).wrapping_mul(0x9E37_79B9) % SLOTS
}

// SAFETY: forwards to System; the bookkeeping allocates nothing.
unsafe impl GlobalAlloc for DriverHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !in_driver_code() {
            // SAFETY: the caller's layout contract, forwarded.
            return unsafe { System.alloc(layout) };
        }
        let n = COUNT.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if FAIL_AT.with(Cell::get) == n {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout contract, forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            // SAFETY: `p` has `layout.size()` writable bytes.
            unsafe { p.write_bytes(PATTERN, layout.size()) };
            let mut i = slot_of(p as usize);
            for _ in 0..SLOTS {
                if ADDRS[i].compare_exchange(0, p as usize, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    SIZES[i].store(layout.size(), Ordering::SeqCst);
                    LIVE.with(|l| l.set(l.get() + layout.size() as i64));
                    break;
                }
                i = (i + 1) % SLOTS;
            }
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let mut i = slot_of(p as usize);
        for _ in 0..SLOTS {
            match ADDRS[i].load(Ordering::SeqCst) {
                0 => break,
                a if a == p as usize => {
                    LIVE.with(|l| l.set(l.get() - SIZES[i].load(Ordering::SeqCst) as i64));
                    // Keep the probe chain intact: a tombstone that no address equals.
                    ADDRS[i].store(usize::MAX, Ordering::SeqCst);
                    break;
                }
                _ => i = (i + 1) % SLOTS,
            }
        }
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, layout) }
    }
}

#[global_allocator]
static HEAP: DriverHeap = DriverHeap;

fn service_key() -> String {
    kmdf_sim::testing::service_key(SERVICE_NAME)
}

/// What one cycle observed.
#[derive(Debug)]
struct Cycle {
    allocations: u64,
    live_after_unload: i64,
    statuses: Vec<NTSTATUS>,
    outputs: Vec<Vec<u8>>,
    pattern_in_output: bool,
}

/// Load, add the device, every IOCTL, disable (the driver unloads, F37);
/// `fail_at` fails that driver allocation. Runs on its own thread.
fn cycle(fail_at: u64) -> Result<Cycle, String> {
    std::thread::spawn(move || {
        FAIL_AT.with(|f| f.set(fail_at));
        let m = Machine::new(Settings::default());
        m.registry_seed(&format!("[{}\\Parameters]\nMaxValueSize = dword:64\nTraceLevel = dword:3\n", service_key()))
            .map_err(|e| e.to_string())?;
        m.install("wdfkey_guard.sys", SERVICE_NAME, Some(driver_entry));
        let id = m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).map_err(|s| format!("stopped: {s}"))?;
        let mut statuses = Vec::new();
        let mut outputs = Vec::new();
        let mut pattern_in_output = false;
        if let Ok(file) = m.open_device(id, Caller::Administrator) {
            let sz: Vec<u8> = "hello\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
            let requests: Vec<(u32, Vec<u8>, usize)> = vec![
                (wire::IOCTL_SET_VALUE, encode::set_request("Sz", REG_SZ, &sz), 0),
                (wire::IOCTL_SET_VALUE, encode::set_request("Bin", REG_BINARY, &[0, 0, 0, 0]), 0),
                (wire::IOCTL_GET_VALUE, encode::name_request("Sz"), 64),
                (wire::IOCTL_GET_VALUE, encode::name_request("Bin"), 64),
                (wire::IOCTL_GET_VALUE, encode::name_request("Sz"), 9),
                (wire::IOCTL_ENUM_VALUES, encode::enum_request(0), 64),
                (wire::IOCTL_ENUM_VALUES, encode::enum_request(1), 64),
                (wire::IOCTL_DELETE_VALUE, encode::name_request("Bin"), 0),
                (wire::IOCTL_GET_STATS, Vec::new(), wire::STATS_LEN),
            ];
            for (code, input, out) in requests {
                let (_, outcome) = m
                    .device_io_control(&file, "heap.exe", code, &input, out)
                    .map_err(|s| format!("stopped: {s}"))?
                    .map_err(|s| format!("not delivered: {s:#x}"))?;
                match outcome {
                    IoOutcome::Completed { status, output, .. } => {
                        statuses.push(status);
                        pattern_in_output |= output.windows(4).any(|w| w.iter().all(|&b| b == PATTERN));
                        outputs.push(output);
                    }
                    IoOutcome::Pending => return Err("left pending".into()),
                }
            }
        }
        m.disable_device(id).map_err(|s| format!("stopped: {s}"))?;
        if let Some(stop) = m.stop() {
            return Err(format!("stopped: {stop}"));
        }
        if !m.violations().is_empty() {
            return Err(format!("violations: {:?}", m.violations()));
        }
        for r in m.unload_reports() {
            if !r.leaked_handles.is_empty() || !r.leaked_objects.is_empty() {
                return Err(format!("leak: {r:?}"));
            }
        }
        drop(m);
        Ok(Cycle {
            allocations: COUNT.with(Cell::get),
            live_after_unload: LIVE.with(Cell::get),
            statuses,
            outputs,
            pattern_in_output,
        })
    })
    .join()
    .map_err(|_| "the cycle panicked".to_string())?
}

#[test]
fn a_cycle_leaves_no_driver_heap_and_no_uninitialised_output() {
    let c = cycle(0).expect("clean");
    assert!(c.allocations > 0, "the accounting sees the driver's allocations");
    assert_eq!(c.live_after_unload, 0, "driver heap left after unload");
    assert!(c.statuses.iter().take(4).all(|s| *s == STATUS_SUCCESS), "{:?}", c.statuses);
    assert!(!c.pattern_in_output, "an IOCTL returned bytes the driver never wrote");
    // Every byte returned is the one the wire format says.
    let sz: Vec<u8> = "hello\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let value = |kind: u32, data: &[u8]| -> Vec<u8> {
        [kind.to_le_bytes().as_slice(), &(data.len() as u32).to_le_bytes(), data].concat()
    };
    let entry = |kind: u32, name: &str| -> Vec<u8> {
        let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        [kind.to_le_bytes().as_slice(), &(name.len() as u16).to_le_bytes(), &[0, 0], &units].concat()
    };
    assert_eq!(c.outputs[2], value(REG_SZ, &sz), "GET Sz");
    assert_eq!(c.outputs[3], value(REG_BINARY, &[0, 0, 0, 0]), "GET Bin");
    assert_eq!((c.statuses[4], c.outputs[4].as_slice()), (STATUS_BUFFER_TOO_SMALL, &[][..]), "GET Sz into 9 bytes");
    let mut enumerated = [c.outputs[5].clone(), c.outputs[6].clone()];
    enumerated.sort();
    let mut want = [entry(REG_SZ, "Sz"), entry(REG_BINARY, "Bin")];
    want.sort();
    assert_eq!(enumerated, want, "ENUM 0 and 1");
}

#[test]
fn every_failed_driver_allocation_gives_a_clean_status() {
    let total = cycle(0).expect("clean").allocations;
    assert!(total >= 3, "{total}");
    let mut surfaced = 0;
    for n in 1..=total {
        let c = cycle(n).unwrap_or_else(|e| panic!("allocation {n} of {total} failed: {e}"));
        assert_eq!(c.live_after_unload, 0, "allocation {n}: driver heap leaked");
        assert!(
            c.statuses.contains(&STATUS_INSUFFICIENT_RESOURCES) || c.statuses.len() < 9,
            "allocation {n}: the failure surfaced as an NTSTATUS or an earlier refusal: {:?}",
            c.statuses
        );
        surfaced += usize::from(c.statuses.contains(&STATUS_INSUFFICIENT_RESOURCES));
    }
    assert!(surfaced > 0, "no failed allocation reached an IOCTL's status ({total} points)");
    eprintln!("{total} driver allocations per cycle, {surfaced} failures surfaced as STATUS_INSUFFICIENT_RESOURCES");
}
