#include <wdf.h>

NTSTATUS DropStore(WDFKEY Store)
{
    NTSTATUS status = WdfRegistryRemoveKey(Store);
    WdfRegistryClose(Store); /* expect: WKG003 */
    return status;
}

NTSTATUS DropStoreChecked(WDFKEY Store)
{
    NTSTATUS status;
    status = WdfRegistryRemoveKey(Store);
    if (NT_SUCCESS(status)) {
        WdfRegistryClose(Store); /* expect: WKG003 */
    }
    return status;
}
