// The binding macro expands to an unsafe call, as wdk-sys's does.
use kmdf_sim::call_unsafe_wdf_function_binding;
fn main() {
    let key: kmdf_sim::WDFKEY = core::ptr::null_mut();
    call_unsafe_wdf_function_binding!(WdfRegistryClose, key);
}
