/* The error path closes the key and falls through to the close below. */
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ReadPortSettings(
	_In_ WDFKEY HardwareKey,
	_In_reads_(Count) PCUNICODE_STRING Names,
	_In_ ULONG Count
	)
{
	WDFKEY portKey;
	NTSTATUS status;
	ULONG i, value;

	for (i = 0; i < Count; i++) {
		status = WdfRegistryOpenKey(HardwareKey, &Names[i], KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &portKey);
		if (!NT_SUCCESS(status)) {
			continue;
		}
		status = WdfRegistryQueryULong(portKey, &Names[i], &value);
		if (!NT_SUCCESS(status)) {
			WdfRegistryClose(portKey);
		}
		WdfRegistryClose(portKey);	// expect: WKG002
	}
	return STATUS_SUCCESS;
}
