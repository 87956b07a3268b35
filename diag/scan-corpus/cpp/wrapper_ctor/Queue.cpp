#include <wdf.h>
#include "KeyHolder.h"

NTSTATUS
ReadQueueDepth(
	_In_ WDFKEY Key,
	_In_ PCUNICODE_STRING Name,
	_Out_ PULONG Depth
	)
{
	auto holder = new KeyHolder(WdfRegistryWdmGetHandle(Key));
	NTSTATUS status = WdfRegistryQueryULong(Key, Name, Depth);
	delete holder;
	return status;
}
