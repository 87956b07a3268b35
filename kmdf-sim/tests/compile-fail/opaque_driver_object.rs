// DRIVER_OBJECT is opaque in the simulator: driver code may pass it on, never
// read its fields.
fn main() {
    let d = kmdf_sim::DRIVER_OBJECT::default();
    let _ = d.id;
}
