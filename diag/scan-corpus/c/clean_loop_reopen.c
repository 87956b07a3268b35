/* Clean look-alike: a key opened and closed in every iteration, closed and
   skipped with `continue` on its error paths. */
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ReadPortSettings(
	_In_ WDFDEVICE Device,
	_In_reads_(Count) PCUNICODE_STRING Names,
	_In_ ULONG Count
	)
{
	WDFKEY hardwareKey, portKey;
	NTSTATUS status;
	ULONG i, value;

	status = WdfDeviceOpenRegistryKey(Device, PLUGPLAY_REGKEY_DEVICE, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &hardwareKey);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	for (i = 0; i < Count; i++) {
		status = WdfRegistryOpenKey(hardwareKey, &Names[i], KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &portKey);
		if (!NT_SUCCESS(status)) {
			continue;
		}
		status = WdfRegistryQueryULong(portKey, &Names[i], &value);
		if (!NT_SUCCESS(status)) {
			WdfRegistryClose(portKey);
			continue;
		}
		if (value == 0) {
			WdfRegistryClose(portKey);
			break;
		}
		WdfRegistryClose(portKey);
	}
	WdfRegistryClose(hardwareKey);
	return STATUS_SUCCESS;
}
