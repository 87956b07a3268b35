#include <wdf.h>

NTSTATUS Probe(WDFDEVICE Device)
{
    WDFKEY key;
    NTSTATUS status = WdfDeviceOpenRegistryKey(Device, PLUGPLAY_REGKEY_DEVICE, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    status = WdfRegistryQueryULong(key, &ValueName, &value);
    WdfRegistryClose(key);
    if (status == STATUS_OBJECT_NAME_NOT_FOUND) {
        status = STATUS_SUCCESS;
    }
    WdfRegistryClose(key); /* expect: WKG002 */
    return status;
}

VOID CloseTwiceInBranch(WDFKEY key, BOOLEAN verbose)
{
    if (verbose) {
        WdfRegistryClose(key);
        Log("closed");
    }
    WdfRegistryClose(key); /* expect: WKG002 */
}
