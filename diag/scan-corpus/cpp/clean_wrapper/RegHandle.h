// Clean look-alike: an owning wrapper only ever given handles the driver
// opened itself.
#pragma once

#include <ntddk.h>

class CRegHandle
{
public:
	CRegHandle() : m_Handle(nullptr) {}
	~CRegHandle();

	void Adopt(_In_ HANDLE Handle);
	HANDLE Get() const { return m_Handle; }

private:
	HANDLE	m_Handle;
};
