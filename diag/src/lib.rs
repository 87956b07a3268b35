//! `wdfkey-diag`: diagnosis of WDFKEY handle misuse for drivers written in
//! any language — `scan` reads C, C++ and Rust driver sources, `triage` reads
//! a crash's `!analyze -v` text. Neither needs the simulator or the
//! wdfkey-guard driver; the `wdfkey-diag` binary offers both, and
//! `wdfkey-harness` offers them as two of its subcommands.

pub mod bugcheck;
pub mod cite;
pub mod cli;
pub mod dump;
pub mod input;
pub mod kernel;
pub mod scan;
pub mod triage;
pub mod userdump;
pub mod verifier;
