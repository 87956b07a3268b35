/* Clean look-alike: the global holds a handle the driver opened itself. */
#include <ntddk.h>

static HANDLE	g_ServiceKey;

_IRQL_requires_(PASSIVE_LEVEL)
NTSTATUS
OpenServiceKey(
	_In_ PUNICODE_STRING RegistryPath
	)
{
	OBJECT_ATTRIBUTES attributes;

	InitializeObjectAttributes(&attributes, RegistryPath, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	return ZwOpenKey(&g_ServiceKey, KEY_READ, &attributes);
}

VOID
CloseServiceKey(
	VOID
	)
{
	if (g_ServiceKey != NULL) {
		ZwClose(g_ServiceKey);
		g_ServiceKey = NULL;
	}
}
