//! C and C++ through tree-sitter: each function definition lowered to
//! statements, and what the program-wide analysis needs to resolve names
//! across files (structs and their members, typedefs, globals, return
//! types), with the regions the grammar could not read.

use super::ir::{Call, Event, EventKind, Expr, Function, Jump, Place, Stmt};
use super::{Region, Unit};
use std::collections::{BTreeMap, BTreeSet};
use tree_sitter::{Node, Parser, Tree};

/// Lowers a prepared file. `try_at`: byte offsets of `if(1)` that were
/// `__try`.
pub(crate) fn lower(text: &str, cpp: bool, try_at: &BTreeSet<usize>) -> Result<Unit, String> {
    let tree = parse(text, cpp, None)?;
    Ok(lower_parsed(&tree, text, cpp, try_at, &|_, _| true))
}

/// Parses a prepared file; with `old` (edited to match `text`), reusing
/// what did not change.
pub(crate) fn parse(text: &str, cpp: bool, old: Option<&Tree>) -> Result<Tree, String> {
    let mut parser = Parser::new();
    let language: tree_sitter::Language =
        if cpp { tree_sitter_cpp::LANGUAGE.into() } else { tree_sitter_c::LANGUAGE.into() };
    parser.set_language(&language).map_err(|e| format!("grammar: {e}"))?;
    parser.parse(text, old).ok_or_else(|| "the parser gave up".to_string())
}

/// Lowers the top-level items of a parsed file whose byte span `keep`
/// accepts.
pub(crate) fn lower_parsed(
    tree: &Tree,
    text: &str,
    cpp: bool,
    try_at: &BTreeSet<usize>,
    keep: &dyn Fn(usize, usize) -> bool,
) -> Unit {
    use_grammar(cpp);
    let mut cx = Cx { src: text, cpp, try_at, unit: Unit::default(), assume: Vec::new() };
    let mut items = Vec::new();
    cx.items(tree.root_node(), keep, &mut items);
    cx.unit.items = items;
    cx.unit
}

/// The grammar fields the lowering reads, looked up once per grammar
/// rather than by name at every node.
const FIELD_NAMES: [&str; 20] = [
    "alternative",
    "argument",
    "arguments",
    "body",
    "condition",
    "consequence",
    "declarator",
    "designator",
    "field",
    "function",
    "initializer",
    "label",
    "left",
    "name",
    "parameters",
    "right",
    "type",
    "update",
    "value",
    "operator",
];

thread_local! {
    /// The ids of `FIELD_NAMES` in the grammar being lowered (C: `Some(false)`).
    static FIELD_IDS: std::cell::Cell<(Option<bool>, [u16; 20])> = const { std::cell::Cell::new((None, [0; 20])) };
}

thread_local! {
    /// The node kinds of the grammar being lowered, by kind id.
    static KINDS: std::cell::Cell<&'static [&'static str]> = const { std::cell::Cell::new(&[]) };
}

/// Each grammar's node kinds by id, made once.
fn kind_table(cpp: bool, language: &tree_sitter::Language) -> &'static [&'static str] {
    static C: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    static CPP: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let table = if cpp { &CPP } else { &C };
    table.get_or_init(|| {
        (0..language.node_kind_count())
            .map(|id| {
                let name = u16::try_from(id).ok().and_then(|id| language.node_kind_for_id(id)).unwrap_or("");
                &*Box::leak(name.to_string().into_boxed_str())
            })
            .collect()
    })
}

fn use_grammar(cpp: bool) {
    if FIELD_IDS.get().0 == Some(cpp) {
        return;
    }
    let language: tree_sitter::Language =
        if cpp { tree_sitter_cpp::LANGUAGE.into() } else { tree_sitter_c::LANGUAGE.into() };
    let ids = FIELD_NAMES.map(|n| language.field_id_for_name(n).map_or(0, |id| id.get()));
    FIELD_IDS.set((Some(cpp), ids));
    KINDS.set(kind_table(cpp, &language));
}

/// `Node::kind` from the grammar's table (not converted from C at every
/// node).
trait Kind {
    fn k(&self) -> &'static str;
}

impl Kind for Node<'_> {
    fn k(&self) -> &'static str {
        match self.kind_id() {
            u16::MAX => "ERROR",
            id => KINDS.get().get(usize::from(id)).copied().unwrap_or(""),
        }
    }
}

/// `child_by_field_name` through the ids of the grammar in use.
trait Field<'t> {
    fn field(&self, name: &str) -> Option<Node<'t>>;
}

