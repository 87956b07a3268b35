//! The constants of the wdk-sys 0.5.2 surface that the simulator provides.
//!
//! Same names, types and values as wdk-sys: `STATUS_*` are `NTSTATUS` (from
//! wdk-sys's hand-written `constants.rs`), while `KEY_*`, `REG_*`, `OBJ_*` and the
//! IRQL levels are `u32` as bindgen evaluates their `#define`s. Checked by
//! `conformance.rs`.
#![allow(non_upper_case_globals, missing_docs)]

use super::types::*;

pub const STATUS_SUCCESS: NTSTATUS = 0_i32;
pub const STATUS_PENDING: NTSTATUS = 259_i32;
pub const STATUS_CANCELLED: NTSTATUS = -1_073_741_536_i32;
pub const STATUS_NO_SUCH_DEVICE: NTSTATUS = -1_073_741_810_i32;
pub const STATUS_UNSUCCESSFUL: NTSTATUS = -1_073_741_823_i32;
pub const STATUS_NOT_IMPLEMENTED: NTSTATUS = -1_073_741_822_i32;
pub const STATUS_INVALID_HANDLE: NTSTATUS = -1_073_741_816_i32;
pub const STATUS_INVALID_PARAMETER: NTSTATUS = -1_073_741_811_i32;
pub const STATUS_ACCESS_DENIED: NTSTATUS = -1_073_741_790_i32;
pub const STATUS_BUFFER_TOO_SMALL: NTSTATUS = -1_073_741_789_i32;
pub const STATUS_BUFFER_OVERFLOW: NTSTATUS = -2_147_483_643_i32;
pub const STATUS_OBJECT_TYPE_MISMATCH: NTSTATUS = -1_073_741_788_i32;
pub const STATUS_OBJECT_NAME_INVALID: NTSTATUS = -1_073_741_773_i32;
pub const STATUS_OBJECT_NAME_NOT_FOUND: NTSTATUS = -1_073_741_772_i32;
pub const STATUS_OBJECT_NAME_COLLISION: NTSTATUS = -1_073_741_771_i32;
pub const STATUS_OBJECT_PATH_NOT_FOUND: NTSTATUS = -1_073_741_766_i32;
pub const STATUS_INSUFFICIENT_RESOURCES: NTSTATUS = -1_073_741_670_i32;
pub const STATUS_INVALID_DEVICE_REQUEST: NTSTATUS = -1_073_741_808_i32;
pub const STATUS_INVALID_DEVICE_STATE: NTSTATUS = -1_073_741_436_i32;
pub const STATUS_NO_MORE_ENTRIES: NTSTATUS = -2_147_483_622_i32;
pub const STATUS_HANDLE_NOT_CLOSABLE: NTSTATUS = -1_073_741_259_i32;
pub const STATUS_KEY_DELETED: NTSTATUS = -1_073_741_444_i32;
pub const STATUS_NOT_SUPPORTED: NTSTATUS = -1_073_741_637_i32;
pub const STATUS_CANNOT_DELETE: NTSTATUS = -1_073_741_535_i32;
pub const STATUS_RESOURCE_DATA_NOT_FOUND: NTSTATUS = -1_073_741_687_i32;
pub const STATUS_INVALID_BUFFER_SIZE: NTSTATUS = -1_073_741_306_i32;
pub const STATUS_INFO_LENGTH_MISMATCH: NTSTATUS = -1_073_741_820_i32;
pub const STATUS_NOT_FOUND: NTSTATUS = -1_073_741_275_i32;
pub const DELETE: u32 = 65536;
pub const SYNCHRONIZE: u32 = 1048576;
pub const READ_CONTROL: u32 = 131072;
pub const STANDARD_RIGHTS_READ: u32 = 131072;
pub const STANDARD_RIGHTS_WRITE: u32 = 131072;
pub const STANDARD_RIGHTS_ALL: u32 = 2031616;
pub const GENERIC_READ: u32 = 2147483648;
pub const GENERIC_WRITE: u32 = 1073741824;
pub const GENERIC_ALL: u32 = 268435456;
pub const KEY_QUERY_VALUE: u32 = 1;
pub const KEY_SET_VALUE: u32 = 2;
pub const KEY_CREATE_SUB_KEY: u32 = 4;
pub const KEY_ENUMERATE_SUB_KEYS: u32 = 8;
pub const KEY_NOTIFY: u32 = 16;
pub const KEY_CREATE_LINK: u32 = 32;
pub const KEY_READ: u32 = 131097;
pub const KEY_WRITE: u32 = 131078;
pub const KEY_EXECUTE: u32 = 131097;
pub const KEY_ALL_ACCESS: u32 = 983103;
pub const REG_NONE: u32 = 0;
pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_QWORD: u32 = 11;
pub const REG_OPTION_NON_VOLATILE: u32 = 0;
pub const REG_OPTION_VOLATILE: u32 = 1;
pub const REG_CREATED_NEW_KEY: u32 = 1;
pub const REG_OPENED_EXISTING_KEY: u32 = 2;
pub const OBJ_INHERIT: u32 = 2;
pub const OBJ_CASE_INSENSITIVE: u32 = 64;
pub const OBJ_KERNEL_HANDLE: u32 = 512;
pub const PASSIVE_LEVEL: u32 = 0;
pub const APC_LEVEL: u32 = 1;
pub const DISPATCH_LEVEL: u32 = 2;
pub const HIGH_LEVEL: u32 = 15;
pub const PLUGPLAY_REGKEY_DEVICE: u32 = 1;
pub const PLUGPLAY_REGKEY_DRIVER: u32 = 2;
pub const PLUGPLAY_REGKEY_CURRENT_HWPROFILE: u32 = 4;
pub const WDF_REGKEY_DEVICE_SUBKEY: u32 = 0;
pub const WDF_REGKEY_DRIVER_SUBKEY: u32 = 0;
pub const WDF_NO_OBJECT_ATTRIBUTES: PWDF_OBJECT_ATTRIBUTES = core::ptr::null_mut();
pub const WDF_NO_HANDLE: PVOID = core::ptr::null_mut();
pub const WDF_NO_CONTEXT: PVOID = core::ptr::null_mut();
pub const FILE_DEVICE_UNKNOWN: u32 = 34;
pub const METHOD_BUFFERED: u32 = 0;
pub const FILE_ANY_ACCESS: u32 = 0;
pub const FILE_READ_ACCESS: u32 = 1;
pub const FILE_WRITE_ACCESS: u32 = 2;
pub const TRUE: u32 = 1;
pub const FALSE: u32 = 0;
