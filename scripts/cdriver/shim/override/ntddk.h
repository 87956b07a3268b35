/*
 * The kit's ntddk.h: mingw-w64's, then what a KMDF 1.33 driver uses that
 * mingw-w64 10 does not declare (WDK 10.0.19041 and later). Own
 * declarations, with the routines' documented signatures
 * (learn.microsoft.com/windows-hardware/drivers/ddi).
 */
#include_next <ntddk.h>
#ifndef WDFKEY_CDRIVER_NTDDK_H
#define WDFKEY_CDRIVER_NTDDK_H
#ifndef POOL_FLAG_NON_PAGED
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL
NTKERNELAPI PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
#endif
#endif
