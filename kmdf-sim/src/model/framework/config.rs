//! The config structures the create-DDIs take (and the PnP/power callbacks
//! structure), and the `Size`s KMDF accepts for each (F93, F94): the 1.33 structure's, and the older releases' sizes the
//! framework still takes from a driver built against them — it reads such a
//! structure only up to its `Size`, and the fields past it keep their
//! defaults (zero).

use crate::abi::*;
use std::mem::{offset_of, size_of};

/// `STATUS_INVALID_PARAMETER_4` (ntstatus.h): not among the statuses
/// wdk-sys 0.5.2 binds.
pub(crate) const STATUS_INVALID_PARAMETER_4: NTSTATUS = 0xC000_00F2_u32 as NTSTATUS;

/// `n` rounded up to the next multiple of 8: an x64 structure that holds a
/// pointer ends on one.
const fn x64_end(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// A create-DDI's config structure.
///
/// # Invariants
/// The structure begins with its `ULONG Size`, every accepted size is at
/// most `size_of::<Self>()`, and each older structure is a prefix of the
/// 1.33 one (microsoft/Windows-Driver-Frameworks,
/// `src/framework/shared/inc/private/common/fxversionedstructures.h`).
pub(crate) trait WdfConfig: Copy + Default {
    /// The parameter's name in the DDI's signature, as the 0x10D note names it.
    const PARAMETER: &'static str;
    /// Every `Size` the framework accepts, the 1.33 size first (F93).
    const SIZES: &'static [usize];
}

impl WdfConfig for WDF_DRIVER_CONFIG {
    const PARAMETER: &'static str = "DriverConfig";
    // fxdriverapi.cpp: the current size or WDF_DRIVER_CONFIG_V1_1's (which
    // ends before DriverPoolTag; on x64 both are 32 bytes).
    const SIZES: &'static [usize] = &[size_of::<Self>(), x64_end(offset_of!(WDF_DRIVER_CONFIG, DriverPoolTag))];
}

impl WdfConfig for WDF_IO_QUEUE_CONFIG {
    const PARAMETER: &'static str = "Config";
    // fxioqueueapi.cpp: the current size, V1_9's (up to and with
    // Settings) or V1_7's (up to EvtIoCanceledOnQueue).
    const SIZES: &'static [usize] =
        &[size_of::<Self>(), offset_of!(WDF_IO_QUEUE_CONFIG, Driver), offset_of!(WDF_IO_QUEUE_CONFIG, Settings)];
}

impl WdfConfig for WDF_TIMER_CONFIG {
    const PARAMETER: &'static str = "Config";
    // fxtimerapi.cpp: the current size, V1_11's (up to and with
    // TolerableDelay) or V1_7's (up to AutomaticSerialization).
    const SIZES: &'static [usize] = &[
        size_of::<Self>(),
        x64_end(offset_of!(WDF_TIMER_CONFIG, TolerableDelay) + size_of::<ULONG>()),
        x64_end(offset_of!(WDF_TIMER_CONFIG, TolerableDelay)),
    ];
}

impl WdfConfig for WDF_WORKITEM_CONFIG {
    const PARAMETER: &'static str = "Config";
    // fxworkitemapi.cpp: the current size only.
    const SIZES: &'static [usize] = &[size_of::<Self>()];
}

impl WdfConfig for WDF_PNPPOWER_EVENT_CALLBACKS {
    const PARAMETER: &'static str = "PnpPowerEventCallbacks";
    // fxdeviceinitapi.cpp: the current size or V1_9's (up to
    // EvtDeviceRelationsQuery); WdfDeviceInitSetPnpPowerEventCallbacks
    // copies only `Size` bytes (F94).
    const SIZES: &'static [usize] =
        &[size_of::<Self>(), offset_of!(WDF_PNPPOWER_EVENT_CALLBACKS, EvtDeviceUsageNotificationEx)];
}

/// How many bytes of a `C` whose `Size` reads `size` the framework takes
/// (F93): `size` when it is one `C` accepts, otherwise
/// STATUS_INFO_LENGTH_MISMATCH (the DDI fails; nothing is created).
pub(crate) fn config_bytes<C: WdfConfig>(size: ULONG) -> Result<usize, NTSTATUS> {
    let size = size as usize;
    if C::SIZES.contains(&size) { Ok(size) } else { Err(STATUS_INFO_LENGTH_MISMATCH) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_sizes_are_the_released_structures_on_x64() {
        // fxversionedstructures.h: V1_1 driver config 32, V1_7/V1_9 queue
        // config 80/88, V1_7/V1_11 timer config 24/32 bytes on x64.
        assert_eq!(WDF_DRIVER_CONFIG::SIZES, [32, 32]);
        assert_eq!(WDF_IO_QUEUE_CONFIG::SIZES, [96, 88, 80]);
        assert_eq!(WDF_TIMER_CONFIG::SIZES, [40, 32, 24]);
        assert_eq!(WDF_WORKITEM_CONFIG::SIZES, [size_of::<WDF_WORKITEM_CONFIG>()]);
        assert_eq!(WDF_PNPPOWER_EVENT_CALLBACKS::SIZES, [144, 136]);
        for sizes in [WDF_DRIVER_CONFIG::SIZES, WDF_IO_QUEUE_CONFIG::SIZES, WDF_TIMER_CONFIG::SIZES] {
            assert!(sizes[1..].iter().all(|&s| s <= sizes[0]));
        }
        assert_eq!(config_bytes::<WDF_TIMER_CONFIG>(24), Ok(24));
        assert_eq!(config_bytes::<WDF_TIMER_CONFIG>(8), Err(STATUS_INFO_LENGTH_MISMATCH));
    }
}
