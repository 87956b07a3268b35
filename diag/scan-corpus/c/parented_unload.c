#include <wdf.h>

NTSTATUS EvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = device;
    return WdfDeviceOpenRegistryKey(device, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &attributes, &GetContext(Driver)->DeviceKey);
}

VOID EvtDriverUnload(WDFDRIVER Driver)
{
    WdfRegistryClose(GetContext(Driver)->DeviceKey); /* expect: WKG004 */
}
