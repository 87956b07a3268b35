//! The win64 entry points: each a naked prologue that records the driver's
//! return address and jumps to its body, which runs the routine's host-ABI
//! shim (the one a Rust driver calls) through [`served`].
//!
//! The `entry_points!` lists below are what a native image can call (a
//! routine's line is its shim's signature): the kernel routines, the
//! framework loader's bind, and the DDIs whose arguments carry no driver
//! callback (those that do are adapted by hand: WdfDriverCreate; the object
//! attributes of the create DDIs are checked). A DDI that creates an object
//! with callbacks (queues, timers, work items, PnP/power callbacks) is not
//! listed, so no object of a native driver can hold a callback the machine
//! would call with the host ABI. Every other import and slot is bound to a
//! stub that stops the machine with its name.
#![allow(non_snake_case)]

use super::{attributes_unadapted, native_device_add, native_unload, served, with_native};
use crate::abi::*;
use crate::model::STOPPED_STATUS;
use crate::surface::ddi;
use crate::surface::ntddk;

/// One win64 entry point per line: `Name(args) -> R = shim;`.
macro_rules! entry_points {
    ($lookup:ident: $( $name:ident ( $($a:ident : $t:ty),* ) -> $r:ty = $shim:expr ; )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                /// The body: the routine's shim, for the driver.
                pub(super) unsafe extern "win64" fn body($($a: $t),*) -> $r {
                    // SAFETY: the driver's arguments go to the shim as the
                    // routine's contract gives them, as a Rust driver's do.
                    served(|| unsafe { $shim($($a),*) })
                }
                /// The entry point the driver's import or table slot holds.
                #[unsafe(naked)]
                pub(super) unsafe extern "win64" fn entry() {
                    core::arch::naked_asm!(
                        "push rcx",
                        "push rdx",
                        "push r8",
                        "push r9",
                        "sub rsp, 40",
                        "mov rcx, [rsp + 72]",
                        "call {record}",
                        "add rsp, 40",
                        "pop r9",
                        "pop r8",
                        "pop rdx",
                        "pop rcx",
                        "jmp {body}",
                        record = sym crate::surface::win64::record_caller,
                        body = sym body,
                    )
                }
            }
        )*
        /// The entry point serving `name`, if this list has it.
        pub(in crate::surface::win64) fn $lookup(name: &str) -> Option<usize> {
            match name {
                $( stringify!($name) => Some($name::entry as unsafe extern "win64" fn() as usize), )*
                _ => None,
            }
        }
    };
}

mod kernel_entries {
    use super::*;
    entry_points! { kernel:
        ZwClose(Handle: HANDLE) -> NTSTATUS = ntddk::ZwClose;
        NtClose(Handle: HANDLE) -> NTSTATUS = ntddk::NtClose;
        ObCloseHandle(Handle: HANDLE, Mode: KPROCESSOR_MODE) -> NTSTATUS = ntddk::ObCloseHandle;
        KeGetCurrentIrql() -> KIRQL = ntddk::KeGetCurrentIrql;
        RtlInitUnicodeString(Destination: PUNICODE_STRING, Source: PCWSTR) -> () = ntddk::RtlInitUnicodeString;
        ExAllocatePool2(Flags: POOL_FLAGS, Bytes: SIZE_T, Tag: ULONG) -> PVOID = ntddk::ExAllocatePool2;
        ExFreePool(P: PVOID) -> () = ntddk::ExFreePool;
        ExFreePoolWithTag(P: PVOID, Tag: ULONG) -> () = ntddk::ExFreePoolWithTag;
        ZwOpenKey(Key: PHANDLE, Access: ACCESS_MASK, Attributes: POBJECT_ATTRIBUTES) -> NTSTATUS = ntddk::ZwOpenKey;
        ZwCreateKey(Key: PHANDLE, Access: ACCESS_MASK, Attributes: POBJECT_ATTRIBUTES, TitleIndex: ULONG,
            Class: PUNICODE_STRING, Options: ULONG, Disposition: PULONG) -> NTSTATUS = ntddk::ZwCreateKey;
        ZwQueryKey(Key: HANDLE, Class: KEY_INFORMATION_CLASS, Info: PVOID, Length: ULONG, Result: PULONG)
            -> NTSTATUS = ntddk::ZwQueryKey;
        ZwEnumerateKey(Key: HANDLE, Index: ULONG, Class: KEY_INFORMATION_CLASS, Info: PVOID, Length: ULONG,
            Result: PULONG) -> NTSTATUS = ntddk::ZwEnumerateKey;
        ZwQueryValueKey(Key: HANDLE, Name: PUNICODE_STRING, Class: KEY_VALUE_INFORMATION_CLASS, Info: PVOID,
            Length: ULONG, Result: PULONG) -> NTSTATUS = ntddk::ZwQueryValueKey;
        ZwEnumerateValueKey(Key: HANDLE, Index: ULONG, Class: KEY_VALUE_INFORMATION_CLASS, Info: PVOID,
            Length: ULONG, Result: PULONG) -> NTSTATUS = ntddk::ZwEnumerateValueKey;
        ZwSetValueKey(Key: HANDLE, Name: PUNICODE_STRING, TitleIndex: ULONG, Type: ULONG, Data: PVOID,
            Size: ULONG) -> NTSTATUS = ntddk::ZwSetValueKey;
        memset(Dest: PVOID, C: i32, N: SIZE_T) -> PVOID = crt::memset;
        memcpy(Dest: PVOID, Src: PVOID, N: SIZE_T) -> PVOID = crt::memcpy;
        memmove(Dest: PVOID, Src: PVOID, N: SIZE_T) -> PVOID = crt::memmove;
    }
}

