#include <wdf.h>

static HANDLE KeyHandleOf(WDFKEY Key)
{
    HANDLE raw = WdfRegistryWdmGetHandle(Key);
    return raw;
}

static HANDLE ParametersHandle(WDFKEY Key)
{
    return KeyHandleOf(Key);
}

VOID Teardown(WDFKEY Key)
{
    NtClose(KeyHandleOf(Key)); /* expect: WKG001 */
}

VOID TeardownAgain(WDFKEY Key)
{
    HANDLE h = ParametersHandle(Key);
    ObCloseHandle(h, KernelMode); /* expect: WKG001 */
}
