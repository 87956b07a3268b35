// The look-alike wrapper: a successful removal forgets the key.
#pragma once
#include <ntddk.h>
#include <wdf.h>

class RegistryKey
{
public:
	RegistryKey() : m_Key(NULL) {}
	~RegistryKey();

	NTSTATUS Delete();
	NTSTATUS Purge();
	void Close();

private:
	WDFKEY m_Key;
};
