//! `wdfkey`: the owned framework registry key (`RegKey`) for KMDF drivers in Rust.
//!
//! The key type itself arrives with its issue; this crate currently provides the
//! kernel-binding switch ([`sys`]) that the type will be written against, so that
//! the same source builds with `wdk-sys` on Windows and with the simulator elsewhere.
#![cfg_attr(not(test), no_std)]

pub mod sys;
