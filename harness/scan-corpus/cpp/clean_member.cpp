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
