/*
 * The kit's forced-include shim for mingw-w64's DDK headers (--sdk mingw):
 * where mingw-w64 10 differs from the WDK's headers that a KMDF 1.33 driver
 * and the framework's own headers rely on. Own declarations; the routines'
 * signatures are their documented ones
 * (learn.microsoft.com/windows-hardware/drivers/ddi). Included before the
 * driver's first line.
 */
#ifndef WDFKEY_CDRIVER_KMDF_SHIM_H
#define WDFKEY_CDRIVER_KMDF_SHIM_H
#define _KERNEL_MODE 1

/* mingw-w64 defines __attribute__ away when it sees MSVC mode, which breaks
 * clang's own intrinsic headers. */
#include <_mingw.h>
#undef __attribute__
#undef __MINGW_ATTRIB_NORETURN
#define __MINGW_ATTRIB_NORETURN
#undef __MINGW_ATTRIB_DEPRECATED
#define __MINGW_ATTRIB_DEPRECATED

/* The rest is in override/ntdef.h and override/ntddk.h, which wrap
 * mingw-w64's headers of the same names: a driver that defines INITGUID
 * before its first #include must see guiddef.h first then. */
#endif
