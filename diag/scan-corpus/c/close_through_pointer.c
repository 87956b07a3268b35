/*
 * The handle of the Parameters key kept in the device context and in a
 * global; a generic helper closes "whatever is open" through a pointer to
 * it at cleanup and at unload.
 */
#include <ntddk.h>
#include <wdf.h>

typedef struct _DEVICE_CONTEXT {
	WDFKEY	ParametersKey;
	HANDLE	ParametersHandle;
} DEVICE_CONTEXT, *PDEVICE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(DEVICE_CONTEXT, DeviceGetContext)

HANDLE g_SettingsHandle = NULL;

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
SampleOpenParameters(
	_In_ WDFDEVICE Device
	)
{
	PDEVICE_CONTEXT ctx = DeviceGetContext(Device);
	NTSTATUS status;

	status = WdfDeviceOpenRegistryKey(Device, PLUGPLAY_REGKEY_DRIVER, KEY_READ,
					  WDF_NO_OBJECT_ATTRIBUTES, &ctx->ParametersKey);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	ctx->ParametersHandle = WdfRegistryWdmGetHandle(ctx->ParametersKey);
	g_SettingsHandle = WdfRegistryWdmGetHandle(ctx->ParametersKey);
	return STATUS_SUCCESS;
}

VOID
SampleEvtDeviceCleanup(
	_In_ WDFOBJECT Object
	)
{
	PDEVICE_CONTEXT ctx = DeviceGetContext((WDFDEVICE)Object);

	CloseIfOpen(&ctx->ParametersHandle);	// expect: WKG001
}

VOID
SampleEvtDriverUnload(
	_In_ WDFDRIVER Driver
	)
{
	UNREFERENCED_PARAMETER(Driver);
	CloseIfOpen(&g_SettingsHandle);	// expect: WKG001
}
