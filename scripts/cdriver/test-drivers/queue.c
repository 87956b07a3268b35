/*
 * queue.c — a C KMDF driver whose work happens in callbacks the framework
 * calls: PnP/power (D0Entry, D0Exit, SelfManagedIoInit/Suspend/Restart),
 * object cleanup and destroy, a default queue (EvtIoWrite, EvtIoRead,
 * EvtIoDeviceControl), a timer and a request's cancel routine.
 *
 * An application writes bytes (kept, up to 64), reads them back (the read is
 * held cancelable and completed by a 10 ms timer; cancelling it first runs
 * the cancel routine instead), and asks with any IOCTL for the counters
 * below (how often each callback ran).
 *
 * Built by kmdf-sim's tests (scripts/cdriver/build --sdk none):
 *   -DQUEUE_COMPLETE_TWICE  EvtIoWrite completes its request twice (a driver
 *                           bug the framework's verifier stops).
 */
#include <ntddk.h>
#include <wdf.h>

DRIVER_INITIALIZE DriverEntry;
static EVT_WDF_DRIVER_DEVICE_ADD QueueEvtDeviceAdd;
static EVT_WDF_OBJECT_CONTEXT_CLEANUP QueueEvtDriverCleanup, QueueEvtDeviceCleanup;
static EVT_WDF_OBJECT_CONTEXT_DESTROY QueueEvtQueueDestroy;
static EVT_WDF_DEVICE_D0_ENTRY QueueEvtD0Entry;
static EVT_WDF_DEVICE_D0_EXIT QueueEvtD0Exit;
static EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT QueueEvtSelfManagedIoInit;
static EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND QueueEvtSelfManagedIoSuspend;
static EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART QueueEvtSelfManagedIoRestart;
static EVT_WDF_IO_QUEUE_IO_WRITE QueueEvtIoWrite;
static EVT_WDF_IO_QUEUE_IO_READ QueueEvtIoRead;
static EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL QueueEvtIoDeviceControl;
static EVT_WDF_REQUEST_CANCEL QueueEvtRequestCancel;
static EVT_WDF_TIMER QueueEvtTimer;

/* {3c1b51a4-6f0e-4f0b-9c55-0d4a2e7b1f90}: the device interface class. */
static const GUID QueueInterface = {0x3c1b51a4, 0x6f0e, 0x4f0b, {0x9c, 0x55, 0x0d, 0x4a, 0x2e, 0x7b, 0x1f, 0x90}};

/* What IOCTLs return: how often each callback ran (driver-wide). */
static struct {
    ULONG d0_entry, d0_exit, self_managed_init, self_managed_suspend, self_managed_restart;
    ULONG device_cleanup, queue_destroy, driver_cleanup;
    ULONG writes, reads, timer, cancelled;
} counters;

static UCHAR stored[64];
static SIZE_T stored_length;
static WDFREQUEST held_read;
static WDFTIMER timer;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    WDF_DRIVER_CONFIG config;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_DRIVER_CONFIG_INIT(&config, QueueEvtDeviceAdd);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = QueueEvtDriverCleanup;
    return WdfDriverCreate(DriverObject, RegistryPath, &attributes, &config, WDF_NO_HANDLE);
}

static void QueueEvtDriverCleanup(WDFOBJECT Driver) {
    UNREFERENCED_PARAMETER(Driver);
    counters.driver_cleanup++;
}

static NTSTATUS QueueEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit) {
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG queue_config;
    WDF_TIMER_CONFIG timer_config;
    WDFDEVICE device;
    WDFQUEUE queue;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(Driver);

    __builtin_memset(&pnp, 0, sizeof(pnp));
    pnp.Size = sizeof(pnp);
    pnp.EvtDeviceD0Entry = QueueEvtD0Entry;
    pnp.EvtDeviceD0Exit = QueueEvtD0Exit;
    pnp.EvtDeviceSelfManagedIoInit = QueueEvtSelfManagedIoInit;
    pnp.EvtDeviceSelfManagedIoSuspend = QueueEvtSelfManagedIoSuspend;
    pnp.EvtDeviceSelfManagedIoRestart = QueueEvtSelfManagedIoRestart;
    WdfDeviceInitSetPnpPowerEventCallbacks(DeviceInit, &pnp);

    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = QueueEvtDeviceCleanup;
    status = WdfDeviceCreate(&DeviceInit, &attributes, &device);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    status = WdfDeviceCreateDeviceInterface(device, &QueueInterface, NULL);
    if (!NT_SUCCESS(status)) {
        return status;
    }

    __builtin_memset(&queue_config, 0, sizeof(queue_config));
    queue_config.Size = sizeof(queue_config);
    queue_config.DispatchType = WdfIoQueueDispatchSequential;
    queue_config.PowerManaged = WdfUseDefault;
    queue_config.DefaultQueue = TRUE;
    queue_config.EvtIoWrite = QueueEvtIoWrite;
    queue_config.EvtIoRead = QueueEvtIoRead;
    queue_config.EvtIoDeviceControl = QueueEvtIoDeviceControl;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtDestroyCallback = QueueEvtQueueDestroy;
    status = WdfIoQueueCreate(device, &queue_config, &attributes, &queue);
    if (!NT_SUCCESS(status)) {
        return status;
    }

    __builtin_memset(&timer_config, 0, sizeof(timer_config));
    timer_config.Size = sizeof(timer_config);
    timer_config.EvtTimerFunc = QueueEvtTimer;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = (WDFOBJECT)queue;
    return WdfTimerCreate(&timer_config, &attributes, &timer);
}

