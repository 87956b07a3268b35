//! The generator of kmdf-sim's `src/abi/types.rs`: the types and
//! constants of the simulator's wdk-sys 0.5.2 surface, copied from the real
//! wdk-sys 0.5.2 bindings (`kmdf-sim/data/wdk-sys-0.5.2-bindings.tar.xz`:
//! bindgen 0.73.2 output for x86_64-pc-windows-msvc made with wdk-build's own
//! configuration) instead of written by hand.
//!
//! It reads the roots in `kmdf-sim/data/surface-roots.txt` (the types and
//! constants the simulator, wdfkey, the drivers and the compat crates name),
//! parses the bindings' `types.rs` and `constants.rs` with `syn`, takes the
//! transitive closure of the roots over every path an item mentions (a
//! struct's field types, an alias's target, a callback's parameter types, an
//! enum alias's module, a constant's type) and writes each item of the
//! closure as bindgen wrote it — its source text, in bindgen's order —
//! together with the `impl` blocks of the types it contains (`Default`,
//! bitfield accessors) and the layout assertions bindgen puts after each
//! struct and union. Two rewrites, both of whole identifier paths:
//! * `::core::ffi::c_long` / `::core::ffi::c_ulong` become `i32` / `u32`.
//!   Windows is LLP64: the Windows bindings' `c_long` is 32 bits, while
//!   `core::ffi::c_long` on a 64-bit Linux host is 64. bindgen's own layout
//!   assertions, copied with the structs, prove the result has Windows' sizes
//!   and offsets on the host.
//! * `::std::` paths become `::core::` (the surface is core-only; bindgen was
//!   run with `use_core`, so there are none today).
//!
//! `extern` blocks (the routines and data the Windows image imports) are not
//! copied: the simulator defines the routines it implements itself, each
//! checked against its bindgen declaration by kmdf-sim's `tests/bindings.rs`.
//!
//! Run: `cargo run -p kmdf-sim-gen -- write` (or `check`); the test
//! `cargo test -p kmdf-sim-gen` fails when the checked-in file is not what
//! this produces. The same commands write or check the routine table
//! (`src/model/routine_table.rs`, [`routines`]).

pub mod coverage;
pub mod native;
pub mod routines;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use syn::spanned::Spanned as _;
use syn::visit::Visit;

/// The archive's file name in `kmdf-sim/data/` (and in `../shared/data`).
pub const ARCHIVE: &str = "wdk-sys-0.5.2-bindings.tar.xz";
/// The roots, relative to `kmdf-sim/`.
pub const ROOTS: &str = "data/surface-roots.txt";
/// The generated file, relative to `kmdf-sim/`.
pub const OUTPUT: &str = "src/abi/types.rs";
/// The bindings' files the surface is taken from, in the order they are written.
pub const SOURCES: [&str; 2] = ["types.rs", "constants.rs"];

/// `kmdf-sim/` of the checkout: the parent of `kmdf-sim/gen` as cargo names
/// it in `CARGO_MANIFEST_DIR` when it runs this package (`cargo run`, `cargo
/// test`: a build shared between two checkouts then writes into the one it
/// is run in), else as it was at build time.
#[must_use]
pub fn kmdf_sim_dir() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|m| m.join("src/main.rs").is_file() && m.file_name().is_some_and(|n| n == "gen"))
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    Path::new(&manifest).parent().map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The `.rs` files of a bindings archive: name (`types.rs`, `constants.rs`,
/// `ntddk.rs`, `wdf.rs`) -> text.
///
/// # Errors
/// The archive unreadable, not xz, not tar, not UTF-8, or without
/// `types.rs`, `constants.rs` or `ntddk.rs`.
pub fn archive_files(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let xz = std::fs::read(path).map_err(|e| at(&e))?;
    let mut tar_bytes = Vec::new();
    lzma_rs::xz_decompress(&mut xz.as_slice(), &mut tar_bytes).map_err(|e| at(&format!("not a valid .xz: {e}")))?;
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(|e| at(&format!("not a valid tar: {e}")))? {
        let mut entry = entry.map_err(|e| at(&format!("bad tar entry: {e}")))?;
        let name = entry.path().map_err(|e| at(&e))?.to_string_lossy().into_owned();
        let Some(name) = name.strip_prefix("wdk-sys-0.5.2-bindings/").filter(|n| n.ends_with(".rs")) else { continue };
        let name = name.to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).map_err(|e| at(&format!("{name}: {e}")))?;
        files.insert(name, text);
    }
    for want in ["types.rs", "constants.rs", "ntddk.rs"] {
        if !files.contains_key(want) {
            return Err(at(&format!("no wdk-sys-0.5.2-bindings/{want} in the archive")));
        }
    }
    Ok(files)
}

