//! Framework object contexts: the only place the driver keeps state (no
//! statics, F76). Contexts are zero-filled by the framework, so every field
//! is valid all-zero (`Option<RegKey>` is `None`, counters 0).

use crate::sys::{
    PCWDF_OBJECT_CONTEXT_TYPE_INFO, WDF_OBJECT_CONTEXT_TYPE_INFO, WDFDRIVER, WDFOBJECT,
    call_unsafe_wdf_function_binding,
};
use crate::wire::Stats;
use wdfkey::RegKey;

/// A context type's descriptor (what `WDF_DECLARE_CONTEXT_TYPE` makes in C).
#[repr(transparent)]
pub(crate) struct ContextType(WDF_OBJECT_CONTEXT_TYPE_INFO);

// SAFETY: never written after initialisation; the framework only reads it.
unsafe impl Sync for ContextType {}

impl ContextType {
    pub(crate) fn info(&'static self) -> PCWDF_OBJECT_CONTEXT_TYPE_INFO {
        &self.0
    }
}

macro_rules! context_type {
    ($static:ident, $ty:ty, $name:literal) => {
        pub(crate) static $static: ContextType = ContextType(WDF_OBJECT_CONTEXT_TYPE_INFO {
            Size: core::mem::size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
            ContextName: $name.as_ptr(),
            ContextSize: core::mem::size_of::<$ty>(),
            UniqueType: &$static.0,
            EvtDriverGetUniqueContextType: None,
        });
    };
}

/// Configuration read from the service's Parameters key (defaults when absent).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Config {
    /// Largest value a SET_VALUE may store, in bytes.
    pub max_value_size: u32,
    /// 0 silent … 5 verbose.
    pub trace_level: u32,
}

/// The WDFDRIVER's context.
#[derive(Default)]
pub(crate) struct DriverContext {
    /// The service's Parameters key, read-only, held from DriverEntry until
    /// EvtDriverUnload takes it out (K3: before the framework disposes the
    /// driver's children).
    pub parameters: Option<RegKey>,
    pub config: Config,
    pub stats: Stats,
}

/// The WDFDEVICE's context.
#[derive(Default)]
pub(crate) struct DeviceContext {
    /// The device's hardware key, taken out in the device's cleanup.
    pub hardware: Option<RegKey>,
    /// The device's software key, taken out in the device's cleanup.
    pub software: Option<RegKey>,
}

/// The default queue's context.
#[derive(Default)]
pub(crate) struct QueueContext {
    /// The driver, for the I/O callbacks.
    pub driver: Option<core::ptr::NonNull<crate::sys::WDFDRIVER__>>,
}

context_type!(DRIVER_CONTEXT, DriverContext, c"WdfKeyGuardDriver");
context_type!(DEVICE_CONTEXT, DeviceContext, c"WdfKeyGuardDevice");
context_type!(QUEUE_CONTEXT, QueueContext, c"WdfKeyGuardQueue");

/// The typed context of `object`, if it has one of that type.
///
/// # Safety
/// `object` is a live framework object whose context of type `ty` holds a
/// `T` (zero-filled by the framework, and every `T` here is valid all-zero,
/// F76), and no other reference to that context is live: the framework
/// serialises the callbacks that use it (PnP callbacks, a sequential queue).
pub(crate) unsafe fn context<'a, T>(object: WDFOBJECT, ty: &'static ContextType) -> Option<&'a mut T> {
    // SAFETY: `object` is live (caller); the type info is 'static.
    let ptr = unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, ty.info()) };
    // SAFETY: a non-null result points at this object's `T` (caller), valid
    // until the object is destroyed (F30), with no other live reference.
    unsafe { ptr.cast::<T>().as_mut() }
}

/// The driver's context.
///
/// # Safety
/// `driver` is this driver's live WDFDRIVER, created with `DRIVER_CONTEXT`;
/// as [`context`] otherwise.
pub(crate) unsafe fn driver_context<'a>(driver: WDFDRIVER) -> Option<&'a mut DriverContext> {
    // SAFETY: forwarded from the caller.
    unsafe { context::<DriverContext>(driver.cast(), &DRIVER_CONTEXT) }
}
