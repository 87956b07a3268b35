//! Time as a driver reads and spends it (F141): `KeDelayExecutionThread`,
//! `KeQueryPerformanceCounter`, `KeQueryTimeIncrement`, on the machine's one
//! clock (`Kernel::clock`, 100-ns units since boot, which the framework's
//! timers also run on).

use crate::abi::NTSTATUS;
use crate::model::State;

/// The performance counter's frequency: 10 MHz, one count per 100 ns, so the
/// counter is the clock itself (ASSUMPTION, F141).
pub(crate) const PERFORMANCE_FREQUENCY: i64 = 10_000_000;

/// The clock interrupt's period in 100-ns units: 15.625 ms (ASSUMPTION, F141).
pub(crate) const TIME_INCREMENT: u32 = 156_250;

impl State {
    /// KeDelayExecutionThread: `interval` negative is relative (100-ns
    /// units), positive an absolute system time. The one thread sleeps: the
    /// clock moves to the end of the delay; framework timers that fall due in
    /// it run when the test next moves time (ASSUMPTION, F141). Nothing
    /// delivers APCs, so even an alertable wait returns STATUS_SUCCESS.
    pub(crate) fn ke_delay_execution(&mut self, interval: i64) -> NTSTATUS {
        let end = if interval < 0 {
            self.kernel.clock.saturating_add(interval.unsigned_abs())
        } else {
            // An absolute time: since boot, on this machine's clock (F141).
            u64::try_from(interval).unwrap_or(0)
        };
        self.kernel.clock = self.kernel.clock.max(end);
        crate::abi::STATUS_SUCCESS
    }

    /// KeQueryPerformanceCounter: (counter, frequency).
    pub(crate) fn ke_query_performance_counter(&self) -> (i64, i64) {
        (i64::try_from(self.kernel.clock).unwrap_or(i64::MAX), PERFORMANCE_FREQUENCY)
    }
}
