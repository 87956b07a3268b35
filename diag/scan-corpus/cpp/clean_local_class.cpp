// The look-alike: the local class's method closes the key and returns;
// it is never called after the function's own close.
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ResetParameters(
	_In_ WDFKEY Key,
	_In_ BOOLEAN Early
	)
{
	struct Guard {
		WDFKEY Key;
		void Release() {
			if (Key == NULL) {
				return;
			}
			WdfRegistryClose(Key);
			Key = NULL;
		}
	};
	if (Early) {
		Guard guard = { Key };
		guard.Release();
		return STATUS_SUCCESS;
	}
	WdfRegistryClose(Key);
	return STATUS_SUCCESS;
}
