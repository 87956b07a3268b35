// A RegKey is neither Send nor Sync: it is dropped by the code that owns it
// (RegKey's docs, "Neither Send nor Sync"); into_raw/from_raw hand it over.
fn need_send<T: Send>() {}
fn need_sync<T: Sync>() {}
fn main() {
    need_send::<wdfkey::RegKey>();
    need_sync::<wdfkey::RegKey>();
    need_send::<wdfkey::KeyHandle<'static>>();
}
