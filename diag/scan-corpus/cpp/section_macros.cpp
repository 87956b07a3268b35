// Section and trace macros of the driver's own headers, in front of
// constructors, destructors and methods; trace calls compiled away.
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

class KeyHolder
{
public:
    PAGED KeyHolder(WDFKEY Key) : m_Key(Key), m_Handle(WdfRegistryWdmGetHandle(Key)) { }

    NONPAGED ~KeyHolder()
    {
        if (m_Handle != NULL) {
            ZwClose(m_Handle);	// expect: WKG001
        }
    }

private:
    WDFKEY m_Key;
    HANDLE m_Handle;
};

PAGED
NTSTATUS
CloseSettings(
    _In_ WDFKEY Key
    )
{
    NTSTATUS status = STATUS_SUCCESS;

    WdfRegistryClose(Key);
    if (!NT_SUCCESS(status)) {
        TRACE_ERROR(TRACE_FLAG_REGISTRY, "[WDFKEY: 0x%p] close failed - %!STATUS!", Key, status);
    }
    WdfRegistryClose(Key);	// expect: WKG002
    return status;
}
