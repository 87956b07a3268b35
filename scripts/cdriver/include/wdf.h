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
typedef struct WDFQUEUE__ *WDFQUEUE;
typedef struct WDFREQUEST__ *WDFREQUEST;
typedef struct WDFTIMER__ *WDFTIMER;

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

typedef void EVT_WDF_OBJECT_CONTEXT_CLEANUP(WDFOBJECT Object);
typedef EVT_WDF_OBJECT_CONTEXT_CLEANUP *PFN_WDF_OBJECT_CONTEXT_CLEANUP;
typedef void EVT_WDF_OBJECT_CONTEXT_DESTROY(WDFOBJECT Object);
typedef EVT_WDF_OBJECT_CONTEXT_DESTROY *PFN_WDF_OBJECT_CONTEXT_DESTROY;

typedef struct _WDF_OBJECT_ATTRIBUTES {
    ULONG Size;
    PFN_WDF_OBJECT_CONTEXT_CLEANUP EvtCleanupCallback;
    PFN_WDF_OBJECT_CONTEXT_DESTROY EvtDestroyCallback;
    int ExecutionLevel;       /* WDF_EXECUTION_LEVEL */
    int SynchronizationScope; /* WDF_SYNCHRONIZATION_SCOPE */
    WDFOBJECT ParentObject;
    SIZE_T ContextSizeOverride;
    const void *ContextTypeInfo;
} WDF_OBJECT_ATTRIBUTES, *PWDF_OBJECT_ATTRIBUTES;
_Static_assert(sizeof(WDF_OBJECT_ATTRIBUTES) == 56, "WDF_OBJECT_ATTRIBUTES, x64");

/* WdfExecutionLevelInheritFromParent, WdfSynchronizationScopeInheritFromParent */
static inline void WDF_OBJECT_ATTRIBUTES_INIT(PWDF_OBJECT_ATTRIBUTES Attributes) {
    __builtin_memset(Attributes, 0, sizeof(*Attributes));
    Attributes->Size = sizeof(WDF_OBJECT_ATTRIBUTES);
    Attributes->ExecutionLevel = 1;
    Attributes->SynchronizationScope = 1;
}

typedef int WDF_POWER_DEVICE_STATE;
typedef NTSTATUS EVT_WDF_DEVICE_D0_ENTRY(WDFDEVICE Device, WDF_POWER_DEVICE_STATE PreviousState);
typedef NTSTATUS EVT_WDF_DEVICE_D0_EXIT(WDFDEVICE Device, WDF_POWER_DEVICE_STATE TargetState);
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT(WDFDEVICE Device);
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND(WDFDEVICE Device);
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART(WDFDEVICE Device);
typedef void (*WDF_PNPPOWER_CALLBACK)(void); /* the callbacks this header does not name */

typedef struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    ULONG Size;
    EVT_WDF_DEVICE_D0_ENTRY *EvtDeviceD0Entry;
    WDF_PNPPOWER_CALLBACK EvtDeviceD0EntryPostInterruptsEnabled;
    EVT_WDF_DEVICE_D0_EXIT *EvtDeviceD0Exit;
    WDF_PNPPOWER_CALLBACK EvtDeviceD0ExitPreInterruptsDisabled;
    WDF_PNPPOWER_CALLBACK EvtDevicePrepareHardware;
    WDF_PNPPOWER_CALLBACK EvtDeviceReleaseHardware;
    WDF_PNPPOWER_CALLBACK EvtDeviceSelfManagedIoCleanup;
    WDF_PNPPOWER_CALLBACK EvtDeviceSelfManagedIoFlush;
    EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT *EvtDeviceSelfManagedIoInit;
    EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND *EvtDeviceSelfManagedIoSuspend;
    EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART *EvtDeviceSelfManagedIoRestart;
    WDF_PNPPOWER_CALLBACK EvtDeviceSurpriseRemoval;
    WDF_PNPPOWER_CALLBACK EvtDeviceQueryRemove;
    WDF_PNPPOWER_CALLBACK EvtDeviceQueryStop;
    WDF_PNPPOWER_CALLBACK EvtDeviceUsageNotification;
    WDF_PNPPOWER_CALLBACK EvtDeviceRelationsQuery;
    WDF_PNPPOWER_CALLBACK EvtDeviceUsageNotificationEx;
} WDF_PNPPOWER_EVENT_CALLBACKS, *PWDF_PNPPOWER_EVENT_CALLBACKS;
_Static_assert(sizeof(WDF_PNPPOWER_EVENT_CALLBACKS) == 144, "WDF_PNPPOWER_EVENT_CALLBACKS, x64");

typedef void EVT_WDF_IO_QUEUE_IO_READ(WDFQUEUE Queue, WDFREQUEST Request, SIZE_T Length);
typedef void EVT_WDF_IO_QUEUE_IO_WRITE(WDFQUEUE Queue, WDFREQUEST Request, SIZE_T Length);
typedef void EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL(WDFQUEUE Queue, WDFREQUEST Request, SIZE_T OutputBufferLength,
                                                SIZE_T InputBufferLength, ULONG IoControlCode);
