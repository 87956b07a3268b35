// ZwClose is an `unsafe extern` routine, as in wdk-sys: calling it outside
// `unsafe` does not compile.
fn main() {
    let _ = kmdf_sim::ntddk::ZwClose(core::ptr::null_mut());
}
