/* Clean look-alike: the same kind of macro on a handle from ZwOpenKey. */
#include <ntddk.h>

#define SAFE_CLOSE_HANDLE(_h_)		\
	do {				\
		if ((_h_) != NULL) {	\
			ZwClose(_h_);	\
			(_h_) = NULL;	\
		}			\
	} while (0)

NTSTATUS
ReadOnce(
	_In_ POBJECT_ATTRIBUTES Attributes
	)
{
	HANDLE key = NULL;
	NTSTATUS status;

	status = ZwOpenKey(&key, KEY_READ, Attributes);
	if (NT_SUCCESS(status)) {
		status = ZwFlushKey(key);
	}
	SAFE_CLOSE_HANDLE(key);
	return status;
}
