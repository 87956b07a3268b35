/*
 * The look-alike: the two closes sit in configurations that exclude each
 * other, one `#if !X` nested in `#if X`, or one in `#ifdef X` and one in
 * `#ifndef X`: no build compiles both.
 */
#include <ntddk.h>
#include <wdf.h>

VOID
SampleClose(
	_In_ WDFKEY Key
	)
{
#ifdef SAMPLE_LEGACY
	WdfRegistryClose(Key);
#endif
#ifndef SAMPLE_LEGACY
	WdfRegistryClose(Key);
#endif
}

VOID
SampleCloseNested(
	_In_ WDFKEY Key
	)
{
#if DBG
	KdPrint(("closing %p\n", Key));
	WdfRegistryClose(Key);
#if !DBG
	WdfRegistryClose(Key);
#endif
#else
	WdfRegistryClose(Key);
#endif
}

#if !defined(SAMPLE_LEGACY)
VOID
SampleCloseLegacy(
	_In_ WDFKEY Key
	)
{
	WdfRegistryClose(Key);
#if defined(SAMPLE_LEGACY)
	WdfRegistryClose(Key);
#endif
}
#endif