impl<'t> Field<'t> for Node<'t> {
    fn field(&self, name: &str) -> Option<Node<'t>> {
        match FIELD_NAMES.iter().position(|f| *f == name) {
            Some(k) => match FIELD_IDS.get().1[k] {
                0 => None,
                id => self.child_by_field_id(id),
            },
            None => self.child_by_field_name(name),
        }
    }
}

/// What one top-level item added to a unit: `[start, end)` of each list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    pub functions: usize,
    pub structs: usize,
    pub typedefs: usize,
    pub globals: usize,
    pub returns: usize,
    pub regions: usize,
    pub in_full: usize,
    pub in_part: usize,
}

/// A top-level item (function, declaration, struct, unreadable region):
/// its byte span and what its lowering added.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Item {
    pub start_byte: usize,
    pub end_byte: usize,
    pub from: Marks,
    pub to: Marks,
}

fn marks(u: &Unit) -> Marks {
    Marks {
        functions: u.functions.len(),
        structs: u.structs.len(),
        typedefs: u.typedefs.len(),
        globals: u.globals.len(),
        returns: u.returns.len(),
        regions: u.regions.len(),
        in_full: u.functions_in_full,
        in_part: u.functions_in_part,
    }
}

/// Appends to `to` what `item` of `from` added.
pub(crate) fn append_item(to: &mut Unit, from: &Unit, item: &Item) {
    let (a, z) = (item.from, item.to);
    to.functions.extend_from_slice(&from.functions[a.functions..z.functions]);
    to.structs.extend_from_slice(&from.structs[a.structs..z.structs]);
    to.typedefs.extend_from_slice(&from.typedefs[a.typedefs..z.typedefs]);
    to.globals.extend_from_slice(&from.globals[a.globals..z.globals]);
    to.returns.extend_from_slice(&from.returns[a.returns..z.returns]);
    to.regions.extend_from_slice(&from.regions[a.regions..z.regions]);
    to.functions_in_full += z.in_full - a.in_full;
    to.functions_in_part += z.in_part - a.in_part;
}

/// Lowers the body of a function-like macro (`params`) as a function.
pub(crate) fn lower_macro(name: &str, params: &[String], body: &str, cpp: bool) -> Option<Function> {
    let decl: Vec<String> = params.iter().map(|p| format!("int {p}")).collect();
    let text = format!("void {name}({}) {{\n{body}\n;}}\n", decl.join(", "));
    let unit = lower(&text, cpp, &BTreeSet::new()).ok()?;
    unit.functions.into_iter().next()
}

fn text<'a>(n: Node, src: &'a str) -> &'a str {
    src.get(n.start_byte()..n.end_byte()).unwrap_or("")
}

fn named_children(n: Node) -> Vec<Node> {
    each_named(n).collect()
}

/// The named children of `n`, without collecting them: by index for a
/// node of few children, with a cursor (which allocates) for the others.
fn each_named<'t>(n: Node<'t>) -> NamedChildren<'t> {
    let count = n.child_count();
    if count <= 16 {
        NamedChildren::Few { node: n, next: 0, count }
    } else {
        NamedChildren::Many { cursor: n.walk(), started: false }
    }
}

enum NamedChildren<'t> {
    Few { node: Node<'t>, next: u32, count: u32 },
    Many { cursor: tree_sitter::TreeCursor<'t>, started: bool },
}

impl<'t> Iterator for NamedChildren<'t> {
    type Item = Node<'t>;
    fn next(&mut self) -> Option<Node<'t>> {
        match self {
            NamedChildren::Few { node, next, count } => {
                while *next < *count {
                    let c = node.child(*next);
                    *next += 1;
                    if let Some(c) = c
                        && c.is_named()
                    {
                        return Some(c);
                    }
                }
                None
            }
            NamedChildren::Many { cursor, started } => loop {
                let moved = if *started { cursor.goto_next_sibling() } else { cursor.goto_first_child() };
                *started = true;
                if !moved {
                    return None;
                }
                let c = cursor.node();
                if c.is_named() {
                    return Some(c);
                }
            },
        }
    }
}

/// Whether `n` holds an ERROR node (MISSING tokens skip no text).
fn contains_error(n: Node) -> bool {
    if !n.has_error() {
        return false;
    }
    if n.is_error() {
        return true;
    }
    let mut cursor = n.walk();
    let kids: Vec<Node> = n.children(&mut cursor).collect();
    kids.into_iter().any(contains_error)
}

