// K1: `into_raw` hands ownership over; the RegKey is gone.
fn use_after_into_raw(key: wdfkey::RegKey) {
    let _raw = key.into_raw();
    drop(key);
}
fn main() {}
