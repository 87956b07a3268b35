/* Clean look-alike: two structs with a member of the same name; only the
   first holds a WDFKEY's handle, and only the second's is closed. */
#include <ntddk.h>
#include <wdf.h>

typedef struct _KEY_VIEW {
	WDFKEY	Key;
	HANDLE	Handle;
} KEY_VIEW, *PKEY_VIEW;

typedef struct _RAW_KEY {
	HANDLE	Handle;
	ULONG	Flags;
} RAW_KEY, *PRAW_KEY;

VOID
InitView(
	_Out_ PKEY_VIEW View,
	_In_ WDFKEY Key
	)
{
	View->Key = Key;
	View->Handle = WdfRegistryWdmGetHandle(Key);
}

NTSTATUS
OpenRaw(
	_Out_ PRAW_KEY Raw,
	_In_ POBJECT_ATTRIBUTES Attributes
	)
{
	Raw->Flags = 0;
	return ZwOpenKey(&Raw->Handle, KEY_READ, Attributes);
}

VOID
CloseRaw(
	_Inout_ PRAW_KEY Raw
	)
{
	ZwClose(Raw->Handle);
	Raw->Handle = NULL;
}
