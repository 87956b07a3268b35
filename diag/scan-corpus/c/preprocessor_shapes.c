/*
 * What the build's headers and the preprocessor make readable: a message
 * continued with a backslash, __FUNCTION__ and a string macro in a
 * concatenation, decoration macros the WDK headers define. The close after
 * them must be found at its own line.
 */
#include <ntddk.h>
#include <wdf.h>

#define SAMPLE_PREFIX "sample: "

NTSTATUS SAMPLEAPI
SampleResetParameters(
	_In_ WDFKEY Key
	)
{
	HANDLE handle = WdfRegistryWdmGetHandle(Key);

	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "resetting the parameters \
of the device, %p\n", Key);
	KdPrint((SAMPLE_PREFIX "%s: " __FUNCTION__ " closing\n", "key"));
	ZwClose(handle);	// expect: WKG001
	return STATUS_SUCCESS;
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
	WdfRegistryClose(Key);	// expect: WKG003
	return status;
}
