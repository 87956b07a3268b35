// K1: a RegKey is not Clone: two owners would close one key twice.
fn two_owners(key: &wdfkey::RegKey) -> wdfkey::RegKey {
    Clone::clone(key)
}
fn main() {}
