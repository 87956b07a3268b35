//! From files to programs. Every file is read and lowered once; then the
//! files compiled together form a program: the sources of one directory and
//! every header they include (`#include "…"`, followed transitively among
//! the files scanned). A file given on its own is its own program. In a
//! program, member owners are resolved through typedefs, declarations and
//! return types; bare names in C++ methods become members or globals; the
//! tree's own macros are expanded (a macro that closes its argument is a
//! close); then the rules run.

use super::ir::{Call, Event, EventKind, Expr, Function, Place, Stmt};
use super::{Partial, ScanReport, Skipped, Unit, c, flow, language, pre, rust};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

struct Entry {
    name: String,
    path: PathBuf,
    unit: Unit,
}

/// Reads, lowers and checks `files`, filling `report`.
pub(crate) fn scan_files(files: &[PathBuf], report: &mut ScanReport) {
    // First the texts and the tree's macros: which of them are mere
    // decorations is known only once every file's `#define`s are.
    let mut texts = Vec::new();
    for path in files {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                let (text, encoding) = pre::decode(&bytes);
                let (defines, includes) =
                    if language(path) == Some("rust") { Default::default() } else { pre::directives_of(&text) };
                texts.push((path, name, text, encoding, defines, includes));
            }
            Err(e) => report.skipped.push(Skipped { file: name, reason: format!("cannot read: {e}") }),
        }
    }
    // A file's macros are those of its program (its directory and the
    // headers included), not of every driver in the tree.
    let shape: Vec<(&Path, &[String])> = texts.iter().map(|t| (t.0.as_path(), t.5.as_slice())).collect();
    let mut macros_of = vec![0usize; texts.len()];
    let mut macro_sets = Vec::new();
    for (dir, members) in group(&shape) {
        for &i in &members {
            if texts[i].0.parent() == Some(dir.as_path()) {
                macros_of[i] = macro_sets.len();
            }
        }
        macro_sets.push(pre::tree_macros(members.iter().flat_map(|&i| texts[i].4.iter())));
    }
    let mut entries = Vec::new();
    for (k, (path, name, text, encoding, _, _)) in texts.into_iter().enumerate() {
        let decorations = &macro_sets[macros_of[k]];
        match read_unit(path, text, encoding, decorations) {
            Ok(unit) => {
                report.files_scanned += 1;
                report.functions_in_full += unit.functions_in_full;
                report.functions_in_part += unit.functions_in_part;
                if unit.regions.is_empty() {
                    report.files_in_full += 1;
                } else {
                    report.files_in_part += 1;
                    let lines: usize = unit.regions.iter().map(|r| r.last_line + 1 - r.first_line).sum();
                    let mut reason = format!(
                        "read in part: {} region(s), {lines} line(s) not read; {} of {} function(s) in full",
                        unit.regions.len(),
                        unit.functions_in_full,
                        unit.functions_in_full + unit.functions_in_part
                    );
                    if encoding != "UTF-8" {
                        reason.push_str(&format!(" (decoded as {encoding})"));
                    }
                    report.partial.push(Partial { file: name.clone(), reason, regions: unit.regions.clone() });
                }
                entries.push(Entry { name, path: path.clone(), unit });
            }
            Err(reason) => report.skipped.push(Skipped { file: name, reason }),
        }
    }
    let shape: Vec<(&Path, &[String])> =
        entries.iter().map(|e| (e.path.as_path(), e.unit.includes.as_slice())).collect();
    let programs: Vec<Vec<usize>> = group(&shape).into_iter().map(|(_, members)| members).collect();
    report.programs = programs.len();
    let mut macros = MacroCache::default();
    let mut findings = Vec::new();
    for members in programs {
        let program = Program::new(&entries, &members);
        let functions: Vec<(usize, Function)> = members
            .iter()
            .flat_map(|&i| entries[i].unit.functions.iter().map(move |f| (i, f)))
            .map(|(i, f)| (i, program.prepare(f, &entries, &mut macros)))
            .collect();
        let funcs: Vec<flow::Func> =
            functions.iter().map(|(i, f)| flow::Func { f, file: entries[*i].name.as_str() }).collect();
        let mut found = Vec::new();
        flow::check(&funcs, &mut found);
        super::parented_field_closed_at_unload(&funcs, &mut found);
        for f in found {
            if !findings
                .iter()
                .any(|x: &super::Finding| x.file == f.file && x.line == f.line && x.col == f.col && x.code == f.code)
            {
                findings.push(f);
            }
        }
    }
    report.findings.extend(findings);
}

