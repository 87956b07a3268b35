#include <wdf.h>

NTSTATUS ReadOnce(PCUNICODE_STRING Path, PULONG Value)
{
    WDFKEY key;
    HANDLE raw;
    NTSTATUS status = WdfRegistryOpenKey(NULL, Path, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    raw = WdfRegistryWdmGetHandle(key);
    status = ZwQueryValueKey(raw, &Name, KeyValuePartialInformation, buffer, sizeof(buffer), &length);
    WdfRegistryClose(key);
    return status;
}

NTSTATUS ReopenAndClose(PCUNICODE_STRING Path)
{
    WDFKEY key;
    NTSTATUS status = WdfRegistryOpenKey(NULL, Path, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    WdfRegistryClose(key);
    status = WdfRegistryOpenKey(NULL, Path, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    WdfRegistryClose(key);
    return status;
}

VOID CloseOnEitherArm(WDFKEY key, BOOLEAN early)
{
    if (early) {
        WdfRegistryClose(key);
    } else {
        Log();
        WdfRegistryClose(key);
    }
}

VOID CloseEarly(WDFKEY key, BOOLEAN early)
{
    if (early) {
        WdfRegistryClose(key);
        return;
    }
    WdfRegistryClose(key);
}