struct Cx<'s> {
    src: &'s str,
    cpp: bool,
    try_at: &'s BTreeSet<usize>,
    unit: Unit,
    /// The conditional-compilation conditions around the item at hand.
    assume: Vec<(String, bool)>,
}

impl Cx<'_> {
    /// The items under `n`: through conditionals, `extern "C"` blocks and
    /// namespaces (which hold items, not statements), each item lowered if
    /// `keep` accepts its span.
    fn items(&mut self, n: Node, keep: &dyn Fn(usize, usize) -> bool, out: &mut Vec<Item>) {
        let wrapper = matches!(
            n.k(),
            "translation_unit"
                | "preproc_if"
                | "preproc_ifdef"
                | "preproc_else"
                | "preproc_elif"
                | "preproc_elifdef"
                | "linkage_specification"
                | "namespace_definition"
                | "declaration_list"
        ) && !n.is_error()
            && !n.is_missing();
        if wrapper {
            let cond = preproc_condition(n, self.src).map(|c| super::pre::condition_atom(&c));
            let alt = n.field("alternative");
            let mut cursor = n.walk();
            for c in n.named_children(&mut cursor) {
                let pushed = match &cond {
                    Some((atom, holds)) => {
                        self.assume.push((atom.clone(), *holds == (Some(c) != alt)));
                        true
                    }
                    None => false,
                };
                self.items(c, keep, out);
                if pushed {
                    self.assume.pop();
                }
            }
            return;
        }
        if !keep(n.start_byte(), n.end_byte()) {
            return;
        }
        let from = marks(&self.unit);
        self.collect(n, None);
        out.push(Item { start_byte: n.start_byte(), end_byte: n.end_byte(), from, to: marks(&self.unit) });
    }

    /// `class`: the enclosing class or struct body's name.
    fn collect(&mut self, n: Node, class: Option<&str>) {
        if n.is_missing() {
            // A token the grammar inserted: nothing of the text was skipped.
            return;
        }
        if n.is_error() {
            self.error_region(n);
            // Function bodies the grammar lost in the error still count, as
            // functions read in part.
            self.unit.functions_in_part += each_named(n).filter(|c| c.k() == "compound_statement").count();
            for c in each_named(n) {
                if c.k() != "compound_statement" {
                    self.collect(c, class);
                }
            }
            return;
        }
        match n.k() {
            "function_definition" => {
                self.function(n, class);
                return;
            }
            "struct_specifier" | "class_specifier" | "union_specifier" => {
                if let (Some(name), Some(body)) = (n.field("name"), n.field("body")) {
                    let name = text(name, self.src).rsplit("::").next().unwrap_or_default().to_string();
                    self.fields(&name, body);
                    for c in each_named(body) {
                        self.collect(c, Some(&name));
                    }
                    return;
                }
            }
            "type_definition" => self.typedef(n),
            "declaration" if class.is_none() || n.parent().is_some_and(|p| p.k() == "translation_unit") => {
                self.top_declaration(n)
            }
            _ => {}
        }
        for c in each_named(n) {
            self.collect(c, class);
        }
    }

    fn error_region(&mut self, n: Node) {
        let (first, last) = (n.start_position().row + 1, n.end_position().row + 1);
        let t = text(n, self.src).split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = t.chars().take(48).collect();
        let reason = format!(
            "unreadable without the build's headers: `{short}{}`",
            if t.len() > short.len() { "…" } else { "" }
        );
        self.unit.regions.push(Region { first_line: first, last_line: last, reason });
    }

    fn function(&mut self, n: Node, class: Option<&str>) {
        let declarator = n.field("declarator");
        let qualified = declarator.and_then(|d| qualifier(d, self.src));
        let name = declarator.and_then(|d| function_name(d, self.src)).unwrap_or_default();
        let class = qualified.or(class.map(str::to_string)).filter(|_| self.cpp);
        if let Some(ty) = n.field("type") {
            self.unit.returns.push((name.clone(), text(ty, self.src).to_string()));
        }
        let mut locals: BTreeMap<String, String> = BTreeMap::new();
        let mut params = Vec::new();
        if let Some(fd) = declarator.and_then(|d| find_kind(d, "function_declarator"))
            && let Some(list) = fd.field("parameters")
        {
            for p in each_named(list) {
                if let Some(d) = p.field("declarator")
                    && let Some(pn) = declared_name(d, self.src)
                {
                    let ty = p.field("type").map(|t| text(t, self.src).to_string()).unwrap_or_default();
                    locals.insert(pn.clone(), ty);
                    params.push(pn);
                }
            }
        }
        declared_locals(n, self.src, self.cpp, &mut locals);
        let l = Lowering { src: self.src, cpp: self.cpp, try_at: self.try_at, locals, class: class.clone() };
        let mut body = Vec::new();
        if let Some(init) = each_named(n).find(|c| c.k() == "field_initializer_list") {
            for fi in each_named(init) {
                let kids = named_children(fi);
                let (Some(f), Some(args)) =
                    (kids.first().copied(), kids.iter().copied().find(|k| k.k() == "argument_list"))
                else {
                    continue;
                };
                let fname = text(f, self.src).to_string();
                let args: Vec<Expr> = named_children(args).into_iter().map(|a| l.expr(a)).collect();
                let at = l.pos(fi);
                if let Some(v) = args.first() {
                    let target = Place::Field { ty: class.as_ref().map(|c| format!("t:{c}")), name: fname.clone() };
                    body.push(Stmt::Ev(Event {
                        kind: EventKind::Assign { target, value: v.clone() },
                        line: at.0,
                        col: at.1,
                    }));
                }
                body.push(Stmt::Ev(Event {
                    kind: EventKind::Call(Call { callee: fname, args }),
                    line: at.0,
                    col: at.1,
                }));
            }
        }
        if let Some(b) = n.field("body") {
            l.stmt(b, &mut body);
        }
        if contains_error(n) {
            self.unit.functions_in_part += 1;
            let mut stack = vec![n];
            while let Some(x) = stack.pop() {
                if x.is_error() {
                    self.error_region(x);
                } else if x.has_error() {
                    stack.extend(named_children(x).into_iter().rev());
                }
            }
        } else {
            self.unit.functions_in_full += 1;
        }
        self.unit.functions.push(Function { name, params, class, body, assume: self.assume.clone() });
        // Methods of classes defined inside the body: functions of their own.
        if let Some(b) = n.field("body").filter(|b| {
            let t = text(*b, self.src);
            self.cpp && (t.contains("class") || t.contains("struct"))
        }) {
            let mut stack: Vec<(Node, Option<String>)> = vec![(b, None)];
            while let Some((x, local)) = stack.pop() {
                for c in each_named(x) {
                    match c.k() {
                        "function_definition" => self.function(c, local.as_deref()),
                        "class_specifier" | "struct_specifier" => {
                            let name = c.field("name").map(|m| text(m, self.src).to_string());
                            stack.push((c, name.or(local.clone())));
                        }
                        _ => stack.push((c, local.clone())),
                    }
                }
            }
        }
    }

    fn fields(&mut self, owner: &str, body: Node) {
        let mut fields = Vec::new();
        for f in each_named(body) {
            if f.k() != "field_declaration" {
                continue;
            }
            let ty = f.field("type").map(|t| text(t, self.src).to_string()).unwrap_or_default();
            let mut cursor = f.walk();
            for d in f.children_by_field_name("declarator", &mut cursor) {
                if let Some(name) = declared_name(d, self.src) {
                    fields.push((name, ty.clone()));
                }
            }
        }
        self.unit.structs.push((owner.to_string(), fields));
    }

    fn typedef(&mut self, n: Node) {
        let Some(ty) = n.field("type") else { return };
        let mut cursor = n.walk();
        let aliases: Vec<String> =
            n.children_by_field_name("declarator", &mut cursor).filter_map(|d| declared_name(d, self.src)).collect();
        let target = match ty.field("name") {
            Some(name) if matches!(ty.k(), "struct_specifier" | "union_specifier" | "class_specifier") => {
                text(name, self.src).to_string()
            }
            None if ty.field("body").is_some() => {
                // `typedef struct { … } NAME, *PNAME;`: the struct is NAME.
                let Some(first) = aliases.first() else { return };
                if let Some(body) = ty.field("body") {
                    self.fields(first, body);
                }
                first.clone()
            }
            _ => text(ty, self.src).to_string(),
        };
        for a in aliases {
            if a != target {
                self.unit.typedefs.push((a, target.clone()));
            }
        }
    }

    fn top_declaration(&mut self, n: Node) {
        let ty = n.field("type").map(|t| text(t, self.src).to_string()).unwrap_or_default();
        let mut cursor = n.walk();
        for d in n.children_by_field_name("declarator", &mut cursor) {
            if let Some(fd) = find_kind(d, "function_declarator") {
                if let Some(name) = function_name(fd, self.src) {
                    self.unit.returns.push((name, ty.clone()));
                }
            } else if let Some(name) = declared_name(d, self.src) {
                self.unit.globals.push((name, ty.clone()));
            }
        }
    }
}

