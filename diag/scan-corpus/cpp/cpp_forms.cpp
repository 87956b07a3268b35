// C++ the grammar reads only once the build's headers are known: COM and
// ATL class decorations and member macros, members declared with their
// class's name, delete[] of a cast, new of an array of pointers, calls
// through pointers to members.
#include <ntddk.h>
#include <wdf.h>

interface __declspec(uuid("3B0B1C5A-0C3E-4F4E-9B5C-6F0D7D0C1E2F")) ISettings : public IUnknown
{
	virtual HRESULT Reset() = 0;
};

class ATL_NO_VTABLE CSettings : public CComObjectRootEx<CComMultiThreadModel>, public ISettings
{
public:
	DECLARE_NOT_AGGREGATABLE(CSettings)
	BEGIN_COM_MAP(CSettings)
		COM_INTERFACE_ENTRY(ISettings)
	END_COM_MAP()

	STDMETHODIMP CSettings::Reset()
	{
		HANDLE handle = WdfRegistryWdmGetHandle(m_Key);
		ZwClose(handle);	// expect: WKG001
		return S_OK;
	}

	void Release(PVOID Buffer, WDFKEY* Keys, ULONG Count)
	{
		delete [] (PBYTE) Buffer;
		WDFKEY* copy = new (NonPagedPoolNx, 'yeKS') WDFKEY *[Count];
		(this->*m_Visit)(Keys, Count);
		delete [] copy;
	}

private:
	WDFKEY m_Key;
	VISIT_KEYS m_Visit;
};
