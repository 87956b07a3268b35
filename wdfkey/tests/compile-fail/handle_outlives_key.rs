// K2: the lent WDM handle cannot outlive the key it came from.
fn handle_outlives_key(key: wdfkey::RegKey) -> wdfkey::KeyHandle<'static> {
    let handle = key.wdm_handle();
    drop(key);
    handle
}
fn main() {}
