#include <wdf.h>

typedef struct _DRIVER_CONTEXT {
    WDFKEY Parameters;
    HANDLE ParametersHandle;
} DRIVER_CONTEXT, *PDRIVER_CONTEXT;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PDRIVER_CONTEXT ctx = GetContext(driver);
    NTSTATUS status = WdfDriverOpenParametersRegistryKey(driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &ctx->Parameters);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ctx->ParametersHandle = WdfRegistryWdmGetHandle(ctx->Parameters);
    return STATUS_SUCCESS;
}

/* The original report's shape: a generic teardown closes every handle the
   context holds, including the one the WDFKEY owns. */
static VOID CloseContextHandles(PDRIVER_CONTEXT ctx)
{
    if (ctx->ParametersHandle != NULL) {
        ZwClose(ctx->ParametersHandle); /* expect: WKG001 */
        ctx->ParametersHandle = NULL;
    }
}

VOID EvtDriverUnload(WDFDRIVER Driver)
{
    CloseContextHandles(GetContext(Driver));
}

VOID EvtDeviceCleanup(WDFOBJECT Device)
{
    PDRIVER_CONTEXT ctx = GetContext(WdfGetDriver());
    HANDLE cached = ctx->ParametersHandle;
    ZwClose(cached); /* expect: WKG001 */
}
