/* A macro of the driver's own closes its argument. */
#include <ntddk.h>
#include <wdf.h>

#define SAFE_CLOSE_HANDLE(_h_)		\
	do {				\
		if ((_h_) != NULL) {	\
			ZwClose(_h_);	\
			(_h_) = NULL;	\
		}			\
	} while (0)

typedef struct _DEVICE_CONTEXT {
	WDFKEY	SettingsKey;
	HANDLE	SettingsHandle;
} DEVICE_CONTEXT, *PDEVICE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE(DEVICE_CONTEXT)

VOID
CacheSettingsHandle(
	_In_ WDFDEVICE Device
	)
{
	PDEVICE_CONTEXT ctx = WdfObjectGet_DEVICE_CONTEXT(Device);

	ctx->SettingsHandle = WdfRegistryWdmGetHandle(ctx->SettingsKey);
}

VOID
EvtDeviceContextCleanup(
	_In_ WDFOBJECT Device
	)
{
	PDEVICE_CONTEXT ctx = WdfObjectGet_DEVICE_CONTEXT((WDFDEVICE)Device);

	SAFE_CLOSE_HANDLE(ctx->SettingsHandle);	// expect: WKG001
}
