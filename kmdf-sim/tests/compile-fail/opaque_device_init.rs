// WDFDEVICE_INIT is opaque in wdk-sys as in C (`_unused: [u8; 0]`): only the
// framework makes one, a driver holds the PWDFDEVICE_INIT it is handed.
fn main() {
    let _init = kmdf_sim::WDFDEVICE_INIT { _unused: [] };
}
