/* Clean look-alike: ZwOpenKey'd handles in an array, closed in a loop. */
#include <ntddk.h>

#define SUBKEY_COUNT 3

typedef struct _FILTER_CONTEXT {
	HANDLE	SubKeys[SUBKEY_COUNT];
} FILTER_CONTEXT, *PFILTER_CONTEXT;

NTSTATUS
OpenSubKeys(
	_Inout_ PFILTER_CONTEXT Context,
	_In_reads_(SUBKEY_COUNT) PUNICODE_STRING Names
	)
{
	OBJECT_ATTRIBUTES attributes;
	NTSTATUS status = STATUS_SUCCESS;
	ULONG i;

	for (i = 0; i < SUBKEY_COUNT; i++) {
		InitializeObjectAttributes(&attributes, &Names[i], OBJ_KERNEL_HANDLE, NULL, NULL);
		status = ZwOpenKey(&Context->SubKeys[i], KEY_READ, &attributes);
		if (!NT_SUCCESS(status)) {
			break;
		}
	}
	return status;
}

VOID
CloseSubKeys(
	_Inout_ PFILTER_CONTEXT Context
	)
{
	ULONG i;

	for (i = 0; i < SUBKEY_COUNT; i++) {
		if (Context->SubKeys[i] != NULL) {
			ZwClose(Context->SubKeys[i]);
			Context->SubKeys[i] = NULL;
		}
	}
}
