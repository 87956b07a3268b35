#include <wdf.h>
#include "RegHandle.h"

_IRQL_requires_max_(PASSIVE_LEVEL)
NTSTATUS
QueryDeviceSetting(
	_In_ WDFDEVICE Device
	)
{
	WDFKEY key;
	NTSTATUS status;
	CRegHandle handle;

	status = WdfDeviceOpenRegistryKey(Device, PLUGPLAY_REGKEY_DEVICE, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	handle.Adopt(WdfRegistryWdmGetHandle(key));
	status = ZwFlushKey(handle.Get());
	return status;
}
