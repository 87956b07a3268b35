//! The WDM I/O manager's routines (F120–F122), part of `wdk_sys::ntddk`:
//! device objects, symbolic links, IRP completion, the cancel spin lock and
//! IoCancelIrp. Same names and signatures as wdk-sys 0.5.2's bindings
//! (`conformance.rs` checks each); the rules are the model's `kernel::io`.
//!
//! The headers' inline helpers a driver writes for itself —
//! `IoGetCurrentIrpStackLocation`, `IoMarkIrpPending`, `IoSetCancelRoutine`,
//! `MmGetSystemAddressForMdlSafe` — work on the IRPs and MDLs the model
//! builds, which have the bindings' layout; `IoCompleteRequest` is the
//! header's macro over `IofCompleteRequest`.
#![allow(non_snake_case)]

use crate::abi::*;
use crate::model::kernel::io::{self, dispatch::cancel_irp};
use crate::model::{Routine, STOPPED_STATUS, enter};
use crate::surface::strings::read_unicode;

/// `IoCreateDevice` (F120): a device object with a zeroed extension of
/// `DeviceExtensionSize` bytes, at the head of the driver object's device
/// list, `DO_DEVICE_INITIALIZING` set (the I/O manager clears it when
/// DriverEntry returns, for the devices created there). A name already in
/// the namespace is STATUS_OBJECT_NAME_COLLISION.
///
/// # Safety
/// `DriverObject` is the driver's own; `DeviceName` null or a valid counted
/// string; `DeviceObject` writable.
#[must_use]
pub unsafe extern "C" fn IoCreateDevice(
    DriverObject: PDRIVER_OBJECT,
    DeviceExtensionSize: ULONG,
    DeviceName: PUNICODE_STRING,
    DeviceType: ULONG,
    DeviceCharacteristics: ULONG,
    Exclusive: BOOLEAN,
    DeviceObject: *mut PDEVICE_OBJECT,
) -> NTSTATUS {
    enter(Routine::IoCreateDevice, STOPPED_STATUS, || {
        if DeviceObject.is_null() {
            return STATUS_INVALID_PARAMETER;
        }
        let name = if DeviceName.is_null() {
            None
        } else {
            // SAFETY: non-null; the caller passes a valid counted string.
            match unsafe { read_unicode(DeviceName) } {
                Ok(n) => Some(n),
                Err(st) => return st,
            }
        };
        let created = io::create_device(
            DriverObject,
            DeviceExtensionSize,
            name,
            DeviceType,
            DeviceCharacteristics,
            Exclusive != 0,
        );
        match created {
            None => STOPPED_STATUS,
            Some(Err(st)) => st,
            Some(Ok(device)) => {
                // SAFETY: checked non-null; the caller passes a writable slot.
                unsafe { DeviceObject.write(device) };
                STATUS_SUCCESS
            }
        }
    })
}

/// `IoDeleteDevice` (F120): unlinks the device object from its driver and the
/// namespace; it is freed once no file is open on it.
///
/// # Safety
/// `DeviceObject` is a device object the driver created.
pub unsafe extern "C" fn IoDeleteDevice(DeviceObject: PDEVICE_OBJECT) {
    enter(Routine::IoDeleteDevice, (), || {
        io::delete_device(DeviceObject);
    });
}

/// `IoCreateSymbolicLink` (F120): a permanent link in `\??` (`\DosDevices\X`,
/// `\??\X`, `\GLOBAL??\X`) to a device name; an application opens it as
/// `\\.\X`. A link that exists is STATUS_OBJECT_NAME_COLLISION.
///
/// # Safety
/// Both arguments valid counted strings.
#[must_use]
pub unsafe extern "C" fn IoCreateSymbolicLink(
    SymbolicLinkName: PUNICODE_STRING,
    DeviceName: PUNICODE_STRING,
) -> NTSTATUS {
    enter(Routine::IoCreateSymbolicLink, STOPPED_STATUS, || {
        // SAFETY: the caller passes a valid counted string.
        let link = unsafe { read_unicode(SymbolicLinkName) };
        // SAFETY: as above.
        let target = unsafe { read_unicode(DeviceName) };
        let (link, target) = match (link, target) {
            (Ok(l), Ok(t)) => (l, t),
            (Err(st), _) | (_, Err(st)) => return st,
        };
        io::create_link(&link, &target)
    })
}

/// `IoDeleteSymbolicLink` (F120): STATUS_OBJECT_NAME_NOT_FOUND for a link
/// that does not exist.
///
/// # Safety
/// `SymbolicLinkName` a valid counted string.
#[must_use]
pub unsafe extern "C" fn IoDeleteSymbolicLink(SymbolicLinkName: PUNICODE_STRING) -> NTSTATUS {
    enter(Routine::IoDeleteSymbolicLink, STOPPED_STATUS, || {
        // SAFETY: the caller passes a valid counted string.
        let link = match unsafe { read_unicode(SymbolicLinkName) } {
            Ok(l) => l,
            Err(st) => return st,
        };
        io::delete_link(&link)
    })
}

/// `IofCompleteRequest` (F122), what the `IoCompleteRequest` macro calls: the
/// IRP's `IoStatus` goes back to the application. Completing it twice is bug
/// check 0x44; with I/O Verification a pending status or a cancel routine
/// still set is 0xC9.
///
/// # Safety
/// `Irp` an IRP the driver owns.
pub unsafe extern "C" fn IofCompleteRequest(Irp: PIRP, _PriorityBoost: CCHAR) {
    enter(Routine::IofCompleteRequest, (), || {
        io::complete(Irp);
    });
}

/// `IoAcquireCancelSpinLock` (F121): raises to DISPATCH_LEVEL and stores the
/// previous IRQL in `*Irql`.
///
/// # Safety
/// `Irql` writable.
pub unsafe extern "C" fn IoAcquireCancelSpinLock(Irql: PKIRQL) {
    enter(Routine::IoAcquireCancelSpinLock, (), || {
        if let Some(old) = io::acquire_cancel_lock()
            && !Irql.is_null()
        {
            // SAFETY: checked non-null; the caller passes a writable KIRQL.
            unsafe { Irql.write(old) };
        }
    });
}

/// `IoReleaseCancelSpinLock` (F121): releases the lock and returns to `Irql`.
///
/// # Safety
/// None beyond holding the lock.
pub unsafe extern "C" fn IoReleaseCancelSpinLock(Irql: KIRQL) {
    enter(Routine::IoReleaseCancelSpinLock, (), || {
        io::release_cancel_lock(Irql);
    });
}

/// `IoCancelIrp` (F121): marks the IRP cancelled and calls its cancel
/// routine, if it has one, with the cancel spin lock held. TRUE if a cancel
/// routine was called.
///
/// # Safety
/// `Irp` an outstanding IRP.
pub unsafe extern "C" fn IoCancelIrp(Irp: PIRP) -> BOOLEAN {
    enter(Routine::IoCancelIrp, 0u8, || u8::from(cancel_irp(Irp as u64)))
}
