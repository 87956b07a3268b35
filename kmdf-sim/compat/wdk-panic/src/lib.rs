//! `wdk-panic` off Windows: no `#[panic_handler]`.
//!
//! On Windows this crate supplies the `no_std` driver's panic handler. A
//! driver linked into a test binary on Linux uses std's instead (two panic
//! handlers would not link). A driver panic inside one of the simulator's
//! entry points is recorded as the stop wdk-panic raises (bug check
//! 0x52504E43); a panic inside an `extern "C"` callback cannot unwind and
//! aborts the test process, which `cargo nextest` isolates per test.
#![no_std]
