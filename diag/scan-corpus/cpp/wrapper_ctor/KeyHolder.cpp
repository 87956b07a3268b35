#include "KeyHolder.h"

KeyHolder::KeyHolder(
	_In_ HANDLE Handle
	) : m_Owned(Handle)
{
}

KeyHolder::~KeyHolder()
{
	ZwClose(m_Owned);	// expect: WKG001
}