/// Lowers one decoded file.
fn read_unit(path: &Path, text: String, encoding: &'static str, decorations: &pre::TreeMacros) -> Result<Unit, String> {
    let lang = language(path).unwrap_or("c");
    if lang == "rust" {
        return rust::lower(&text);
    }
    let header = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("h"));
    // A `.h` may be C or C++: read first as what it looks like, then as the
    // other if that leaves regions unread; the reading with fewer wins.
    let cpp = lang == "cpp" || header && looks_like_cpp(&text);
    let mut prepared = pre::prepare(text.clone(), encoding, cpp, decorations);
    let mut tree = c::parse(&prepared.text, cpp, None)?;
    let mut unit = c::lower_parsed(&tree, &prepared.text, cpp, &prepared.try_at, &|_, _| true);
    let mut lang_cpp = cpp;
    if header && !unit.regions.is_empty() {
        let again = pre::prepare(text, encoding, !cpp, decorations);
        let alt_tree = c::parse(&again.text, !cpp, None)?;
        let alt = c::lower_parsed(&alt_tree, &again.text, !cpp, &again.try_at, &|_, _| true);
        if alt.regions.len() < unit.regions.len() {
            unit = alt;
            prepared = again;
            tree = alt_tree;
            lang_cpp = !cpp;
        }
    }
    if !unit.regions.is_empty() {
        unit = lower_variants(&prepared, lang_cpp, unit, &tree)?;
    }
    unit.cpp = lang_cpp;
    unit.defines = prepared.defines;
    unit.includes = prepared.includes;
    unit.contexts = prepared.contexts;
    Ok(unit)
}

/// Whether a header uses C++ syntax.
fn looks_like_cpp(text: &str) -> bool {
    ["class ", "::", "template", "namespace ", "public:", "private:", "operator", "extern \"C++\""]
        .iter()
        .any(|m| text.contains(m))
}

/// A prepared file the grammar could not read with its conditionals in
/// place (`unit`, parsed as `tree`), read again: once with the first branch
/// of every conditional and once with the last, when that reads more: both
/// readings' functions are analysed (each branch is a path), the unread
/// regions are those of either. Only the top-level items the choice of
/// branches changes are parsed and lowered again; the others are the
/// first reading's.
fn lower_variants(p: &pre::Prepared, cpp: bool, unit: Unit, tree: &tree_sitter::Tree) -> Result<Unit, String> {
    // Only when a region the grammar could not read is next to a
    // conditional directive.
    let directive_lines: Vec<usize> = p
        .text
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("#if") || t.starts_with("#el") || t.starts_with("#endif")
        })
        .map(|(i, _)| i + 1)
        .collect();
    let near = |r: &super::Region| directive_lines.iter().any(|&d| d + 30 >= r.first_line && d <= r.last_line + 30);
    if !unit.regions.iter().any(near) {
        return Ok(unit);
    }
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(p.text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1)).collect();
    let mut touched: Vec<(usize, usize)> = Vec::new();
    let mut readings = Vec::new();
    for which in [pre::Branches::First, pre::Branches::Last] {
        let text = pre::select_branches(&p.text, which);
        let edits = differing_runs(p.text.as_bytes(), text.as_bytes());
        let mut old = tree.clone();
        for &(a, z) in &edits {
            let (start, end) = (point(&line_starts, a), point(&line_starts, z));
            old.edit(&tree_sitter::InputEdit {
                start_byte: a,
                old_end_byte: z,
                new_end_byte: z,
                start_position: start,
                old_end_position: end,
                new_end_position: end,
            });
        }
        let new = c::parse(&text, cpp, Some(&old))?;
        touched.extend(edits);
        touched.extend(old.changed_ranges(&new).map(|r| (r.start_byte, r.end_byte)));
        readings.push((text, new));
    }
    let hit = |s: usize, e: usize| touched.iter().any(|&(a, z)| a < e.max(s + 1) && s < z.max(a + 1));
    let [first, last] = [0, 1].map(|k| c::lower_parsed(&readings[k].1, &readings[k].0, cpp, &p.try_at, &hit));
    let mut merged = Unit::default();
    for item in unit.items.iter().filter(|i| !hit(i.start_byte, i.end_byte)) {
        c::append_item(&mut merged, &unit, item);
    }
    let in_full = merged.functions_in_full + first.functions_in_full;
    let in_part = merged.functions_in_part + first.functions_in_part;
    for item in &first.items {
        c::append_item(&mut merged, &first, item);
    }
    for r in &last.regions {
        if !first.regions.contains(r) {
            merged.regions.push(r.clone());
        }
    }
    if merged.regions.len() >= unit.regions.len() {
        return Ok(unit);
    }
    for item in &last.items {
        let mut shell = Unit::default();
        c::append_item(&mut shell, &last, item);
        merged.functions.extend(shell.functions);
        merged.structs.extend(shell.structs);
        merged.typedefs.extend(shell.typedefs);
        merged.globals.extend(shell.globals);
        merged.returns.extend(shell.returns);
    }
    merged.regions.sort_by_key(|r| (r.first_line, r.last_line));
    merged.functions_in_full = in_full;
    merged.functions_in_part = in_part;
    merged.cpp = cpp;
    Ok(merged)
}

