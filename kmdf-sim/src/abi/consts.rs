//! The constants of the wdk-sys 0.5.2 surface that bindgen does not emit.
//!
//! wdk-sys hand-writes these in its own `constants.rs` (bindgen cannot
//! evaluate the headers' `((NTSTATUS)0xC0000001L)`-style and `ui64` macros),
//! so they are hand-written here too, with wdk-sys's names, types and values:
//! `STATUS_*` as `NTSTATUS`, `POOL_FLAG_*` as `POOL_FLAGS`, `WDF_NO_*` as null
//! pointers. Checked against the shapes table by `conformance.rs`. Every
//! other constant (`KEY_*`, `REG_*`, `OBJ_*`, the IRQLs, ...) is bindgen's, in
//! the generated `types.rs`.
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
pub const WDF_NO_OBJECT_ATTRIBUTES: PWDF_OBJECT_ATTRIBUTES = core::ptr::null_mut();
pub const WDF_NO_HANDLE: PVOID = core::ptr::null_mut();
pub const WDF_NO_CONTEXT: PVOID = core::ptr::null_mut();
pub const STATUS_INTEGER_OVERFLOW: NTSTATUS = -1_073_741_675_i32;
pub const POOL_FLAG_UNINITIALIZED: POOL_FLAGS = 0x0000_0000_0000_0002;
pub const POOL_FLAG_RAISE_ON_FAILURE: POOL_FLAGS = 0x0000_0000_0000_0020;
pub const POOL_FLAG_NON_PAGED: POOL_FLAGS = 0x0000_0000_0000_0040;
pub const POOL_FLAG_NON_PAGED_EXECUTE: POOL_FLAGS = 0x0000_0000_0000_0080;
pub const POOL_FLAG_PAGED: POOL_FLAGS = 0x0000_0000_0000_0100;
pub const STATUS_TIMEOUT: NTSTATUS = 258_i32;
