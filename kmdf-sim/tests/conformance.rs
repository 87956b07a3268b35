//! Conformance of the simulator's surface to wdk-sys 0.5.2.
//!
//! This file is the checked-in generator of `src/surface/conformance.rs`: it
//! reads `data/wdk-sys-0.5.2-shapes.tsv` and the surface's own source (with
//! `syn`), and writes Rust code that ascribes every surface item to its real
//! shape, so that a mismatch is a compile error naming the item. The tests
//! here keep that file current, reject hand-written surface names the table
//! lacks (except the allowlist below, with a reason each), and keep the table
//! copies equal to `../shared/data` when that folder is present.
//!
//! The surface's types and bindgen constants (`src/abi/types.rs`) are
//! generated from the real bindings by kmdf-sim-gen; the table is a second,
//! independent extraction of wdk-sys, so every generated item the table has
//! is ascribed too, and the generated items it lacks (the table kept a
//! subset: no `_DEVICE_OBJECT`, no anonymous unions' fields, ...) are bindgen's
//! by construction rather than allowlisted.
//!
//! Regenerate after changing the surface:
//! `UPDATE_CONFORMANCE=1 cargo test -p kmdf-sim --test conformance`

use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Surface names that are not bindgen output, each with the reason it is
/// there anyway.
const ALLOWLIST: &[(&str, &str)] = &[
    ("NT_SUCCESS", "wdk-sys hand-writes it as a const fn (the C original is a macro); guide §7.1"),
    (
        "call_unsafe_wdf_function_binding",
        "the binding macro of wdk-sys (from wdk-macros); same invocation syntax, guide §7.2",
    ),
    (
        "KeGetCurrentIrql",
        "FORCEINLINE in the headers the table was made from, so bindgen emitted no row; wdk-sys's PAGED_CODE! calls \
         wdk_sys::ntddk::KeGetCurrentIrql, shape inferred in wdk-sys-0.5.2-shapes.notes.md and checked below",
    ),
    (
        "driver_globals",
        "implementation detail of the binding macro (the real one reads the WdfDriverGlobals static, which the simulator must not have)",
    ),
    (
        "ExAllocatePool2",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs (wdk-sys-0.5.2-bindings.tar.xz), checked below",
    ),
    (
        "ObCloseHandle",
        "neither in the shapes table nor in the real bindings' ntddk.rs (wdk-sys 0.5.2 does not bind it); wdm.h's \
         documented signature, learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-obclosehandle, checked below",
    ),
    (
        "ExAllocatePoolWithTag",
        "neither in the shapes table nor in the real bindings' ntddk.rs (wdk-sys 0.5.2 does not bind it); wdm.h's \
         documented signature, learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-exallocatepoolwithtag, \
         checked below",
    ),
    (
        "ExAllocatePool",
        "neither in the shapes table nor in the real bindings' ntddk.rs (wdk-sys 0.5.2 does not bind it); wdm.h's \
         documented signature, learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-exallocatepool, checked \
         below",
    ),
    (
        "NtClose",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below and by tests/bindings.rs",
    ),
    (
        "ExAcquireFastMutex",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "ExReleaseFastMutex",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeClearEvent",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeEnterCriticalRegion",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeLeaveCriticalRegion",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeInitializeEvent",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeInitializeMutex",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeReadStateEvent",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeReleaseMutex",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeResetEvent",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeSetEvent",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "KeWaitForSingleObject",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "RtlAppendUnicodeToString",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "RtlCompareUnicodeString",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "RtlCopyUnicodeString",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "RtlEqualUnicodeString",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
    (
        "PsSetCreateProcessNotifyRoutine",
        "not in the shapes table (its extraction kept 38 kernel routines); signature as in the real bindings' \
         ntddk.rs, checked below",
    ),
];

/// Kernel routines of `src/surface/ntddk/` that the shapes table lacks (its
/// extraction kept 38 kernel routines): each with its signature and
/// `#[must_use]` exactly as the real bindings' ntddk.rs declares them
/// (wdk-sys-0.5.2-bindings.tar.xz; tests/bindings.rs checks them against that
/// file too). Allowlisted for that reason; their shapes are ascribed below.
const FROM_BINDINGS: &[(&str, &str, bool)] = &[
    (
        "PsSetCreateThreadNotifyRoutine",
        "unsafe extern \"C\" fn(NotifyRoutine: PCREATE_THREAD_NOTIFY_ROUTINE) -> NTSTATUS",
        true,
    ),
    (
        "PsRemoveCreateThreadNotifyRoutine",
        "unsafe extern \"C\" fn(NotifyRoutine: PCREATE_THREAD_NOTIFY_ROUTINE) -> NTSTATUS",
        true,
    ),
    (
        "PsSetLoadImageNotifyRoutine",
        "unsafe extern \"C\" fn(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE) -> NTSTATUS",
        true,
    ),
    (
        "PsRemoveLoadImageNotifyRoutine",
        "unsafe extern \"C\" fn(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE) -> NTSTATUS",
        true,
    ),
    (
        "KeDelayExecutionThread",
        "unsafe extern \"C\" fn(WaitMode: KPROCESSOR_MODE, Alertable: BOOLEAN, Interval: PLARGE_INTEGER) -> NTSTATUS",
        true,
    ),
    (
        "KeQueryPerformanceCounter",
        "unsafe extern \"C\" fn(PerformanceFrequency: PLARGE_INTEGER) -> LARGE_INTEGER",
        false,
    ),
    ("KeQueryTimeIncrement", "unsafe extern \"C\" fn() -> ULONG", false),
    ("KeAcquireSpinLockRaiseToDpc", "unsafe extern \"C\" fn(SpinLock: PKSPIN_LOCK) -> KIRQL", false),
    ("KeReleaseSpinLock", "unsafe extern \"C\" fn(SpinLock: PKSPIN_LOCK, NewIrql: KIRQL)", false),
    ("KeAcquireSpinLockAtDpcLevel", "unsafe extern \"C\" fn(SpinLock: PKSPIN_LOCK)", false),
    ("KeReleaseSpinLockFromDpcLevel", "unsafe extern \"C\" fn(SpinLock: PKSPIN_LOCK)", false),
    (
        "KeAcquireInStackQueuedSpinLock",
        "unsafe extern \"C\" fn(SpinLock: PKSPIN_LOCK, LockHandle: PKLOCK_QUEUE_HANDLE)",
        false,
    ),
    ("KeReleaseInStackQueuedSpinLock", "unsafe extern \"C\" fn(LockHandle: PKLOCK_QUEUE_HANDLE)", false),
    (
        "KeAcquireInStackQueuedSpinLockAtDpcLevel",
        "unsafe extern \"C\" fn(SpinLock: PKSPIN_LOCK, LockHandle: PKLOCK_QUEUE_HANDLE)",
        false,
    ),
    ("KeReleaseInStackQueuedSpinLockFromDpcLevel", "unsafe extern \"C\" fn(LockHandle: PKLOCK_QUEUE_HANDLE)", false),
    ("ExInitializeResourceLite", "unsafe extern \"C\" fn(Resource: PERESOURCE) -> NTSTATUS", true),
    ("ExAcquireResourceExclusiveLite", "unsafe extern \"C\" fn(Resource: PERESOURCE, Wait: BOOLEAN) -> BOOLEAN", false),
    ("ExAcquireResourceSharedLite", "unsafe extern \"C\" fn(Resource: PERESOURCE, Wait: BOOLEAN) -> BOOLEAN", false),
    ("ExReleaseResourceLite", "unsafe extern \"C\" fn(Resource: PERESOURCE)", false),
    ("ExDeleteResourceLite", "unsafe extern \"C\" fn(Resource: PERESOURCE) -> NTSTATUS", true),
    ("ExIsResourceAcquiredExclusiveLite", "unsafe extern \"C\" fn(Resource: PERESOURCE) -> BOOLEAN", false),
    ("ExIsResourceAcquiredSharedLite", "unsafe extern \"C\" fn(Resource: PERESOURCE) -> ULONG", false),
    (
        "IoAllocateMdl",
        "unsafe extern \"C\" fn(VirtualAddress: PVOID, Length: ULONG, SecondaryBuffer: BOOLEAN, ChargeQuota: BOOLEAN, Irp: PIRP) -> PMDL",
        false,
    ),
    ("IoFreeMdl", "unsafe extern \"C\" fn(Mdl: PMDL)", false),
    ("MmBuildMdlForNonPagedPool", "unsafe extern \"C\" fn(MemoryDescriptorList: PMDLX)", false),
    (
        "MmProbeAndLockPages",
        "unsafe extern \"C\" fn(MemoryDescriptorList: PMDL, AccessMode: KPROCESSOR_MODE, Operation: LOCK_OPERATION)",
        false,
    ),
    ("MmUnlockPages", "unsafe extern \"C\" fn(MemoryDescriptorList: PMDL)", false),
    (
        "MmMapLockedPagesSpecifyCache",
        "unsafe extern \"C\" fn(MemoryDescriptorList: PMDLX, AccessMode: KPROCESSOR_MODE, CacheType: MEMORY_CACHING_TYPE, BaseAddress: PVOID, BugCheckOnFailure: ULONG, Priority: MM_PAGE_PRIORITY) -> PVOID",
        false,
    ),
    ("MmUnmapLockedPages", "unsafe extern \"C\" fn(BaseAddress: PVOID, MemoryDescriptorList: PMDL)", false),
    (
        "KeInitializeDpc",
        "unsafe extern \"C\" fn(Dpc: PRKDPC, DeferredRoutine: PKDEFERRED_ROUTINE, DeferredContext: PVOID)",
        false,
    ),
    (
        "KeInsertQueueDpc",
        "unsafe extern \"C\" fn(Dpc: PRKDPC, SystemArgument1: PVOID, SystemArgument2: PVOID) -> BOOLEAN",
        false,
    ),
    ("KeRemoveQueueDpc", "unsafe extern \"C\" fn(Dpc: PRKDPC) -> BOOLEAN", false),
    ("KeFlushQueuedDpcs", "unsafe extern \"C\" fn()", false),
    ("KeInitializeTimer", "unsafe extern \"C\" fn(Timer: PKTIMER)", false),
    ("KeInitializeTimerEx", "unsafe extern \"C\" fn(Timer: PKTIMER, Type: TIMER_TYPE)", false),
    ("KeSetTimer", "unsafe extern \"C\" fn(Timer: PKTIMER, DueTime: LARGE_INTEGER, Dpc: PKDPC) -> BOOLEAN", false),
    (
        "KeSetTimerEx",
        "unsafe extern \"C\" fn(Timer: PKTIMER, DueTime: LARGE_INTEGER, Period: LONG, Dpc: PKDPC) -> BOOLEAN",
        false,
    ),
    ("KeCancelTimer", "unsafe extern \"C\" fn(arg1: PKTIMER) -> BOOLEAN", false),
    ("KeReadStateTimer", "unsafe extern \"C\" fn(Timer: PKTIMER) -> BOOLEAN", false),
    ("RtlInitAnsiString", "unsafe extern \"C\" fn(DestinationString: PANSI_STRING, SourceString: PCSZ)", false),
    ("RtlInitString", "unsafe extern \"C\" fn(DestinationString: PSTRING, SourceString: PCSZ)", false),
    (
        "RtlAppendUnicodeStringToString",
        "unsafe extern \"C\" fn(Destination: PUNICODE_STRING, Source: PCUNICODE_STRING) -> NTSTATUS",
        true,
    ),
    (
        "RtlUnicodeStringToAnsiString",
        "unsafe extern \"C\" fn(DestinationString: PANSI_STRING, SourceString: PCUNICODE_STRING, AllocateDestinationString: BOOLEAN) -> NTSTATUS",
        true,
    ),
    (
        "RtlAnsiStringToUnicodeString",
        "unsafe extern \"C\" fn(DestinationString: PUNICODE_STRING, SourceString: PANSI_STRING, AllocateDestinationString: BOOLEAN) -> NTSTATUS",
        true,
    ),
    ("RtlFreeUnicodeString", "unsafe extern \"C\" fn(UnicodeString: PUNICODE_STRING)", false),
    ("RtlFreeAnsiString", "unsafe extern \"C\" fn(AnsiString: PANSI_STRING)", false),
    (
        "RtlIntegerToUnicodeString",
        "unsafe extern \"C\" fn(Value: ULONG, Base: ULONG, String: PUNICODE_STRING) -> NTSTATUS",
        true,
    ),
    (
        "RtlInt64ToUnicodeString",
        "unsafe extern \"C\" fn(Value: ULONGLONG, Base: ULONG, String: PUNICODE_STRING) -> NTSTATUS",
        true,
    ),
    (
        "RtlUnicodeStringToInteger",
        "unsafe extern \"C\" fn(String: PCUNICODE_STRING, Base: ULONG, Value: PULONG) -> NTSTATUS",
        true,
    ),
    (
        "RtlPrefixUnicodeString",
        "unsafe extern \"C\" fn(String1: PCUNICODE_STRING, String2: PCUNICODE_STRING, CaseInSensitive: BOOLEAN) -> BOOLEAN",
        false,
    ),
    (
        "CmRegisterCallbackEx",
        "unsafe extern \"C\" fn(Function: PEX_CALLBACK_FUNCTION, Altitude: PCUNICODE_STRING, Driver: PVOID, Context: PVOID, Cookie: PLARGE_INTEGER, Reserved: PVOID) -> NTSTATUS",
        true,
    ),
    ("CmUnRegisterCallback", "unsafe extern \"C\" fn(Cookie: LARGE_INTEGER) -> NTSTATUS", true),
    (
        "ZwCreateFile",
        "unsafe extern \"C\" fn(FileHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES, IoStatusBlock: PIO_STATUS_BLOCK, AllocationSize: PLARGE_INTEGER, FileAttributes: ULONG, ShareAccess: ULONG, CreateDisposition: ULONG, CreateOptions: ULONG, EaBuffer: PVOID, EaLength: ULONG) -> NTSTATUS",
        true,
    ),
    (
        "ZwReadFile",
        "unsafe extern \"C\" fn(FileHandle: HANDLE, Event: HANDLE, ApcRoutine: PIO_APC_ROUTINE, ApcContext: PVOID, IoStatusBlock: PIO_STATUS_BLOCK, Buffer: PVOID, Length: ULONG, ByteOffset: PLARGE_INTEGER, Key: PULONG) -> NTSTATUS",
        true,
    ),
    (
        "ZwWriteFile",
        "unsafe extern \"C\" fn(FileHandle: HANDLE, Event: HANDLE, ApcRoutine: PIO_APC_ROUTINE, ApcContext: PVOID, IoStatusBlock: PIO_STATUS_BLOCK, Buffer: PVOID, Length: ULONG, ByteOffset: PLARGE_INTEGER, Key: PULONG) -> NTSTATUS",
        true,
    ),
    (
        "ObRegisterCallbacks",
        "unsafe extern \"C\" fn(CallbackRegistration: POB_CALLBACK_REGISTRATION, RegistrationHandle: *mut PVOID) -> NTSTATUS",
        true,
    ),
    ("ObUnRegisterCallbacks", "unsafe extern \"C\" fn(RegistrationHandle: PVOID)", false),
    (
        "PsSetCreateProcessNotifyRoutineEx",
        "unsafe extern \"C\" fn(NotifyRoutine: PCREATE_PROCESS_NOTIFY_ROUTINE_EX, Remove: BOOLEAN) -> NTSTATUS",
        true,
    ),
    ("ObfReferenceObject", "unsafe extern \"C\" fn(Object: PVOID) -> LONG_PTR", false),
    (
        "PsLookupProcessByProcessId",
        "unsafe extern \"C\" fn(ProcessId: HANDLE, Process: *mut PEPROCESS) -> NTSTATUS",
        true,
    ),
    (
        "PsLookupThreadByThreadId",
        "unsafe extern \"C\" fn(UniqueThreadId: HANDLE, Thread: *mut PETHREAD) -> NTSTATUS",
        true,
    ),
    ("KeSetPriorityThread", "unsafe extern \"C\" fn(Thread: PKTHREAD, Priority: KPRIORITY) -> KPRIORITY", false),
];

/// Allowlisted kernel routines that the real bindings' ntddk.rs declares
/// `#[must_use]` (tests/bindings.rs reads that file).
/// ObCloseHandle is not in the bindings: `#[must_use]` by the rule wdk-sys
/// applies to every routine (all 709 ntddk.rs declarations returning NTSTATUS
/// carry it).
const MUST_USE_FROM_BINDINGS: &[&str] = &[
    "NtClose",
    "ObCloseHandle",
    "KeWaitForSingleObject",
    "RtlAppendUnicodeToString",
    "PsSetCreateProcessNotifyRoutine",
];

/// Extra shapes for allowlisted items that have a known real signature.
const INFERRED_FN_SHAPES: &[(&str, &str)] = &[
    ("KeGetCurrentIrql", "unsafe extern \"C\" fn() -> KIRQL"),
    ("ExAllocatePool2", "unsafe extern \"C\" fn(Flags: POOL_FLAGS, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID"),
    ("NtClose", "unsafe extern \"C\" fn(Handle: HANDLE) -> NTSTATUS"),
    ("ObCloseHandle", "unsafe extern \"C\" fn(Handle: HANDLE, PreviousMode: KPROCESSOR_MODE) -> NTSTATUS"),
    (
        "ExAllocatePoolWithTag",
        "unsafe extern \"C\" fn(PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID",
    ),
    ("ExAllocatePool", "unsafe extern \"C\" fn(PoolType: POOL_TYPE, NumberOfBytes: SIZE_T) -> PVOID"),
    ("ExAcquireFastMutex", "unsafe extern \"C\" fn(FastMutex: PFAST_MUTEX)"),
    ("ExReleaseFastMutex", "unsafe extern \"C\" fn(FastMutex: PFAST_MUTEX)"),
    ("KeClearEvent", "unsafe extern \"C\" fn(Event: PRKEVENT)"),
    ("KeEnterCriticalRegion", "unsafe extern \"C\" fn()"),
    ("KeLeaveCriticalRegion", "unsafe extern \"C\" fn()"),
    ("KeInitializeEvent", "unsafe extern \"C\" fn(Event: PRKEVENT, Type: EVENT_TYPE, State: BOOLEAN)"),
    ("KeInitializeMutex", "unsafe extern \"C\" fn(Mutex: PRKMUTEX, Level: ULONG)"),
    ("KeReadStateEvent", "unsafe extern \"C\" fn(Event: PRKEVENT) -> LONG"),
    ("KeReleaseMutex", "unsafe extern \"C\" fn(Mutex: PRKMUTEX, Wait: BOOLEAN) -> LONG"),
    ("KeResetEvent", "unsafe extern \"C\" fn(Event: PRKEVENT) -> LONG"),
    ("KeSetEvent", "unsafe extern \"C\" fn(Event: PRKEVENT, Increment: KPRIORITY, Wait: BOOLEAN) -> LONG"),
    (
        "KeWaitForSingleObject",
        "unsafe extern \"C\" fn(Object: PVOID, WaitReason: KWAIT_REASON, WaitMode: KPROCESSOR_MODE, Alertable: BOOLEAN, Timeout: PLARGE_INTEGER) -> NTSTATUS",
    ),
    ("RtlAppendUnicodeToString", "unsafe extern \"C\" fn(Destination: PUNICODE_STRING, Source: PCWSTR) -> NTSTATUS"),
    (
        "RtlCompareUnicodeString",
        "unsafe extern \"C\" fn(String1: PCUNICODE_STRING, String2: PCUNICODE_STRING, CaseInSensitive: BOOLEAN) -> LONG",
    ),
    (
        "RtlCopyUnicodeString",
        "unsafe extern \"C\" fn(DestinationString: PUNICODE_STRING, SourceString: PCUNICODE_STRING)",
    ),
    (
        "RtlEqualUnicodeString",
        "unsafe extern \"C\" fn(String1: *const UNICODE_STRING, String2: *const UNICODE_STRING, CaseInSensitive: BOOLEAN) -> BOOLEAN",
    ),
    (
        "PsSetCreateProcessNotifyRoutine",
        "unsafe extern \"C\" fn(NotifyRoutine: PCREATE_PROCESS_NOTIFY_ROUTINE, Remove: BOOLEAN) -> NTSTATUS",
    ),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- the table

#[derive(Default)]
struct Table {
    types: BTreeMap<String, String>,
    fnptrs: BTreeMap<String, String>,
    /// name -> (header, fields name -> type)
    structs: BTreeMap<String, (String, BTreeMap<String, String>)>,
    /// enum module -> variant ("Type" included) -> text
    enums: BTreeMap<String, BTreeMap<String, String>>,
    consts: BTreeMap<String, String>,
    fns: BTreeMap<String, String>,
}

fn load_table() -> Table {
    let path = crate_dir().join("data/wdk-sys-0.5.2-shapes.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut t = Table::default();
    for (i, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.splitn(3, '\t').collect();
        let [kind, name, rust] = cols[..] else { panic!("{}:{}: expected 3 columns", path.display(), i + 1) };
        let (name, rust) = (name.to_string(), rust.to_string());
        match kind {
            "type" => drop(t.types.insert(name, rust)),
            "fnptr" => drop(t.fnptrs.insert(name, rust)),
            "struct" | "union" => match name.split_once('.') {
                Some((s, f)) => drop(t.structs.entry(s.into()).or_default().1.insert(f.into(), rust)),
                None => t.structs.entry(name).or_default().0 = rust,
            },
            "enum" => {
                let (e, v) = name.split_once("::").expect("enum rows are Module::Variant");
                t.enums.entry(e.into()).or_default().insert(v.into(), rust);
            }
            "const" => drop(t.consts.insert(name, rust)),
            "fn" => drop(t.fns.insert(name, rust)),
            other => panic!("{}:{}: unknown kind {other}", path.display(), i + 1),
        }
    }
    t
}

/// Windows LLP64: `c_long`/`c_ulong` are 32-bit there, 64-bit on Linux.
fn llp64(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("::core::ffi::c_") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + "::core::ffi::".len()..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        let ident = &tail[..end];
        out.push_str(match ident {
            "c_long" => "i32",
            "c_ulong" => "u32",
            _ => "",
        });
        if ident != "c_long" && ident != "c_ulong" {
            out.push_str("::core::ffi::");
            out.push_str(ident);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn derives_of(header: &str) -> (BTreeSet<String>, bool) {
    let derives = header
        .split_once("#[derive(")
        .map(|(_, r)| r.split_once(")]").expect("closed derive").0)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (derives, header.contains("+ impl Default"))
}

// ---------------------------------------------------------------- the surface

#[derive(Default, Debug)]
struct SurfaceStruct {
    is_union: bool,
    pub_fields: BTreeMap<String, String>,
    field_order: Vec<String>,
    private_fields: usize,
    derives: BTreeSet<String>,
    manual_default: bool,
}

#[derive(Default, Debug)]
struct Surface {
    types: BTreeSet<String>,
    structs: BTreeMap<String, SurfaceStruct>,
    enums: BTreeMap<String, BTreeSet<String>>,
    consts: BTreeSet<String>,
    /// ntddk functions -> has #[must_use]
    ntddk: BTreeMap<String, bool>,
    /// DDIs -> (has #[must_use], returns a value)
    ddis: BTreeMap<String, (bool, bool)>,
    /// Other public names (crate-root functions, macros, helpers).
    other: BTreeSet<String>,
    /// Names defined by the generated `types.rs` (bindgen's items).
    generated: BTreeSet<String>,
}

fn parse(rel: &str) -> syn::File {
    let path = crate_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `src/surface/ntddk.rs` and every file of `src/surface/ntddk/` (its
/// submodules, one kernel area each): a new one is checked without being listed.
fn ntddk_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(crate_dir().join("src/surface/ntddk"))
        .expect("src/surface/ntddk is readable")
        .map(|e| format!("src/surface/ntddk/{}", e.expect("a directory entry").file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".rs"))
        .collect();
    files.sort();
    files.insert(0, "src/surface/ntddk.rs".into());
    files
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn has_attr(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

fn derive_list(attrs: &[syn::Attribute]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        a.parse_nested_meta(|m| {
            out.insert(m.path.get_ident().map(|i| i.to_string()).unwrap_or_default());
            Ok(())
        })
        .expect("derive list parses");
    }
    out
}

fn tokens(ty: &syn::Type) -> String {
    ty.to_token_stream().to_string()
}

impl Surface {
    /// Records a struct or union; a manual `impl Default` may have been seen first.
    fn add_struct<'a>(
        &mut self,
        name: String,
        is_union: bool,
        attrs: &[syn::Attribute],
        fields: impl Iterator<Item = &'a syn::Field>,
    ) {
        let mut out = SurfaceStruct { is_union, derives: derive_list(attrs), ..Default::default() };
        for f in fields {
            let field = f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
            if is_pub(&f.vis) {
                out.field_order.push(field.clone());
                out.pub_fields.insert(field, tokens(&f.ty));
            } else {
                out.private_fields += 1;
            }
        }
        out.manual_default = self.structs.get(&name).is_some_and(|x| x.manual_default);
        self.structs.insert(name, out);
    }
}

/// The name a `pub use self::Module::Type as Name;` defines.
fn use_alias(tree: &syn::UseTree) -> Option<String> {
    match tree {
        syn::UseTree::Path(p) => use_alias(&p.tree),
        syn::UseTree::Rename(r) => Some(r.rename.to_string()),
        _ => None,
    }
}

fn collect_surface() -> Surface {
    let mut s = Surface::default();
    let generated = parse("src/abi/types.rs").items;
    for item in &generated {
        let name = match item {
            syn::Item::Type(t) => t.ident.to_string(),
            syn::Item::Struct(t) => t.ident.to_string(),
            syn::Item::Union(t) => t.ident.to_string(),
            syn::Item::Mod(t) => t.ident.to_string(),
            syn::Item::Const(t) => t.ident.to_string(),
            syn::Item::Use(u) => use_alias(&u.tree).unwrap_or_default(),
            _ => continue,
        };
        s.generated.insert(name);
    }
    for item in generated.into_iter().chain(parse("src/abi/consts.rs").items) {
        match item {
            syn::Item::Type(t) if is_pub(&t.vis) => drop(s.types.insert(t.ident.to_string())),
            syn::Item::Struct(st) if is_pub(&st.vis) => {
                s.add_struct(st.ident.to_string(), false, &st.attrs, st.fields.iter());
            }
            syn::Item::Union(u) if is_pub(&u.vis) => {
                s.add_struct(u.ident.to_string(), true, &u.attrs, u.fields.named.iter());
            }
            syn::Item::Impl(imp) => {
                let is_default = imp.trait_.as_ref().is_some_and(|(_, p, _)| p.is_ident("Default"));
                if let (true, syn::Type::Path(p)) = (is_default, imp.self_ty.as_ref()) {
                    let name = p.path.segments.last().expect("impl Default for a named type").ident.to_string();
                    s.structs.entry(name).or_default().manual_default = true;
                }
            }
            syn::Item::Mod(m) if is_pub(&m.vis) => {
                let mut names = BTreeSet::new();
                for inner in m.content.map(|c| c.1).unwrap_or_default() {
                    match inner {
                        syn::Item::Const(c) => drop(names.insert(c.ident.to_string())),
                        syn::Item::Type(t) => drop(names.insert(t.ident.to_string())),
                        // bindgen's `use super::*;` in each enum module.
                        syn::Item::Use(_) => {}
                        other => {
                            panic!("enum module {}: unexpected item {:?}", m.ident, std::mem::discriminant(&other))
                        }
                    }
                }
                s.enums.insert(m.ident.to_string(), names);
            }
            syn::Item::Const(c) if is_pub(&c.vis) => drop(s.consts.insert(c.ident.to_string())),
            // bindgen's enum aliases: `pub use self::_E::Type as E;`.
            syn::Item::Use(u) if is_pub(&u.vis) => {
                if let Some(name) = use_alias(&u.tree) {
                    s.types.insert(name);
                }
            }
            syn::Item::Use(_) | syn::Item::Type(_) | syn::Item::Const(_) => {}
            other => panic!("surface types/consts: unexpected public item kind {:?}", std::mem::discriminant(&other)),
        }
    }
    for item in ntddk_files().iter().flat_map(|f| parse(f).items) {
        match item {
            syn::Item::Fn(f) if is_pub(&f.vis) => {
                s.ntddk.insert(f.sig.ident.to_string(), has_attr(&f.attrs, "must_use"));
            }
            // The C-variadic routines (DbgPrint), declared from their C shim.
            syn::Item::ForeignMod(m) => {
                for inner in m.items {
                    if let syn::ForeignItem::Fn(f) = inner
                        && is_pub(&f.vis)
                    {
                        s.ntddk.insert(f.sig.ident.to_string(), has_attr(&f.attrs, "must_use"));
                    }
                }
            }
            _ => {}
        }
    }
    // Every file of src/surface/ddi/: a new one is checked without being listed.
    let mut ddi_files: Vec<String> = std::fs::read_dir(crate_dir().join("src/surface/ddi"))
        .expect("src/surface/ddi is readable")
        .map(|e| format!("src/surface/ddi/{}", e.expect("a directory entry").file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".rs"))
        .collect();
    ddi_files.sort();
    for item in ddi_files.iter().flat_map(|f| parse(f).items) {
        if let syn::Item::Fn(f) = item
            && is_pub(&f.vis)
        {
            let name = f.sig.ident.to_string();
            if f.sig.abi.is_some() {
                let returns = !matches!(f.sig.output, syn::ReturnType::Default);
                s.ddis.insert(name, (has_attr(&f.attrs, "must_use"), returns));
            } else {
                s.other.insert(name);
            }
        }
    }
    // The crate root's own items, and `NT_SUCCESS`, which it re-exports from `abi`.
    for item in parse("src/lib.rs").items.into_iter().chain(parse("src/abi/mod.rs").items) {
        match item {
            syn::Item::Fn(f) if is_pub(&f.vis) => drop(s.other.insert(f.sig.ident.to_string())),
            syn::Item::Macro(m) => drop(s.other.insert(m.ident.map(|i| i.to_string()).unwrap_or_default())),
            _ => {}
        }
    }
    s
}

// ---------------------------------------------------------------- generation

fn pfn_name(ddi: &str) -> String {
    format!("PFN_{}", ddi.to_ascii_uppercase())
}

/// `unsafe extern "C" fn Name(args) -> R` (maybe `#[must_use]`) → a fn pointer type.
fn fn_pointer_type(row: &str, name: &str) -> String {
    let row = row.trim_start_matches("#[must_use]").trim();
    row.replacen(&format!("fn {name}("), "fn(", 1)
}

fn generate(t: &Table, s: &Surface) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ =
        writeln!(w, "//! GENERATED by kmdf-sim/tests/conformance.rs from data/wdk-sys-0.5.2-shapes.tsv; do not edit.");
    let _ = writeln!(w, "//! Regenerate: `UPDATE_CONFORMANCE=1 cargo test -p kmdf-sim --test conformance`.");
    let _ = writeln!(w, "//!");
    let _ = writeln!(w, "//! Every surface item is ascribed to its wdk-sys 0.5.2 shape (c_long/c_ulong as");
    let _ = writeln!(w, "//! Windows' i32/u32): a mismatch is a compile error at the line naming the item.");
    let _ = writeln!(w, "#![allow(non_snake_case, non_camel_case_types, dead_code, unused_imports, clippy::all)]\n");
    let _ = writeln!(w, "use crate::*;\n");
    let _ = writeln!(w, "/// `A: Same<B>` holds exactly when `A` and `B` are the same type.");
    let _ = writeln!(w, "trait Same<T: ?Sized> {{}}");
    let _ = writeln!(w, "impl<T: ?Sized> Same<T> for T {{}}");
    let _ = writeln!(w, "const fn same<A: ?Sized + Same<B>, B: ?Sized>() {{}}");
    let _ = writeln!(w, "fn same_as<B: ?Sized, A: ?Sized + Same<B>>(_: &A) {{}}");
    let _ = writeln!(w, "fn any<T>() -> T {{ unreachable!() }}");
    let _ = writeln!(w, "fn debug<T: core::fmt::Debug>() {{}}");
    let _ = writeln!(w, "fn default<T: Default>() {{}}");
    let _ = writeln!(w, "fn copy<T: Copy>() {{}}");
    let _ = writeln!(w, "fn clone<T: Clone>() {{}}\n");

    let _ = writeln!(w, "// ---- types and callback types");
    for name in &s.types {
        if let Some(rust) = t.types.get(name).or_else(|| t.fnptrs.get(name)) {
            let _ = writeln!(w, "/// `{name}`\nconst _: () = same::<crate::{name}, {}>();", llp64(rust));
        }
    }

    let _ = writeln!(w, "\n// ---- structs and unions: every field named and typed, the same derives");
    for (name, ss) in &s.structs {
        let Some((header, fields)) = t.structs.get(name) else { continue };
        let (derives, manual_default) = derives_of(header);
        let _ = writeln!(w, "/// `{name}`\nfn _{name}() {{");
        for d in &derives {
            let _ = writeln!(w, "    {}::<crate::{name}>();", d.to_ascii_lowercase());
        }
        if manual_default {
            let _ = writeln!(w, "    default::<crate::{name}>();");
        }
        // A header row without field rows: the table does not know the fields.
        if !fields.is_empty() {
            let _ = writeln!(w, "    let v: crate::{name} = any();");
            for (f, ty) in fields {
                if ss.is_union {
                    let _ = writeln!(w, "    // SAFETY: never executed; only the field's type is checked.");
                    let _ = writeln!(w, "    same_as::<{}, _>(unsafe {{ &v.{f} }});", llp64(ty));
                } else {
                    let _ = writeln!(w, "    same_as::<{}, _>(&v.{f});", llp64(ty));
                }
            }
            if !ss.is_union {
                let list: Vec<String> = fields.keys().map(|f| format!("{f}: any()")).collect();
                let _ = writeln!(w, "    let _all_fields = crate::{name} {{ {} }};", list.join(", "));
            }
        }
        let _ = writeln!(w, "}}");
    }

    let _ = writeln!(w, "\n// ---- enums (modules of constants)");
    for (name, variants) in &s.enums {
        let Some(rows) = t.enums.get(name) else { continue };
        let _ = writeln!(w, "/// `{name}`\nfn _{name}() {{");
        if let Some(ty) = rows.get("Type") {
            let _ = writeln!(w, "    const _: () = same::<crate::{name}::Type, {}>();", llp64(ty));
        }
        for v in variants.iter().filter(|v| *v != "Type") {
            if let Some((ty, value)) = rows.get(v).and_then(|r| r.split_once(" = ")) {
                let _ = writeln!(w, "    same_as::<{}, _>(&crate::{name}::{v});", llp64(ty));
                let _ = writeln!(w, "    const _: () = assert!(crate::{name}::{v} == {value});");
            }
        }
        let _ = writeln!(w, "}}");
    }

    let _ = writeln!(w, "\n// ---- constants: type and value");
    let _ = writeln!(w, "fn _constants() {{");
    for name in &s.consts {
        let Some((ty, value)) = t.consts.get(name).and_then(|r| r.split_once(" = ")) else { continue };
        let _ = writeln!(w, "    same_as::<{}, _>(&crate::{name});", llp64(ty));
        if value.trim() == "core::ptr::null_mut()" {
            let _ = writeln!(w, "    const _: () = assert!(crate::{name}.is_null());");
        } else {
            let _ = writeln!(w, "    const _: () = assert!(crate::{name} == {value});");
        }
    }
    let _ = writeln!(w, "}}");

    let _ = writeln!(w, "\n// ---- ntddk functions: the exact signature");
    for name in s.ntddk.keys() {
        let shape = t
            .fns
            .get(name)
            .map(|r| fn_pointer_type(r, name))
            .or_else(|| INFERRED_FN_SHAPES.iter().find(|(n, _)| n == name).map(|(_, s)| s.to_string()))
            .or_else(|| FROM_BINDINGS.iter().find(|(n, _, _)| n == name).map(|(_, s, _)| s.to_string()));
        if let Some(shape) = shape {
            let _ = writeln!(w, "/// `ntddk::{name}`\nconst _: {} = crate::ntddk::{name};", llp64(&shape));
        }
    }

    let _ = writeln!(w, "\n// ---- DDIs: each is its PFN_WDF* type");
    for name in s.ddis.keys() {
        if let Some(rust) = t.fnptrs.get(&pfn_name(name)) {
            let _ = writeln!(
                w,
                "/// `{name}` as `{}`\nconst _: {} = Some(crate::__ddi::{name});",
                pfn_name(name),
                llp64(rust)
            );
        }
    }
    o
}

fn generated_path() -> PathBuf {
    crate_dir().join("src/surface/conformance.rs")
}

#[test]
fn generated_conformance_is_current() {
    let expected = generate(&load_table(), &collect_surface());
    let path = generated_path();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("UPDATE_CONFORMANCE").is_some() {
        if actual != expected {
            std::fs::write(&path, &expected).expect("write generated conformance");
        }
        return;
    }
    assert!(
        actual == expected,
        "{} is out of date with the surface or the table.\n\
         Regenerate it: UPDATE_CONFORMANCE=1 cargo test -p kmdf-sim --test conformance",
        path.display()
    );
}

#[test]
fn every_surface_name_is_in_the_table_or_allowlisted() {
    let t = load_table();
    let s = collect_surface();
    let allowed = |n: &str| {
        ALLOWLIST.iter().any(|(a, _)| *a == n)
            || FROM_BINDINGS.iter().any(|(a, _, _)| *a == n && s.ntddk.contains_key(n))
            || s.generated.contains(n)
    };
    let mut unknown = Vec::new();
    for n in &s.types {
        if !t.types.contains_key(n) && !t.fnptrs.contains_key(n) && !allowed(n) {
            unknown.push(format!("type {n}"));
        }
    }
    for n in s.structs.keys() {
        if !t.structs.contains_key(n) && !allowed(n) {
            unknown.push(format!("struct {n}"));
        }
    }
    for (e, vs) in &s.enums {
        match t.enums.get(e) {
            None if !allowed(e) => unknown.push(format!("enum {e}")),
            None => {}
            Some(rows) => {
                unknown.extend(vs.iter().filter(|v| !rows.contains_key(*v)).map(|v| format!("enum variant {e}::{v}")))
            }
        }
    }
    for n in &s.consts {
        if !t.consts.contains_key(n) && !allowed(n) {
            unknown.push(format!("const {n}"));
        }
    }
    for n in s.ntddk.keys() {
        if !t.fns.contains_key(n) && !allowed(n) {
            unknown.push(format!("ntddk::{n}"));
        }
    }
    for n in s.ddis.keys() {
        if !t.fnptrs.contains_key(&pfn_name(n)) {
            unknown.push(format!("DDI {n} (no {})", pfn_name(n)));
        }
    }
    for n in &s.other {
        if !allowed(n) {
            unknown.push(format!("item {n}"));
        }
    }
    assert!(
        unknown.is_empty(),
        "surface names the wdk-sys 0.5.2 table lacks (add a reason to ALLOWLIST or remove them):\n  {}",
        unknown.join("\n  ")
    );
}

#[test]
fn structs_have_the_tables_fields_and_derives() {
    let t = load_table();
    let s = collect_surface();
    let mut problems = Vec::new();
    for (name, ss) in &s.structs {
        let Some((header, fields)) = t.structs.get(name) else { continue };
        let (derives, manual_default) = derives_of(header);
        if ss.derives != derives {
            problems.push(format!("{name}: derives {:?}, table has {derives:?}", ss.derives));
        }
        if ss.manual_default != manual_default {
            problems
                .push(format!("{name}: manual `impl Default` is {}, table says {manual_default}", ss.manual_default));
        }
        if fields.is_empty() {
            // The table has the header only: opaque in wdk-sys (WDFDEVICE_INIT),
            // or fields its extraction skipped. Only bindgen's items may have
            // public fields the table does not list.
            if !ss.pub_fields.is_empty() && !s.generated.contains(name) {
                problems.push(format!(
                    "{name}: hand-written with public fields the table lacks {:?}",
                    ss.pub_fields.keys()
                ));
            }
        } else {
            let have: BTreeSet<_> = ss.pub_fields.keys().collect();
            let want: BTreeSet<_> = fields.keys().collect();
            if have != want || ss.private_fields != 0 {
                problems.push(format!("{name}: fields {have:?} (+{} private), table has {want:?}", ss.private_fields));
            }
        }
    }
    // The shapes table lists fields by name; the KMDF types table gives the
    // declaration order, which fixes the C layout.
    let kmdf = std::fs::read_to_string(crate_dir().join("data/kmdf-1.33-types.tsv")).expect("types table readable");
    let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in kmdf.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() > 4 && cols[0] == "struct" {
            let member = cols[4].split('[').next().unwrap_or_default().to_string();
            declared.entry(format!("_{}", cols[1])).or_default().push(member);
        }
    }
    for (name, ss) in &s.structs {
        if let Some(order) = declared.get(name)
            && !ss.is_union
            && ss.field_order.iter().filter(|f| !f.starts_with("__bindgen_padding")).ne(order.iter())
        {
            problems.push(format!("{name}: field order {:?}, KMDF 1.33 declares {order:?}", ss.field_order));
        }
    }
    for (e, vs) in &s.enums {
        if let Some(rows) = t.enums.get(e) {
            let missing: Vec<_> = rows.keys().filter(|v| !vs.contains(*v)).collect();
            if !missing.is_empty() {
                problems.push(format!("enum {e}: missing variants {missing:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn must_use_matches_wdk_sys() {
    let t = load_table();
    let s = collect_surface();
    let mut problems = Vec::new();
    for (n, must_use) in &s.ntddk {
        // Not in the table: the real bindings' declaration (MUST_USE_FROM_BINDINGS).
        let want = t
            .fns
            .get(n)
            .map(|r| r.starts_with("#[must_use]"))
            .or_else(|| FROM_BINDINGS.iter().find(|(a, _, _)| a == n).map(|(_, _, m)| *m))
            .unwrap_or_else(|| MUST_USE_FROM_BINDINGS.contains(&n.as_str()));
        if *must_use != want {
            problems.push(format!("ntddk::{n}: #[must_use] is {must_use}, wdk-sys has {want}"));
        }
    }
    for (n, (must_use, returns)) in &s.ddis {
        // The binding macro keeps #[must_use] on value-returning DDIs (guide §7.2).
        if must_use != returns {
            problems.push(format!(
                "DDI {n}: #[must_use] is {must_use} but it {} a value",
                if *returns { "returns" } else { "returns no" }
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn allowlists_have_reasons_and_are_used() {
    let s = collect_surface();
    for (name, reason) in ALLOWLIST {
        assert!(reason.len() > 20, "{name}: give a real reason");
        let used = s.types.contains(*name)
            || s.structs.contains_key(*name)
            || s.ntddk.contains_key(*name)
            || s.other.contains(*name)
            || s.consts.contains(*name);
        assert!(used, "{name} is allowlisted but not on the surface; remove the entry");
    }
    for (name, _, _) in FROM_BINDINGS {
        assert!(s.ntddk.contains_key(*name), "{name} is in FROM_BINDINGS but not on the surface; remove the entry");
    }
}

#[test]
fn table_copies_equal_shared_data() {
    let shared = crate_dir().join("../../shared/data");
    let local = crate_dir().join("data");
    let files =
        ["wdk-sys-0.5.2-shapes.tsv", "wdk-sys-0.5.2-shapes.notes.md", "kmdf-1.33-ddi.tsv", "kmdf-1.33-types.tsv"];
    for f in files {
        assert!(local.join(f).is_file(), "missing copy {}", local.join(f).display());
    }
    if !shared.is_dir() {
        // Written to the process's stderr, not through `eprintln!`, which the
        // test harness captures and hides for a passing test: a skipped
        // comparison must be visible in every run's output.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "table_copies_equal_shared_data: SKIPPED the comparison: {} is not present (the tables in \
             kmdf-sim/data are used as they are; with the shared folder beside the checkout they are compared)",
            shared.display()
        );
        return;
    }
    for f in files {
        let a = std::fs::read(local.join(f)).expect("copy readable");
        let b = std::fs::read(shared.join(f)).expect("shared readable");
        assert!(
            a == b,
            "{} differs from {}: copy it again",
            local.join(f).display(),
            Path::new(&shared).join(f).display()
        );
    }
}
