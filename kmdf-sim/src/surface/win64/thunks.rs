//! The win64 entry points that are not routines of the routine table (those
//! are generated: `table.rs`): the framework loader's bind and unbind, and
//! the C runtime routines ntoskrnl.exe exports.
#![allow(non_snake_case)]

use super::adapt::Plain;
use super::with_native;
use crate::abi::*;
use crate::model::STOPPED_STATUS;
use crate::surface::ddi;

mod crt_entries {
    use super::*;
    entry_points! { runtime:
        memset(Dest: PVOID = Plain, C: i32 = Plain, N: SIZE_T = Plain) -> PVOID = crt::memset;
        memcpy(Dest: PVOID = Plain, Src: PVOID = Plain, N: SIZE_T = Plain) -> PVOID = crt::memcpy;
        memmove(Dest: PVOID = Plain, Src: PVOID = Plain, N: SIZE_T = Plain) -> PVOID = crt::memmove;
        // Inlined as `mov rax, cr8` by the WDK's amd64 headers (trapped then,
        // F161); a header that declares it (the kit's minimal one) imports it.
        KeGetCurrentIrql() -> KIRQL = crate::surface::ntddk::KeGetCurrentIrql;
    }
}

mod loader_entries {
    use super::*;
    entry_points! { loader:
        WdfVersionBind(DriverObject: PDRIVER_OBJECT = Plain, RegistryPath: PUNICODE_STRING = Plain,
            BindInfo: *mut BindInfo = Plain, Globals: *mut PWDF_DRIVER_GLOBALS = Plain) -> NTSTATUS = version_bind;
        WdfVersionUnbind(RegistryPath: PUNICODE_STRING = Plain, BindInfo: *mut BindInfo = Plain,
            Globals: PWDF_DRIVER_GLOBALS = Plain) -> NTSTATUS = version_unbind;
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

pub(super) use crt_entries::runtime;
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