/// A conditional directive's condition as written (`if X`, `ifdef X`,
/// `ifndef X`, `elif X`); `None` for `#else` and other nodes.
fn preproc_condition(n: Node, src: &str) -> Option<String> {
    match n.k() {
        "preproc_if" | "preproc_elif" => {
            let c = n.field("condition")?;
            Some(format!("if {}", text(c, src)))
        }
        "preproc_ifdef" | "preproc_elifdef" => {
            let name = n.field("name")?;
            let negated = text(n, src).trim_start_matches(['#', ' ', '\t']).starts_with("ifndef")
                || text(n, src).trim_start_matches(['#', ' ', '\t']).starts_with("elifndef");
            Some(format!("{} {}", if negated { "ifndef" } else { "ifdef" }, text(name, src)))
        }
        _ => None,
    }
}

fn find_kind<'t>(n: Node<'t>, kind: &str) -> Option<Node<'t>> {
    if n.k() == kind {
        return Some(n);
    }
    n.field("declarator").and_then(|d| find_kind(d, kind))
}

/// `Class` of a `Class::method` declarator.
fn qualifier(d: Node, src: &str) -> Option<String> {
    let fd = find_kind(d, "function_declarator")?;
    let inner = fd.field("declarator")?;
    if inner.k() != "qualified_identifier" {
        return None;
    }
    let t = text(inner, src);
    let mut parts: Vec<&str> = t.split("::").collect();
    parts.pop();
    parts.last().map(|s| s.trim().to_string())
}

