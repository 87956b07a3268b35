#include <wdf.h>

NTSTATUS DropOrClose(WDFKEY Store)
{
    NTSTATUS status = WdfRegistryRemoveKey(Store);
    if (!NT_SUCCESS(status)) {
        WdfRegistryClose(Store);
    }
    return status;
}

NTSTATUS DropElseClose(WDFKEY Store)
{
    NTSTATUS status = WdfRegistryRemoveKey(Store);
    if (NT_SUCCESS(status)) {
        Log("removed");
    } else {
        WdfRegistryClose(Store);
    }
    return status;
}

NTSTATUS DropEarlyReturn(WDFKEY Store)
{
    NTSTATUS status = WdfRegistryRemoveKey(Store);
    if (NT_SUCCESS(status)) {
        return status;
    }
    WdfRegistryClose(Store);
    return status;
}

VOID DropInline(WDFKEY Store)
{
    if (!NT_SUCCESS(WdfRegistryRemoveKey(Store))) {
        WdfRegistryClose(Store);
    }
}
