#include <wdf.h>

// Members read and written by bare name from other methods.
class KeyCache {
    WDFKEY m_Key;
    HANDLE m_Raw;

public:
    void Cache()
    {
        m_Raw = WdfRegistryWdmGetHandle(m_Key);
    }

    void Drop()
    {
        ZwClose(m_Raw); // expect: WKG001
    }
};

class OutOfLine {
    WDFKEY m_Key;
    HANDLE m_Other;

public:
    NTSTATUS Open();
    void Close();
};

NTSTATUS OutOfLine::Open()
{
    m_Other = WdfRegistryWdmGetHandle(m_Key);
    return STATUS_SUCCESS;
}

void OutOfLine::Close()
{
    NtClose(m_Other); // expect: WKG001
}
