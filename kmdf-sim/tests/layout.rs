//! x64 layouts of the structs the simulator reads or writes byte-wise.
//!
//! The shapes table lists fields by name, not in declaration order; these
//! sizes and offsets follow from the C declarations (KMDF 1.33 headers via
//! `kmdf-1.33-types.tsv`; the documented NT layouts, F21 for the 12-byte
//! KEY_VALUE_PARTIAL_INFORMATION header).

use kmdf_sim::*;
use std::mem::{offset_of, size_of};

#[test]
fn nt_struct_layouts() {
    assert_eq!(size_of::<UNICODE_STRING>(), 16);
    assert_eq!(offset_of!(UNICODE_STRING, Buffer), 8);
    assert_eq!(size_of::<OBJECT_ATTRIBUTES>(), 48);
    assert_eq!(offset_of!(OBJECT_ATTRIBUTES, ObjectName), 16);
    assert_eq!(offset_of!(KEY_BASIC_INFORMATION, Name), 16);
    assert_eq!(offset_of!(KEY_FULL_INFORMATION, SubKeys), 20);
    assert_eq!(offset_of!(KEY_FULL_INFORMATION, Values), 32);
    assert_eq!(offset_of!(KEY_FULL_INFORMATION, Class), 44);
    assert_eq!(offset_of!(KEY_VALUE_BASIC_INFORMATION, Name), 12);
    assert_eq!(offset_of!(KEY_VALUE_FULL_INFORMATION, Name), 20);
    assert_eq!(offset_of!(KEY_VALUE_PARTIAL_INFORMATION, Data), 12);
    assert_eq!(size_of::<LARGE_INTEGER>(), 8);
}

#[test]
fn wdf_struct_layouts() {
    assert_eq!(size_of::<WDF_OBJECT_ATTRIBUTES>(), 56);
    assert_eq!(offset_of!(WDF_OBJECT_ATTRIBUTES, ParentObject), 32);
    assert_eq!(size_of::<WDF_DRIVER_CONFIG>(), 32);
    assert_eq!(size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>(), 40);
    assert_eq!(size_of::<WDF_DRIVER_GLOBALS>(), 56);
    assert_eq!(offset_of!(WDF_DRIVER_GLOBALS, DriverName), 16);
    // wdfio.h 1.33: Size, DispatchType, PowerManaged, two BOOLEANs, eight
    // callbacks, the Settings union, Driver.
    assert_eq!(offset_of!(WDF_IO_QUEUE_CONFIG, DefaultQueue), 13);
    assert_eq!(offset_of!(WDF_IO_QUEUE_CONFIG, EvtIoDefault), 16);
    assert_eq!(offset_of!(WDF_IO_QUEUE_CONFIG, Settings), 80);
    assert_eq!(offset_of!(WDF_IO_QUEUE_CONFIG, Driver), 88);
    assert_eq!(size_of::<WDF_IO_QUEUE_CONFIG>(), 96);
    assert_eq!(size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>(), 8 + 17 * 8);
}

#[test]
fn handle_types_are_thin_pointers() {
    assert_eq!(size_of::<WDFKEY>(), 8);
    assert_eq!(size_of::<HANDLE>(), 8);
    assert_eq!(size_of::<NTSTATUS>(), 4, "LLP64: NTSTATUS is a 32-bit LONG");
    assert_eq!(size_of::<ULONG>(), 4);
    assert_eq!(size_of::<KIRQL>(), 1);
}