/// Every local a function declares, with its declared type.
fn declared_locals(function: Node, src: &str, cpp: bool, out: &mut BTreeMap<String, String>) {
    let Some(body) = function.field("body") else { return };
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        let kind = n.k();
        // Expressions declare nothing in C (in C++ a lambda may).
        if !cpp && matches!(kind, "expression_statement" | "return_statement") {
            continue;
        }
        if matches!(kind, "declaration" | "for_range_loop" | "condition_clause") {
            let ty = n.field("type").map(|t| text(t, src).to_string()).unwrap_or_default();
            let mut cursor = n.walk();
            for d in n.children_by_field_name("declarator", &mut cursor) {
                if let Some(name) = declared_name(d, src) {
                    out.insert(name, ty.clone());
                }
            }
        }
        stack.extend(each_named(n));
    }
}

/// The identifier a (possibly pointer/qualified) function declarator names.
fn function_name(d: Node, src: &str) -> Option<String> {
    match d.k() {
        "function_declarator" => d.field("declarator").and_then(|x| function_name(x, src)),
        "identifier" | "field_identifier" => Some(text(d, src).to_string()),
        "qualified_identifier" | "destructor_name" | "operator_name" => {
            Some(text(d, src).rsplit("::").next().unwrap_or_default().trim().to_string())
        }
        _ => d.field("declarator").and_then(|x| function_name(x, src)),
    }
}

/// The variable a declarator declares (`h`, `*p`, `a[4]`, `h = x`).
fn declared_name(d: Node, src: &str) -> Option<String> {
    match d.k() {
        "identifier" | "field_identifier" | "type_identifier" => Some(text(d, src).to_string()),
        _ => d.field("declarator").and_then(|x| declared_name(x, src)),
    }
}

struct Lowering<'s> {
    src: &'s str,
    cpp: bool,
    try_at: &'s BTreeSet<usize>,
    /// Parameters and locals, with their declared types.
    locals: BTreeMap<String, String>,
    class: Option<String>,
}

