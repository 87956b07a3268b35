// The look-alike: a class defined inside the function closes a key in a
// method the function never calls on this key; the function closes its
// own key once.
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
			WdfRegistryClose(Key);
		}
	};
	if (Early) {
		return STATUS_SUCCESS;
	}
	WdfRegistryClose(Key);
	return STATUS_SUCCESS;
}
