/* Clean look-alike: `__leave` after clearing the key; the handler and the
   body are different paths; conditional compilation picks one close; the
   `#if 0` block is never compiled. */
#include <ntddk.h>
#include <wdf.h>

#pragma warning(push)
#pragma warning(disable: 4127)

NTSTATUS
ProbeParameters(
	_In_ WDFDRIVER Driver,
	_In_ PCUNICODE_STRING Name
	)
{
	WDFKEY key = NULL;
	NTSTATUS status = STATUS_SUCCESS;
	ULONG value = 0;

	__try {
		status = WdfDriverOpenParametersRegistryKey(Driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
		if (!NT_SUCCESS(status)) {
			__leave;
		}
		status = WdfRegistryQueryULong(key, Name, &value);
		if (!NT_SUCCESS(status)) {
			WdfRegistryClose(key);
			key = NULL;
			__leave;
		}
#ifdef CLOSE_EARLY
		WdfRegistryClose(key);
#else
		WdfRegistryClose(key);
#endif
		key = NULL;
	}
	__except (EXCEPTION_EXECUTE_HANDLER) {
		if (key != NULL) {
			WdfRegistryClose(key);
		}
		status = GetExceptionCode();
	}
#if 0
	WdfRegistryClose(key);
	WdfRegistryClose(key);
#endif
	return status;
}

#pragma warning(pop)
