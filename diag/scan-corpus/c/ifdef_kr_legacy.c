#include <wdf.h>

/* Legacy comment in a code page: café üä */
#define CLOSE_IT(h) ZwClose(h)
#ifdef LEGACY_TEARDOWN
VOID Legacy(Key)
    WDFKEY Key;
{
    HANDLE h = WdfRegistryWdmGetHandle(Key);
    ZwClose(h); /* expect: WKG001 */
}
#else
VOID Legacy(WDFKEY Key)
{
    WdfRegistryClose(Key);
}
#endif
