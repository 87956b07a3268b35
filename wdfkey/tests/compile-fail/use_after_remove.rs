// K1: `remove` consumes the key; it cannot be used (or dropped) again.
fn use_after_remove(key: wdfkey::RegKey) {
    let _ = key.remove();
    let _ = key.query_u32("Value");
}
fn main() {}
