//! The `DriverUnload` routine of the WDM driver object: what `WdfDriverCreate`
//! records and stores in it, how the stub displaces it after DriverEntry, and
//! what runs at unload (F80, F126).
//!
//! The framework's source fixes the order: `FxDriver::Initialize`
//! (fxdriver.cpp) stores the framework's `FxDriver::Unload` in the driver
//! object, so a routine the driver stored before `WdfDriverCreate` is
//! replaced and one stored after it replaces the framework's; the stub then
//! displaces whatever is there with `FxStubDriverUnload`, which calls it and
//! unbinds — and the unbind (`FxLibraryCommonUnregisterClient`,
//! fxlibrarycommon.cpp) deletes a WDFDRIVER still alive without
//! EvtDriverUnload.

use crate::abi::{
    _DEVICE_OBJECT, _DRIVER_OBJECT, _IRP, _WDF_DRIVER_INIT_FLAGS, IRP_MJ_MAXIMUM_FUNCTION, NTSTATUS, PASSIVE_LEVEL,
};
use crate::model::framework::objects;
use crate::model::{FRAMEWORK_MODULE, STOPPED_STATUS, State, with_state};

/// A `DriverUnload` routine.
type Routine = unsafe extern "C" fn(*mut _DRIVER_OBJECT);

/// A driver's `DriverUnload` and the driver object it is called with.
pub(crate) type DriverUnload = (Routine, *mut _DRIVER_OBJECT);

/// The framework's `FxDriver::Unload` as `WdfDriverCreate` stores it in the
/// driver object (F126): EvtDriverUnload, then the WDFDRIVER's deletion
/// (F27). A driver that chains to the routine it found there runs this.
#[inline(never)]
extern "C" fn fx_driver_unload(_object: *mut _DRIVER_OBJECT) {
    framework_unload();
}

/// The stub's `FxStubDriverUnload` (F126): the displaced routine, then the
/// unbind.
#[inline(never)]
extern "C" fn fx_stub_driver_unload(object: *mut _DRIVER_OBJECT) {
    let image = with_state(|s| s.framework.driver.as_ref().map(|d| d.image.clone())).flatten().unwrap_or_default();
    stub_unload(&image, object);
}

/// The framework's `FxDevice::Dispatch` as `WdfDriverCreate` stores it in
/// every `MajorFunction` slot (F126). The simulator presents a WDFDEVICE's
/// requests itself, so only an IRP to a device object the driver made with
/// `IoCreateDevice`, for a major function it stored no routine for, gets
/// here, and it stops the machine: what the framework does with it is not
/// modelled.
#[inline(never)]
extern "C" fn fx_device_dispatch(_device: *mut _DEVICE_OBJECT, irp: *mut _IRP) -> NTSTATUS {
    with_state(|s| {
        s.stop_not_modelled(format!(
            "KMDF's FxDevice::Dispatch of IRP {:#x} to a device object IoCreateDevice made (the driver stored no \
             dispatch routine of its own for the major function after WdfDriverCreate)",
            irp as u64
        ));
    });
    STOPPED_STATUS
}

/// Whether the driver's image carries its own stub (a native image: its
/// FxDriverEntry displaces DriverUnload itself, with win64 routines).
fn native_stub() -> bool {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    return crate::model::native::any_mapped();
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    false
}

impl State {
    /// Records in the driver's globals what `WdfDriverCreate` records (F80,
    /// fxdriverapi.cpp): the init flags, and whether the stub displaces the
    /// driver's `DriverUnload` — always, unless the driver asked for no
    /// dispatch override or is a non-PnP driver, and then only when it has
    /// an EvtDriverUnload. Then what `FxDriver::Initialize` does to the
    /// driver object (F126, fxdriver.cpp): without
    /// `WdfDriverInitNoDispatchOverride`, `DriverUnload` becomes the
    /// framework's unload — for a non-PnP driver only if it has an
    /// EvtDriverUnload, NULL otherwise — and every `MajorFunction` slot
    /// the framework's dispatch routine.
    pub(crate) fn record_driver_flags(&mut self, init_flags: u32, has_evt_unload: bool) {
        let globals = &mut self.framework.globals;
        globals.DriverFlags |= init_flags;
        let no_override = _WDF_DRIVER_INIT_FLAGS::WdfDriverInitNoDispatchOverride as u32;
        let non_pnp = _WDF_DRIVER_INIT_FLAGS::WdfDriverInitNonPnpDriver as u32;
        globals.DisplaceDriverUnload = u8::from(init_flags & (no_override | non_pnp) == 0 || has_evt_unload);
        if init_flags & no_override != 0 || native_stub() {
            return;
        }
        let framework: Routine = fx_driver_unload;
        if let Some(loaded) = self.framework.driver.as_mut() {
            loaded.object.DriverUnload = (init_flags & non_pnp == 0 || has_evt_unload).then_some(framework);
            let dispatch: unsafe extern "C" fn(*mut _DEVICE_OBJECT, *mut _IRP) -> NTSTATUS = fx_device_dispatch;
            for slot in &mut loaded.object.MajorFunction[..=IRP_MJ_MAXIMUM_FUNCTION as usize] {
                *slot = Some(dispatch);
            }
        }
    }

