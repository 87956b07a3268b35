#include <wdf.h>

NTSTATUS ReadSetting(WDFKEY Key, PULONG Value)
{
    HANDLE h;
    NTSTATUS status;
    h = WdfRegistryWdmGetHandle(Key);
    status = QueryDword(h, L"Setting", Value);
    ZwClose(h); /* expect: WKG001 */
    return status;
}
