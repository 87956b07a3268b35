// A class defined inside a function: its methods are functions of their
// own, called where the code calls them.
#include <ntddk.h>
#include <wdf.h>

NTSTATUS
ResetParameters(
	_In_ WDFKEY Key
	)
{
	struct Closer {
		HANDLE Handle;
		void Close() {
			ZwClose(Handle);	// expect: WKG001
		}
	};
	Closer closer;
	closer.Handle = WdfRegistryWdmGetHandle(Key);
	closer.Close();
	return STATUS_SUCCESS;
}
