// An owning wrapper for a registry handle: whatever it adopts, its
// destructor closes.
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
