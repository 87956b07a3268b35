//! The generator of kmdf-sim's `src/model/routine_table.rs`: one
//! identity per routine the simulator can serve, so a DDI's entry names its
//! routine by an index instead of a string.
//!
//! Inputs (in `kmdf-sim/data/`):
//! * `kmdf-1.33-ddi.tsv`: every KMDF 1.33 DDI with its `irql_max` column
//!   (the headers' SAL annotations), in the table's order;
//! * `ddi-irql-overrides.tsv`: the DDIs whose simulated maximum IRQL is not
//!   the table's column (an empty column, or an annotation that holds for
//!   one argument value only), each with the basis of its value;
//! * `kernel-routines.tsv`: the kernel routines the simulator serves, with
//!   their maximum IRQL (`-`: no rule) and its basis.
//!
//! The output: `enum Routine` (`#[repr(u16)]`, DDIs first in the table's
//! order, then the kernel routines in their file's order), `ALL` (every
//! variant in order), `NAME`, `SYMBOL` and `MAX_IRQL` indexed by it, and
//! `DDI_COUNT` (the routines below it are Wdf01000.sys's DDIs, the rest
//! ntoskrnl.exe's routines). A DDI's symbol is the framework's export as the
//! debugger prints it, `Wdf01000!imp_<DDI>`; a kernel routine's is `nt!<name>`. Every DDI row must have a level (its column or
//! an override); an override must name a DDI of the table and change its
//! value; a kernel routine must not also be a DDI; no name may repeat.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The DDI table, relative to `kmdf-sim/`.
pub const DDI_TABLE: &str = "data/kmdf-1.33-ddi.tsv";
/// The DDI overrides, relative to `kmdf-sim/`.
pub const OVERRIDES: &str = "data/ddi-irql-overrides.tsv";
/// The kernel routines, relative to `kmdf-sim/`.
pub const KERNEL_ROUTINES: &str = "data/kernel-routines.tsv";
/// The generated file, relative to `kmdf-sim/`.
pub const OUTPUT: &str = "src/model/routine_table.rs";

/// The KIRQL of a level name the inputs use; `None` for anything else.
#[must_use]
pub fn level(name: &str) -> Option<u8> {
    Some(match name {
        "PASSIVE_LEVEL" => 0,
        "APC_LEVEL" => 1,
        "DISPATCH_LEVEL" => 2,
        "HIGH_LEVEL" => 15,
        _ => return None,
    })
}

/// One routine of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutineRow {
    /// Its name, e.g. `WdfRegistryOpenKey`.
    pub name: String,
    /// Its maximum IRQL; `None`: no rule.
    pub max_irql: Option<u8>,
    /// Where the value comes from, for the variant's documentation.
    pub basis: String,
}

