/*
 * The kit's ntdef.h: mingw-w64's, then what the WDK's defines differently.
 * The WDK defines STRICT: DECLARE_HANDLE(n) is a pointer to a struct of its
 * own (a WDFKEY is not a WDFDEVICE), where mingw-w64 gives a bare HANDLE; and
 * mingw-w64's C_ASSERT does not parse under clang.
 */
#include_next <ntdef.h>
#ifndef WDFKEY_CDRIVER_NTDEF_H
#define WDFKEY_CDRIVER_NTDEF_H
#undef DECLARE_HANDLE
#define DECLARE_HANDLE(n) struct n##__ { int unused; }; typedef struct n##__ *n
#undef C_ASSERT
#define C_ASSERT(e) typedef char __C_ASSERT__[(e) ? 1 : -1]
#endif
