/* The handle is passed to helpers; the innermost one closes it. */
#include <ntddk.h>
#include <wdf.h>

static
VOID
CloseIfOpen(
	_In_opt_ HANDLE Handle
	)
{
	if (Handle != NULL) {
		ZwClose(Handle);
	}
}

static
VOID
ReleaseRegistryHandle(
	_In_ HANDLE Handle,
	_In_ BOOLEAN Flush
	)
{
	if (Flush) {
		(VOID)ZwFlushKey(Handle);
	}
	CloseIfOpen(Handle);
}

VOID
EvtDeviceCleanup(
	_In_ WDFOBJECT Object
	)
{
	WDFKEY key = (WDFKEY)Object;

	ReleaseRegistryHandle(WdfRegistryWdmGetHandle(key), TRUE);	// expect: WKG001
}