    /// After a successful DriverEntry, the stub (F126): if `WdfDriverCreate`
    /// set `DisplaceDriverUnload`, it remembers the driver object's
    /// `DriverUnload` and puts `FxStubDriverUnload` in its place.
    pub(crate) fn displace_driver_unload(&mut self) {
        if self.framework.globals.DisplaceDriverUnload == 0 || native_stub() {
            return;
        }
        let Some(loaded) = self.framework.driver.as_mut() else { return };
        let stub: Routine = fx_stub_driver_unload;
        loaded.displaced_unload = loaded.object.DriverUnload.replace(stub);
    }

    /// Forgets what `WdfDriverCreate` recorded (the image is unloaded; a
    /// reload records afresh).
    pub(crate) fn forget_driver_flags(&mut self) {
        self.framework.globals.DriverFlags = 0;
        self.framework.globals.DisplaceDriverUnload = 0;
    }

    /// The `DriverUnload` the loaded driver's object holds, if any: the I/O
    /// manager calls it at unload (F80).
    pub(crate) fn driver_unload_plan(&mut self) -> Option<DriverUnload> {
        let loaded = self.framework.driver.as_mut()?;
        let routine = loaded.object.DriverUnload?;
        Some((routine, std::ptr::from_mut(loaded.object.as_mut())))
    }
}

/// Runs the routine the driver object holds at unload (F80, F126): the
/// stub's, the framework's, or the driver's own — the driver's own in the
/// System process at PASSIVE_LEVEL with its frame on the simulated stack.
pub(crate) fn run_driver_unload(image: &str, (routine, object): DriverUnload) {
    let address = routine as usize;
    if address == fx_stub_driver_unload as *const () as usize {
        stub_unload(image, object);
    } else if address == fx_driver_unload as *const () as usize {
        framework_unload();
    } else {
        // SAFETY: `routine` is the DRIVER_UNLOAD the driver stored in its
        // driver object, which the machine keeps alive until the unload is
        // finished; the I/O manager calls it with that object (F80).
        super::pnp::call_driver(image, "DriverUnload", PASSIVE_LEVEL as u8, || unsafe { routine(object) });
    }
}

/// `FxStubDriverUnload` (F126): the routine displaced after DriverEntry,
/// then WdfVersionUnbind.
fn stub_unload(image: &str, object: *mut _DRIVER_OBJECT) {
    let displaced = with_state(|s| {
        s.push_stub_frame(image, "FxStubDriverUnload");
        s.framework.driver.as_mut().and_then(|d| d.displaced_unload.take())
    })
    .flatten();
    if let Some(routine) = displaced {
        run_driver_unload(image, (routine, object));
    }
    unbind();
    with_state(|s| s.pop_frame());
}

/// `FxDriver::Unload` (fxdriver.cpp): EvtDriverUnload if the driver
/// registered one, then the WDFDRIVER's deletion with all its children
/// (F27).
fn framework_unload() {
    let plan = with_state(|s| {
        let driver = s.driver_object()?;
        let image = s.framework.driver.as_ref().map(|d| d.image.clone()).unwrap_or_default();
        let unload = match s.framework.objects.get(&driver).map(|o| &o.kind) {
            Some(objects::ObjectKind::Driver { unload, .. }) => *unload,
            _ => None,
        };
        s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxDriver::Unload");
        Some((driver, image, unload))
    })
    .flatten();
    let Some((driver, image, unload)) = plan else { return };
    if let Some(unload) = unload {
        // SAFETY: the driver registered EvtDriverUnload in its
        // WDF_DRIVER_CONFIG; KMDF calls it with the WDFDRIVER first (F27).
        super::pnp::call_driver(&image, "EvtDriverUnload", PASSIVE_LEVEL as u8, || unsafe {
            unload(driver as crate::abi::WDFDRIVER)
        });
    }
    with_state(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxObject::DeleteObject"));
    objects::delete_subtree(driver);
    with_state(|s| {
        s.pop_frame();
        s.pop_frame();
    });
}

/// What follows the driver object's routine at unload: a WDFDRIVER still
/// alive is unbound — **ASSUMPTION** for a KMDF driver whose `DriverUnload`
/// the stub did not displace. A native image's own stub cannot call the
/// framework's unload (the model stores none in its driver object), so for
/// it `FxDriver::Unload` runs here, after the image's routine.
pub(crate) fn after_driver_unload() {
    if native_stub() { framework_unload() } else { unbind() }
}

/// WdfVersionUnbind's `FxLibraryCommonUnregisterClient`
/// (fxlibrarycommon.cpp): a WDFDRIVER still alive is deleted, without
/// EvtDriverUnload (F126).
fn unbind() {
    let Some(driver) = with_state(|s| s.driver_object()).flatten() else { return };
    with_state(|s| s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxLibraryCommonUnregisterClient"));
    objects::delete_subtree(driver);
    with_state(|s| s.pop_frame());
}
