//! The `DriverUnload` routine of the WDM driver object: what `WdfDriverCreate`
//! records about displacing it, and its call at unload (F80).

use crate::abi::{_DRIVER_OBJECT, _WDF_DRIVER_INIT_FLAGS, PASSIVE_LEVEL};
use crate::model::State;

/// A driver's `DriverUnload` and the driver object it is called with.
pub(crate) type DriverUnload = (unsafe extern "C" fn(*mut _DRIVER_OBJECT), *mut _DRIVER_OBJECT);

impl State {
    /// Records in the driver's globals what `WdfDriverCreate` records (F80,
    /// fxdriverapi.cpp): the init flags, and whether the stub displaces the
    /// driver's `DriverUnload` — always, unless the driver asked for no
    /// dispatch override or is a non-PnP driver, and then only when it has
    /// an EvtDriverUnload.
    pub(crate) fn record_driver_flags(&mut self, init_flags: u32, has_evt_unload: bool) {
        let globals = &mut self.framework.globals;
        globals.DriverFlags |= init_flags;
        let no_override = (_WDF_DRIVER_INIT_FLAGS::WdfDriverInitNoDispatchOverride
            | _WDF_DRIVER_INIT_FLAGS::WdfDriverInitNonPnpDriver) as u32;
        globals.DisplaceDriverUnload = u8::from(init_flags & no_override == 0 || has_evt_unload);
    }

    /// Forgets what `WdfDriverCreate` recorded (the image is unloaded; a
    /// reload records afresh).
    pub(crate) fn forget_driver_flags(&mut self) {
        self.framework.globals.DriverFlags = 0;
        self.framework.globals.DisplaceDriverUnload = 0;
    }

    /// The `DriverUnload` the loaded driver left in its DRIVER_OBJECT, if
    /// any: the I/O manager calls it at unload (F80), a KMDF driver's through
    /// the stub's `FxStubDriverUnload`.
    pub(crate) fn driver_unload_plan(&mut self) -> Option<DriverUnload> {
        let loaded = self.framework.driver.as_mut()?;
        let routine = loaded.object.DriverUnload?;
        Some((routine, std::ptr::from_mut(loaded.object.as_mut())))
    }
}

/// Calls the driver's `DriverUnload` in the System process at PASSIVE_LEVEL
/// with its frame on the simulated stack (F80).
pub(crate) fn call_driver_unload(image: &str, (routine, object): DriverUnload) {
    // SAFETY: `routine` is the DRIVER_UNLOAD the driver stored in its driver
    // object, which the machine keeps alive until the unload is finished;
    // the I/O manager calls it with that object (F80).
    super::pnp::call_driver(image, "DriverUnload", PASSIVE_LEVEL as u8, || unsafe { routine(object) });
}
