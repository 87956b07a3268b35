#include <wdf.h>

namespace drv {
class Settings {
public:
    NTSTATUS Load(WDFDRIVER driver)
    {
        WDFKEY key = nullptr;
        NTSTATUS status = WdfDriverOpenParametersRegistryKey(driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &key);
        if (!NT_SUCCESS(status)) {
            return status;
        }
        status = WdfRegistryQueryULong(key, &kName, &m_Value);
        WdfRegistryClose(key);
        return status;
    }

    NTSTATUS Raw(PUNICODE_STRING path)
    {
        HANDLE h = nullptr;
        NTSTATUS status = ZwOpenKey(&h, KEY_READ, &attrs);
        if (NT_SUCCESS(status)) {
            ZwClose(h);
        }
        return status;
    }

private:
    ULONG m_Value = 0;
};
}

class RawKey {
    HANDLE m_Raw = nullptr;

public:
    NTSTATUS Open(POBJECT_ATTRIBUTES attrs)
    {
        return ZwOpenKey(&m_Raw, KEY_READ, attrs);
    }

    void Peek(WDFKEY key)
    {
        // A local that shadows the member: the member is untouched.
        HANDLE m_Raw = WdfRegistryWdmGetHandle(key);
        QueryInfo(m_Raw);
    }

    void Close()
    {
        ZwClose(m_Raw);
    }
};
