//! WDFMEMORY and WDFSTRING objects, and the version queries.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::*;

mod support;

const DRV: &str = "memdrv.sys";

fn memory(n: usize) -> Result<(WDFMEMORY, PVOID), NTSTATUS> {
    let (mut memory, mut buffer): (WDFMEMORY, PVOID) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: writable slots; no attributes.
    let st = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfMemoryCreate,
            WDF_NO_OBJECT_ATTRIBUTES,
            _POOL_TYPE::NonPagedPoolNx,
            0x4d656d31,
            n,
            &mut memory,
            &mut buffer
        )
    };
    if NT_SUCCESS(st) { Ok((memory, buffer)) } else { Err(st) }
}

#[test]
fn memory_objects_copy_in_and_out_within_their_bounds() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "Test", || {
        let (mem, buffer) = memory(8).expect("created");
        let mut size = 0usize;
        // SAFETY: a live memory object; a writable size slot.
        let got = unsafe { call_unsafe_wdf_function_binding!(WdfMemoryGetBuffer, mem, &mut size) };
        assert_eq!((got, size), (buffer, 8));
        let mut data = *b"abcd";
        // SAFETY: a live object; `data` has 4 readable bytes.
        let st =
            unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyFromBuffer, mem, 4, data.as_mut_ptr().cast(), 4) };
        assert_eq!(st, STATUS_SUCCESS);
        let mut out = [0u8; 8];
        // SAFETY: `out` has 8 writable bytes.
        let st =
            unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, mem, 0, out.as_mut_ptr().cast(), 8) };
        assert_eq!((st, &out), (STATUS_SUCCESS, b"\0\0\0\0abcd"));
        // SAFETY: as above; the range is the defect under test.
        let st =
            unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, mem, 5, out.as_mut_ptr().cast(), 4) };
        assert_eq!(st, STATUS_INVALID_BUFFER_SIZE);
        // SAFETY: as above.
        let st = unsafe {
            call_unsafe_wdf_function_binding!(WdfMemoryCopyFromBuffer, mem, usize::MAX, data.as_mut_ptr().cast(), 2)
        };
        assert_eq!(st, STATUS_INTEGER_OVERFLOW);
        assert_eq!(memory(0), Err(STATUS_INVALID_PARAMETER));
        // SAFETY: the object this closure created.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, mem as WDFOBJECT) };
    })
    .expect("no stop");
    assert!(m.live_objects().is_empty(), "{:?}", m.live_objects());
}

fn text_of(string: WDFSTRING) -> String {
    let mut us = UNICODE_STRING::default();
    // SAFETY: a live string; a writable UNICODE_STRING.
    unsafe { call_unsafe_wdf_function_binding!(WdfStringGetUnicodeString, string, &mut us) };
    if us.Length == 0 {
        return String::new();
    }
    // SAFETY: Length bytes at Buffer while the string lives.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(us.Buffer, usize::from(us.Length / 2)) })
}

fn string(text: Option<&str>) -> WDFSTRING {
    let w = text.map(testing::wide);
    let mut s: WDFSTRING = std::ptr::null_mut();
    let src = w.as_ref().map_or(std::ptr::null(), |w| std::ptr::from_ref(&w.us));
    // SAFETY: a valid or null source, no attributes, a writable slot.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfStringCreate, src, WDF_NO_OBJECT_ATTRIBUTES, &mut s) };
    assert_eq!(st, STATUS_SUCCESS);
    s
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
    let wdf_driver = match support::create_driver(driver, path, None, None) {
        Ok(d) => d,
        Err(st) => return st,
    };
    assert_eq!(text_of(string(Some("hello"))), "hello");
    let empty = string(None);
    assert_eq!(text_of(empty), "");
    // SAFETY: live driver and string.
    let st = unsafe { call_unsafe_wdf_function_binding!(WdfDriverRetrieveVersionString, wdf_driver, empty) };
    assert_eq!(st, STATUS_SUCCESS);
    assert_eq!(text_of(empty), "Kernel Mode Driver Framework version 1.33");
    let available = |major: u32, minor: u32, size: usize| {
        let mut p = WDF_DRIVER_VERSION_AVAILABLE_PARAMS { Size: size as u32, MajorVersion: major, MinorVersion: minor };
        // SAFETY: a live driver; valid params.
        unsafe { call_unsafe_wdf_function_binding!(WdfDriverIsVersionAvailable, wdf_driver, &mut p) != 0 }
    };
    let size = size_of::<WDF_DRIVER_VERSION_AVAILABLE_PARAMS>();
    assert!(available(1, 0, size) && available(1, 33, size));
    assert!(!available(1, 35, size) && !available(2, 0, size) && !available(1, 0, 4));
    STATUS_SUCCESS
}

