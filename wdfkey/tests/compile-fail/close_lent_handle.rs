// K2: the lent handle is not a HANDLE: it cannot be passed to ZwClose.
fn close_lent_handle(key: &wdfkey::RegKey) {
    // SAFETY: never runs; it must not compile.
    let _ = unsafe { kmdf_sim::ntddk::ZwClose(key.wdm_handle()) };
}
fn main() {}
