//! What every peer test checks of a run that must end clean, and of the
//! debug output a driver printed (a module of each test crate).

use kmdf_sim::control::Machine;

/// No stop, ownership violation or verifier finding, `unloads` unload
/// reports (one per unload the machine did), none with a leak.
pub fn assert_clean(m: &Machine, unloads: usize) {
    let stop = m.stop();
    assert!(stop.is_none(), "{}", stop.map(|s| s.to_string()).unwrap_or_default());
    assert!(m.violations().is_empty(), "{:?}", m.violations());
    assert!(m.findings().is_empty(), "{:?}", m.findings());
    let reports = m.unload_reports();
    assert_eq!(reports.len(), unloads, "an unload report per unload");
    assert!(
        reports.iter().all(|r| r.leaked_pool.is_empty() && r.leaked_objects.is_empty() && r.leaked_handles.is_empty()),
        "{reports:?}"
    );
}

/// Each text occurs `times` times in the machine's debug output.
pub fn assert_printed(m: &Machine, expected: &[(&str, usize)]) {
    let output = m.debug_output().concat();
    for (text, times) in expected {
        assert_eq!(output.matches(text).count(), *times, "{text:?} in the debug output:\n{output}");
    }
}

/// Prints the figures of a run `assert_clean` passed: `run` (what the test
/// drove), the DDI and kernel calls the driver made, its debug lines and the
/// simulated time, each routine called with its count, and the clean result.
pub fn print_clean_figures(m: &Machine, run: &str) {
    let calls = m.ddi_calls();
    let total: u64 = calls.values().sum();
    println!(
        "{run}; {total} DDI and kernel calls over {} routines; {} debug lines; {:.1} s simulated",
        calls.len(),
        m.debug_lines_printed(),
        m.now() as f64 / 1e7
    );
    for (name, n) in &calls {
        println!("  {name}: {n}");
    }
    println!("stops: 0, violations: 0, findings: 0, leaks: 0");
}
