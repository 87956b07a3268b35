#include "RegHandle.h"

CRegHandle::~CRegHandle()
{
	if (m_Handle != nullptr) {
		ZwClose(m_Handle);	// expect: WKG001
	}
}

void
CRegHandle::Adopt(
	_In_ HANDLE Handle
	)
{
	m_Handle = Handle;
}