/// One top-level item of the bindings.
struct Unit {
    /// Index into `SOURCES`.
    file: usize,
    /// Byte range of the item's text in its file.
    range: std::ops::Range<usize>,
    /// Every identifier the item's paths mention.
    mentions: BTreeSet<String>,
}

/// The bindings' `types.rs` and `constants.rs` as items, and which items each
/// name brings in.
pub struct Bindings {
    texts: Vec<String>,
    units: Vec<Unit>,
    /// Name -> its defining item, its `impl` blocks and its layout assertions.
    by_name: BTreeMap<String, Vec<usize>>,
}

/// Collects every path segment and every `use` tree name.
#[derive(Default)]
struct Mentions(BTreeSet<String>);

impl<'ast> Visit<'ast> for Mentions {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        for seg in &p.segments {
            self.0.insert(seg.ident.to_string());
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_use_path(&mut self, p: &'ast syn::UsePath) {
        self.0.insert(p.ident.to_string());
        syn::visit::visit_use_path(self, p);
    }
    fn visit_use_name(&mut self, n: &'ast syn::UseName) {
        self.0.insert(n.ident.to_string());
    }
    fn visit_use_rename(&mut self, r: &'ast syn::UseRename) {
        self.0.insert(r.ident.to_string());
    }
}

/// The name a `pub use self::Module::Type as Name;` defines.
fn use_alias(tree: &syn::UseTree) -> Option<String> {
    match tree {
        syn::UseTree::Path(p) => use_alias(&p.tree),
        syn::UseTree::Rename(r) => Some(r.rename.to_string()),
        _ => None,
    }
}

/// The last path segment of an `impl` block's self type (`X` of `impl<T> X<T>`).
fn self_type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

impl Bindings {
    /// Parses the archive's `types.rs` and `constants.rs`.
    ///
    /// # Errors
    /// A file missing or not parsing, or an item kind the generator does not know.
    pub fn parse(files: &BTreeMap<String, String>) -> Result<Bindings, String> {
        let mut b = Bindings { texts: Vec::new(), units: Vec::new(), by_name: BTreeMap::new() };
        for (file, name) in SOURCES.iter().enumerate() {
            let text = files.get(*name).ok_or_else(|| format!("the bindings have no {name}"))?.clone();
            let parsed = syn::parse_file(&text).map_err(|e| format!("bindings {name} does not parse: {e}"))?;
            // The struct or union the layout assertions that follow belong to.
            let mut last_aggregate: Option<String> = None;
            for item in &parsed.items {
                let owner = match item {
                    // Declarations of symbols the Windows image imports: the
                    // simulator defines what it implements itself; a copied
                    // declaration would be an unresolved symbol on the host.
                    syn::Item::ForeignMod(_) => continue,
                    syn::Item::Struct(s) => {
                        last_aggregate = Some(s.ident.to_string());
                        s.ident.to_string()
                    }
                    syn::Item::Union(u) => {
                        last_aggregate = Some(u.ident.to_string());
                        u.ident.to_string()
                    }
                    syn::Item::Type(t) => t.ident.to_string(),
                    syn::Item::Mod(m) => m.ident.to_string(),
                    syn::Item::Const(c) if c.ident == "_" => last_aggregate
                        .clone()
                        .ok_or_else(|| format!("bindings {name}: a `const _` before any struct or union"))?,
                    syn::Item::Const(c) => c.ident.to_string(),
                    syn::Item::Static(s) => s.ident.to_string(),
                    syn::Item::Fn(f) => f.sig.ident.to_string(),
                    syn::Item::Use(u) => use_alias(&u.tree)
                        .ok_or_else(|| format!("bindings {name}: a `use` that is not `use ... as Name`"))?,
                    syn::Item::Impl(i) => self_type_name(&i.self_ty)
                        .ok_or_else(|| format!("bindings {name}: an impl block for a type that is not a path"))?,
                    other => {
                        let text = quote::ToTokens::to_token_stream(other).to_string();
                        return Err(format!(
                            "bindings {name}: an item kind the generator does not know: {}",
                            text.chars().take(120).collect::<String>()
                        ));
                    }
                };
                let mut mentions = Mentions::default();
                mentions.visit_item(item);
                let range = item.span().byte_range();
                if range.end <= range.start || range.end > text.len() {
                    return Err(format!("bindings {name}: no source range for {owner}"));
                }
                b.by_name.entry(owner).or_default().push(b.units.len());
                b.units.push(Unit { file, range, mentions: mentions.0 });
            }
            b.texts.push(text);
        }
        Ok(b)
    }

