//! The types of the wdk-sys 0.5.2 surface that the simulator provides.
//!
//! Each item has the name and the Rust shape that wdk-sys 0.5.2 generates for
//! x86_64 Windows (bindgen 0.73.2 over the KMDF 1.33 headers), with the Windows
//! LLP64 integer widths spelled out: `c_long`/`c_ulong` are `i32`/`u32` here as
//! they are on Windows. `conformance.rs` (generated from
//! `data/wdk-sys-0.5.2-shapes.tsv`) proves every item against that table at
//! compile time.
#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals, missing_docs)]

pub type CHAR = i8;
pub type UCHAR = u8;
pub type BOOLEAN = UCHAR;
pub type USHORT = u16;
pub type WCHAR = wchar_t;
pub type wchar_t = u16;
pub type LONG = i32;
pub type ULONG = u32;
pub type LONGLONG = i64;
pub type ULONG_PTR = u64;
pub type SIZE_T = ULONG_PTR;
pub type KIRQL = UCHAR;
pub type ACCESS_MASK = ULONG;
pub type NTSTATUS = LONG;
pub type PVOID = *mut core::ffi::c_void;
pub type HANDLE = PVOID;
pub type PHANDLE = *mut HANDLE;
pub type PULONG = *mut u32;
pub type PUSHORT = *mut u16;
pub type PULONG_PTR = *mut u64;
pub type PWSTR = *mut WCHAR;
pub type PCWSTR = *const WCHAR;
pub type PCSTR = *const CHAR;
pub type LPCSTR = *const CHAR;
pub type PCCH = *const CHAR;
pub type PCHAR = *mut CHAR;
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _UNICODE_STRING {
    pub Length: USHORT,
    pub MaximumLength: USHORT,
    pub Buffer: PWSTR,
}
impl Default for _UNICODE_STRING {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type UNICODE_STRING = _UNICODE_STRING;
pub type PUNICODE_STRING = *mut _UNICODE_STRING;
pub type PCUNICODE_STRING = *const UNICODE_STRING;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _GUID {
    pub Data1: u32,
    pub Data2: u16,
    pub Data3: u16,
    pub Data4: [u8; 8usize],
}
pub type GUID = _GUID;
pub type LPCGUID = *const GUID;
pub type LPGUID = *mut GUID;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _LARGE_INTEGER__bindgen_ty_1 {
    pub LowPart: ULONG,
    pub HighPart: LONG,
}
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _LARGE_INTEGER__bindgen_ty_2 {
    pub LowPart: ULONG,
    pub HighPart: LONG,
}
#[repr(C)]
#[derive(Copy, Clone)]
pub union _LARGE_INTEGER {
    pub __bindgen_anon_1: _LARGE_INTEGER__bindgen_ty_1,
    pub u: _LARGE_INTEGER__bindgen_ty_2,
    pub QuadPart: LONGLONG,
}
impl Default for _LARGE_INTEGER {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type LARGE_INTEGER = _LARGE_INTEGER;
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _OBJECT_ATTRIBUTES {
    pub Length: ULONG,
    pub RootDirectory: HANDLE,
    pub ObjectName: PUNICODE_STRING,
    pub Attributes: ULONG,
    pub SecurityDescriptor: PVOID,
    pub SecurityQualityOfService: PVOID,
}
impl Default for _OBJECT_ATTRIBUTES {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type OBJECT_ATTRIBUTES = _OBJECT_ATTRIBUTES;
pub type POBJECT_ATTRIBUTES = *mut _OBJECT_ATTRIBUTES;
pub mod _KEY_INFORMATION_CLASS {
    //! C enum `_KEY_INFORMATION_CLASS` as bindgen's module of constants.
    pub type Type = i32;
    pub const KeyBasicInformation: Type = 0;
    pub const KeyNodeInformation: Type = 1;
    pub const KeyFullInformation: Type = 2;
    pub const KeyNameInformation: Type = 3;
    pub const KeyCachedInformation: Type = 4;
    pub const KeyFlagsInformation: Type = 5;
    pub const KeyVirtualizationInformation: Type = 6;
    pub const KeyHandleTagsInformation: Type = 7;
    pub const KeyTrustInformation: Type = 8;
    pub const KeyLayerInformation: Type = 9;
    pub const MaxKeyInfoClass: Type = 10;
}
pub type KEY_INFORMATION_CLASS = _KEY_INFORMATION_CLASS::Type;
pub mod _KEY_VALUE_INFORMATION_CLASS {
    //! C enum `_KEY_VALUE_INFORMATION_CLASS` as bindgen's module of constants.
    pub type Type = i32;
    pub const KeyValueBasicInformation: Type = 0;
    pub const KeyValueFullInformation: Type = 1;
    pub const KeyValuePartialInformation: Type = 2;
    pub const KeyValueFullInformationAlign64: Type = 3;
    pub const KeyValuePartialInformationAlign64: Type = 4;
    pub const KeyValueLayerInformation: Type = 5;
    pub const MaxKeyValueInfoClass: Type = 6;
}
pub type KEY_VALUE_INFORMATION_CLASS = _KEY_VALUE_INFORMATION_CLASS::Type;
#[repr(C)]
#[derive(Copy, Clone)]
pub struct _KEY_BASIC_INFORMATION {
    pub LastWriteTime: LARGE_INTEGER,
    pub TitleIndex: ULONG,
    pub NameLength: ULONG,
    pub Name: [WCHAR; 1usize],
}
impl Default for _KEY_BASIC_INFORMATION {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type KEY_BASIC_INFORMATION = _KEY_BASIC_INFORMATION;
pub type PKEY_BASIC_INFORMATION = *mut _KEY_BASIC_INFORMATION;
#[repr(C)]
#[derive(Copy, Clone)]
pub struct _KEY_FULL_INFORMATION {
    pub LastWriteTime: LARGE_INTEGER,
    pub TitleIndex: ULONG,
    pub ClassOffset: ULONG,
    pub ClassLength: ULONG,
    pub SubKeys: ULONG,
    pub MaxNameLen: ULONG,
    pub MaxClassLen: ULONG,
    pub Values: ULONG,
    pub MaxValueNameLen: ULONG,
    pub MaxValueDataLen: ULONG,
    pub Class: [WCHAR; 1usize],
}
impl Default for _KEY_FULL_INFORMATION {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type KEY_FULL_INFORMATION = _KEY_FULL_INFORMATION;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _KEY_VALUE_BASIC_INFORMATION {
    pub TitleIndex: ULONG,
    pub Type: ULONG,
    pub NameLength: ULONG,
    pub Name: [WCHAR; 1usize],
}
pub type KEY_VALUE_BASIC_INFORMATION = _KEY_VALUE_BASIC_INFORMATION;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _KEY_VALUE_FULL_INFORMATION {
    pub TitleIndex: ULONG,
    pub Type: ULONG,
    pub DataOffset: ULONG,
    pub DataLength: ULONG,
    pub NameLength: ULONG,
    pub Name: [WCHAR; 1usize],
}
pub type KEY_VALUE_FULL_INFORMATION = _KEY_VALUE_FULL_INFORMATION;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _KEY_VALUE_PARTIAL_INFORMATION {
    pub TitleIndex: ULONG,
    pub Type: ULONG,
    pub DataLength: ULONG,
    pub Data: [UCHAR; 1usize],
}
pub type KEY_VALUE_PARTIAL_INFORMATION = _KEY_VALUE_PARTIAL_INFORMATION;
pub type PKEY_VALUE_PARTIAL_INFORMATION = *mut _KEY_VALUE_PARTIAL_INFORMATION;
pub type DRIVER_OBJECT = _DRIVER_OBJECT;
pub type PDRIVER_OBJECT = *mut _DRIVER_OBJECT;
pub type DRIVER_INITIALIZE =
    Option<unsafe extern "C" fn(DriverObject: *mut _DRIVER_OBJECT, RegistryPath: PUNICODE_STRING) -> NTSTATUS>;
pub type PDRIVER_INITIALIZE = DRIVER_INITIALIZE;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFKEY__ {
    pub unused: i32,
}
pub type WDFKEY = *mut WDFKEY__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFDRIVER__ {
    pub unused: i32,
}
pub type WDFDRIVER = *mut WDFDRIVER__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFDEVICE__ {
    pub unused: i32,
}
pub type WDFDEVICE = *mut WDFDEVICE__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFQUEUE__ {
    pub unused: i32,
}
pub type WDFQUEUE = *mut WDFQUEUE__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFREQUEST__ {
    pub unused: i32,
}
pub type WDFREQUEST = *mut WDFREQUEST__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFMEMORY__ {
    pub unused: i32,
}
pub type WDFMEMORY = *mut WDFMEMORY__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFSTRING__ {
    pub unused: i32,
}
pub type WDFSTRING = *mut WDFSTRING__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFCOLLECTION__ {
    pub unused: i32,
}
pub type WDFCOLLECTION = *mut WDFCOLLECTION__;
pub type WDFOBJECT = HANDLE;
pub type WDFCONTEXT = PVOID;
pub type PWDFDEVICE_INIT = *mut WDFDEVICE_INIT;
pub mod _WDF_EXECUTION_LEVEL {
    //! C enum `_WDF_EXECUTION_LEVEL` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfExecutionLevelInvalid: Type = 0;
    pub const WdfExecutionLevelInheritFromParent: Type = 1;
    pub const WdfExecutionLevelPassive: Type = 2;
    pub const WdfExecutionLevelDispatch: Type = 3;
}
pub type WDF_EXECUTION_LEVEL = _WDF_EXECUTION_LEVEL::Type;
pub mod _WDF_SYNCHRONIZATION_SCOPE {
    //! C enum `_WDF_SYNCHRONIZATION_SCOPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfSynchronizationScopeInvalid: Type = 0;
    pub const WdfSynchronizationScopeInheritFromParent: Type = 1;
    pub const WdfSynchronizationScopeDevice: Type = 2;
    pub const WdfSynchronizationScopeQueue: Type = 3;
    pub const WdfSynchronizationScopeNone: Type = 4;
}
pub type WDF_SYNCHRONIZATION_SCOPE = _WDF_SYNCHRONIZATION_SCOPE::Type;
pub mod _WDF_DRIVER_INIT_FLAGS {
    //! C enum `_WDF_DRIVER_INIT_FLAGS` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfDriverInitNonPnpDriver: Type = 1;
    pub const WdfDriverInitNoDispatchOverride: Type = 2;
    pub const WdfVerifyOn: Type = 4;
    pub const WdfVerifierOn: Type = 8;
    pub const WdfDriverInitCompanion: Type = 16;
}
pub type WDF_DRIVER_INIT_FLAGS = _WDF_DRIVER_INIT_FLAGS::Type;
pub type EVT_WDF_OBJECT_CONTEXT_CLEANUP = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
pub type PFN_WDF_OBJECT_CONTEXT_CLEANUP = EVT_WDF_OBJECT_CONTEXT_CLEANUP;
pub type EVT_WDF_OBJECT_CONTEXT_DESTROY = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
pub type PFN_WDF_OBJECT_CONTEXT_DESTROY = EVT_WDF_OBJECT_CONTEXT_DESTROY;
pub type PFN_GET_UNIQUE_CONTEXT_TYPE = Option<unsafe extern "C" fn() -> PCWDF_OBJECT_CONTEXT_TYPE_INFO>;
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _WDF_OBJECT_CONTEXT_TYPE_INFO {
    pub Size: ULONG,
    pub ContextName: LPCSTR,
    pub ContextSize: usize,
    pub UniqueType: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
    pub EvtDriverGetUniqueContextType: PFN_GET_UNIQUE_CONTEXT_TYPE,
}
impl Default for _WDF_OBJECT_CONTEXT_TYPE_INFO {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type WDF_OBJECT_CONTEXT_TYPE_INFO = _WDF_OBJECT_CONTEXT_TYPE_INFO;
pub type PWDF_OBJECT_CONTEXT_TYPE_INFO = *mut _WDF_OBJECT_CONTEXT_TYPE_INFO;
pub type PCWDF_OBJECT_CONTEXT_TYPE_INFO = *const _WDF_OBJECT_CONTEXT_TYPE_INFO;
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _WDF_OBJECT_ATTRIBUTES {
    pub Size: ULONG,
    pub EvtCleanupCallback: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub EvtDestroyCallback: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    pub ExecutionLevel: WDF_EXECUTION_LEVEL,
    pub SynchronizationScope: WDF_SYNCHRONIZATION_SCOPE,
    pub ParentObject: WDFOBJECT,
    pub ContextSizeOverride: usize,
    pub ContextTypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
}
impl Default for _WDF_OBJECT_ATTRIBUTES {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type WDF_OBJECT_ATTRIBUTES = _WDF_OBJECT_ATTRIBUTES;
pub type PWDF_OBJECT_ATTRIBUTES = *mut _WDF_OBJECT_ATTRIBUTES;
pub type EVT_WDF_DRIVER_DEVICE_ADD =
    Option<unsafe extern "C" fn(Driver: WDFDRIVER, DeviceInit: PWDFDEVICE_INIT) -> NTSTATUS>;
pub type PFN_WDF_DRIVER_DEVICE_ADD = EVT_WDF_DRIVER_DEVICE_ADD;
pub type EVT_WDF_DRIVER_UNLOAD = Option<unsafe extern "C" fn(Driver: WDFDRIVER)>;
pub type PFN_WDF_DRIVER_UNLOAD = EVT_WDF_DRIVER_UNLOAD;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_DRIVER_CONFIG {
    pub Size: ULONG,
    pub EvtDriverDeviceAdd: PFN_WDF_DRIVER_DEVICE_ADD,
    pub EvtDriverUnload: PFN_WDF_DRIVER_UNLOAD,
    pub DriverInitFlags: ULONG,
    pub DriverPoolTag: ULONG,
}
pub type WDF_DRIVER_CONFIG = _WDF_DRIVER_CONFIG;
pub type PWDF_DRIVER_CONFIG = *mut _WDF_DRIVER_CONFIG;
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _WDF_DRIVER_GLOBALS {
    pub Driver: WDFDRIVER,
    pub DriverFlags: ULONG,
    pub DriverTag: ULONG,
    pub DriverName: [CHAR; 32usize],
    pub DisplaceDriverUnload: BOOLEAN,
}
impl Default for _WDF_DRIVER_GLOBALS {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
pub type WDF_DRIVER_GLOBALS = _WDF_DRIVER_GLOBALS;
pub type PWDF_DRIVER_GLOBALS = *mut _WDF_DRIVER_GLOBALS;

#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFCMRESLIST__ {
    pub unused: i32,
}
pub type WDFCMRESLIST = *mut WDFCMRESLIST__;
pub mod _DEVICE_RELATION_TYPE {
    //! C enum `_DEVICE_RELATION_TYPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const BusRelations: Type = 0;
    pub const EjectionRelations: Type = 1;
    pub const PowerRelations: Type = 2;
    pub const RemovalRelations: Type = 3;
    pub const TargetDeviceRelation: Type = 4;
    pub const SingleBusRelations: Type = 5;
    pub const TransportRelations: Type = 6;
}
pub type DEVICE_RELATION_TYPE = _DEVICE_RELATION_TYPE::Type;
pub mod _WDF_POWER_DEVICE_STATE {
    //! C enum `_WDF_POWER_DEVICE_STATE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfPowerDeviceInvalid: Type = 0;
    pub const WdfPowerDeviceD0: Type = 1;
    pub const WdfPowerDeviceD1: Type = 2;
    pub const WdfPowerDeviceD2: Type = 3;
    pub const WdfPowerDeviceD3: Type = 4;
    pub const WdfPowerDeviceD3Final: Type = 5;
    pub const WdfPowerDevicePrepareForHibernation: Type = 6;
    pub const WdfPowerDeviceMaximum: Type = 7;
}
pub type WDF_POWER_DEVICE_STATE = _WDF_POWER_DEVICE_STATE::Type;
pub mod _WDF_SPECIAL_FILE_TYPE {
    //! C enum `_WDF_SPECIAL_FILE_TYPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfSpecialFileUndefined: Type = 0;
    pub const WdfSpecialFilePaging: Type = 1;
    pub const WdfSpecialFileHibernation: Type = 2;
    pub const WdfSpecialFileDump: Type = 3;
    pub const WdfSpecialFileBoot: Type = 4;
    pub const WdfSpecialFilePostDisplay: Type = 5;
    pub const WdfSpecialFileGuestAssigned: Type = 6;
    pub const WdfSpecialFileMax: Type = 7;
}
pub type WDF_SPECIAL_FILE_TYPE = _WDF_SPECIAL_FILE_TYPE::Type;
pub mod _WDF_DEVICE_IO_TYPE {
    //! C enum `_WDF_DEVICE_IO_TYPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfDeviceIoUndefined: Type = 0;
    pub const WdfDeviceIoNeither: Type = 1;
    pub const WdfDeviceIoBuffered: Type = 2;
    pub const WdfDeviceIoDirect: Type = 3;
    pub const WdfDeviceIoBufferedOrDirect: Type = 4;
    pub const WdfDeviceIoMaximum: Type = 5;
}
pub type WDF_DEVICE_IO_TYPE = _WDF_DEVICE_IO_TYPE::Type;
pub mod _WDF_IO_QUEUE_DISPATCH_TYPE {
    //! C enum `_WDF_IO_QUEUE_DISPATCH_TYPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfIoQueueDispatchInvalid: Type = 0;
    pub const WdfIoQueueDispatchSequential: Type = 1;
    pub const WdfIoQueueDispatchParallel: Type = 2;
    pub const WdfIoQueueDispatchManual: Type = 3;
    pub const WdfIoQueueDispatchMax: Type = 4;
}
pub type WDF_IO_QUEUE_DISPATCH_TYPE = _WDF_IO_QUEUE_DISPATCH_TYPE::Type;
pub mod _WDF_TRI_STATE {
    //! C enum `_WDF_TRI_STATE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfFalse: Type = 0;
    pub const WdfTrue: Type = 1;
    pub const WdfUseDefault: Type = 2;
}
pub type WDF_TRI_STATE = _WDF_TRI_STATE::Type;
pub type EVT_WDF_DEVICE_D0_ENTRY =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, PreviousState: WDF_POWER_DEVICE_STATE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_D0_ENTRY = EVT_WDF_DEVICE_D0_ENTRY;
pub type EVT_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, PreviousState: WDF_POWER_DEVICE_STATE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED = EVT_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED;
pub type EVT_WDF_DEVICE_D0_EXIT =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, TargetState: WDF_POWER_DEVICE_STATE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_D0_EXIT = EVT_WDF_DEVICE_D0_EXIT;
pub type EVT_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, TargetState: WDF_POWER_DEVICE_STATE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED = EVT_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED;
pub type EVT_WDF_DEVICE_PREPARE_HARDWARE = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, ResourcesRaw: WDFCMRESLIST, ResourcesTranslated: WDFCMRESLIST) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_PREPARE_HARDWARE = EVT_WDF_DEVICE_PREPARE_HARDWARE;
pub type EVT_WDF_DEVICE_RELEASE_HARDWARE =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, ResourcesTranslated: WDFCMRESLIST) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_RELEASE_HARDWARE = EVT_WDF_DEVICE_RELEASE_HARDWARE;
pub type EVT_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP = EVT_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP;
pub type EVT_WDF_DEVICE_SELF_MANAGED_IO_FLUSH = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH = EVT_WDF_DEVICE_SELF_MANAGED_IO_FLUSH;
pub type EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT = EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT;
pub type EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND = EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND;
pub type EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART = EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART;
pub type EVT_WDF_DEVICE_SURPRISE_REMOVAL = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
pub type PFN_WDF_DEVICE_SURPRISE_REMOVAL = EVT_WDF_DEVICE_SURPRISE_REMOVAL;
pub type EVT_WDF_DEVICE_QUERY_REMOVE = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_QUERY_REMOVE = EVT_WDF_DEVICE_QUERY_REMOVE;
pub type EVT_WDF_DEVICE_QUERY_STOP = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_QUERY_STOP = EVT_WDF_DEVICE_QUERY_STOP;
pub type EVT_WDF_DEVICE_USAGE_NOTIFICATION = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, NotificationType: WDF_SPECIAL_FILE_TYPE, IsInNotificationPath: BOOLEAN),
>;
pub type PFN_WDF_DEVICE_USAGE_NOTIFICATION = EVT_WDF_DEVICE_USAGE_NOTIFICATION;
pub type EVT_WDF_DEVICE_USAGE_NOTIFICATION_EX = Option<
    unsafe extern "C" fn(
        Device: WDFDEVICE,
        NotificationType: WDF_SPECIAL_FILE_TYPE,
        IsInNotificationPath: BOOLEAN,
    ) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX = EVT_WDF_DEVICE_USAGE_NOTIFICATION_EX;
pub type EVT_WDF_DEVICE_RELATIONS_QUERY =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, RelationType: DEVICE_RELATION_TYPE)>;
pub type PFN_WDF_DEVICE_RELATIONS_QUERY = EVT_WDF_DEVICE_RELATIONS_QUERY;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    pub Size: ULONG,
    pub EvtDeviceD0Entry: PFN_WDF_DEVICE_D0_ENTRY,
    pub EvtDeviceD0EntryPostInterruptsEnabled: PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED,
    pub EvtDeviceD0Exit: PFN_WDF_DEVICE_D0_EXIT,
    pub EvtDeviceD0ExitPreInterruptsDisabled: PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED,
    pub EvtDevicePrepareHardware: PFN_WDF_DEVICE_PREPARE_HARDWARE,
    pub EvtDeviceReleaseHardware: PFN_WDF_DEVICE_RELEASE_HARDWARE,
    pub EvtDeviceSelfManagedIoCleanup: PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP,
    pub EvtDeviceSelfManagedIoFlush: PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH,
    pub EvtDeviceSelfManagedIoInit: PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT,
    pub EvtDeviceSelfManagedIoSuspend: PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND,
    pub EvtDeviceSelfManagedIoRestart: PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART,
    pub EvtDeviceSurpriseRemoval: PFN_WDF_DEVICE_SURPRISE_REMOVAL,
    pub EvtDeviceQueryRemove: PFN_WDF_DEVICE_QUERY_REMOVE,
    pub EvtDeviceQueryStop: PFN_WDF_DEVICE_QUERY_STOP,
    pub EvtDeviceUsageNotification: PFN_WDF_DEVICE_USAGE_NOTIFICATION,
    pub EvtDeviceRelationsQuery: PFN_WDF_DEVICE_RELATIONS_QUERY,
    pub EvtDeviceUsageNotificationEx: PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX,
}
pub type WDF_PNPPOWER_EVENT_CALLBACKS = _WDF_PNPPOWER_EVENT_CALLBACKS;
pub type PWDF_PNPPOWER_EVENT_CALLBACKS = *mut _WDF_PNPPOWER_EVENT_CALLBACKS;
pub type EVT_WDF_IO_QUEUE_IO_DEFAULT = Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
pub type PFN_WDF_IO_QUEUE_IO_DEFAULT = EVT_WDF_IO_QUEUE_IO_DEFAULT;
pub type EVT_WDF_IO_QUEUE_IO_READ = Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
pub type PFN_WDF_IO_QUEUE_IO_READ = EVT_WDF_IO_QUEUE_IO_READ;
pub type EVT_WDF_IO_QUEUE_IO_WRITE = Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
pub type PFN_WDF_IO_QUEUE_IO_WRITE = EVT_WDF_IO_QUEUE_IO_WRITE;
pub type EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL = Option<
    unsafe extern "C" fn(
        Queue: WDFQUEUE,
        Request: WDFREQUEST,
        OutputBufferLength: usize,
        InputBufferLength: usize,
        IoControlCode: ULONG,
    ),
>;
pub type PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL = EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL;
pub type EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL = Option<
    unsafe extern "C" fn(
        Queue: WDFQUEUE,
        Request: WDFREQUEST,
        OutputBufferLength: usize,
        InputBufferLength: usize,
        IoControlCode: ULONG,
    ),
>;
pub type PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL = EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL;
pub type EVT_WDF_IO_QUEUE_IO_STOP =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, ActionFlags: ULONG)>;
pub type PFN_WDF_IO_QUEUE_IO_STOP = EVT_WDF_IO_QUEUE_IO_STOP;
pub type EVT_WDF_IO_QUEUE_IO_RESUME = Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
pub type PFN_WDF_IO_QUEUE_IO_RESUME = EVT_WDF_IO_QUEUE_IO_RESUME;
pub type EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE = Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
pub type PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE = EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE;
pub type PWDF_IO_QUEUE_CONFIG = *mut _WDF_IO_QUEUE_CONFIG;

/// `WDF_IO_QUEUE_CONFIG` (wdfio.h, KMDF 1.33). The shapes table has its name
/// and derives but no field rows (the extraction skipped the anonymous
/// union), so the fields follow the 1.33 header (declaration order, with the
/// `Driver` member that 1.33 adds) and bindgen's naming of the union.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct _WDF_IO_QUEUE_CONFIG {
    pub Size: ULONG,
    pub DispatchType: WDF_IO_QUEUE_DISPATCH_TYPE,
    pub PowerManaged: WDF_TRI_STATE,
    pub AllowZeroLengthRequests: BOOLEAN,
    pub DefaultQueue: BOOLEAN,
    pub EvtIoDefault: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    pub EvtIoRead: PFN_WDF_IO_QUEUE_IO_READ,
    pub EvtIoWrite: PFN_WDF_IO_QUEUE_IO_WRITE,
    pub EvtIoDeviceControl: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    pub EvtIoInternalDeviceControl: PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL,
    pub EvtIoStop: PFN_WDF_IO_QUEUE_IO_STOP,
    pub EvtIoResume: PFN_WDF_IO_QUEUE_IO_RESUME,
    pub EvtIoCanceledOnQueue: PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE,
    pub Settings: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1,
    pub Driver: WDFDRIVER,
}
impl Default for _WDF_IO_QUEUE_CONFIG {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
/// The `Settings` union of `WDF_IO_QUEUE_CONFIG`.
#[repr(C)]
#[derive(Copy, Clone)]
pub union _WDF_IO_QUEUE_CONFIG__bindgen_ty_1 {
    pub Parallel: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1,
}
impl Default for _WDF_IO_QUEUE_CONFIG__bindgen_ty_1 {
    fn default() -> Self {
        // SAFETY: bindgen's zeroed Default: every field of this C type is valid all-zero.
        unsafe { core::mem::zeroed() }
    }
}
/// `Settings.Parallel` of `WDF_IO_QUEUE_CONFIG`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1 {
    pub NumberOfPresentedRequests: ULONG,
}
pub type WDF_IO_QUEUE_CONFIG = _WDF_IO_QUEUE_CONFIG;

