/*
 * The kit's forced-include shim for mingw-w64's DDK headers (--sdk mingw):
 * what a KMDF 1.33 driver uses that mingw-w64 10 does not declare. Own
 * declarations, from the routines' documented signatures
 * (learn.microsoft.com/windows-hardware/drivers/ddi). Included before the
 * driver's first line; the declarations take effect once <ntddk.h> is in.
 */
#ifndef WDFKEY_CDRIVER_KMDF_SHIM_H
#define WDFKEY_CDRIVER_KMDF_SHIM_H
#define _KERNEL_MODE 1
#ifndef POOL_FLAG_NON_PAGED
typedef unsigned long long POOL_FLAGS;
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL
__declspec(dllimport) void *__stdcall ExAllocatePool2(POOL_FLAGS Flags, unsigned long long NumberOfBytes,
                                                      unsigned long Tag);
#endif
#endif
