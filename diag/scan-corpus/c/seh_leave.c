/* Structured exception handling: `__leave` goes to the `__finally`, which
   closes the key a second time. */
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ProbeParameters(
	_In_ WDFDRIVER Driver,
	_In_ PCUNICODE_STRING Name
	)
{
	WDFKEY key = NULL;
	NTSTATUS status;
	ULONG value = 0;

	__try {
		status = WdfDriverOpenParametersRegistryKey(Driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
		if (!NT_SUCCESS(status)) {
			__leave;
		}
		status = WdfRegistryQueryULong(key, Name, &value);
		if (!NT_SUCCESS(status)) {
			WdfRegistryClose(key);
			__leave;
		}
	}
	__finally {
		if (key != NULL) {
			WdfRegistryClose(key);	// expect: WKG002
		}
	}
	return status;
}