/// `DRIVER_OBJECT`: opaque in the simulator.
///
/// The framework owns the WDM dispatch table; a KMDF driver only passes this
/// pointer on to `WdfDriverCreate`. Its fields are private, so driver code that
/// reads or writes them does not compile against the simulator (the real
/// struct has them). The simulator keeps its identity in `id`.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _DRIVER_OBJECT {
    pub(crate) id: u64,
}
// wdk-sys implements Default by hand (zeroed) for this struct; the table checks it.
#[allow(clippy::derivable_impls)]
impl Default for _DRIVER_OBJECT {
    fn default() -> Self {
        _DRIVER_OBJECT { id: 0 }
    }
}

/// `WDFDEVICE_INIT`: opaque in C and in wdk-sys; the simulator keeps an id in it.
#[repr(C)]
#[derive(Debug)]
pub struct WDFDEVICE_INIT {
    pub(crate) id: u64,
}

// ---- timers, spin locks, cancelation, version queries, pool

#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFTIMER__ {
    pub unused: i32,
}
pub type WDFTIMER = *mut WDFTIMER__;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFSPINLOCK__ {
    pub unused: i32,
}
pub type WDFSPINLOCK = *mut WDFSPINLOCK__;
pub type ULONG64 = u64;
/// `POOL_FLAGS` (wdm.h: `typedef ULONG64 POOL_FLAGS`; the shapes table has
/// the `POOL_FLAG_*` constants typed by it but no row for the typedef).
pub type POOL_FLAGS = ULONG64;
pub mod _POOL_TYPE {
    //! C enum `_POOL_TYPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const NonPagedPool: Type = 0;
    pub const NonPagedPoolBase: Type = 0;
    pub const NonPagedPoolExecute: Type = 0;
    pub const PagedPool: Type = 1;
    pub const NonPagedPoolBaseMustSucceed: Type = 2;
    pub const NonPagedPoolMustSucceed: Type = 2;
    pub const DontUseThisType: Type = 3;
    pub const NonPagedPoolBaseCacheAligned: Type = 4;
    pub const NonPagedPoolCacheAligned: Type = 4;
    pub const PagedPoolCacheAligned: Type = 5;
    pub const NonPagedPoolBaseCacheAlignedMustS: Type = 6;
    pub const NonPagedPoolCacheAlignedMustS: Type = 6;
    pub const MaxPoolType: Type = 7;
    pub const NonPagedPoolSession: Type = 32;
    pub const PagedPoolSession: Type = 33;
    pub const NonPagedPoolMustSucceedSession: Type = 34;
    pub const DontUseThisTypeSession: Type = 35;
    pub const NonPagedPoolCacheAlignedSession: Type = 36;
    pub const PagedPoolCacheAlignedSession: Type = 37;
    pub const NonPagedPoolCacheAlignedMustSSession: Type = 38;
    pub const NonPagedPoolNx: Type = 512;
    pub const NonPagedPoolNxCacheAligned: Type = 516;
    pub const NonPagedPoolSessionNx: Type = 544;
}
pub type POOL_TYPE = _POOL_TYPE::Type;
pub type EVT_WDF_TIMER = Option<unsafe extern "C" fn(Timer: WDFTIMER)>;
pub type PFN_WDF_TIMER = EVT_WDF_TIMER;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_TIMER_CONFIG {
    pub Size: ULONG,
    pub EvtTimerFunc: PFN_WDF_TIMER,
    pub Period: ULONG,
    pub AutomaticSerialization: BOOLEAN,
    pub TolerableDelay: ULONG,
    pub __bindgen_padding_0: [u8; 4usize],
    pub UseHighResolutionTimer: BOOLEAN,
}
pub type WDF_TIMER_CONFIG = _WDF_TIMER_CONFIG;
pub type PWDF_TIMER_CONFIG = *mut _WDF_TIMER_CONFIG;
pub type EVT_WDF_REQUEST_CANCEL = Option<unsafe extern "C" fn(Request: WDFREQUEST)>;
pub type PFN_WDF_REQUEST_CANCEL = EVT_WDF_REQUEST_CANCEL;
pub type EVT_WDF_IO_QUEUE_STATE = Option<unsafe extern "C" fn(Queue: WDFQUEUE, Context: WDFCONTEXT)>;
pub type PFN_WDF_IO_QUEUE_STATE = EVT_WDF_IO_QUEUE_STATE;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_DRIVER_VERSION_AVAILABLE_PARAMS {
    pub Size: ULONG,
    pub MajorVersion: ULONG,
    pub MinorVersion: ULONG,
}
pub type WDF_DRIVER_VERSION_AVAILABLE_PARAMS = _WDF_DRIVER_VERSION_AVAILABLE_PARAMS;
pub type PWDF_DRIVER_VERSION_AVAILABLE_PARAMS = *mut _WDF_DRIVER_VERSION_AVAILABLE_PARAMS;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFWAITLOCK__ {
    pub unused: i32,
}
pub type WDFWAITLOCK = *mut WDFWAITLOCK__;
pub type PLONGLONG = *mut i64;
pub mod _WDF_REQUEST_TYPE {
    //! C enum `_WDF_REQUEST_TYPE` as bindgen's module of constants.
    pub type Type = i32;
    pub const WdfRequestTypeCreate: Type = 0;
    pub const WdfRequestTypeCreateNamedPipe: Type = 1;
    pub const WdfRequestTypeClose: Type = 2;
    pub const WdfRequestTypeRead: Type = 3;
    pub const WdfRequestTypeWrite: Type = 4;
    pub const WdfRequestTypeQueryInformation: Type = 5;
    pub const WdfRequestTypeSetInformation: Type = 6;
    pub const WdfRequestTypeQueryEA: Type = 7;
    pub const WdfRequestTypeSetEA: Type = 8;
    pub const WdfRequestTypeFlushBuffers: Type = 9;
    pub const WdfRequestTypeQueryVolumeInformation: Type = 10;
    pub const WdfRequestTypeSetVolumeInformation: Type = 11;
    pub const WdfRequestTypeDirectoryControl: Type = 12;
    pub const WdfRequestTypeFileSystemControl: Type = 13;
    pub const WdfRequestTypeDeviceControl: Type = 14;
    pub const WdfRequestTypeDeviceControlInternal: Type = 15;
    pub const WdfRequestTypeShutdown: Type = 16;
    pub const WdfRequestTypeLockControl: Type = 17;
    pub const WdfRequestTypeCleanup: Type = 18;
    pub const WdfRequestTypeCreateMailSlot: Type = 19;
    pub const WdfRequestTypeQuerySecurity: Type = 20;
    pub const WdfRequestTypeSetSecurity: Type = 21;
    pub const WdfRequestTypePower: Type = 22;
    pub const WdfRequestTypeSystemControl: Type = 23;
    pub const WdfRequestTypeDeviceChange: Type = 24;
    pub const WdfRequestTypeQueryQuota: Type = 25;
    pub const WdfRequestTypeSetQuota: Type = 26;
    pub const WdfRequestTypePnp: Type = 27;
    pub const WdfRequestTypeOther: Type = 28;
    pub const WdfRequestTypeUsb: Type = 64;
    pub const WdfRequestTypeNoFormat: Type = 255;
    pub const WdfRequestTypeMax: Type = 256;
}
pub type WDF_REQUEST_TYPE = _WDF_REQUEST_TYPE::Type;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct WDFWORKITEM__ {
    pub unused: i32,
}
pub type WDFWORKITEM = *mut WDFWORKITEM__;
pub type EVT_WDF_WORKITEM = Option<unsafe extern "C" fn(WorkItem: WDFWORKITEM)>;
pub type PFN_WDF_WORKITEM = EVT_WDF_WORKITEM;
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_WORKITEM_CONFIG {
    pub Size: ULONG,
    pub EvtWorkItemFunc: PFN_WDF_WORKITEM,
    pub AutomaticSerialization: BOOLEAN,
}
pub type WDF_WORKITEM_CONFIG = _WDF_WORKITEM_CONFIG;
pub type PWDF_WORKITEM_CONFIG = *mut _WDF_WORKITEM_CONFIG;
