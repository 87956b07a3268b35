//! `wdk` off Windows: the safe layer of windows-drivers-rs over the
//! simulator's `wdk-sys`.
//!
//! `print!`/`println!`/`dbg!` write to the machine's debug output (where
//! DbgPrint writes on Windows; `kmdf_sim::control::Machine::debug_output`),
//! `paged_code!` checks the IRQL as wdk's does in debug builds, and
//! [`wdf::SpinLock`] / [`wdf::Timer`] wrap the framework objects.
#![no_std]

extern crate alloc;

pub mod wdf;

use wdk_sys::NTSTATUS;

/// Whether `nt_status` is a success or informational status.
#[must_use]
pub const fn nt_success(nt_status: NTSTATUS) -> bool {
    wdk_sys::NT_SUCCESS(nt_status)
}

#[doc(hidden)]
pub fn _print(args: core::fmt::Arguments<'_>) {
    wdk_sys::control::debug_print(&alloc::fmt::format(args));
}

#[doc(hidden)]
pub fn _paged_code(file: &str, line: u32) {
    wdk_sys::control::paged_code_check(file, line);
}

/// Prints to the debugger (the machine's debug output).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::_print(format_args!($($arg)*))
    };
}

/// Prints a line to the debugger (the machine's debug output).
#[macro_export]
macro_rules! println {
    () => {
        $crate::print!("\n")
    };
    ($($arg:tt)*) => {
        $crate::_print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// std's `dbg!`, printing to the debugger: `[file:line:column] expr = value`.
#[macro_export]
macro_rules! dbg {
    () => {
        $crate::println!("[{}:{}:{}]", file!(), line!(), column!())
    };
    ($val:expr $(,)?) => {
        match $val {
            tmp => {
                $crate::println!("[{}:{}:{}] {} = {:#?}", file!(), line!(), column!(), stringify!($val), &tmp);
                tmp
            }
        }
    };
    ($($val:expr),+ $(,)?) => {
        ($($crate::dbg!($val)),+,)
    };
}

/// `PAGED_CODE()`: in a debug build, stops the machine as wdk-panic would if
/// the code runs above APC_LEVEL.
#[macro_export]
macro_rules! paged_code {
    () => {
        if cfg!(debug_assertions) {
            $crate::_paged_code(file!(), line!());
        }
    };
}
