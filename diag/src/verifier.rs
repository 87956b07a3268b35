//! The Driver Verifier selection every part of the project recommends: the
//! triage's next steps, docs/windows.md and the test-VM scripts (through the
//! generated `scripts/vm/WdfKeyGuard.Constants.ps1`). One list, so they
//! cannot drift apart.
//!
//! This file depends on nothing (not even the rest of the crate): the root
//! package's `tests/vm_scripts.rs` includes it by path to generate the VM
//! constants, and the tests of both packages check docs/windows.md against it.

/// Driver Verifier's standard rule classes (F70: 1 special pool, 2 force
/// IRQL checking, 4 pool tracking, 5 I/O verification, 6 deadlock detection,
/// 8 DMA checking, 9 security checks, 12 miscellaneous checks — the
/// kernel-handle checks of F67 —, 18 DDI compliance checking, 34 WDF
/// verification).
pub const RULE_CLASSES: [u32; 10] = [1, 2, 4, 5, 6, 8, 9, 12, 18, 34];

/// The classes as `verifier /rc` takes them: `1 2 4 5 6 8 9 12 18 34`.
pub fn rule_classes_text() -> String {
    RULE_CLASSES.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

/// The whole command for `driver` (a binary name such as `mydrv.sys`, or a
/// placeholder) together with the framework: F48, F70.
pub fn command(driver: &str) -> String {
    format!("verifier /rc {} /driver {driver} wdf01000.sys", rule_classes_text())
}
