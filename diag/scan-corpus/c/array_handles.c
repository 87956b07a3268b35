/* Handles kept in an array of the device context, closed in a loop. */
#include <ntddk.h>
#include <wdf.h>

#define KEY_COUNT 4

typedef struct _DEVICE_CONTEXT {
	WDFKEY	Keys[KEY_COUNT];
	HANDLE	Handles[KEY_COUNT];
} DEVICE_CONTEXT, *PDEVICE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(DEVICE_CONTEXT, DeviceGetContext)

_IRQL_requires_max_(PASSIVE_LEVEL)
VOID
CacheHandles(
	_In_ WDFDEVICE Device
	)
{
	PDEVICE_CONTEXT ctx = DeviceGetContext(Device);
	ULONG i;

	for (i = 0; i < KEY_COUNT; i++) {
		ctx->Handles[i] = WdfRegistryWdmGetHandle(ctx->Keys[i]);
	}
}

VOID
ReleaseHandles(
	_In_ WDFDEVICE Device
	)
{
	PDEVICE_CONTEXT ctx = DeviceGetContext(Device);
	ULONG i;

	for (i = 0; i < KEY_COUNT; i++) {
		if (ctx->Handles[i] != NULL) {
			ZwClose(ctx->Handles[i]);	/* expect: WKG001 */
		}
	}
}
