/* Commentaire en Latin-1 : la clé appartient au framework. */
#include <ntddk.h>
#include <wdf.h>

VOID
FermerCle(
	_In_ WDFKEY Cle
	)
{
	/* éèà */ ZwClose(WdfRegistryWdmGetHandle(Cle));	// expect: WKG001
}
