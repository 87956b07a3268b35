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
