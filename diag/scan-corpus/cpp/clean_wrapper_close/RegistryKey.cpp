#include "RegistryKey.h"

RegistryKey::~RegistryKey()
{
	Close();
}

void
RegistryKey::Close()
{
	if (m_Key != NULL) {
		WdfRegistryClose(m_Key);
		m_Key = NULL;
	}
}

NTSTATUS
RegistryKey::Delete()
{
	NTSTATUS status = WdfRegistryRemoveKey(m_Key);
	if (NT_SUCCESS(status)) {
		m_Key = NULL;
	}
	return status;
}

NTSTATUS
RegistryKey::Purge()
{
	NTSTATUS status = WdfRegistryRemoveKey(m_Key);
	if (!NT_SUCCESS(status)) {
		Close();
	}
	m_Key = NULL;
	return status;
}
