/* Clean look-alike: the out-parameter carries a handle from ZwOpenKey. */
#include <ntddk.h>

static
NTSTATUS
OpenKeyByName(
	_In_ PUNICODE_STRING Name,
	_Out_ HANDLE *Handle
	)
{
	OBJECT_ATTRIBUTES attributes;

	InitializeObjectAttributes(&attributes, Name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	return ZwOpenKey(Handle, KEY_READ, &attributes);
}

NTSTATUS
FlushKeyByName(
	_In_ PUNICODE_STRING Name
	)
{
	HANDLE handle;
	NTSTATUS status;

	status = OpenKeyByName(Name, &handle);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	status = ZwFlushKey(handle);
	ZwClose(handle);
	return status;
}
