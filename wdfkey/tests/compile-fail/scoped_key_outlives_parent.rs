// K3: a key scoped to a parent object cannot outlive the scope that borrows it.
use wdfkey::{Access, ParentObject, RegKey, ScopedKey};

fn scoped_key_outlives_parent(params: &RegKey) -> Option<ScopedKey<'static>> {
    let request: kmdf_sim::WDFREQUEST = core::ptr::null_mut();
    // SAFETY: never runs; it must not compile.
    let parent = unsafe { ParentObject::from_handle(&request) };
    params.open_subkey_scoped("Sub", Access::READ, parent).ok()
}
fn main() {}
