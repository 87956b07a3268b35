/*
 * STAND-IN for the WDK's WdfDriverEntry.lib (KMDF 1.33, x64), for linking the
 * driver on Linux (ci/windows-check.py --link) and running the image under an
 * emulator (scripts/emulate/). It is NOT the WDK's library: a Windows build
 * links the WDK's WdfDriverEntry.lib, and whether Windows' loader accepts an
 * image linked with this file is not proven (scripts/emulate/README.md).
 *
 * Written for this project from the loader contract as the framework's own
 * source states it (microsoft/Windows-Driver-Frameworks, MIT):
 *   src/framework/shared/inc/private/common/fxldr.h
 *       WDF_VERSION, WDF_BIND_INFO, WDF_BIND_INFO2 (V1.Size = sizeof(V2)),
 *       WdfVersionBind / WdfVersionUnbind exported by WDFLDR.SYS
 *   src/framework/kmdf/src/librarycommon/fxlibrarycommon.cpp
 *       LibraryRegisterClient: a 1.33 client must bind with FuncCount equal to
 *       the framework's WdfFunctionTableNumEntries, and "FuncTable arrives with
 *       a ptr to &WdfFunctions": the framework writes its table's address there
 *   src/publicinc/wdf/kmdf/1.33/wdfglobals.h
 *       WDF_DRIVER_GLOBALS, DisplaceDriverUnload
 *   src/framework/shared/core/fxdriverapi.cpp
 *       WdfDriverCreate sets DisplaceDriverUnload (TRUE for a PnP driver)
 *   src/publicinc/wdf/kmdf/1.33/wdffuncenum.h, wdf.h
 *       WdfFunctions_01033, WdfFunctionCount, WdfStructureCount, WdfStructures,
 *       WdfClientVersionHigherThanFramework, WdfMinimumVersionRequired
 *
 * The contract is docs/facts.md F78 (the bind) and F79 (the unload routine).
 *
 * What it does, in the order the contract gives:
 *   FxDriverEntry(DriverObject, RegistryPath)
 *     1. keeps a copy of RegistryPath (the loader's string does not outlive
 *        DriverEntry; unbind needs it at unload)
 *     2. WdfVersionBind(DriverObject, &copy, &WdfBindInfo, &WdfDriverGlobals):
 *        the framework fills WdfFunctions_01033 and WdfDriverGlobals
 *     3. DriverEntry(DriverObject, RegistryPath); on failure WdfVersionUnbind
 *        and return its status
 *     4. if WdfDriverGlobals->DisplaceDriverUnload: remember
 *        DriverObject->DriverUnload and put FxStubDriverUnload first
 *   FxStubDriverUnload(DriverObject)
 *     the remembered unload routine (the framework's, which runs
 *     EvtDriverUnload and deletes the driver object), then WdfVersionUnbind.
 *
 * WDF_FUNCTION_COUNT is the WdfFunctionTableNumEntries of the bindings the
 * driver was compiled against (windows-check.py passes it with -D).
 * ASSUMPTIONS (not in the framework's public source): the component name
 * L"KmdfLibrary"; an empty structure table (WdfStructureCount 0): a client
 * built for the framework it runs on never consults it (wdffuncenum.h: only
 * valid when WdfClientVersionHigherThanFramework is TRUE).
 */

#ifndef WDF_FUNCTION_COUNT
#error "compile with -DWDF_FUNCTION_COUNT=<WdfFunctionTableNumEntries of the bindings>"
#endif

typedef unsigned long ULONG;      /* LLP64: 32 bits */
typedef unsigned short USHORT;
typedef unsigned short WCHAR;
typedef unsigned char BOOLEAN;
typedef long NTSTATUS;
typedef unsigned long long SIZE_T;
typedef void (*WDFFUNC)(void);

typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    WCHAR *Buffer;
} UNICODE_STRING;

typedef void DRIVER_UNLOAD(void *DriverObject);

/* DRIVER_OBJECT up to DriverUnload (wdm.h; x64 offsets 0x00..0x68). */
typedef struct _DRIVER_OBJECT_HEAD {
    short Type;
    short Size;
    void *DeviceObject;
    ULONG Flags;
    void *DriverStart;
    ULONG DriverSize;
    void *DriverSection;
    void *DriverExtension;
    UNICODE_STRING DriverName;
    void *HardwareDatabase;
    void *FastIoDispatch;
    void *DriverInit;
    void *DriverStartIo;
    DRIVER_UNLOAD *DriverUnload;
} DRIVER_OBJECT_HEAD;

_Static_assert(__builtin_offsetof(DRIVER_OBJECT_HEAD, DriverUnload) == 0x68, "wdm.h DRIVER_OBJECT layout");

/* fxldr.h */
typedef struct _WDF_VERSION {
    ULONG Major;
    ULONG Minor;
    ULONG Build;
} WDF_VERSION;

typedef struct _WDF_BIND_INFO {
    ULONG Size;
    WCHAR *Component;
    WDF_VERSION Version;
    ULONG FuncCount;
    WDFFUNC *FuncTable;
    void *Module;
} WDF_BIND_INFO;

