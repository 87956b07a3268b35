//! DbgPrint / DbgPrintEx from driver code (F81): C-variadic calls, formatted
//! with the kernel's conversions into the machine's debug output.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{DbgPrint, DbgPrintEx};
use kmdf_sim::*;

const DRV: &str = "dbgp.sys";

#[test]
fn driver_output_is_formatted_into_the_log() {
    let m = Machine::new(Settings::default());
    let name: Vec<u16> = "Wide".encode_utf16().chain([0]).collect();
    let mut units: Vec<u16> = "Counted".encode_utf16().collect();
    let counted = UNICODE_STRING { Length: 14, MaximumLength: 14, Buffer: units.as_mut_ptr() };
    let status = m
        .run(DRV, "DriverEntry", || {
            let calls = [
                // SAFETY: every conversion gets the argument type it asks for.
                unsafe { DbgPrint(c"Hello World!\n".as_ptr()) },
                // SAFETY: every conversion gets the argument type it asks for.
                unsafe {
                    DbgPrint(c"%d %u %lx %I64d %p\n".as_ptr(), -7_i32, 7_u32, 0xABCD_u32, -(1_i64 << 40), 0x1000_usize)
                },
                // SAFETY: every conversion gets the argument type it asks for.
                unsafe {
                    DbgPrint(
                        c"[%s] [%ws] [%wZ] [%-6s] [%08X]\n".as_ptr(),
                        c"narrow".as_ptr(),
                        name.as_ptr(),
                        &counted,
                        c"ab".as_ptr(),
                        0xBEEF_u32,
                    )
                },
                // SAFETY: every conversion gets the argument type it asks for.
                unsafe { DbgPrintEx(77, 3, c"level %u of component %u\n".as_ptr(), 3_u32, 77_u32) },
            ];
            calls.into_iter().max().unwrap_or_default()
        })
        .expect("no stop");
    assert_eq!(status, 0, "STATUS_SUCCESS");
    assert_eq!(
        m.debug_output(),
        [
            "Hello World!",
            "-7 7 abcd -1099511627776 0000000000001000",
            "[narrow] [Wide] [Counted] [ab    ] [0000BEEF]",
            "level 3 of component 77",
        ]
    );
    assert_eq!(m.ddi_calls().get("DbgPrint"), Some(&3));
    assert_eq!(m.ddi_calls().get("DbgPrintEx"), Some(&1));
    assert!(m.findings().is_empty(), "{:?}", m.findings());
}

#[test]
fn a_unicode_conversion_above_passive_level_is_a_finding() {
    let m = Machine::new(Settings::default());
    let name: Vec<u16> = "w".encode_utf16().chain([0]).collect();
    m.run_at_irql(DRV, "EvtTimerFunc", DISPATCH_LEVEL as u8, || {
        // SAFETY: `%s` gets a C string.
        let _ = unsafe { DbgPrint(c"%s\n".as_ptr(), c"narrow is fine".as_ptr()) };
        // SAFETY: `%ws` gets a NUL-terminated UTF-16 string.
        unsafe { DbgPrint(c"%ws\n".as_ptr(), name.as_ptr()) }
    })
    .expect("no stop");
    assert_eq!(m.debug_output(), ["narrow is fine", "w"]);
    let findings = m.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("DbgPrint with a Unicode conversion at IRQL 2"), "{findings:?}");
    assert!(findings[0].starts_with(DRV), "blames the driver: {findings:?}");
}
