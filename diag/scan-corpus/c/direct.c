#include <ntddk.h>
#include <wdf.h>

VOID EvtDriverUnload(WDFDRIVER Driver)
{
    WDFKEY key = GetDriverContext(Driver)->Parameters;
    ZwClose(WdfRegistryWdmGetHandle(key)); /* expect: WKG001 */
}
