/* `goto Exit` carries a closed key to the common exit, which closes it again. */
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
		goto Exit;
	}

Exit:
	if (key != NULL) {
		WdfRegistryClose(key);	// expect: WKG002
	}
	return status;
}