/// The byte runs where two texts of the same length differ.
fn differing_runs(a: &[u8], b: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < a.len().min(b.len()) {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < a.len().min(b.len()) && a[i] != b[i] {
            i += 1;
        }
        runs.push((start, i));
    }
    runs
}

/// Row and column (bytes) of byte `at`.
fn point(line_starts: &[usize], at: usize) -> tree_sitter::Point {
    let row = line_starts.partition_point(|&s| s <= at).saturating_sub(1);
    tree_sitter::Point { row, column: at - line_starts[row] }
}

/// Programs as lists of entry indices: one per directory with its sources
/// and the headers they include (transitively), and one per directory of
/// headers no source of that directory includes.
fn group(entries: &[(&Path, &[String])]) -> Vec<(PathBuf, Vec<usize>)> {
    let by_path: HashMap<PathBuf, usize> = entries.iter().enumerate().map(|(i, e)| (normalise(e.0), i)).collect();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(n) = e.0.file_name() {
            by_name.entry(n.to_string_lossy().to_ascii_lowercase()).or_default().push(i);
        }
    }
    let includes = |i: usize| -> Vec<usize> {
        let dir = entries[i].0.parent().unwrap_or(Path::new(""));
        entries[i]
            .1
            .iter()
            .filter_map(|inc| {
                let inc = inc.replace('\\', "/");
                if let Some(&j) = by_path.get(&normalise(&dir.join(&inc))) {
                    return Some(j);
                }
                // Found through the build's include path: the file of that
                let base = Path::new(&inc).file_name()?.to_string_lossy().to_ascii_lowercase();
                // name nearest to the includer, within three levels of it.
                let depth = dir.components().count();
                by_name
                    .get(&base)?
                    .iter()
                    .copied()
                    .filter(|&j| common_prefix(entries[j].0, dir) + 3 >= depth)
                    .max_by_key(|&j| common_prefix(entries[j].0, dir))
            })
            .collect()
    };
    let mut dirs: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        dirs.entry(e.0.parent().map(Path::to_path_buf).unwrap_or_default()).or_default().push(i);
    }
    let mut programs = Vec::new();
    for (dir, members) in &dirs {
        let mut set: BTreeSet<usize> = members.iter().copied().collect();
        let mut stack: Vec<usize> = members.clone();
        while let Some(i) = stack.pop() {
            for j in includes(i) {
                if set.insert(j) {
                    stack.push(j);
                }
            }
        }
        programs.push((dir.clone(), set.into_iter().collect()));
    }
    programs
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str().to_ascii_lowercase()),
        }
    }
    out
}

fn common_prefix(a: &Path, b: &Path) -> usize {
    a.components().zip(b.components()).take_while(|(x, y)| x == y).count()
}

/// Lowered macro bodies, by (entry, macro name).
#[derive(Default)]
struct MacroCache {
    lowered: HashMap<(usize, String), Option<Function>>,
}

/// A program's names.
struct Program {
    typedefs: HashMap<String, String>,
    structs: HashMap<String, HashMap<String, String>>,
    globals: HashMap<String, String>,
    returns: HashMap<String, String>,
    /// Function-like macros (and object-like ones used as calls): where defined.
    macros: HashMap<String, (usize, usize)>,
    /// Object-like macros naming another function.
    aliases: HashMap<String, String>,
    functions: BTreeSet<String>,
}

