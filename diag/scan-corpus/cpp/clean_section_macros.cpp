// The same macros around code that closes each key once; a function that
// shares its name with a macro compiled away in free builds.
#include <ntddk.h>
#include <wdf.h>

#ifdef _KERNEL_MODE
#define CODE_SEG(segment) __declspec(code_seg(segment))
#else
#define CODE_SEG(segment)
#endif

#define PAGED       CODE_SEG("PAGE") _IRQL_always_function_max_(PASSIVE_LEVEL)
#define NONPAGED    CODE_SEG(".text") _IRQL_requires_max_(DISPATCH_LEVEL)

#define TRACE_FLAG_REGISTRY
#define TRACE_ERROR(...)

#if DBG
void DumpKey(_In_ WDFKEY Key);
#else
#define DumpKey(k)
#endif

class KeyHolder
{
public:
    PAGED KeyHolder(WDFKEY Key) : m_Key(Key) { }

    NONPAGED ~KeyHolder()
    {
        if (m_Key != NULL) {
            WdfRegistryClose(m_Key);
            m_Key = NULL;
        }
    }

    PAGED HANDLE Lend() { return WdfRegistryWdmGetHandle(m_Key); }

private:
    WDFKEY m_Key;
};

void DumpKey(_In_ WDFKEY Key)
{
    KEY_BASIC_INFORMATION info;
    ULONG length;
    HANDLE raw = WdfRegistryWdmGetHandle(Key);
    (void)ZwQueryKey(raw, KeyBasicInformation, &info, sizeof(info), &length);
}

PAGED
NTSTATUS
CloseSettings(
    _In_ WDFKEY Key
    )
{
    NTSTATUS status = STATUS_SUCCESS;

    DumpKey(Key);
    WdfRegistryClose(Key);
    if (!NT_SUCCESS(status)) {
        TRACE_ERROR(TRACE_FLAG_REGISTRY, "[WDFKEY: 0x%p] close failed - %!STATUS!", Key, status);
    }
    return status;
}
