/*
 * The look-alike: the handle closed through a pointer is the driver's own
 * (ZwOpenKey), not the one inside a WDFKEY.
 */
#include <ntddk.h>
#include <wdf.h>

typedef struct _DEVICE_CONTEXT {
	WDFKEY	ParametersKey;
	HANDLE	ParametersHandle;
	HANDLE	OwnHandle;
} DEVICE_CONTEXT, *PDEVICE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(DEVICE_CONTEXT, DeviceGetContext)

static
VOID
CloseIfOpen(
	_Inout_ HANDLE *Handle
	)
{
	if (*Handle != NULL) {
		ZwClose(*Handle);
		*Handle = NULL;
	}
}

NTSTATUS
SampleOpen(
	_In_ WDFDEVICE Device,
	_In_ POBJECT_ATTRIBUTES Attributes
	)
{
	PDEVICE_CONTEXT ctx = DeviceGetContext(Device);
	NTSTATUS status;

	status = ZwOpenKey(&ctx->OwnHandle, KEY_READ, Attributes);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	ctx->ParametersHandle = WdfRegistryWdmGetHandle(ctx->ParametersKey);
	return ZwFlushKey(ctx->ParametersHandle);
}

VOID
SampleEvtDeviceCleanup(
	_In_ WDFOBJECT Object
	)
{
	PDEVICE_CONTEXT ctx = DeviceGetContext((WDFDEVICE)Object);

	CloseIfOpen(&ctx->OwnHandle);
	ctx->ParametersHandle = NULL;
}
