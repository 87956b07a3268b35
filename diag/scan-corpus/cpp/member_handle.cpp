#include <wdf.h>

class RegistryCache {
public:
    NTSTATUS Open(WDFDRIVER driver)
    {
        NTSTATUS status = WdfDriverOpenParametersRegistryKey(driver, KEY_READ, WDF_NO_OBJECT_ATTRIBUTES, &this->m_Key);
        if (NT_SUCCESS(status)) {
            this->m_Handle = WdfRegistryWdmGetHandle(this->m_Key);
        }
        return status;
    }

    ~RegistryCache()
    {
        ZwClose(this->m_Handle); // expect: WKG001
    }

    void Refresh()
    {
        auto handle = ::WdfRegistryWdmGetHandle(m_Key);
        ::ZwClose(handle); // expect: WKG001
    }

private:
    WDFKEY m_Key;
    HANDLE m_Handle;
};
