// A small RAII wrapper around a WDFKEY, as drivers write them.
#pragma once
#include <ntddk.h>
#include <wdf.h>

class RegistryKey
{
public:
	RegistryKey() : m_Key(NULL) {}
	~RegistryKey();

	NTSTATUS Open(_In_ WDFDEVICE Device);
	NTSTATUS Delete();
	NTSTATUS Purge();
	void Close();

private:
	WDFKEY m_Key;
};
