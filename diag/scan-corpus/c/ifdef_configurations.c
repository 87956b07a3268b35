/*
 * Conditional compilation: each configuration is a path. A close in both
 * branches of one conditional and another after it is a double close in
 * every configuration.
 */
#include <ntddk.h>
#include <wdf.h>

VOID
SampleClose(
	_In_ WDFKEY Key
	)
{
#ifdef SAMPLE_TRACE
	KdPrint(("closing %p\n", Key));
	WdfRegistryClose(Key);
#else
	WdfRegistryClose(Key);
#endif
	WdfRegistryClose(Key);	// expect: WKG002
}
