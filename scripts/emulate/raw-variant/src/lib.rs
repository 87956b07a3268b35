//! The seed bug as a driver: written the way the reported driver was, never
//! shipped. DriverEntry opens the service's Parameters key as a WDFKEY and
//! keeps it in the driver's context, leaving it to the framework (its
//! default parent is the driver, F10); EvtDriverUnload takes the WDM handle
//! out of the key (`WdfRegistryWdmGetHandle`, F6) and `ZwClose`s it in a
//! generic teardown. The framework then closes the same value again when it
//! deletes the driver's children (F2, F7, F27): bug check 0x93.
//!
//! It builds as the `.sys` `scripts/emulate/` runs under an emulator and, on
//! other hosts (or with the `sim` feature), against kmdf-sim for
//! `wdfkey-sim-trace`: the same source on both, as the reference driver.
#![cfg_attr(not(test), no_std)]

#[cfg(all(windows, not(feature = "sim"), not(test)))]
extern crate wdk_panic;

#[cfg(any(not(windows), feature = "sim"))]
use kmdf_sim::{self as sys, ntddk::ZwClose};
#[cfg(all(windows, not(feature = "sim")))]
use wdk_sys::{self as sys, ntddk::ZwClose};

use sys::{
    _DRIVER_OBJECT, _WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, DRIVER_INITIALIZE, KEY_READ, NT_SUCCESS,
    NTSTATUS, PUNICODE_STRING, WDF_DRIVER_CONFIG, WDF_NO_OBJECT_ATTRIBUTES, WDF_OBJECT_ATTRIBUTES,
    WDF_OBJECT_CONTEXT_TYPE_INFO, WDFDRIVER, WDFKEY, call_unsafe_wdf_function_binding,
};

/// The service name the variant is loaded under.
pub const SERVICE_NAME: &str = "wdfkey_raw_variant";

/// The driver's context: the WDFKEY it keeps (all-zero = null, F76).
#[repr(C)]
struct RawContext {
    key: WDFKEY,
}

#[repr(transparent)]
struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);

// SAFETY: never written after initialisation; the framework only reads it.
unsafe impl Sync for TypeInfo {}

static RAW_CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: core::mem::size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"RawContext".as_ptr(),
    ContextSize: core::mem::size_of::<RawContext>(),
    UniqueType: &RAW_CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

fn raw_context(driver: WDFDRIVER) -> *mut RawContext {
    // SAFETY: the driver object carries RAW_CONTEXT (DriverEntry created it so).
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, driver.cast(), &RAW_CONTEXT.0) }.cast()
}

/// DriverEntry: WdfDriverCreate with the context, then Parameters as a
/// WDFKEY kept in it.
///
/// # Safety
/// Only the loader (or the simulator) calls it, with the driver object and
/// the service's registry path.
#[cfg_attr(all(windows, not(feature = "sim"), not(test)), unsafe(export_name = "DriverEntry"))]
pub unsafe extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: core::mem::size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverUnload: Some(raw_unload),
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut attrs = WDF_OBJECT_ATTRIBUTES {
        Size: core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ContextTypeInfo: &RAW_CONTEXT.0,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut wdf_driver: WDFDRIVER = core::ptr::null_mut();
    // SAFETY: pointers from the loader and to locals that outlive the call.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, &mut attrs, &mut config, &mut wdf_driver)
    };
    if !NT_SUCCESS(st) {
        return st;
    }
    let mut key: WDFKEY = core::ptr::null_mut();
    // SAFETY: a live driver and a local out pointer.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverOpenParametersRegistryKey,
            wdf_driver,
            KEY_READ,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
    if NT_SUCCESS(st) {
        // SAFETY: the zero-filled context holds one WDFKEY (F76).
        unsafe { raw_context(wdf_driver).write(RawContext { key }) };
    }
    st
}

const _: DRIVER_INITIALIZE = Some(driver_entry);

/// The generic teardown of the reported driver: it closes every handle it
/// can find — including the WDM handle of the WDFKEY it left to the framework.
extern "C" fn raw_unload(driver: WDFDRIVER) {
    // SAFETY: written in DriverEntry; the driver object is alive in EvtDriverUnload.
    let key = unsafe { raw_context(driver).read() }.key;
    if key.is_null() {
        return;
    }
    // SAFETY: `key` is live; WdfRegistryWdmGetHandle lends its handle (F6).
    let handle = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, key) };
    // SAFETY: NOT sound — the defect this driver exists to show (K2 forbids it):
    // the handle belongs to the key object, which closes it again (F7).
    #[expect(clippy::disallowed_methods, reason = "the seed bug: this driver closes a WDFKEY's handle itself")]
    let _ = unsafe { ZwClose(handle) };
}