#[test]
fn strings_and_the_version_queries() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load(DRV, "memdrv", Some(entry)).expect("no stop"), STATUS_SUCCESS);
    assert_eq!(m.live_objects().iter().filter(|(_, t)| *t == "WDFSTRING").count(), 2, "parented to the driver (F10)");
    let report = m.unload().expect("no stop");
    assert!(report.leaked_objects.is_empty(), "strings go with the driver: {report:?}");
}

/// How `call` stops on a fresh machine without verifiers: (code, first two parameters).
fn stop_of(call: impl FnOnce()) -> (u32, u64, u64) {
    let m = Machine::new(Settings::without_verifiers());
    let stop = m.run(DRV, "Test", call).expect_err("stops");
    let b = stop.bug_check().expect("bug check");
    (b.code, b.params[0], b.params[1])
}

#[test]
fn the_handle_is_checked_before_the_drivers_pointer_and_a_zero_copy_is_refused() {
    // F91, fxmemorybufferapi.cpp / fxstringapi.cpp / fxdeviceinterfaceapi.cpp:
    // FxObjectHandleGetPtr first (a NULL handle: 0x10D {5, 0}), then
    // FxPointerNotNull on the driver's pointer (0x10D {4}); a copy of zero
    // bytes is STATUS_INVALID_PARAMETER.
    use std::ptr::{null, null_mut};
    let both_null = [
        stop_of(|| {
            // SAFETY: NULL memory and NULL buffer.
            let _ = unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, null_mut(), 0, null_mut(), 1) };
        }),
        stop_of(|| {
            // SAFETY: NULL memory and NULL buffer.
            let _ = unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyFromBuffer, null_mut(), 0, null_mut(), 1) };
        }),
        stop_of(|| {
            // SAFETY: NULL string and NULL out-pointer.
            unsafe { call_unsafe_wdf_function_binding!(WdfStringGetUnicodeString, null_mut(), null_mut()) };
        }),
        stop_of(|| {
            // SAFETY: NULL device and NULL GUID.
            let _ = unsafe {
                call_unsafe_wdf_function_binding!(WdfDeviceCreateDeviceInterface, null_mut(), null(), null())
            };
        }),
    ];
    assert_eq!(both_null, [(0x10D, 0x5, 0); 4], "the handle first");
    let pointer_null = [
        stop_of(|| {
            let (mem, _) = memory(8).expect("created");
            // SAFETY: a live object; the NULL buffer is the defect under test.
            let _ = unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, mem, 0, null_mut(), 1) };
        }),
        stop_of(|| {
            let s = string(Some("x"));
            // SAFETY: a live string; the NULL out-pointer is the defect under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfStringGetUnicodeString, s, null_mut()) };
        }),
    ];
    assert_eq!(pointer_null, [(0x10D, 0x4, 0); 2], "then the pointer");
    let m = Machine::new(Settings::default());
    let st = m
        .run(DRV, "Test", || {
            let (mem, _) = memory(8).expect("created");
            let mut out = [0u8; 1];
            // SAFETY: a live object and a writable byte; the zero count is the defect under test.
            unsafe { call_unsafe_wdf_function_binding!(WdfMemoryCopyToBuffer, mem, 0, out.as_mut_ptr().cast(), 0) }
        })
        .expect("no stop");
    assert_eq!(st, STATUS_INVALID_PARAMETER);
}
