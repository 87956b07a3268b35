/*
 * wdf.h — the project's MINIMAL KMDF 1.33 header for its own C test drivers.
 *
 * NOT the framework's wdf.h: it declares only the DDIs and structures the C
 * drivers of scripts/cdriver/test-drivers use. The function-table indices
 * are the _WDFFUNCENUM values of the wdk-sys 0.5.2 bindings in ../shared/data
 * (kmdf-sim/data/kmdf-1.33-function-table.txt lists the whole table; the
 * test kmdf-sim/tests/native_cdriver.rs checks every index below against
 * it); the structure layouts are the bindings' (x64). DDIs are called, as
 * with the real header, through WdfFunctions_01033 with WdfDriverGlobals
 * first; the table and the globals come from WdfDriverEntry.lib (for these
 * drivers, the stand-in ci/windows-check/wdf-driver-entry-stand-in.c).
 */
#ifndef WDFKEY_CDRIVER_MIN_WDF_H
#define WDFKEY_CDRIVER_MIN_WDF_H

#include <ntddk.h>

typedef struct WDFDRIVER__ *WDFDRIVER;
typedef struct WDFDEVICE__ *WDFDEVICE;
typedef struct WDFKEY__ *WDFKEY;
typedef struct WDFOBJECT__ *WDFOBJECT;
typedef struct WDFDEVICE_INIT *PWDFDEVICE_INIT;
typedef struct _WDF_OBJECT_ATTRIBUTES *PWDF_OBJECT_ATTRIBUTES;

typedef void (*WDFFUNC)(void);

typedef struct _WDF_DRIVER_GLOBALS {
    WDFDRIVER Driver;
    ULONG DriverFlags;
    ULONG DriverTag;
    CHAR DriverName[32];
    BOOLEAN DisplaceDriverUnload;
} WDF_DRIVER_GLOBALS, *PWDF_DRIVER_GLOBALS;

extern const WDFFUNC *WdfFunctions_01033;
extern PWDF_DRIVER_GLOBALS WdfDriverGlobals;

#define WDF_NO_OBJECT_ATTRIBUTES NULL
#define WDF_NO_HANDLE NULL

typedef NTSTATUS EVT_WDF_DRIVER_DEVICE_ADD(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit);
typedef EVT_WDF_DRIVER_DEVICE_ADD *PFN_WDF_DRIVER_DEVICE_ADD;
typedef void EVT_WDF_DRIVER_UNLOAD(WDFDRIVER Driver);
typedef EVT_WDF_DRIVER_UNLOAD *PFN_WDF_DRIVER_UNLOAD;

typedef struct _WDF_DRIVER_CONFIG {
    ULONG Size;
    PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd;
    PFN_WDF_DRIVER_UNLOAD EvtDriverUnload;
    ULONG DriverInitFlags;
    ULONG DriverPoolTag;
} WDF_DRIVER_CONFIG, *PWDF_DRIVER_CONFIG;

_Static_assert(sizeof(WDF_DRIVER_CONFIG) == 32, "WDF_DRIVER_CONFIG, x64");
_Static_assert(__builtin_offsetof(WDF_DRIVER_GLOBALS, DisplaceDriverUnload) == 48, "WDF_DRIVER_GLOBALS, x64");

static inline void WDF_DRIVER_CONFIG_INIT(PWDF_DRIVER_CONFIG Config, PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd) {
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_DRIVER_CONFIG);
    Config->EvtDriverDeviceAdd = EvtDriverDeviceAdd;
}

/* _WDFFUNCENUM (KMDF 1.33) */
typedef enum _WDFFUNCENUM {
    WdfDeviceCreateTableIndex = 75,
    WdfDriverCreateTableIndex = 116,
    WdfDriverOpenParametersRegistryKeyTableIndex = 119,
    WdfObjectDeleteTableIndex = 208,
    WdfRegistryCloseTableIndex = 231,
    WdfRegistryWdmGetHandleTableIndex = 232,
} WDFFUNCENUM;

typedef NTSTATUS (*PFN_WDFDRIVERCREATE)(PWDF_DRIVER_GLOBALS, PDRIVER_OBJECT, PCUNICODE_STRING, PWDF_OBJECT_ATTRIBUTES,
                                        PWDF_DRIVER_CONFIG, WDFDRIVER *);
typedef NTSTATUS (*PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY)(PWDF_DRIVER_GLOBALS, WDFDRIVER, ACCESS_MASK,
                                                           PWDF_OBJECT_ATTRIBUTES, WDFKEY *);
typedef NTSTATUS (*PFN_WDFDEVICECREATE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT *, PWDF_OBJECT_ATTRIBUTES, WDFDEVICE *);
typedef void (*PFN_WDFREGISTRYCLOSE)(PWDF_DRIVER_GLOBALS, WDFKEY);
typedef HANDLE (*PFN_WDFREGISTRYWDMGETHANDLE)(PWDF_DRIVER_GLOBALS, WDFKEY);
typedef void (*PFN_WDFOBJECTDELETE)(PWDF_DRIVER_GLOBALS, WDFOBJECT);

#define WdfDriverCreate(...) \
    ((PFN_WDFDRIVERCREATE)WdfFunctions_01033[WdfDriverCreateTableIndex])(WdfDriverGlobals, __VA_ARGS__)
#define WdfDriverOpenParametersRegistryKey(...)                                                             \
    ((PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY)WdfFunctions_01033[WdfDriverOpenParametersRegistryKeyTableIndex])( \
        WdfDriverGlobals, __VA_ARGS__)
#define WdfDeviceCreate(...) \
    ((PFN_WDFDEVICECREATE)WdfFunctions_01033[WdfDeviceCreateTableIndex])(WdfDriverGlobals, __VA_ARGS__)
#define WdfRegistryClose(Key) ((PFN_WDFREGISTRYCLOSE)WdfFunctions_01033[WdfRegistryCloseTableIndex])(WdfDriverGlobals, Key)
#define WdfRegistryWdmGetHandle(Key) \
    ((PFN_WDFREGISTRYWDMGETHANDLE)WdfFunctions_01033[WdfRegistryWdmGetHandleTableIndex])(WdfDriverGlobals, Key)
#define WdfObjectDelete(Object) \
    ((PFN_WDFOBJECTDELETE)WdfFunctions_01033[WdfObjectDeleteTableIndex])(WdfDriverGlobals, Object)

#endif
