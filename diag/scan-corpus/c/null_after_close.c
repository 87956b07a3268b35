/* Setting the handle to NULL after ZwClose does not undo the close. */
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ResetParameters(
	_In_ WDFKEY Key
	)
{
	HANDLE handle;
	NTSTATUS status;

	handle = WdfRegistryWdmGetHandle(Key);
	status = ZwDeleteValueKey(handle, NULL);
	ZwClose(handle);	// expect: WKG001
	handle = NULL;
	return status;
}
