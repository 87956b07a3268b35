/*
 * regkey.c — a C KMDF driver that keeps its Parameters key open as a WDFKEY
 * from DriverEntry to unload, and adds a device for every devnode.
 *
 * Built twice by kmdf-sim's tests (scripts/cdriver/build):
 *   -DREGKEY_CLOSE_RAW_HANDLE  EvtDriverUnload closes the key's WDM handle
 *                              itself, ZwClose(WdfRegistryWdmGetHandle(key)),
 *                              and leaves the WDFKEY to the framework, which
 *                              closes the same handle value again when it
 *                              deletes the driver's children: bug check 0x93
 *                              INVALID_KERNEL_HANDLE (docs/facts.md, F2, F10).
 *   -DREGKEY_CALL_UNMODELLED   DriverEntry first calls a kernel routine kmdf-sim
 *                              does not model (IoGetCurrentProcess): the
 *                              machine must stop naming it.
 *   (default)                  EvtDriverUnload closes the WDFKEY with
 *                              WdfRegistryClose: the framework closes the
 *                              handle once.
 */
#include <ntddk.h>
#include <wdf.h>

DRIVER_INITIALIZE DriverEntry;
static EVT_WDF_DRIVER_DEVICE_ADD RegkeyEvtDeviceAdd;
static EVT_WDF_DRIVER_UNLOAD RegkeyEvtDriverUnload;

/* The Parameters key, open from DriverEntry to EvtDriverUnload. */
static WDFKEY parameters_key;

#ifdef REGKEY_CALL_UNMODELLED
NTSYSAPI PVOID NTAPI IoGetCurrentProcess(void);
#endif

static NTSTATUS RegkeyEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit) {
    UNREFERENCED_PARAMETER(Driver);
    WDFDEVICE device;
    return WdfDeviceCreate(&DeviceInit, WDF_NO_OBJECT_ATTRIBUTES, &device);
}

static void RegkeyEvtDriverUnload(WDFDRIVER Driver) {
    UNREFERENCED_PARAMETER(Driver);
    if (parameters_key == NULL) {
        return;
    }
#ifdef REGKEY_CLOSE_RAW_HANDLE
    HANDLE handle = WdfRegistryWdmGetHandle(parameters_key);
    ZwClose(handle);
#else
    WdfRegistryClose(parameters_key);
#endif
    parameters_key = NULL;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    WDF_DRIVER_CONFIG config;
    WDFDRIVER driver;
#ifdef REGKEY_CALL_UNMODELLED
    if (IoGetCurrentProcess() == NULL) {
        return STATUS_UNSUCCESSFUL;
    }
#endif
    WDF_DRIVER_CONFIG_INIT(&config, RegkeyEvtDeviceAdd);
    config.EvtDriverUnload = RegkeyEvtDriverUnload;
    NTSTATUS status = WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &driver);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    return WdfDriverOpenParametersRegistryKey(driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &parameters_key);
}