typedef SIZE_T *WDF_STRUCT_INFO;  /* wdftypes.h */

typedef struct _WDF_BIND_INFO2 {
    WDF_BIND_INFO V1;
    ULONG *MinimumVersionRequired;
    BOOLEAN *ClientVersionHigherThanFramework;
    ULONG *FuncCountPtr;
    ULONG *StructCountPtr;
    WDF_STRUCT_INFO *StructTable;
} WDF_BIND_INFO2;

/* wdfglobals.h (1.33) */
typedef struct _WDF_DRIVER_GLOBALS {
    void *Driver;
    ULONG DriverFlags;
    ULONG DriverTag;
    char DriverName[32];
    BOOLEAN DisplaceDriverUnload;
} WDF_DRIVER_GLOBALS;

_Static_assert(sizeof(WDF_BIND_INFO) == 48, "fxldr.h WDF_BIND_INFO, x64");
_Static_assert(sizeof(WDF_BIND_INFO2) == 88, "fxldr.h WDF_BIND_INFO2, x64");

/* WDFLDR.SYS */
__declspec(dllimport) NTSTATUS WdfVersionBind(void *DriverObject, UNICODE_STRING *RegistryPath,
                                              WDF_BIND_INFO *BindInfo, void **ComponentGlobals);
__declspec(dllimport) NTSTATUS WdfVersionUnbind(UNICODE_STRING *RegistryPath, WDF_BIND_INFO *BindInfo,
                                                void *ComponentGlobals);

/* the driver */
NTSTATUS DriverEntry(void *DriverObject, UNICODE_STRING *RegistryPath);

/* What the driver's code and wdk-sys reference (wdf.h, wdffuncenum.h). */
const WDFFUNC *WdfFunctions_01033;
WDF_DRIVER_GLOBALS *WdfDriverGlobals;
ULONG WdfFunctionCount = WDF_FUNCTION_COUNT;
ULONG WdfStructureCount;
WDF_STRUCT_INFO WdfStructures;
BOOLEAN WdfClientVersionHigherThanFramework;
ULONG WdfMinimumVersionRequired = 33;

static WCHAR component[] = {'K', 'm', 'd', 'f', 'L', 'i', 'b', 'r', 'a', 'r', 'y', 0};

static WDF_BIND_INFO2 WdfBindInfo = {
    .V1 = {
        .Size = sizeof(WDF_BIND_INFO2),
        .Component = component,
        .Version = {1, 33, 0},
        .FuncCount = WDF_FUNCTION_COUNT,
        .FuncTable = (WDFFUNC *)&WdfFunctions_01033,
        .Module = 0,
    },
    .MinimumVersionRequired = &WdfMinimumVersionRequired,
    .ClientVersionHigherThanFramework = &WdfClientVersionHigherThanFramework,
    .FuncCountPtr = &WdfFunctionCount,
    .StructCountPtr = &WdfStructureCount,
    .StructTable = &WdfStructures,
};

/* The copy of the service's registry path, for WdfVersionUnbind at unload. */
#define REGISTRY_PATH_UNITS 512
static WCHAR registry_path_buffer[REGISTRY_PATH_UNITS];
static UNICODE_STRING registry_path = {0, sizeof(registry_path_buffer), registry_path_buffer};
static DRIVER_UNLOAD *original_unload;

static void FxStubDriverUnload(void *DriverObject) {
    if (original_unload) {
        original_unload(DriverObject);
    }
    WdfVersionUnbind(&registry_path, &WdfBindInfo.V1, WdfDriverGlobals);
}

NTSTATUS FxDriverEntry(void *DriverObject, UNICODE_STRING *RegistryPath) {
    const NTSTATUS name_too_long = (NTSTATUS)0xC0000106L; /* STATUS_NAME_TOO_LONG */
    if (RegistryPath == 0 || RegistryPath->Length > sizeof(registry_path_buffer)) {
        return name_too_long;
    }
    /* a volatile loop, so the compiler emits no memcpy call the import list must then carry */
    for (USHORT i = 0; i < RegistryPath->Length / 2; i++) {
        ((volatile WCHAR *)registry_path_buffer)[i] = RegistryPath->Buffer[i];
    }
    registry_path.Length = RegistryPath->Length;

    NTSTATUS status = WdfVersionBind(DriverObject, &registry_path, &WdfBindInfo.V1, (void **)&WdfDriverGlobals);
    if (status < 0) {
        return status;
    }
    status = DriverEntry(DriverObject, RegistryPath);
    if (status < 0) {
        WdfVersionUnbind(&registry_path, &WdfBindInfo.V1, WdfDriverGlobals);
        return status;
    }
    if (WdfDriverGlobals->DisplaceDriverUnload) {
        DRIVER_OBJECT_HEAD *driver = (DRIVER_OBJECT_HEAD *)DriverObject;
        original_unload = driver->DriverUnload;
        driver->DriverUnload = FxStubDriverUnload;
    }
    return status;
}