/// Rows of a tab-separated file after its header: (line number, columns).
fn tsv_rows<'a>(file: &str, text: &'a str, header: &[&str]) -> Result<Vec<(usize, Vec<&'a str>)>, Vec<String>> {
    let mut lines = text.lines().enumerate();
    let first = lines.next().map(|(_, l)| l.split('\t').collect::<Vec<_>>());
    if first.as_deref().is_none_or(|h| !h.starts_with(header)) {
        return Err(vec![format!("{file}: line 1: expected the header {:?}", header.join("\t"))]);
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < header.len() {
            problems.push(format!("{file}: line {}: {} columns, expected {}", i + 1, cols.len(), header.len()));
        } else {
            out.push((i + 1, cols));
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The routines, in the output's order, from the three inputs' texts.
///
/// # Errors
/// Every problem found: a bad header or row, an unknown level, a DDI row
/// without a level, an override of no DDI or of nothing, a repeated name,
/// a name that is not a Rust type-like identifier.
pub fn routine_rows(ddi: &str, overrides: &str, kernel: &str) -> Result<Vec<RoutineRow>, Vec<String>> {
    let mut problems = Vec::new();
    let ddi_rows = tsv_rows(DDI_TABLE, ddi, &["ddi", "return_type", "irql_max"]);
    let override_rows = tsv_rows(OVERRIDES, overrides, &["ddi", "irql_max", "basis"]);
    let kernel_rows = tsv_rows(KERNEL_ROUTINES, kernel, &["routine", "irql_max", "basis"]);
    let (ddi_rows, override_rows, kernel_rows) = match (ddi_rows, override_rows, kernel_rows) {
        (Ok(d), Ok(o), Ok(k)) => (d, o, k),
        (d, o, k) => {
            for r in [d, o, k] {
                problems.extend(r.err().unwrap_or_default());
            }
            return Err(problems);
        }
    };
    let mut by_override: BTreeMap<&str, (usize, Option<u8>, &str)> = BTreeMap::new();
    for (line, cols) in &override_rows {
        let value = level(cols[1]);
        if value.is_none() {
            problems.push(format!("{OVERRIDES}: line {line}: {}: unknown level {:?}", cols[0], cols[1]));
        }
        if cols[2].trim().is_empty() {
            problems.push(format!("{OVERRIDES}: line {line}: {}: no basis given", cols[0]));
        }
        if by_override.insert(cols[0], (*line, value, cols[2])).is_some() {
            problems.push(format!("{OVERRIDES}: line {line}: {}: listed twice", cols[0]));
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut used = BTreeSet::new();
    for (line, cols) in &ddi_rows {
        let (name, column, header) = (cols[0], cols[2], cols.get(5).copied().unwrap_or(""));
        let from_column = level(column);
        if from_column.is_none() && !column.is_empty() {
            problems.push(format!("{DDI_TABLE}: line {line}: {name}: unknown irql_max {column:?}"));
        }
        let (max_irql, basis) = match by_override.get(name) {
            Some(&(oline, value, basis)) => {
                used.insert(name);
                if value.is_some() && value == from_column {
                    problems.push(format!("{OVERRIDES}: line {oline}: {name}: the table already says {column}"));
                }
                (value, basis.to_string())
            }
            None if from_column.is_some() => (from_column, format!("{header}: {column}")),
            None => {
                if column.is_empty() {
                    problems
                        .push(format!("{DDI_TABLE}: line {line}: {name}: no irql_max and no override in {OVERRIDES}"));
                }
                (None, String::new())
            }
        };
        out.push(RoutineRow { name: name.to_string(), max_irql, basis });
    }
    for (name, (line, ..)) in &by_override {
        if !used.contains(name) {
            problems.push(format!("{OVERRIDES}: line {line}: {name}: not a DDI of {DDI_TABLE}"));
        }
    }
    for (line, cols) in &kernel_rows {
        let (name, column, basis) = (cols[0], cols[1], cols[2]);
        let max_irql = level(column);
        if max_irql.is_none() && column != "-" {
            problems
                .push(format!("{KERNEL_ROUTINES}: line {line}: {name}: unknown level {column:?} (`-` for no rule)"));
        }
        if basis.trim().is_empty() {
            problems.push(format!("{KERNEL_ROUTINES}: line {line}: {name}: no basis given"));
        }
        out.push(RoutineRow { name: name.to_string(), max_irql, basis: basis.to_string() });
    }
    for r in &out {
        if !is_identifier(&r.name) {
            problems.push(format!("{}: not a routine name (ASCII letters and digits, upper-case first)", r.name));
        }
        if !seen.insert(r.name.as_str()) {
            problems.push(format!("{}: listed twice (a DDI row, or a kernel routine that is also a DDI)", r.name));
        }
    }
    if out.len() > usize::from(u16::MAX) {
        problems.push(format!("{} routines: more than a u16 holds", out.len()));
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// What [`generate`] made, beside the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// DDIs (rows of the DDI table).
    pub ddis: usize,
    /// DDIs whose value is an override.
    pub overridden: usize,
    /// Kernel routines.
    pub kernel: usize,
}

fn level_text(max: Option<u8>) -> &'static str {
    match max {
        Some(0) => "Some(0)",
        Some(1) => "Some(1)",
        Some(2) => "Some(2)",
        Some(15) => "Some(15)",
        _ => "None",
    }
}

/// A routine's symbol as the debugger prints it: a DDI is the framework's
/// `imp_` export (`Wdf01000!imp_WdfRegistryClose`), a kernel routine the
/// kernel's (`nt!ZwClose`).
#[must_use]
pub fn symbol(name: &str, ddi: bool) -> String {
    if ddi { format!("Wdf01000!imp_{name}") } else { format!("nt!{name}") }
}

/// The text of `src/model/routine_table.rs` from the three inputs' texts.
///
/// # Errors
/// [`routine_rows`]'s problems.
pub fn generate(ddi: &str, overrides: &str, kernel: &str) -> Result<(String, Counts), Vec<String>> {
    let rows = routine_rows(ddi, overrides, kernel)?;
    let kernel_count = tsv_rows(KERNEL_ROUTINES, kernel, &["routine"]).map_or(0, |r| r.len());
    let counts = Counts {
        ddis: rows.len() - kernel_count,
        overridden: tsv_rows(OVERRIDES, overrides, &["ddi"]).map_or(0, |r| r.len()),
        kernel: kernel_count,
    };
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "//! GENERATED by kmdf-sim/gen (the kmdf-sim-gen package); do not edit.");
    let _ = writeln!(w, "//! Regenerate: `cargo run -p kmdf-sim-gen -- write routines`.");
    let _ = writeln!(w, "//!");
    let _ = writeln!(w, "//! Every routine the simulator can serve: the {} DDIs of {DDI_TABLE}", counts.ddis);
    let _ = writeln!(w, "//! (maximum IRQL: the `irql_max` column; {} from {OVERRIDES}),", counts.overridden);
    let _ = writeln!(w, "//! then the {} kernel routines of {KERNEL_ROUTINES}.", counts.kernel);
    let _ = writeln!(w, "//! KIRQL values: PASSIVE_LEVEL 0, APC_LEVEL 1, DISPATCH_LEVEL 2, HIGH_LEVEL 15.");
    let _ = writeln!(w);
    let _ = writeln!(w, "/// A routine's identity: its position in [`NAME`] and [`MAX_IRQL`].");
    let _ = writeln!(w, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]");
    let _ = writeln!(w, "#[repr(u16)]");
    let _ = writeln!(
        w,
        "#[allow(\n    dead_code,\n    clippy::enum_variant_names,\n    reason = \"one variant per routine of the tables, named as the routine; the simulator serves some\"\n)]"
    );
    let _ = writeln!(w, "pub(crate) enum Routine {{");
    for (i, r) in rows.iter().enumerate() {
        let basis = if r.max_irql.is_none() && r.basis.is_empty() { "no rule" } else { r.basis.as_str() };
        let _ = writeln!(w, "    /// {basis}");
        let _ = writeln!(w, "    {} = {i},", r.name);
    }
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(w, "/// How many routines there are.");
    let _ = writeln!(w, "pub(crate) const COUNT: usize = {};", rows.len());
    let _ = writeln!(w);
    let _ = writeln!(w, "/// Every routine, in order: `ALL[r as usize] == r`.");
    let _ = writeln!(w, "#[allow(dead_code, reason = \"the tables' own tests iterate it\")]");
    let _ = writeln!(w, "pub(crate) const ALL: [Routine; COUNT] = [");
    for r in &rows {
        let _ = writeln!(w, "    Routine::{},", r.name);
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w);
    let _ = writeln!(w, "/// Each routine's name, by [`Routine`].");
    let _ = writeln!(w, "pub(crate) const NAME: [&str; COUNT] = [");
    for r in &rows {
        let _ = writeln!(w, "    \"{}\",", r.name);
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w);
    let _ = writeln!(w, "/// How many routines are the framework's DDIs: `Routine`s below it are");
    let _ = writeln!(w, "/// Wdf01000.sys's, the rest ntoskrnl.exe's.");
    let _ = writeln!(w, "pub(crate) const DDI_COUNT: usize = {};", counts.ddis);
    let _ = writeln!(w);
    let _ = writeln!(w, "/// Each routine's symbol as the debugger prints it, by [`Routine`].");
    let _ = writeln!(w, "pub(crate) const SYMBOL: [&str; COUNT] = [");
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(w, "    \"{}\",", symbol(&r.name, i < counts.ddis));
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w);
    let _ = writeln!(w, "/// Each routine's maximum IRQL (`None`: no rule), by [`Routine`].");
    let _ = writeln!(w, "pub(crate) const MAX_IRQL: [Option<u8>; COUNT] = [");
    for r in &rows {
        let _ = writeln!(w, "    {}, // {}", level_text(r.max_irql), r.name);
    }
    let _ = writeln!(w, "];");
    Ok((o, counts))
}

/// The file this checkout's inputs produce.
///
/// # Errors
/// An input unreadable, or [`routine_rows`]'s problems.
pub fn expected(kmdf_sim: &Path) -> Result<(String, Counts), String> {
    let read = |rel: &str| {
        std::fs::read_to_string(kmdf_sim.join(rel)).map_err(|e| format!("{}: {e}", kmdf_sim.join(rel).display()))
    };
    let (ddi, overrides, kernel) = (read(DDI_TABLE)?, read(OVERRIDES)?, read(KERNEL_ROUTINES)?);
    generate(&ddi, &overrides, &kernel).map_err(|p| p.join("\n"))
}

/// The `.rs` files of directory `dir` (below `kmdf_sim`), sorted.
fn rust_files(kmdf_sim: &Path, dir: &str) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<_> = std::fs::read_dir(kmdf_sim.join(dir))
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    Ok(files)
}

/// The surface's files that hold routines, each with the module a routine
/// of it is reached through: `src/surface/ddi/*.rs` (not `mod.rs`), then
/// `src/surface/ntddk.rs`, its own `src/surface/ntddk/*.rs` and the I/O
/// manager's `src/surface/wdm.rs`, which `ntddk` re-exports.
///
/// # Errors
/// A directory that cannot be read.
pub fn surface_sources(kmdf_sim: &Path) -> Result<Vec<(PathBuf, &'static str)>, String> {
    let mut files: Vec<_> = rust_files(kmdf_sim, "src/surface/ddi")?
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .map(|p| (p, "ddi"))
        .collect();
    files.push((kmdf_sim.join("src/surface/ntddk.rs"), "ntddk"));
    files.extend(rust_files(kmdf_sim, "src/surface/ntddk")?.into_iter().map(|p| (p, "ntddk")));
    files.push((kmdf_sim.join("src/surface/wdm.rs"), "ntddk"));
    Ok(files)
}
