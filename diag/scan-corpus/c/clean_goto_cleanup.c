/* Clean look-alike: the early close clears the variable before the jump. */
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ApplyDefaults(
	_In_ WDFDRIVER Driver
	)
{
	WDFKEY key = NULL;
	NTSTATUS status;
	ULONG value;
	DECLARE_CONST_UNICODE_STRING(valueName, L"Defaults");

	status = WdfDriverOpenParametersRegistryKey(Driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
	if (!NT_SUCCESS(status)) {
		goto Exit;
	}
	status = WdfRegistryQueryULong(key, &valueName, &value);
	if (!NT_SUCCESS(status)) {
		WdfRegistryClose(key);
		key = NULL;
		goto Exit;
	}
	if (value == 0) {
		WdfRegistryClose(key);
		return STATUS_SUCCESS;
	}

Exit:
	if (key != NULL) {
		WdfRegistryClose(key);
	}
	return status;
}
