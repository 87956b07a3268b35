/* A helper hands the key's handle out through a HANDLE* parameter. */
#include <ntddk.h>
#include <wdf.h>

static
NTSTATUS
GetParametersHandle(
	_In_ WDFDRIVER Driver,
	_Out_ WDFKEY *Key,
	_Out_ HANDLE *Handle
	)
{
	NTSTATUS status;

	*Handle = NULL;
	status = WdfDriverOpenParametersRegistryKey(Driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, Key);
	if (NT_SUCCESS(status)) {
		*Handle = WdfRegistryWdmGetHandle(*Key);
	}
	return status;
}

NTSTATUS
ReadSettings(
	_In_ WDFDRIVER Driver
	)
{
	WDFKEY key;
	HANDLE handle;
	NTSTATUS status;

	status = GetParametersHandle(Driver, &key, &handle);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	status = ZwFlushKey(handle);
	ZwClose(handle);	// expect: WKG001
	return status;
}
