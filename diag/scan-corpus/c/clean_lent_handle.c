/* Clean look-alike: the key's handle is lent to ZwQueryKey, ZwEnumerateKey
   and ZwNotifyChangeKey, through a helper too, and never closed. */
#include <ntddk.h>
#include <wdf.h>

static
NTSTATUS
CountSubKeys(
	_In_ HANDLE Handle,
	_Out_ PULONG Count
	)
{
	KEY_FULL_INFORMATION info;
	ULONG length;
	NTSTATUS status;

	status = ZwQueryKey(Handle, KeyFullInformation, &info, sizeof(info), &length);
	*Count = NT_SUCCESS(status) ? info.SubKeys : 0;
	return status;
}

NTSTATUS
WatchParameters(
	_In_ WDFKEY Key,
	_In_ PIO_STATUS_BLOCK IoStatus,
	_In_ PWORK_QUEUE_ITEM WorkItem
	)
{
	HANDLE handle = WdfRegistryWdmGetHandle(Key);
	UCHAR buffer[256];
	ULONG count, length, i;
	NTSTATUS status;

	status = CountSubKeys(handle, &count);
	for (i = 0; NT_SUCCESS(status) && i < count; i++) {
		status = ZwEnumerateKey(handle, i, KeyBasicInformation, buffer, sizeof(buffer), &length);
	}
	return ZwNotifyChangeKey(handle, NULL, (PIO_APC_ROUTINE)(ULONG_PTR)WorkItem, (PVOID)(UINT_PTR)DelayedWorkQueue,
		IoStatus, REG_NOTIFY_CHANGE_LAST_SET, TRUE, NULL, 0, TRUE);
}
