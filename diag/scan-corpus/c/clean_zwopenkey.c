#include <ntddk.h>

NTSTATUS ReadRaw(PUNICODE_STRING Path)
{
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, Path, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    NTSTATUS status = ZwOpenKey(&h, KEY_READ, &oa);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ZwClose(h);
    return STATUS_SUCCESS;
}
