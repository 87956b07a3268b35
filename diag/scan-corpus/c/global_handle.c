/* A handle kept in a global: taken in DriverEntry, closed at unload. */
#include <ntddk.h>
#include <wdf.h>

DRIVER_INITIALIZE DriverEntry;
EVT_WDF_DRIVER_UNLOAD EvtDriverUnload;

static WDFKEY	g_ParametersKey;
static HANDLE	g_ParametersHandle;

_Use_decl_annotations_
NTSTATUS
DriverEntry(
	_In_ PDRIVER_OBJECT DriverObject,
	_In_ PUNICODE_STRING RegistryPath
	)
{
	NTSTATUS status;
	WDFDRIVER driver = WdfGetDriver();

	status = WdfDriverOpenParametersRegistryKey(driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &g_ParametersKey);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	g_ParametersHandle = WdfRegistryWdmGetHandle(g_ParametersKey);
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID
EvtDriverUnload(
	_In_ WDFDRIVER Driver
	)
{
	UNREFERENCED_PARAMETER(Driver);
	if (g_ParametersHandle != NULL) {
		ZwClose(g_ParametersHandle);	// expect: WKG001
		g_ParametersHandle = NULL;
	}
}
