// The look-alike: the lambda closes a key it opened itself and returns;
// the function around it closes its own key once.
#include <ntddk.h>
#include <wdf.h>

template <typename F>
void ForEachSubkey(WDFKEY Key, F&& Visit);

NTSTATUS
PruneSettings(
	_In_ WDFKEY Key
	)
{
	ForEachSubkey(Key, [&](PCUNICODE_STRING Name) -> bool {
		WDFKEY sub = NULL;
		if (!NT_SUCCESS(WdfRegistryOpenKey(Key, Name, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &sub))) {
			return false;
		}
		WdfRegistryClose(sub);
		return true;
	});
	WdfRegistryClose(Key);
	return STATUS_SUCCESS;
}
