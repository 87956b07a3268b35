// A lambda's `return` ends the lambda, not the function around it: what
// follows the ForEach call is on the path.
#include <ntddk.h>
#include <wdf.h>

template <typename F>
void ForEachSubkey(WDFKEY Key, F&& Visit);

NTSTATUS
PruneSettings(
	_In_ WDFKEY Key,
	_In_ ULONG Limit
	)
{
	ULONG seen = 0;
	HANDLE handle = WdfRegistryWdmGetHandle(Key);

	ForEachSubkey(Key, [&](PCUNICODE_STRING Name) -> bool {
		if (++seen > Limit) {
			return false;
		}
		KdPrint(("%wZ\n", Name));
		return true;
	});
	WdfRegistryClose(Key);
	ZwClose(handle);	// expect: WKG001
	WdfRegistryClose(Key);	// expect: WKG002
	return STATUS_SUCCESS;
}
