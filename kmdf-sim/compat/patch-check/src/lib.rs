//! No code: `tests/patch_block.rs` builds a scratch workspace that asks for
//! every windows-drivers-rs line through `patch.sh`'s block.
