//! How a machine is configured: which verifiers are on, how handle slots are
//! reused, how many handles the kernel holds at boot.

use crate::model::kernel::handles::ReusePolicy;

/// How the machine is configured. `Settings::default()` is the test VM the
/// scripts set up: Driver Verifier with the standard rules on the driver and
/// on wdf01000.sys (special pool, IRQL checking, miscellaneous checks), the
/// KMDF verifier on (F70), and no kernel debugger attached (F65).
/// [`Settings::without_verifiers`] is a bare machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Order in which freed handle slots come back (F46).
    pub reuse_policy: ReusePolicy,
    /// Kernel handles other components already hold when the driver loads.
    /// ASSUMPTION: 192, so that the first handle a driver gets is 0x304 — the
    /// value of the reported crash (F41); any count is as valid.
    pub boot_handles: u32,
    /// A kernel debugger is enabled (F42/F67a: with a caller process that has a
    /// PEB, a close of an invalid handle bug-checks 0x93 {h, 1, 0, 0}).
    pub kernel_debugger: bool,
    /// Driver Verifier's Miscellaneous Checks are on (F67c: a stale kernel
    /// handle close is forced to bug check 0x93 {h, 1, 0, 0}).
    pub verifier_misc_checks: bool,
    /// The KMDF verifier (`VerifierOn`, F52/F70) is on: its checks fail calls
    /// and its breaks stop the machine unless a kernel debugger is attached
    /// (F65).
    pub kmdf_verifier: bool,
    /// Driver Verifier's IRQL checking (Force IRQL Checking + DDI compliance,
    /// F49/F70) is on: a DDI or Zw routine called above its maximum IRQL is a
    /// bug check 0xC4 at the call (F66).
    pub driver_verifier_irql: bool,
    /// Driver Verifier's special pool (F51) for the verified images.
    pub special_pool: bool,
    /// wdf01000.sys is on Driver Verifier's list too (F70 recommends it), so
    /// framework allocations — objects and their contexts — are special-pooled
    /// (F51, ASSUMPTION there).
    pub wdf01000_verified: bool,
    /// Driver Verifier's Pool Tracking (F49 0x8, a standard setting): pool
    /// the driver still holds when it unloads is bug check 0xC4 {0x62, ...}
    /// (F50). Without it the leak is only in the unload report.
    pub pool_tracking: bool,
    /// Driver Verifier's I/O Verification (with Enhanced I/O Verification,
    /// F122): IoCompleteRequest of an IRP with STATUS_PENDING or with its
    /// cancel routine still set, and an IRQL changed across a dispatch
    /// routine, are bug check 0xC9 at the call; a dispatch routine's
    /// STATUS_PENDING without IoMarkIrpPending is a finding.
    pub io_verification: bool,
}

impl Settings {
    /// A machine with every verifier off: what a bare test machine without
    /// Driver Verifier does (stale closes of free slots are silent, F67a).
    pub fn without_verifiers() -> Self {
        Settings {
            reuse_policy: ReusePolicy::BatchedLifo,
            boot_handles: 192,
            kernel_debugger: false,
            verifier_misc_checks: false,
            kmdf_verifier: false,
            driver_verifier_irql: false,
            special_pool: false,
            wdf01000_verified: false,
            pool_tracking: false,
            io_verification: false,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            verifier_misc_checks: true,
            kmdf_verifier: true,
            driver_verifier_irql: true,
            special_pool: true,
            wdf01000_verified: true,
            pool_tracking: true,
            io_verification: true,
            ..Settings::without_verifiers()
        }
    }
}