static NTSTATUS QueueEvtD0Entry(WDFDEVICE Device, WDF_POWER_DEVICE_STATE PreviousState) {
    UNREFERENCED_PARAMETER(Device);
    UNREFERENCED_PARAMETER(PreviousState);
    counters.d0_entry++;
    return STATUS_SUCCESS;
}

static NTSTATUS QueueEvtD0Exit(WDFDEVICE Device, WDF_POWER_DEVICE_STATE TargetState) {
    UNREFERENCED_PARAMETER(Device);
    UNREFERENCED_PARAMETER(TargetState);
    counters.d0_exit++;
    return STATUS_SUCCESS;
}

static NTSTATUS QueueEvtSelfManagedIoInit(WDFDEVICE Device) {
    UNREFERENCED_PARAMETER(Device);
    counters.self_managed_init++;
    return STATUS_SUCCESS;
}

static NTSTATUS QueueEvtSelfManagedIoSuspend(WDFDEVICE Device) {
    UNREFERENCED_PARAMETER(Device);
    counters.self_managed_suspend++;
    return STATUS_SUCCESS;
}

static NTSTATUS QueueEvtSelfManagedIoRestart(WDFDEVICE Device) {
    UNREFERENCED_PARAMETER(Device);
    counters.self_managed_restart++;
    return STATUS_SUCCESS;
}

static void QueueEvtDeviceCleanup(WDFOBJECT Device) {
    UNREFERENCED_PARAMETER(Device);
    counters.device_cleanup++;
}

static void QueueEvtQueueDestroy(WDFOBJECT Queue) {
    UNREFERENCED_PARAMETER(Queue);
    counters.queue_destroy++;
}

static void QueueEvtIoWrite(WDFQUEUE Queue, WDFREQUEST Request, SIZE_T Length) {
    PVOID buffer;
    SIZE_T size;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(Queue);
    status = WdfRequestRetrieveInputBuffer(Request, 1, &buffer, &size);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(Request, status);
        return;
    }
    stored_length = size < sizeof(stored) ? size : sizeof(stored);
    __builtin_memcpy(stored, buffer, stored_length);
    counters.writes++;
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, Length);
#ifdef QUEUE_COMPLETE_TWICE
    WdfRequestComplete(Request, STATUS_SUCCESS);
#endif
}

static void QueueEvtIoRead(WDFQUEUE Queue, WDFREQUEST Request, SIZE_T Length) {
    NTSTATUS status;
    UNREFERENCED_PARAMETER(Queue);
    UNREFERENCED_PARAMETER(Length);
    if (held_read != NULL) {
        WdfRequestComplete(Request, STATUS_DEVICE_BUSY);
        return;
    }
    status = WdfRequestMarkCancelableEx(Request, QueueEvtRequestCancel);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(Request, status);
        return;
    }
    held_read = Request;
    WdfTimerStart(timer, -10 * 10000LL); /* 10 ms from now */
}

static void QueueEvtTimer(WDFTIMER Timer) {
    WDFREQUEST request = held_read;
    PVOID buffer;
    SIZE_T size;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(Timer);
    counters.timer++;
    if (request == NULL || WdfRequestUnmarkCancelable(request) == STATUS_CANCELLED) {
        return; /* the cancel routine completes it */
    }
    held_read = NULL;
    status = WdfRequestRetrieveOutputBuffer(request, stored_length ? stored_length : 1, &buffer, &size);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(request, status);
        return;
    }
    __builtin_memcpy(buffer, stored, stored_length);
    counters.reads++;
    WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, stored_length);
}

static void QueueEvtRequestCancel(WDFREQUEST Request) {
    counters.cancelled++;
    if (held_read == Request) {
        held_read = NULL;
    }
    WdfRequestComplete(Request, STATUS_CANCELLED);
}

static void QueueEvtIoDeviceControl(WDFQUEUE Queue, WDFREQUEST Request, SIZE_T OutputBufferLength,
                                    SIZE_T InputBufferLength, ULONG IoControlCode) {
    PVOID buffer;
    SIZE_T size;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(Queue);
    UNREFERENCED_PARAMETER(OutputBufferLength);
    UNREFERENCED_PARAMETER(InputBufferLength);
    UNREFERENCED_PARAMETER(IoControlCode);
    status = WdfRequestRetrieveOutputBuffer(Request, sizeof(counters), &buffer, &size);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(Request, status);
        return;
    }
    __builtin_memcpy(buffer, &counters, sizeof(counters));
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, sizeof(counters));
}
