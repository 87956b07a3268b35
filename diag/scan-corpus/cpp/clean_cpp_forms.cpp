// The look-alike: the same C++ forms around a lent handle that is only
// queried.
#include <ntddk.h>
#include <wdf.h>

interface __declspec(uuid("3B0B1C5A-0C3E-4F4E-9B5C-6F0D7D0C1E30")) ISettings : public IUnknown
{
	virtual HRESULT Query() = 0;
};

class ATL_NO_VTABLE CSettings : public CComObjectRootEx<CComMultiThreadModel>, public ISettings
{
public:
	DECLARE_NOT_AGGREGATABLE(CSettings)
	BEGIN_COM_MAP(CSettings)
		COM_INTERFACE_ENTRY(ISettings)
	END_COM_MAP()

	STDMETHODIMP CSettings::Query()
	{
		HANDLE handle = WdfRegistryWdmGetHandle(m_Key);
		ULONG needed;
		return HRESULT_FROM_NT(ZwQueryKey(handle, KeyBasicInformation, NULL, 0, &needed));
	}

	void Release(PVOID Buffer)
	{
		delete [] (PBYTE) Buffer;
		(this->*m_Visit)();
	}

private:
	WDFKEY m_Key;
	VISIT m_Visit;
};