impl Program {
    fn new(entries: &[Entry], members: &[usize]) -> Program {
        let mut p = Program {
            typedefs: HashMap::new(),
            structs: HashMap::new(),
            globals: HashMap::new(),
            returns: HashMap::new(),
            macros: HashMap::new(),
            aliases: HashMap::new(),
            functions: BTreeSet::new(),
        };
        for &i in members {
            let u = &entries[i].unit;
            for (a, t) in &u.typedefs {
                p.typedefs.entry(a.clone()).or_insert_with(|| t.clone());
            }
            for (s, fields) in &u.structs {
                let e = p.structs.entry(s.clone()).or_default();
                for (f, t) in fields {
                    e.entry(f.clone()).or_insert_with(|| t.clone());
                }
            }
            for (g, t) in &u.globals {
                p.globals.entry(g.clone()).or_insert_with(|| t.clone());
            }
            for (f, t) in &u.returns {
                p.returns.entry(f.clone()).or_insert_with(|| t.clone());
            }
            for (f, t) in &u.contexts {
                p.returns.insert(f.clone(), format!("{t} *"));
            }
            for f in &u.functions {
                p.functions.insert(f.name.clone());
            }
            for (k, d) in u.defines.iter().enumerate() {
                let body = d.body.trim();
                if d.params.is_none()
                    && !body.is_empty()
                    && body.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
                {
                    p.aliases.insert(d.name.clone(), body.to_string());
                } else if !body.is_empty() {
                    p.macros.entry(d.name.clone()).or_insert((i, k));
                }
            }
        }
        p
    }

    /// A type's canonical name: qualifiers, pointers and references
    /// dropped, typedefs followed.
    fn canon(&self, t: &str) -> String {
        let mut cur: String = t
            .split(|c: char| c.is_whitespace() || c == '*' || c == '&')
            .filter(|w| !w.is_empty() && !matches!(*w, "const" | "volatile" | "struct" | "class" | "union" | "enum"))
            .collect::<Vec<_>>()
            .join(" ");
        for _ in 0..8 {
            match self.typedefs.get(&cur) {
                Some(next) if *next != cur => cur = self.canon_shallow(next),
                _ => break,
            }
        }
        cur
    }

