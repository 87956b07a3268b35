// Value-returning DDIs keep #[must_use] through the binding macro.
#![deny(unused_must_use)]
use kmdf_sim::call_unsafe_wdf_function_binding;
fn main() {
    let mut key: kmdf_sim::WDFKEY = core::ptr::null_mut();
    let name = kmdf_sim::UNICODE_STRING::default();
    // SAFETY: the test never runs; it must not compile.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRegistryOpenKey,
            core::ptr::null_mut(),
            &name,
            kmdf_sim::KEY_READ,
            kmdf_sim::WDF_NO_OBJECT_ATTRIBUTES,
            &mut key
        )
    };
}
