#include <wdf.h>
#include "RegHandle.h"

NTSTATUS
FlushServiceKey(
	_In_ WDFKEY ParametersKey,
	_In_ POBJECT_ATTRIBUTES Attributes
	)
{
	HANDLE raw = nullptr;
	CRegHandle handle;

	// The WDFKEY's handle is only lent to a query.
	KEY_BASIC_INFORMATION info;
	ULONG length;
	(void)ZwQueryKey(WdfRegistryWdmGetHandle(ParametersKey), KeyBasicInformation, &info, sizeof(info), &length);

	NTSTATUS status = ZwOpenKey(&raw, KEY_READ, Attributes);
	if (!NT_SUCCESS(status)) {
		return status;
	}
	handle.Adopt(raw);
	return ZwFlushKey(handle.Get());
}
