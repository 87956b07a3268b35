/*
 * The look-alike: the same preprocessor shapes around correct code.
 */
#include <ntddk.h>
#include <wdf.h>

#define SAMPLE_PREFIX "sample: "

NTSTATUS SAMPLEAPI
SampleQueryParameters(
	_In_ WDFKEY Key,
	_Out_ PKEY_FULL_INFORMATION Info,
	_In_ ULONG Length
	)
{
	HANDLE handle = WdfRegistryWdmGetHandle(Key);
	ULONG needed;

	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "querying the parameters \
of the device, %p\n", Key);
	KdPrint((SAMPLE_PREFIX "%s: " __FUNCTION__ " querying\n", "key"));
	return ZwQueryKey(handle, KeyFullInformation, Info, Length, &needed);
}

SAMPLE_PAGED_SEG
NTSTATUS
SampleDropKey(
	_In_ WDFKEY Key
	)
{
	NTSTATUS status = WdfRegistryRemoveKey(Key);

	KdPrint((__FUNCTION__ ": removed, \
status %x\n", status));
	if (!NT_SUCCESS(status)) {
		WdfRegistryClose(Key);
	}
	return status;
}