mod loader_entries {
    use super::*;
    entry_points! { loader:
        WdfVersionBind(DriverObject: PDRIVER_OBJECT, RegistryPath: PUNICODE_STRING, BindInfo: *mut BindInfo,
            Globals: *mut PWDF_DRIVER_GLOBALS) -> NTSTATUS = version_bind;
        WdfVersionUnbind(RegistryPath: PUNICODE_STRING, BindInfo: *mut BindInfo, Globals: PWDF_DRIVER_GLOBALS)
            -> NTSTATUS = version_unbind;
    }
}

mod ddi_entries {
    use super::*;
    entry_points! { ddi:
        WdfDriverCreate(G: PWDF_DRIVER_GLOBALS, DriverObject: PDRIVER_OBJECT, RegistryPath: PCUNICODE_STRING,
            Attributes: PWDF_OBJECT_ATTRIBUTES, Config: PWDF_DRIVER_CONFIG, Driver: *mut WDFDRIVER)
            -> NTSTATUS = driver_create;
        WdfDriverOpenParametersRegistryKey(G: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER, Access: ACCESS_MASK,
            Attributes: PWDF_OBJECT_ATTRIBUTES, Key: *mut WDFKEY) -> NTSTATUS = open_parameters_key;
        WdfDeviceCreate(G: PWDF_DRIVER_GLOBALS, Init: *mut PWDFDEVICE_INIT, Attributes: PWDF_OBJECT_ATTRIBUTES,
            Device: *mut WDFDEVICE) -> NTSTATUS = device_create;
        WdfDeviceGetDriver(G: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFDRIVER = ddi::WdfDeviceGetDriver;
        WdfObjectDelete(G: PWDF_DRIVER_GLOBALS, Object: WDFOBJECT) -> () = ddi::WdfObjectDelete;
        WdfObjectGetTypedContextWorker(G: PWDF_DRIVER_GLOBALS, Handle: WDFOBJECT,
            TypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO) -> PVOID = ddi::WdfObjectGetTypedContextWorker;
        WdfRegistryClose(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> () = ddi::WdfRegistryClose;
        WdfRegistryWdmGetHandle(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> HANDLE = ddi::WdfRegistryWdmGetHandle;
        WdfRegistryQueryULong(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY, Name: PCUNICODE_STRING, Value: PULONG)
            -> NTSTATUS = ddi::WdfRegistryQueryULong;
        WdfRegistryAssignULong(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY, Name: PCUNICODE_STRING, Value: ULONG)
            -> NTSTATUS = ddi::WdfRegistryAssignULong;
        WdfRegistryRemoveValue(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY, Name: PCUNICODE_STRING)
            -> NTSTATUS = ddi::WdfRegistryRemoveValue;
        WdfRegistryRemoveKey(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY) -> NTSTATUS = ddi::WdfRegistryRemoveKey;
        WdfRegistryQueryValue(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY, Name: PCUNICODE_STRING, Length: ULONG,
            Value: PVOID, Queried: PULONG, Type: PULONG) -> NTSTATUS = ddi::WdfRegistryQueryValue;
        WdfRegistryAssignValue(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY, Name: PCUNICODE_STRING, Type: ULONG,
            Length: ULONG, Value: PVOID) -> NTSTATUS = ddi::WdfRegistryAssignValue;
        WdfRegistryQueryUnicodeString(G: PWDF_DRIVER_GLOBALS, Key: WDFKEY, Name: PCUNICODE_STRING,
            Bytes: PUSHORT, Value: PUNICODE_STRING) -> NTSTATUS = ddi::WdfRegistryQueryUnicodeString;
        WdfDeviceCreateDeviceInterface(G: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE, Guid: *const GUID,
            Reference: PCUNICODE_STRING) -> NTSTATUS = ddi::WdfDeviceCreateDeviceInterface;
        WdfDeviceGetDefaultQueue(G: PWDF_DRIVER_GLOBALS, Device: WDFDEVICE) -> WDFQUEUE
            = ddi::WdfDeviceGetDefaultQueue;
        WdfObjectReferenceActual(G: PWDF_DRIVER_GLOBALS, Handle: WDFOBJECT, Tag: PVOID, Line: LONG, File: PCCH)
            -> () = ddi::WdfObjectReferenceActual;
        WdfObjectDereferenceActual(G: PWDF_DRIVER_GLOBALS, Handle: WDFOBJECT, Tag: PVOID, Line: LONG, File: PCCH)
            -> () = ddi::WdfObjectDereferenceActual;
        WdfStringGetUnicodeString(G: PWDF_DRIVER_GLOBALS, String: WDFSTRING, Unicode: PUNICODE_STRING)
            -> () = ddi::WdfStringGetUnicodeString;
        WdfMemoryGetBuffer(G: PWDF_DRIVER_GLOBALS, Memory: WDFMEMORY, Size: *mut usize) -> PVOID
            = ddi::WdfMemoryGetBuffer;
        WdfDriverRetrieveVersionString(G: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER, String: WDFSTRING)
            -> NTSTATUS = ddi::WdfDriverRetrieveVersionString;
        WdfDriverIsVersionAvailable(G: PWDF_DRIVER_GLOBALS, Driver: WDFDRIVER,
            Params: PWDF_DRIVER_VERSION_AVAILABLE_PARAMS) -> BOOLEAN = ddi::WdfDriverIsVersionAvailable;
    }
}

/// The C runtime routines ntoskrnl.exe exports (RtlZeroMemory,
/// RtlCopyMemory and RtlMoveMemory are these): no machine state; the host's
/// C library does the work.
mod crt {
    use super::*;

    /// # Safety
    /// As C's `memset`.
    pub(super) unsafe fn memset(dest: PVOID, c: i32, n: SIZE_T) -> PVOID {
        // SAFETY: the driver passes `n` writable bytes at `dest` (memset's contract).
        unsafe { libc::memset(dest, c, n as usize) }
    }

    /// # Safety
    /// As C's `memcpy`.
    pub(super) unsafe fn memcpy(dest: PVOID, src: PVOID, n: SIZE_T) -> PVOID {
        // SAFETY: the driver passes non-overlapping ranges of `n` bytes (memcpy's contract).
        unsafe { libc::memcpy(dest, src, n as usize) }
    }

    /// # Safety
    /// As C's `memmove`.
    pub(super) unsafe fn memmove(dest: PVOID, src: PVOID, n: SIZE_T) -> PVOID {
        // SAFETY: the driver passes ranges of `n` bytes (memmove's contract).
        unsafe { libc::memmove(dest, src, n as usize) }
    }
}

pub(super) use ddi_entries::ddi;
pub(super) use kernel_entries::kernel;
pub(super) use loader_entries::loader;

/// `WDF_BIND_INFO` (fxldr.h, microsoft/Windows-Driver-Frameworks
/// src/framework/shared/inc/private/common/fxldr.h): what WdfDriverEntry.lib
/// passes to WdfVersionBind.
#[repr(C)]
pub(super) struct BindInfo {
    size: ULONG,
    component: PCWSTR,
    version: [ULONG; 3],
    func_count: ULONG,
    func_table: *mut *const usize,
    module: PVOID,
}

/// The function-table sizes of the released KMDF versions after 1.13 (1.15
/// to 1.31/1.33), which the framework accepts and binds by handing out its
/// table's address (fxlibrarycommon.cpp, LibraryRegisterClient: the
/// `WdfFunctionTableNumEntries_V1_*` list).
const RELEASED_COUNTS: [ULONG; 7] = [444, 446, 448, 451, 453, 454, 458];

/// `WdfVersionBind`, as the framework's LibraryRegisterClient binds a client
/// (microsoft/Windows-Driver-Frameworks,
/// src/framework/kmdf/src/librarycommon/fxlibrarycommon.cpp): a null
/// BindInfo, globals pointer or FuncTable, or a function count that is no
/// released version's, fails with STATUS_INVALID_PARAMETER; otherwise
/// "FuncTable arrives with a ptr to &WdfFunctions", and the table's address
/// is written there, and the driver globals are handed out. Clients of 1.13
/// and older (their own copy of the table is filled) stop the machine as not
/// modelled. ASSUMPTION: a version above 1.33 fails as a wrong count does.
///
/// # Safety
/// As the loader's contract: `BindInfo` and `Globals` valid.
unsafe fn version_bind(
    _DriverObject: PDRIVER_OBJECT,
    _RegistryPath: PUNICODE_STRING,
    BindInfo: *mut BindInfo,
    Globals: *mut PWDF_DRIVER_GLOBALS,
) -> NTSTATUS {
    if BindInfo.is_null() || Globals.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-null; WdfDriverEntry.lib passes its own WDF_BIND_INFO.
    let info = unsafe { &*BindInfo };
    let [major, minor, _] = info.version;
    if info.func_table.is_null() || major != 1 || minor > 33 {
        return STATUS_INVALID_PARAMETER;
    }
    if info.func_count <= 438 {
        super::stop_unmodelled(
            &format!("binding a KMDF 1.{minor} client (function count {}, a table copy)", info.func_count),
            "WDFLDR.SYS!WdfVersionBind",
        );
        return STOPPED_STATUS;
    }
    if !RELEASED_COUNTS.contains(&info.func_count) {
        return STATUS_INVALID_PARAMETER;
    }
    let Some(table) = with_native(|n| n.table.as_ptr()) else { return STATUS_INVALID_PARAMETER };
    // SAFETY: `func_table` points to the client's WdfFunctions_01033 pointer.
    unsafe { info.func_table.write(table) };
    // SAFETY: `Globals` is the client's WdfDriverGlobals pointer.
    unsafe { Globals.write(ddi::driver_globals()) };
    crate::STATUS_SUCCESS
}

/// `WdfVersionUnbind`: the client lets go of the framework (nothing is held
/// for it here).
///
/// # Safety
/// None (the arguments are not read).
unsafe fn version_unbind(
    _RegistryPath: PUNICODE_STRING,
    _BindInfo: *mut BindInfo,
    _Globals: PWDF_DRIVER_GLOBALS,
) -> NTSTATUS {
    crate::STATUS_SUCCESS
}

/// `WdfDriverCreate` for a native driver: the config's callbacks are
/// recorded and replaced by host-ABI adapters; the shim does the rest.
///
/// # Safety
/// As the DDI.
unsafe fn driver_create(
    G: PWDF_DRIVER_GLOBALS,
    DriverObject: PDRIVER_OBJECT,
    RegistryPath: PCUNICODE_STRING,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Config: PWDF_DRIVER_CONFIG,
    Driver: *mut WDFDRIVER,
) -> NTSTATUS {
    // SAFETY: null or valid (the DDI's contract).
    if unsafe { attributes_unadapted(Attributes, "WdfDriverCreate") } {
        return STOPPED_STATUS;
    }
    if Config.is_null() {
        // SAFETY: the shim reports the null config as the framework does.
        return unsafe { ddi::WdfDriverCreate(G, DriverObject, RegistryPath, Attributes, Config, Driver) };
    }
    // SAFETY: non-null and valid (the DDI's contract); the shim checks Size.
    let mut config = unsafe { Config.read() };
    let device_add = config.EvtDriverDeviceAdd.map_or(0, |f| f as usize);
    let unload = config.EvtDriverUnload.map_or(0, |f| f as usize);
    config.EvtDriverDeviceAdd = (device_add != 0).then_some(native_device_add as _);
    config.EvtDriverUnload = (unload != 0).then_some(native_unload as _);
    // SAFETY: as the DDI, with the adapted copy of the config.
    let status = unsafe { ddi::WdfDriverCreate(G, DriverObject, RegistryPath, Attributes, &mut config, Driver) };
    if crate::NT_SUCCESS(status) {
        with_native(|n| (n.device_add, n.unload) = (device_add, unload));
    }
    status
}

/// `WdfDriverOpenParametersRegistryKey` for a native driver (attributes checked).
///
/// # Safety
/// As the DDI.
unsafe fn open_parameters_key(
    G: PWDF_DRIVER_GLOBALS,
    Driver: WDFDRIVER,
    Access: ACCESS_MASK,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    // SAFETY: null or valid (the DDI's contract).
    if unsafe { attributes_unadapted(Attributes, "WdfDriverOpenParametersRegistryKey") } {
        return STOPPED_STATUS;
    }
    // SAFETY: as the DDI.
    unsafe { ddi::WdfDriverOpenParametersRegistryKey(G, Driver, Access, Attributes, Key) }
}

/// `WdfDeviceCreate` for a native driver (attributes checked).
///
/// # Safety
/// As the DDI.
unsafe fn device_create(
    G: PWDF_DRIVER_GLOBALS,
    Init: *mut PWDFDEVICE_INIT,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Device: *mut WDFDEVICE,
) -> NTSTATUS {
    // SAFETY: null or valid (the DDI's contract).
    if unsafe { attributes_unadapted(Attributes, "WdfDeviceCreate") } {
        return STOPPED_STATUS;
    }
    // SAFETY: as the DDI.
    unsafe { ddi::WdfDeviceCreate(G, Init, Attributes, Device) }
}