typedef void EVT_WDF_REQUEST_CANCEL(WDFREQUEST Request);
typedef void (*WDF_QUEUE_CALLBACK)(void); /* the callbacks this header does not name */

#define WdfIoQueueDispatchSequential 1
#define WdfUseDefault 2

typedef struct _WDF_IO_QUEUE_CONFIG {
    ULONG Size;
    int DispatchType; /* WDF_IO_QUEUE_DISPATCH_TYPE */
    int PowerManaged; /* WDF_TRI_STATE */
    BOOLEAN AllowZeroLengthRequests;
    BOOLEAN DefaultQueue;
    WDF_QUEUE_CALLBACK EvtIoDefault;
    EVT_WDF_IO_QUEUE_IO_READ *EvtIoRead;
    EVT_WDF_IO_QUEUE_IO_WRITE *EvtIoWrite;
    EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL *EvtIoDeviceControl;
    WDF_QUEUE_CALLBACK EvtIoInternalDeviceControl;
    WDF_QUEUE_CALLBACK EvtIoStop;
    WDF_QUEUE_CALLBACK EvtIoResume;
    WDF_QUEUE_CALLBACK EvtIoCanceledOnQueue;
    ULONG NumberOfPresentedRequests; /* Settings.Parallel */
    WDFDRIVER Driver;
} WDF_IO_QUEUE_CONFIG, *PWDF_IO_QUEUE_CONFIG;
_Static_assert(sizeof(WDF_IO_QUEUE_CONFIG) == 96, "WDF_IO_QUEUE_CONFIG, x64");
_Static_assert(__builtin_offsetof(WDF_IO_QUEUE_CONFIG, Driver) == 88, "WDF_IO_QUEUE_CONFIG, x64");

typedef void EVT_WDF_TIMER(WDFTIMER Timer);

typedef struct _WDF_TIMER_CONFIG {
    ULONG Size;
    EVT_WDF_TIMER *EvtTimerFunc;
    ULONG Period;
    BOOLEAN AutomaticSerialization;
    ULONG TolerableDelay;
    __declspec(align(8)) BOOLEAN UseHighResolutionTimer; /* DECLSPEC_ALIGN(8) in wdftimer.h */
} WDF_TIMER_CONFIG, *PWDF_TIMER_CONFIG;
_Static_assert(sizeof(WDF_TIMER_CONFIG) == 40, "WDF_TIMER_CONFIG, x64");
_Static_assert(__builtin_offsetof(WDF_DRIVER_GLOBALS, DisplaceDriverUnload) == 48, "WDF_DRIVER_GLOBALS, x64");

static inline void WDF_DRIVER_CONFIG_INIT(PWDF_DRIVER_CONFIG Config, PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd) {
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_DRIVER_CONFIG);
    Config->EvtDriverDeviceAdd = EvtDriverDeviceAdd;
}

/* _WDFFUNCENUM (KMDF 1.33) */
typedef enum _WDFFUNCENUM {
    WdfDeviceInitSetPnpPowerEventCallbacksTableIndex = 55,
    WdfDeviceCreateTableIndex = 75,
    WdfDeviceCreateDeviceInterfaceTableIndex = 77,
    WdfDriverCreateTableIndex = 116,
    WdfDriverOpenParametersRegistryKeyTableIndex = 119,
    WdfIoQueueCreateTableIndex = 152,
    WdfObjectDeleteTableIndex = 208,
    WdfRegistryCloseTableIndex = 231,
    WdfRegistryWdmGetHandleTableIndex = 232,
    WdfRequestUnmarkCancelableTableIndex = 256,
    WdfRequestCompleteTableIndex = 263,
    WdfRequestCompleteWithInformationTableIndex = 265,
    WdfRequestRetrieveInputBufferTableIndex = 269,
    WdfRequestRetrieveOutputBufferTableIndex = 270,
    WdfTimerCreateTableIndex = 318,
    WdfTimerStartTableIndex = 319,
    WdfTimerStopTableIndex = 320,
    WdfRequestMarkCancelableExTableIndex = 393,
} WDFFUNCENUM;

typedef NTSTATUS (*PFN_WDFDRIVERCREATE)(PWDF_DRIVER_GLOBALS, PDRIVER_OBJECT, PCUNICODE_STRING, PWDF_OBJECT_ATTRIBUTES,
                                        PWDF_DRIVER_CONFIG, WDFDRIVER *);
typedef NTSTATUS (*PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY)(PWDF_DRIVER_GLOBALS, WDFDRIVER, ACCESS_MASK,
                                                           PWDF_OBJECT_ATTRIBUTES, WDFKEY *);