impl Lowering<'_> {
    /// 1-based line and column (in characters) of `n`.
    fn pos(&self, n: Node) -> (usize, usize) {
        let p = n.start_position();
        let start = n.start_byte() - p.column;
        let line = self.src.as_bytes().get(start..n.start_byte()).unwrap_or_default();
        let col = if line.is_ascii() { line.len() + 1 } else { String::from_utf8_lossy(line).chars().count() + 1 };
        (p.row + 1, col)
    }

    fn ev(&self, n: Node, kind: EventKind, out: &mut Vec<Stmt>) {
        let (line, col) = self.pos(n);
        out.push(Stmt::Ev(Event { kind, line, col }));
    }

    /// Lowers a statement (or any node holding statements) into `out`.
    fn stmt(&self, n: Node, out: &mut Vec<Stmt>) {
        match n.k() {
            "if_statement" => {
                let cond = n.field("condition");
                if let Some(c) = cond {
                    self.exprs(c, out);
                }
                let mut then = Vec::new();
                if let Some(t) = n.field("consequence") {
                    self.stmt(t, &mut then);
                }
                let mut els = Vec::new();
                if let Some(a) = n.field("alternative") {
                    self.stmt(a, &mut els);
                }
                if self.try_at.contains(&n.start_byte()) {
                    let handlers = if els.is_empty() { vec![] } else { vec![els] };
                    out.push(Stmt::Try { body: then, handlers });
                } else {
                    let cond = cond.map(|c| text(c, self.src).to_string()).unwrap_or_default();
                    out.push(Stmt::If { cond, then, els });
                }
            }
            "else_clause" => {
                for c in each_named(n) {
                    self.stmt(c, out);
                }
            }
            "preproc_if" | "preproc_ifdef" | "preproc_elif" | "preproc_else" | "preproc_elifdef" => {
                // Conditional compilation of unknown configuration: each
                // branch is a path.
                let alt = n.field("alternative");
                let mut then = Vec::new();
                for c in each_named(n) {
                    if Some(c) != alt && Some(c) != n.field("condition") && Some(c) != n.field("name") {
                        self.stmt(c, &mut then);
                    }
                }
                let mut els = Vec::new();
                if let Some(a) = alt {
                    self.stmt(a, &mut els);
                }
                match preproc_condition(n, self.src) {
                    Some(cond) => out.push(Stmt::If { cond: format!("#{cond}"), then, els }),
                    None => out.extend(then),
                }
            }
            "while_statement" | "for_statement" | "for_range_loop" | "do_statement" => {
                let mut body = Vec::new();
                for field in ["initializer", "declarator", "right"] {
                    if let Some(i) = n.field(field) {
                        self.exprs(i, out);
                    }
                }
                let cond = n.field("condition");
                if let Some(c) = cond
                    && n.k() != "do_statement"
                {
                    self.exprs(c, &mut body);
                }
                if let Some(b) = n.field("body") {
                    self.stmt(b, &mut body);
                }
                if let Some(u) = n.field("update") {
                    self.exprs(u, &mut body);
                }
                let once = n.k() == "do_statement"
                    && cond.is_some_and(|c| {
                        let t: String = text(c, self.src)
                            .chars()
                            .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
                            .collect();
                        matches!(t.as_str(), "0" | "FALSE" | "false")
                    });
                if let Some(c) = cond
                    && n.k() == "do_statement"
                {
                    self.exprs(c, &mut body);
                }
                out.push(Stmt::Loop { body, once });
            }
            "switch_statement" => {
                if let Some(c) = n.field("condition") {
                    self.exprs(c, out);
                }
                let mut cases: Vec<Vec<Stmt>> = Vec::new();
                let mut has_default = false;
                let mut before = Vec::new();
                if let Some(body) = n.field("body") {
                    for c in each_named(body) {
                        if c.k() == "case_statement" {
                            has_default |= c.field("value").is_none();
                            let mut case = Vec::new();
                            for s in each_named(c) {
                                if Some(s) != c.field("value") {
                                    self.stmt(s, &mut case);
                                }
                            }
                            cases.push(case);
                        } else if let Some(last) = cases.last_mut() {
                            self.stmt(c, last);
                        } else {
                            self.stmt(c, &mut before);
                        }
                    }
                }
                out.extend(before);
                out.push(Stmt::Switch { cases, has_default });
            }
            "try_statement" => {
                let mut body = Vec::new();
                if let Some(b) = n.field("body") {
                    self.stmt(b, &mut body);
                }
                let handlers = named_children(n)
                    .into_iter()
                    .filter(|c| c.k() == "catch_clause")
                    .map(|c| {
                        let mut h = Vec::new();
                        if let Some(b) = c.field("body") {
                            self.stmt(b, &mut h);
                        }
                        h
                    })
                    .collect();
                out.push(Stmt::Try { body, handlers });
            }
            "return_statement" | "co_return_statement" => {
                let value = each_named(n).next();
                if let Some(v) = value {
                    self.exprs(v, out);
                }
                let line = n.start_position().row + 1;
                out.push(Stmt::Jump { jump: Jump::Return(value.map(|v| self.expr(v))), line });
            }
            "break_statement" => out.push(Stmt::Jump { jump: Jump::Break, line: n.start_position().row + 1 }),
            "continue_statement" => out.push(Stmt::Jump { jump: Jump::Continue, line: n.start_position().row + 1 }),
            "goto_statement" => {
                let label = n.field("label").map(|l| text(l, self.src).to_string()).unwrap_or_default();
                out.push(Stmt::Jump { jump: Jump::Goto(label), line: n.start_position().row + 1 });
            }
            "labeled_statement" => {
                if let Some(l) = n.field("label") {
                    out.push(Stmt::Label(text(l, self.src).to_string()));
                }
                for c in each_named(n) {
                    if c.k() != "statement_identifier" {
                        self.stmt(c, out);
                    }
                }
            }
            "expression_statement" => {
                let mut kids = each_named(n);
                let (first, second) = (kids.next(), kids.next());
                match (first, second) {
                    (Some(id), None) if id.k() == "identifier" && text(id, self.src) == "__leave" => {
                        out.push(Stmt::Jump { jump: Jump::Leave, line: n.start_position().row + 1 })
                    }
                    // A bare name as a statement: an object-like macro's use.
                    (Some(id), None) if id.k() == "identifier" => {
                        self.ev(id, EventKind::Call(Call { callee: text(id, self.src).to_string(), args: vec![] }), out)
                    }
                    _ => each_named(n).for_each(|k| self.exprs(k, out)),
                }
            }
            "compound_statement" | "translation_unit" | "ERROR" => {
                for c in each_named(n) {
                    self.stmt(c, out);
                }
            }
            "declaration" => self.exprs(n, out),
            "comment" | "preproc_def" | "preproc_function_def" | "preproc_call" | "preproc_include" => {}
            _ => self.exprs(n, out),
        }
    }

    /// The events of an expression (or declaration), inner calls first.
    fn exprs(&self, n: Node, out: &mut Vec<Stmt>) {
        match n.k() {
            "call_expression" => {
                for c in each_named(n) {
                    self.exprs(c, out);
                }
                if let Expr::Call(call) = self.expr(n) {
                    self.ev(n, EventKind::Call(call), out);
                }
            }
            "new_expression" => {
                if let Some(a) = n.field("arguments") {
                    self.exprs(a, out);
                }
                if let Expr::Call(call) = self.expr(n) {
                    self.ev(n, EventKind::Call(call), out);
                }
            }
            "assignment_expression" => {
                if let Some(r) = n.field("right") {
                    self.exprs(r, out);
                }
                if let Some(l) = n.field("left") {
                    // Calls inside the target (`Get(x)->h = …`).
                    for c in each_named(l) {
                        self.exprs(c, out);
                    }
                }
                if let (Some(l), Some(r)) = (n.field("left"), n.field("right"))
                    && let Some(target) = self.place(l)
                {
                    let value = self.expr(r);
                    self.ev(n, EventKind::Assign { target, value }, out);
                }
            }
            "init_declarator" => {
                let v = n.field("value");
                if let Some(v) = v {
                    self.exprs(v, out);
                }
                let (Some(d), Some(v)) = (n.field("declarator"), v) else { return };
                let Some(name) = declared_name(d, self.src) else { return };
                if v.k() == "argument_list" {
                    // `Wrapper w(h);`: the constructor is called.
                    let ty = n.parent().and_then(|p| p.field("type"));
                    if let Some(ty) = ty {
                        let callee = text(ty, self.src).rsplit("::").next().unwrap_or_default().trim().to_string();
                        let args = named_children(v).into_iter().map(|a| self.expr(a)).collect();
                        self.ev(n, EventKind::Call(Call { callee, args }), out);
                    }
                } else {
                    let value = self.expr(v);
                    self.ev(n, EventKind::Assign { target: Place::Var(name), value }, out);
                }
            }
            "initializer_pair" => {
                // `{ .ParentObject = Device }` designated initialisers.
                if let (Some(d), Some(v)) = (n.field("designator"), n.field("value")) {
                    self.exprs(v, out);
                    let field = text(d, self.src).trim_start_matches('.').to_string();
                    let value = self.expr(v);
                    self.ev(n, EventKind::Assign { target: Place::Field { ty: None, name: field }, value }, out);
                }
            }
            "lambda_expression" => {
                // A function of its own, run here or not at all.
                let mut body = Vec::new();
                if let Some(b) = n.field("body") {
                    self.stmt(b, &mut body);
                }
                out.push(Stmt::Nested(body));
            }
            // A local class's methods are functions of their own.
            "function_definition" => {}
            "compound_statement" => self.stmt(n, out),
            _ => {
                for c in each_named(n) {
                    self.exprs(c, out);
                }
            }
        }
    }

    /// Where the owner type of a member access's base can be found.
    fn owner_of(&self, base: Node) -> Option<String> {
        match base.k() {
            "identifier" => {
                let name = text(base, self.src);
                match self.locals.get(name) {
                    Some(ty) => Some(format!("t:{ty}")),
                    None if self.class.is_some() => Some(format!("m:{}:{name}", self.class.as_deref().unwrap_or(""))),
                    None => Some(format!("v:{name}")),
                }
            }
            "this" => self.class.as_ref().map(|c| format!("t:{c}")),
            "call_expression" => {
                let f = base.field("function")?;
                Some(format!("r:{}", callee_name(f, self.src)))
            }
            "field_expression" => {
                let inner = base.field("argument")?;
                let field = base.field("field")?;
                Some(format!("f:{}:{}", text(field, self.src), self.owner_of(inner)?))
            }
            "subscript_expression" | "parenthesized_expression" | "pointer_expression" => {
                let inner = base.field("argument").or_else(|| each_named(base).next())?;
                self.owner_of(inner)
            }
            "cast_expression" => base.field("type").map(|t| format!("t:{}", text(t, self.src))),
            _ => None,
        }
    }

    fn place(&self, n: Node) -> Option<Place> {
        match n.k() {
            "identifier" => {
                let name = text(n, self.src).to_string();
                Some(if self.locals.contains_key(&name) {
                    Place::Var(name)
                } else if self.cpp && self.class.is_some() {
                    Place::Member(name)
                } else {
                    Place::Global(name)
                })
            }
            "field_expression" => {
                let field = n.field("field")?;
                let ty = n.field("argument").and_then(|b| self.owner_of(b));
                Some(Place::Field { ty, name: text(field, self.src).to_string() })
            }
            "subscript_expression" => {
                let a = n.field("argument")?;
                Some(Place::Elem(Box::new(self.place(a)?)))
            }
            "pointer_expression" if text(n, self.src).starts_with('*') => {
                let a = n.field("argument")?;
                let inner = self.place(a)?;
                // `*Out` of a parameter: an out-parameter write; elsewhere a
                // pointer and its pointee are one place.
                Some(match inner {
                    Place::Var(_) => Place::Deref(Box::new(inner)),
                    other => other,
                })
            }
            "parenthesized_expression" | "cast_expression" => {
                let inner = n.field("value").or_else(|| each_named(n).last())?;
                self.place(inner)
            }
            _ => None,
        }
    }

    fn expr(&self, n: Node) -> Expr {
        match n.k() {
            "call_expression" | "new_expression" => {
                let callee = n
                    .field(if n.k() == "new_expression" { "type" } else { "function" })
                    .map(|f| callee_name(f, self.src))
                    .unwrap_or_default();
                let args = n
                    .field("arguments")
                    .map(|a| each_named(a).filter(|x| x.k() != "comment").map(|x| self.expr(x)).collect())
                    .unwrap_or_default();
                Expr::Call(Call { callee, args })
            }
            "pointer_expression" if text(n, self.src).starts_with('&') => {
                match n.field("argument").and_then(|a| self.place(a)) {
                    Some(p) => Expr::Addr(p),
                    None => Expr::Other(text(n, self.src).to_string()),
                }
            }
            "parenthesized_expression" | "cast_expression" => match n.field("value").or_else(|| each_named(n).last()) {
                Some(i) => self.expr(i),
                None => Expr::Other(text(n, self.src).to_string()),
            },
            "comma_expression" => match n.field("right") {
                Some(r) => self.expr(r),
                None => Expr::Other(String::new()),
            },
            _ => match self.place(n) {
                Some(p) => Expr::Place(p),
                None => {
                    let t = text(n, self.src);
                    Expr::Other(if t.len() > 64 { String::new() } else { t.to_string() })
                }
            },
        }
    }
}

/// `ZwClose`, `obj.Reset`, `p->Close`, `ns::F`, `F<T>`: the called name.
fn callee_name(f: Node, src: &str) -> String {
    let t = match f.k() {
        "field_expression" => f.field("field").map(|x| text(x, src)).unwrap_or(""),
        "template_function" => f.field("name").map(|x| text(x, src)).unwrap_or(""),
        "parenthesized_expression" => {
            return each_named(f).next().map(|x| callee_name(x, src)).unwrap_or_default();
        }
        _ => text(f, src),
    };
    t.rsplit("::").next().unwrap_or_default().trim().to_string()
}
