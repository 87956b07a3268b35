#include "RegHandle.h"

CRegHandle::~CRegHandle()
{
	if (m_Handle != nullptr) {
		ZwClose(m_Handle);
	}
}

void
CRegHandle::Adopt(
	_In_ HANDLE Handle
	)
{
	m_Handle = Handle;
}
