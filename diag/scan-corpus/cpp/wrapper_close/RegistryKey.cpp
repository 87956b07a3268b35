#include "RegistryKey.h"

RegistryKey::~RegistryKey()
{
	Close();	// expect: WKG003
}

void
RegistryKey::Close()
{
	if (m_Key != NULL) {
		WdfRegistryClose(m_Key);
	}
}

NTSTATUS
RegistryKey::Open(
	_In_ WDFDEVICE Device
	)
{
	return WdfDeviceOpenRegistryKey(Device, PLUGPLAY_REGKEY_DEVICE, KEY_ALL_ACCESS,
					WDF_NO_OBJECT_ATTRIBUTES, &m_Key);
}

// Removes the key; on success the member still holds the deleted key,
// which the destructor closes again.
NTSTATUS
RegistryKey::Delete()
{
	return WdfRegistryRemoveKey(m_Key);
}

NTSTATUS
RegistryKey::Purge()
{
	NTSTATUS status = WdfRegistryRemoveKey(m_Key);
	Close();	// expect: WKG003
	m_Key = NULL;
	return status;
}
