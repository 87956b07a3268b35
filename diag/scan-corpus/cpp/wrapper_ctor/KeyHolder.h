// Takes ownership of a handle in its constructor.
#pragma once

#include <ntddk.h>

class KeyHolder
{
public:
	explicit KeyHolder(_In_ HANDLE Handle);
	~KeyHolder();

	KeyHolder(const KeyHolder&) = delete;
	KeyHolder& operator=(const KeyHolder&) = delete;

private:
	HANDLE	m_Owned;
};
