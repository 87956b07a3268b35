//! Every Windows bug check code by name, with what its arguments mean and
//! whether user mode can cause it where Microsoft's page says so: the table
//! is generated from `diag/data/bugchecks.tsv` (which names its sources) by
//! `diag/tests/bugcheck_table.rs`, which also fails when the generated file
//! is not current.

#[rustfmt::skip]
#[path = "bugcheck_table.rs"]
mod table;

/// One bug check code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BugCheck {
    /// The code.
    pub code: u32,
    /// Its name (`INVALID_KERNEL_HANDLE`).
    pub name: &'static str,
    /// Whether user mode can cause it: `None` where the page does not say.
    pub user_mode: Option<bool>,
    /// What Arg1..Arg4 mean (empty: not written down).
    pub args: [&'static str; 4],
}

/// The whole table, ordered by code.
pub fn all() -> &'static [BugCheck] {
    table::BUGCHECKS
}

/// The entry of `code`, if the table has it. Codes above 32 bits are
/// looked up by their low 32 bits only when the high bits are a sign
/// extension (as WinDbg prints some).
pub fn lookup(code: u64) -> Option<&'static BugCheck> {
    let code = match code >> 32 {
        0 | 0xFFFF_FFFF => code as u32,
        _ => return None,
    };
    let t = all();
    t.binary_search_by_key(&code, |b| b.code).ok().map(|i| &t[i])
}

/// Where the table's names and meanings come from (the data file's header
/// says it in full).
pub const SOURCE: &str = "learn.microsoft.com, Bug check code reference";
