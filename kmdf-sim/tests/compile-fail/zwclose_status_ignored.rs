// The NTSTATUS of ZwClose is #[must_use], as in wdk-sys.
#![deny(unused_must_use)]
fn main() {
    // SAFETY: the test never runs; it must not compile.
    unsafe { kmdf_sim::ntddk::ZwClose(core::ptr::null_mut()) };
}