    /// Whether the bindings define `name` (a type, constant, enum module or
    /// enum alias).
    #[must_use]
    pub fn defines(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Every name the bindings define, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// How many items `name` brings in by itself (its definition, `impl`
    /// blocks and layout assertions).
    #[must_use]
    pub fn items_of(&self, name: &str) -> usize {
        self.by_name.get(name).map_or(0, Vec::len)
    }
}

/// The root names of a roots file: one per line, `#` starts a comment.
///
/// # Errors
/// The file is unreadable.
pub fn read_roots(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// Replaces the identifier path `from` (whole identifiers only) by `to`.
fn replace_path(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let after = &rest[i + from.len()..];
        let whole = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..i]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The generator's two rewrites: LLP64 `c_long`/`c_ulong`, core-only paths.
#[must_use]
pub fn rewrite(text: &str) -> String {
    let t = replace_path(text, "::core::ffi::c_ulong", "u32");
    let t = replace_path(&t, "::core::ffi::c_long", "i32");
    t.replace("::std::", "::core::")
}

/// What is wrong with a list of roots: duplicates and names the bindings lack.
#[must_use]
pub fn check_roots(b: &Bindings, roots: &[String]) -> Vec<String> {
    let mut problems: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for r in roots {
        if !seen.insert(r.clone()) {
            problems.push(format!("{r}: listed twice"));
        }
        if !b.defines(r) {
            problems.push(format!("{r}: not an item of the bindings' {}", SOURCES.join(" or ")));
        }
    }
    problems
}

/// What [`generate`] made, beside the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Root names.
    pub roots: usize,
    /// Names in the closure.
    pub names: usize,
    /// Items written (definitions, impl blocks, layout assertions).
    pub items: usize,
}

/// The text of `src/abi/types.rs` for `roots`, or what is wrong with them.
///
/// # Errors
/// [`check_roots`]'s problems, if any.
pub fn generate(b: &Bindings, roots: &[String]) -> Result<(String, Counts), Vec<String>> {
    let problems = check_roots(b, roots);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.iter().cloned().collect();
    let mut units: BTreeSet<(usize, usize, usize)> = BTreeSet::new();
    while let Some(name) = queue.pop_front() {
        if !names.insert(name.clone()) {
            continue;
        }
        for &u in &b.by_name[&name] {
            let unit = &b.units[u];
            units.insert((unit.file, unit.range.start, u));
            queue.extend(unit.mentions.iter().filter(|m| b.defines(m) && !names.contains(*m)).cloned());
        }
    }
    let counts = Counts { roots: roots.len(), names: names.len(), items: units.len() };
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "//! GENERATED by kmdf-sim/gen (the kmdf-sim-gen package); do not edit.");
    let _ = writeln!(w, "//! Regenerate: `cargo run -p kmdf-sim-gen -- write`.");
    let _ = writeln!(w, "//!");
    let _ = writeln!(w, "//! The items of the real wdk-sys 0.5.2 bindings (data/{ARCHIVE}:");
    let _ = writeln!(w, "//! {}) that the {} roots of {ROOTS} need, transitively,", SOURCES.join(", "), counts.roots);
    let _ = writeln!(w, "//! as bindgen wrote them: {} names, {} items.", counts.names, counts.items);
    let _ = writeln!(w, "//! `::core::ffi::c_long`/`c_ulong` are written as Windows' (LLP64) `i32`/`u32`;");
    let _ = writeln!(w, "//! bindgen's layout assertions below check the result on the host.");
    let _ = writeln!(w, "#![allow(");
    for lint in [
        "non_camel_case_types",
        "non_snake_case",
        "non_upper_case_globals",
        "dead_code",
        "missing_docs",
        "clippy::all",
        "clippy::pedantic",
        "clippy::undocumented_unsafe_blocks",
        "clippy::multiple_unsafe_ops_per_block",
    ] {
        let _ = writeln!(w, "    {lint},");
    }
    let _ = writeln!(
        w,
        "    reason = \"bindgen's output, copied verbatim (its zeroed Default impls, bitfield accessors)\""
    );
    let _ = writeln!(w, ")]");
    let mut file = usize::MAX;
    for &(f, _, u) in &units {
        if f != file {
            let _ = writeln!(w, "\n// ---- from {}\n", SOURCES[f]);
            file = f;
        }
        w.push_str(&rewrite(&b.texts[f][b.units[u].range.clone()]));
        w.push('\n');
    }
    Ok((o, counts))
}

/// The file this checkout's archive and roots produce.
///
/// # Errors
/// The archive or roots unreadable, the bindings not parsing, or bad roots.
pub fn expected() -> Result<(String, Counts), String> {
    let dir = kmdf_sim_dir();
    let b = Bindings::parse(&archive_files(&dir.join("data").join(ARCHIVE))?)?;
    let roots = read_roots(&dir.join(ROOTS))?;
    generate(&b, &roots).map_err(|p| format!("{}:\n  {}", dir.join(ROOTS).display(), p.join("\n  ")))
}