    fn canon_shallow(&self, t: &str) -> String {
        t.split(|c: char| c.is_whitespace() || c == '*' || c == '&')
            .filter(|w| !w.is_empty() && !matches!(*w, "const" | "volatile" | "struct" | "class" | "union" | "enum"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Resolves an owner description from the lowering (`t:TYPE`,
    /// `v:GLOBAL`, `m:CLASS:NAME`, `r:FUNCTION`, `f:FIELD:OWNER`).
    fn owner(&self, desc: &str, depth: usize) -> Option<String> {
        if depth > 8 {
            return None;
        }
        let (kind, rest) = desc.split_once(':')?;
        let ty = match kind {
            "t" => rest.to_string(),
            "v" => self.globals.get(rest)?.clone(),
            "m" => {
                let (class, name) = rest.rsplit_once(':')?;
                match self.structs.get(class).and_then(|s| s.get(name)) {
                    Some(t) => t.clone(),
                    None => self.globals.get(name)?.clone(),
                }
            }
            "r" => self.returns.get(rest)?.clone(),
            "f" => {
                let (field, base) = rest.split_once(':')?;
                let owner = self.owner(base, depth + 1)?;
                self.structs.get(&owner)?.get(field)?.clone()
            }
            _ => return None,
        };
        let c = self.canon(&ty);
        (!c.is_empty()).then_some(c)
    }

    fn place(&self, p: &Place, class: Option<&str>) -> Place {
        match p {
            Place::Field { ty, name } => {
                Place::Field { ty: ty.as_deref().and_then(|d| self.owner(d, 0)), name: name.clone() }
            }
            Place::Member(name) => {
                let class = class.map(|c| self.canon(c));
                match &class {
                    Some(c) if self.structs.get(c).is_some_and(|s| s.contains_key(name)) => {
                        Place::Field { ty: Some(c.clone()), name: name.clone() }
                    }
                    _ if self.globals.contains_key(name) => Place::Global(name.clone()),
                    _ => Place::Field { ty: class, name: name.clone() },
                }
            }
            Place::Elem(i) => Place::Elem(Box::new(self.place(i, class))),
            Place::Deref(i) => Place::Deref(Box::new(self.place(i, class))),
            other => other.clone(),
        }
    }

    fn expr(&self, e: &Expr, class: Option<&str>) -> Expr {
        match e {
            Expr::Call(c) => Expr::Call(self.call(c, class)),
            Expr::Place(p) => Expr::Place(self.place(p, class)),
            Expr::Addr(p) => Expr::Addr(self.place(p, class)),
            Expr::Other(t) => Expr::Other(t.clone()),
        }
    }

    fn call(&self, c: &Call, class: Option<&str>) -> Call {
        let mut callee = c.callee.clone();
        for _ in 0..4 {
            match self.aliases.get(&callee) {
                Some(a) if !self.functions.contains(&callee) => callee = a.clone(),
                _ => break,
            }
        }
        Call { callee, args: c.args.iter().map(|a| self.expr(a, class)).collect() }
    }

    /// A function ready for the rules: places resolved, macros expanded.
    fn prepare(&self, f: &Function, entries: &[Entry], cache: &mut MacroCache) -> Function {
        let class = f.class.as_deref();
        let body = self.stmts(&f.body, class, entries, cache, 0);
        Function { body, ..f.clone() }
    }

    fn stmts(
        &self,
        stmts: &[Stmt],
        class: Option<&str>,
        entries: &[Entry],
        cache: &mut MacroCache,
        depth: usize,
    ) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts {
            match s {
                Stmt::Ev(e) => {
                    let kind = match &e.kind {
                        EventKind::Assign { target, value } => {
                            let value = self.expand_value(&self.expr(value, class), entries, cache, depth);
                            EventKind::Assign { target: self.place(target, class), value }
                        }
                        EventKind::Call(c) => EventKind::Call(self.call(c, class)),
                    };
                    if let EventKind::Call(c) = &kind
                        && let Some(expanded) = self.expand(c, e, entries, cache, depth)
                    {
                        out.extend(expanded);
                        continue;
                    }
                    out.push(Stmt::Ev(Event { kind, ..e.clone() }));
                }
                Stmt::If { cond, then, els } => out.push(Stmt::If {
                    cond: cond.clone(),
                    then: self.stmts(then, class, entries, cache, depth),
                    els: self.stmts(els, class, entries, cache, depth),
                }),
                Stmt::Loop { body, once } => {
                    out.push(Stmt::Loop { body: self.stmts(body, class, entries, cache, depth), once: *once })
                }
                Stmt::Switch { cases, has_default } => out.push(Stmt::Switch {
                    cases: cases.iter().map(|c| self.stmts(c, class, entries, cache, depth)).collect(),
                    has_default: *has_default,
                }),
                Stmt::Try { body, handlers } => out.push(Stmt::Try {
                    body: self.stmts(body, class, entries, cache, depth),
                    handlers: handlers.iter().map(|h| self.stmts(h, class, entries, cache, depth)).collect(),
                }),
                Stmt::Jump { jump, line } => {
                    let jump = match jump {
                        super::ir::Jump::Return(Some(v)) => super::ir::Jump::Return(Some(self.expand_value(
                            &self.expr(v, class),
                            entries,
                            cache,
                            depth,
                        ))),
                        other => other.clone(),
                    };
                    out.push(Stmt::Jump { jump, line: *line })
                }
                Stmt::Label(l) => out.push(Stmt::Label(l.clone())),
                Stmt::Nested(body) => out.push(Stmt::Nested(self.stmts(body, class, entries, cache, depth))),
            }
        }
        out
    }

    /// The lowered body of macro `name`, if it is one of the program's.
    fn macro_body(&self, name: &str, entries: &[Entry], cache: &mut MacroCache) -> Option<Function> {
        if self.functions.contains(name) {
            return None;
        }
        let &(i, k) = self.macros.get(name)?;
        cache
            .lowered
            .entry((i, name.to_string()))
            .or_insert_with(|| {
                let d = &entries[i].unit.defines[k];
                let params: Vec<String> =
                    d.params.clone().unwrap_or_default().into_iter().filter(|p| p != "...").collect();
                let body = d.body.replace("\\\r\n", " ").replace("\\\n", " ");
                let cpp = entries[i].unit.cpp;
                c::lower_macro(&format!("{name}__macro"), &params, &body, cpp)
                    .map(|f| Function { name: name.to_string(), ..f })
            })
            .clone()
    }

    /// A macro call as statements (the macro's body with the arguments in
    /// place of the parameters, every event at the call's position).
    fn expand(
        &self,
        c: &Call,
        at: &Event,
        entries: &[Entry],
        cache: &mut MacroCache,
        depth: usize,
    ) -> Option<Vec<Stmt>> {
        if depth >= 6 {
            return None;
        }
        let m = self.macro_body(&c.callee, entries, cache)?;
        let map: HashMap<&str, &Expr> = m.params.iter().map(String::as_str).zip(c.args.iter()).collect();
        let body = subst_stmts(&m.body, &map, at);
        Some(self.stmts(&body, None, entries, cache, depth + 1))
    }

    /// A macro used as a value (`h = KEY_HANDLE(k)`): its expression.
    fn expand_value(&self, e: &Expr, entries: &[Entry], cache: &mut MacroCache, depth: usize) -> Expr {
        let Expr::Call(c) = e else { return e.clone() };
        if depth >= 6 {
            return e.clone();
        }
        let Some(m) = self.macro_body(&c.callee, entries, cache) else { return e.clone() };
        let [Stmt::Ev(Event { kind: EventKind::Call(inner), .. })] = m.body.as_slice() else { return e.clone() };
        let map: HashMap<&str, &Expr> = m.params.iter().map(String::as_str).zip(c.args.iter()).collect();
        let value = subst_expr(&Expr::Call(inner.clone()), &map);
        self.expand_value(&self.expr(&value, None), entries, cache, depth + 1)
    }
}

fn subst_place(p: &Place, map: &HashMap<&str, &Expr>) -> Option<Place> {
    match p {
        Place::Var(v) => match map.get(v.as_str()) {
            Some(Expr::Place(q)) => Some(q.clone()),
            Some(Expr::Addr(q)) => Some(q.clone()),
            Some(_) => None,
            None => Some(p.clone()),
        },
        Place::Deref(i) => match &**i {
            Place::Var(v) if matches!(map.get(v.as_str()), Some(Expr::Addr(_))) => subst_place(i, map),
            _ => Some(Place::Deref(Box::new(subst_place(i, map)?))),
        },
        Place::Elem(i) => Some(Place::Elem(Box::new(subst_place(i, map)?))),
        other => Some(other.clone()),
    }
}

fn subst_expr(e: &Expr, map: &HashMap<&str, &Expr>) -> Expr {
    match e {
        Expr::Place(Place::Var(v)) if map.contains_key(v.as_str()) => (*map[v.as_str()]).clone(),
        Expr::Place(p) => subst_place(p, map).map_or(Expr::Other(String::new()), Expr::Place),
        Expr::Addr(p) => subst_place(p, map).map_or(Expr::Other(String::new()), Expr::Addr),
        Expr::Call(c) => {
            Expr::Call(Call { callee: c.callee.clone(), args: c.args.iter().map(|a| subst_expr(a, map)).collect() })
        }
        Expr::Other(t) => Expr::Other(t.clone()),
    }
}

fn subst_stmts(stmts: &[Stmt], map: &HashMap<&str, &Expr>, at: &Event) -> Vec<Stmt> {
    let mut out = Vec::new();
    for s in stmts {
        match s {
            Stmt::Ev(e) => {
                let kind = match &e.kind {
                    EventKind::Assign { target, value } => match subst_place(target, map) {
                        Some(t) => EventKind::Assign { target: t, value: subst_expr(value, map) },
                        None => continue,
                    },
                    EventKind::Call(c) => match subst_expr(&Expr::Call(c.clone()), map) {
                        Expr::Call(c) => EventKind::Call(c),
                        _ => continue,
                    },
                };
                out.push(Stmt::Ev(Event { kind, line: at.line, col: at.col }));
            }
            Stmt::If { cond, then, els } => out.push(Stmt::If {
                cond: cond.clone(),
                then: subst_stmts(then, map, at),
                els: subst_stmts(els, map, at),
            }),
            Stmt::Loop { body, once } => out.push(Stmt::Loop { body: subst_stmts(body, map, at), once: *once }),
            Stmt::Switch { cases, has_default } => out.push(Stmt::Switch {
                cases: cases.iter().map(|c| subst_stmts(c, map, at)).collect(),
                has_default: *has_default,
            }),
            Stmt::Try { body, handlers } => out.push(Stmt::Try {
                body: subst_stmts(body, map, at),
                handlers: handlers.iter().map(|h| subst_stmts(h, map, at)).collect(),
            }),
            Stmt::Jump { jump, .. } => out.push(Stmt::Jump { jump: jump.clone(), line: at.line }),
            Stmt::Label(l) => out.push(Stmt::Label(l.clone())),
            Stmt::Nested(body) => out.push(Stmt::Nested(subst_stmts(body, map, at))),
        }
    }
    out
}
