/*
 * The removal and the closes are in helpers; the caller closes after a
 * removal that may have succeeded, or closes what a helper closed.
 */
#include <ntddk.h>
#include <wdf.h>

static
NTSTATUS
RemoveSubkey(
	_In_ WDFKEY Key
	)
{
	NTSTATUS status;

	status = WdfRegistryRemoveKey(Key);
	if (!NT_SUCCESS(status)) {
		KdPrint(("RemoveSubkey: %x\n", status));
	}
	return status;
}

static
VOID
ForgetKey(
	_In_ WDFKEY Key
	)
{
	(VOID)WdfRegistryRemoveKey(Key);
}

static
VOID
CloseKey(
	_In_ WDFKEY Key
	)
{
	if (Key != NULL) {
		WdfRegistryClose(Key);
	}
}

static
NTSTATUS
RemoveOrClose(
	_In_ WDFKEY Key
	)
{
	NTSTATUS status = RemoveSubkey(Key);

	if (!NT_SUCCESS(status)) {
		CloseKey(Key);
	}
	return status;
}

VOID
SampleDeleteLegacyKey(
	_In_ WDFKEY Key
	)
{
	NTSTATUS status;

	status = RemoveSubkey(Key);
	if (!NT_SUCCESS(status)) {
		KdPrint(("cannot remove: %x\n", status));
	}
	WdfRegistryClose(Key);	// expect: WKG003
}

VOID
SampleForget(
	_In_ WDFKEY Key
	)
{
	ForgetKey(Key);
	CloseKey(Key);	// expect: WKG003
}

VOID
SampleReset(
	_In_ WDFKEY Key
	)
{
	CloseKey(Key);
	WdfRegistryClose(Key);	// expect: WKG002
}

VOID
SampleRemoveTwice(
	_In_ WDFKEY Key
	)
{
	if (!NT_SUCCESS(RemoveOrClose(Key))) {
		WdfRegistryClose(Key);	// expect: WKG002
	}
}