typedef NTSTATUS (*PFN_WDFDEVICECREATE)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT *, PWDF_OBJECT_ATTRIBUTES, WDFDEVICE *);
typedef void (*PFN_WDFREGISTRYCLOSE)(PWDF_DRIVER_GLOBALS, WDFKEY);
typedef HANDLE (*PFN_WDFREGISTRYWDMGETHANDLE)(PWDF_DRIVER_GLOBALS, WDFKEY);
typedef void (*PFN_WDFDEVICEINITSETPNPPOWEREVENTCALLBACKS)(PWDF_DRIVER_GLOBALS, PWDFDEVICE_INIT,
                                                          PWDF_PNPPOWER_EVENT_CALLBACKS);
typedef NTSTATUS (*PFN_WDFDEVICECREATEDEVICEINTERFACE)(PWDF_DRIVER_GLOBALS, WDFDEVICE, const GUID *,
                                                       PCUNICODE_STRING);
typedef NTSTATUS (*PFN_WDFIOQUEUECREATE)(PWDF_DRIVER_GLOBALS, WDFDEVICE, PWDF_IO_QUEUE_CONFIG, PWDF_OBJECT_ATTRIBUTES,
                                         WDFQUEUE *);
typedef void (*PFN_WDFREQUESTCOMPLETE)(PWDF_DRIVER_GLOBALS, WDFREQUEST, NTSTATUS);
typedef void (*PFN_WDFREQUESTCOMPLETEWITHINFORMATION)(PWDF_DRIVER_GLOBALS, WDFREQUEST, NTSTATUS, ULONG_PTR);
typedef NTSTATUS (*PFN_WDFREQUESTRETRIEVEBUFFER)(PWDF_DRIVER_GLOBALS, WDFREQUEST, SIZE_T, PVOID *, SIZE_T *);
typedef NTSTATUS (*PFN_WDFREQUESTMARKCANCELABLEEX)(PWDF_DRIVER_GLOBALS, WDFREQUEST, EVT_WDF_REQUEST_CANCEL *);
typedef NTSTATUS (*PFN_WDFREQUESTUNMARKCANCELABLE)(PWDF_DRIVER_GLOBALS, WDFREQUEST);
typedef NTSTATUS (*PFN_WDFTIMERCREATE)(PWDF_DRIVER_GLOBALS, PWDF_TIMER_CONFIG, PWDF_OBJECT_ATTRIBUTES, WDFTIMER *);
typedef BOOLEAN (*PFN_WDFTIMERSTART)(PWDF_DRIVER_GLOBALS, WDFTIMER, LONGLONG);
typedef BOOLEAN (*PFN_WDFTIMERSTOP)(PWDF_DRIVER_GLOBALS, WDFTIMER, BOOLEAN);
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

#define WDF_CALL(Name, Type, ...) ((Type)WdfFunctions_01033[Name##TableIndex])(WdfDriverGlobals, __VA_ARGS__)
#define WdfDeviceInitSetPnpPowerEventCallbacks(...) \
    WDF_CALL(WdfDeviceInitSetPnpPowerEventCallbacks, PFN_WDFDEVICEINITSETPNPPOWEREVENTCALLBACKS, __VA_ARGS__)
#define WdfDeviceCreateDeviceInterface(...) \
    WDF_CALL(WdfDeviceCreateDeviceInterface, PFN_WDFDEVICECREATEDEVICEINTERFACE, __VA_ARGS__)
#define WdfIoQueueCreate(...) WDF_CALL(WdfIoQueueCreate, PFN_WDFIOQUEUECREATE, __VA_ARGS__)
#define WdfRequestComplete(...) WDF_CALL(WdfRequestComplete, PFN_WDFREQUESTCOMPLETE, __VA_ARGS__)
#define WdfRequestCompleteWithInformation(...) \
    WDF_CALL(WdfRequestCompleteWithInformation, PFN_WDFREQUESTCOMPLETEWITHINFORMATION, __VA_ARGS__)
#define WdfRequestRetrieveInputBuffer(...) \
    WDF_CALL(WdfRequestRetrieveInputBuffer, PFN_WDFREQUESTRETRIEVEBUFFER, __VA_ARGS__)
#define WdfRequestRetrieveOutputBuffer(...) \
    WDF_CALL(WdfRequestRetrieveOutputBuffer, PFN_WDFREQUESTRETRIEVEBUFFER, __VA_ARGS__)
#define WdfRequestMarkCancelableEx(...) \
    WDF_CALL(WdfRequestMarkCancelableEx, PFN_WDFREQUESTMARKCANCELABLEEX, __VA_ARGS__)
#define WdfRequestUnmarkCancelable(...) \
    WDF_CALL(WdfRequestUnmarkCancelable, PFN_WDFREQUESTUNMARKCANCELABLE, __VA_ARGS__)
#define WdfTimerCreate(...) WDF_CALL(WdfTimerCreate, PFN_WDFTIMERCREATE, __VA_ARGS__)
#define WdfTimerStart(...) WDF_CALL(WdfTimerStart, PFN_WDFTIMERSTART, __VA_ARGS__)
#define WdfTimerStop(...) WDF_CALL(WdfTimerStop, PFN_WDFTIMERSTOP, __VA_ARGS__)

#endif
