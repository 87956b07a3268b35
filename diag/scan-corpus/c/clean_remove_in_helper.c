/*
 * The look-alike: the caller closes only when the helper's removal failed,
 * tested through the status or in place; the closing helper nulls the
 * caller's variable.
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
	return status;
}

static
VOID
CloseKey(
	_Inout_ WDFKEY *Key
	)
{
	if (*Key != NULL) {
		WdfRegistryClose(*Key);
		*Key = NULL;
	}
}

VOID
SampleDeleteLegacyKey(
	_In_ WDFKEY Key
	)
{
	NTSTATUS status;

	status = RemoveSubkey(Key);
	if (!NT_SUCCESS(status)) {
		WdfRegistryClose(Key);
	}
}

VOID
SampleDeleteInPlace(
	_In_ WDFKEY Key
	)
{
	if (!NT_SUCCESS(RemoveSubkey(Key))) {
		WdfRegistryClose(Key);
	}
}

VOID
SampleCloseTwice(
	_In_ WDFKEY Key
	)
{
	WDFKEY key = Key;

	CloseKey(&key);
	CloseKey(&key);
}

VOID
SampleDeleteWrapped(
	_In_ WDFKEY Key
	)
{
	NTSTATUS status;

	status =
		RemoveSubkey(
			Key);
	if (!NT_SUCCESS(status)) {
		WdfRegistryClose(Key);
	}
}
