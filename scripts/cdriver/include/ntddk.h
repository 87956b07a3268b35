/*
 * ntddk.h — the project's MINIMAL kernel header for its own C test drivers.
 *
 * NOT the WDK's ntddk.h: it declares only what the C drivers of
 * scripts/cdriver/test-drivers use, with the x64 layouts and values of the
 * project's type data (kmdf-sim/data/kmdf-1.33-types.tsv, the wdk-sys 0.5.2
 * bindings of ../shared/data). A driver that needs more builds against a WDK
 * or mingw-w64 with a Windows-Driver-Frameworks clone (scripts/cdriver/README.md).
 *
 * KeGetCurrentIrql is declared as an import here (the WDK's amd64 header
 * inlines it as a read of CR8); kmdf-sim serves it from its model.
 */
#ifndef WDFKEY_CDRIVER_MIN_NTDDK_H
#define WDFKEY_CDRIVER_MIN_NTDDK_H

#if !defined(_M_AMD64) && !defined(__x86_64__)
#error "the project's minimal headers describe x64 only"
#endif

#define NTAPI __stdcall
#define NTSYSAPI __declspec(dllimport)
#define VOID void
#define IN
#define OUT
#define _In_
#define _Out_
#define _Inout_
#define _In_opt_
#define _Out_opt_
#define _Use_decl_annotations_
#define UNREFERENCED_PARAMETER(P) ((void)(P))

typedef void *PVOID;
typedef void *HANDLE;
typedef HANDLE *PHANDLE;
typedef unsigned char UCHAR;
typedef unsigned char BOOLEAN;
typedef unsigned short USHORT;
typedef unsigned short WCHAR;
typedef WCHAR *PWCH;
typedef const WCHAR *PCWSTR;
typedef char CHAR;
typedef short CSHORT;
typedef long LONG;            /* LLP64: 32 bits */
typedef unsigned long ULONG;  /* LLP64: 32 bits */
typedef long NTSTATUS;
typedef ULONG ACCESS_MASK;
typedef UCHAR KIRQL;
typedef unsigned long long ULONG64;
typedef unsigned long long SIZE_T;
typedef unsigned long long ULONG_PTR;
typedef long long LONGLONG;
typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID;

_Static_assert(sizeof(ULONG) == 4, "LLP64: compile for x86_64-pc-windows-msvc");

#define TRUE 1
#define FALSE 0
#define NULL ((void *)0)

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001L)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000DL)
#define STATUS_INVALID_DEVICE_REQUEST ((NTSTATUS)0xC0000010L)
#define STATUS_DEVICE_BUSY ((NTSTATUS)0x80000011L)
#define STATUS_CANCELLED ((NTSTATUS)0xC0000120L)

#define PASSIVE_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2

/* winnt.h access rights */
#define KEY_QUERY_VALUE 0x0001
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_NOTIFY 0x0010
#define READ_CONTROL 0x00020000L
#define STANDARD_RIGHTS_READ READ_CONTROL
#define SYNCHRONIZE 0x00100000L
#define KEY_READ ((STANDARD_RIGHTS_READ | KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY) & (~SYNCHRONIZE))

typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

/* The driver object is the I/O manager's; test drivers only pass it on. */
typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;

typedef NTSTATUS DRIVER_INITIALIZE(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

NTSYSAPI NTSTATUS NTAPI ZwClose(HANDLE Handle);
NTSYSAPI KIRQL NTAPI KeGetCurrentIrql(void);
NTSYSAPI ULONG __cdecl DbgPrint(const CHAR *Format, ...);
NTSYSAPI ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, const CHAR *Format, ...);

#endif
