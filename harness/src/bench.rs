//! `bench`: the figures the project's speed targets are stated in.
//! P1 — what RegKey costs over raw calls; P2 — cycles per second and whether
//! time and memory stay flat over a long run; P3 — one full fault sweep.

use crate::cycle;
use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;
use std::hint::black_box;
use std::time::Instant;
use wdfkey::{Access, RegKey};

const PATH: &str = r"\Registry\Machine\SOFTWARE\WdfKeyBench";

/// Resident memory in KiB (Linux `/proc/self/statm`), if the host says.
fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

fn wide(s: &str) -> (Vec<u16>, UNICODE_STRING) {
    let mut v: Vec<u16> = s.encode_utf16().collect();
    let bytes = (v.len() * 2) as u16;
    let us = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: v.as_mut_ptr() };
    (v, us)
}

/// P1 runs in this many alternating rounds.
const ROUNDS: u32 = 10;
/// P2 compares resident memory at this cycle with the end (target: 10⁴ vs 10⁶).
const EARLY_MEMORY_MARK: u64 = 10_000;

/// P1's times per sequence, in ns.
struct P1 {
    /// Raw DDIs ending in WdfRegistryClose.
    close_ns: f64,
    /// Raw DDIs ending in WdfObjectDelete: the calls RegKey makes.
    delete_ns: f64,
    /// RegKey.
    typed_ns: f64,
}

/// P1: the same open/query/assign/close sequence, raw and with RegKey.
fn p1(iterations: u32) -> P1 {
    let m = Machine::new(Settings::default());
    let _ = m.registry_create_key(PATH);
    m.run("bench.sys", "Bench", || {
        let (_p, path) = wide(PATH);
        let (_n, name) = wide("Value");
        // `delete`: how the sequence ends — WdfRegistryClose, as a driver
        // written against the raw DDIs would, or WdfObjectDelete, the call
        // RegKey's drop makes (K4: allowed up to DISPATCH_LEVEL).
        let raw = |delete: bool| {
            let mut key: WDFKEY = core::ptr::null_mut();
            // SAFETY: pointers to live locals.
            let _ = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRegistryOpenKey,
                    core::ptr::null_mut(),
                    &path,
                    KEY_ALL_ACCESS,
                    WDF_NO_OBJECT_ATTRIBUTES,
                    &mut key
                )
            };
            let mut v = 0u32;
            // SAFETY: live key.
            let _ = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryAssignULong, key, &name, 1) };
            // SAFETY: live key.
            let _ = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryQueryULong, key, &name, &mut v) };
            if delete {
                // SAFETY: live key, deleted once.
                unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, key.cast()) };
            } else {
                // SAFETY: live key, closed once.
                unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, key) };
            }
            black_box(v);
        };
        let path_name = wdfkey::RegName::new(PATH).expect("valid");
        let value_name = wdfkey::RegName::new("Value").expect("valid");
        let typed = || {
            let key = RegKey::open_absolute(&path_name, Access::ALL).expect("opens");
            let _ = key.assign_u32(&value_name, 1);
            black_box(key.query_u32(&value_name).ok());
        };
        for _ in 0..iterations / 10 {
            raw(false);
            raw(true);
            typed();
        }
        // Alternating rounds, best of each: a scheduler hiccup in one round
        // does not decide the ratio.
        let time = |f: &dyn Fn()| {
            let t = Instant::now();
            for _ in 0..iterations / ROUNDS {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(iterations / ROUNDS)
        };
        let (mut close_ns, mut delete_ns, mut typed_ns) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..ROUNDS {
            close_ns = close_ns.min(time(&|| raw(false)));
            delete_ns = delete_ns.min(time(&|| raw(true)));
            typed_ns = typed_ns.min(time(&typed));
        }
        P1 { close_ns, delete_ns, typed_ns }
    })
    .expect("no stop")
}

/// The figures, printed and returned as text.
pub fn run(cycles: u64) -> String {
    let mut out = String::new();
    out += &format!(
        "P1  size_of: RegKey {} B, Option<RegKey> {} B, WDFKEY {} B\n",
        size_of::<RegKey>(),
        size_of::<Option<RegKey>>(),
        size_of::<WDFKEY>()
    );
    let P1 { close_ns, delete_ns, typed_ns } = p1(50_000);
    out += &format!(
        "P1  open+assign+query+close: raw {delete_ns:.0} ns, RegKey {typed_ns:.0} ns, ratio {:.3} (target <= 1.05; \
         the same DDIs: RegKey closes with WdfObjectDelete)\n",
        typed_ns / delete_ns
    );
    out += &format!(
        "P1  raw ending in WdfRegistryClose instead: {close_ns:.0} ns (RegKey / that: {:.3})\n",
        typed_ns / close_ns
    );

    let m = cycle::vm(Settings::default());
    let mut device = None;
    let tenth = (cycles / 10).max(1);
    let start = Instant::now();
    let memory_mark = EARLY_MEMORY_MARK.min(cycles);
    let (mut first_tenth, mut last_tenth_start, mut rss_early) = (0.0, Instant::now(), None);
    for c in 0..cycles {
        if c == cycles - tenth {
            last_tenth_start = Instant::now();
        }
        if cycle::run_ops(&m, &mut device, &cycle::fixed_cycle(c)).is_err() || m.stop().is_some() {
            out += &format!("P2  FAILED at cycle {c}\n");
            return out;
        }
        let _ = m.take_unload_reports();
        if c + 1 == tenth {
            first_tenth = start.elapsed().as_secs_f64();
        }
        if c + 1 == memory_mark {
            rss_early = rss_kib();
        }
    }
    let total = start.elapsed().as_secs_f64();
    let last_tenth = last_tenth_start.elapsed().as_secs_f64();
    let calls: u64 = m.ddi_calls().values().sum();
    out += &format!(
        "P2  {cycles} cycles in {total:.2} s: {:.0} cycles/s (target >= 50000), {:.0} ns per DDI call ({calls} calls)\n",
        cycles as f64 / total,
        total * 1e9 / calls as f64
    );
    out += &format!(
        "P2  first 10% {first_tenth:.3} s, last 10% {last_tenth:.3} s (ratio {:.2})\n",
        last_tenth / first_tenth.max(1e-9)
    );
    if let (Some(early), Some(late)) = (rss_early, rss_kib()) {
        out += &format!(
            "P2  resident memory after {memory_mark} cycles: {early} KiB, after {cycles}: {late} KiB (ratio {:.2}, target <= 1.5)\n",
            late as f64 / early as f64
        );
    }
    drop(m);
    let t = Instant::now();
    let points = crate::faults::sweep();
    out += &format!("P3  fault sweep: {} points in {:.2} s (target < 10 s)\n", points.len(), t.elapsed().as_secs_f64());
    out
}
