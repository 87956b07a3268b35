//! C and C++ through tree-sitter: each function definition lowered to events.

use super::{Branch, Event, EventKind, Expr, Function, Place};
use tree_sitter::{Node, Parser};

/// Functions of `text` and the number of syntax-error nodes (macros the
/// grammar cannot see through); `Err` only when no tree can be built.
pub fn lower(text: &str, cpp: bool) -> Result<(Vec<Function>, usize), String> {
    let mut parser = Parser::new();
    let language: tree_sitter::Language =
        if cpp { tree_sitter_cpp::LANGUAGE.into() } else { tree_sitter_c::LANGUAGE.into() };
    parser.set_language(&language).map_err(|e| format!("grammar: {e}"))?;
    let tree = parser.parse(text, None).ok_or("the parser gave up")?;
    let src = text.as_bytes();
    let mut functions = Vec::new();
    let mut errors = 0;
    collect(tree.root_node(), src, cpp, false, &mut functions, &mut errors);
    Ok((functions, errors))
}

fn text<'a>(n: Node, src: &'a [u8]) -> &'a str {
    n.utf8_text(src).unwrap_or("")
}

fn named_children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

/// `in_class`: inside a C++ class or struct body.
fn collect(n: Node, src: &[u8], cpp: bool, in_class: bool, out: &mut Vec<Function>, errors: &mut usize) {
    if n.is_error() || n.is_missing() {
        *errors += 1;
    }
    if n.kind() == "function_definition" {
        let declarator = n.child_by_field_name("declarator");
        let name = declarator.and_then(|d| function_name(d, src)).unwrap_or_default();
        // A C++ member function (in its class, or defined as `Class::name`)
        // reads and writes members by bare name: a name that is not one of
        // its parameters or locals is a member (a field), as for `this->`.
        let method = cpp && (in_class || declarator.is_some_and(|d| text(d, src).contains("::")));
        let locals = if method { Some(declared_names(n, src)) } else { None };
        let mut lowering = Lowering { src, events: Vec::new(), branches: Vec::new(), next_if: 0, locals };
        if let Some(body) = n.child_by_field_name("body") {
            lowering.walk(body);
        }
        out.push(Function { name, events: lowering.events });
        // Errors inside a function still count.
        count_errors(n, errors);
        return;
    }
    let class_body = matches!(n.kind(), "field_declaration_list");
    for c in named_children(n) {
        collect(c, src, cpp, in_class || class_body, out, errors);
    }
}

/// Every name a function declares: its parameters and its locals.
fn declared_names(function: Node, src: &[u8]) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![function];
    while let Some(n) = stack.pop() {
        if matches!(n.kind(), "parameter_declaration" | "optional_parameter_declaration" | "declaration")
            || n.kind() == "init_declarator"
        {
            let mut inner = named_children(n);
            while let Some(d) = inner.pop() {
                match d.kind() {
                    "identifier" => {
                        names.insert(text(d, src).to_string());
                    }
                    "init_declarator" | "pointer_declarator" | "reference_declarator" | "array_declarator" => {
                        if let Some(x) = d.child_by_field_name("declarator") {
                            inner.push(x);
                        }
                    }
                    _ => {}
                }
            }
        }
        stack.extend(named_children(n));
    }
    names
}

fn count_errors(n: Node, errors: &mut usize) {
    for c in named_children(n) {
        if c.is_error() || c.is_missing() {
            *errors += 1;
        }
        count_errors(c, errors);
    }
}

/// The identifier a (possibly pointer/qualified) function declarator names.
fn function_name(d: Node, src: &[u8]) -> Option<String> {
    match d.kind() {
        "function_declarator" => d.child_by_field_name("declarator").and_then(|x| function_name(x, src)),
        "identifier" | "field_identifier" => Some(text(d, src).to_string()),
        "qualified_identifier" | "destructor_name" | "operator_name" => {
            Some(text(d, src).rsplit("::").next().unwrap_or_default().to_string())
        }
        _ => d.child_by_field_name("declarator").and_then(|x| function_name(x, src)),
    }
}

struct Lowering<'s> {
    src: &'s [u8],
    events: Vec<Event>,
    branches: Vec<Branch>,
    next_if: usize,
    /// In a C++ member function: its parameters and locals (other bare names are members).
    locals: Option<std::collections::BTreeSet<String>>,
}

impl Lowering<'_> {
    fn push(&mut self, n: Node, kind: EventKind) {
        let p = n.start_position();
        self.events.push(Event { kind, line: p.row + 1, col: p.column + 1, branches: self.branches.clone() });
    }

    fn walk(&mut self, n: Node) {
        match n.kind() {
            "if_statement" => {
                let cond = n.child_by_field_name("condition");
                if let Some(c) = cond {
                    self.walk(c);
                }
                let cond_text = cond.map(|c| text(c, self.src).to_string()).unwrap_or_default();
                let id = self.next_if;
                self.next_if += 1;
                if let Some(then) = n.child_by_field_name("consequence") {
                    self.branches.push(Branch { id, cond: cond_text.clone(), then_arm: true });
                    self.walk(then);
                    self.branches.pop();
                }
                if let Some(alt) = n.child_by_field_name("alternative") {
                    self.branches.push(Branch { id, cond: cond_text, then_arm: false });
                    self.walk(alt);
                    self.branches.pop();
                }
                return;
            }
            "call_expression" => {
                for c in named_children(n) {
                    self.walk(c);
                }
                if let Expr::Call { callee, args } = self.expr(n) {
                    self.push(n, EventKind::Call { callee, args });
                }
                return;
            }
            "assignment_expression" => {
                if let Some(r) = n.child_by_field_name("right") {
                    self.walk(r);
                }
                if let (Some(l), Some(r)) = (n.child_by_field_name("left"), n.child_by_field_name("right"))
                    && let Expr::Place(target) = self.expr(l)
                {
                    let value = self.expr(r);
                    self.push(n, EventKind::Assign { target, value });
                }
                return;
            }
            "init_declarator" => {
                if let Some(v) = n.child_by_field_name("value") {
                    self.walk(v);
                }
                if let (Some(d), Some(v)) = (n.child_by_field_name("declarator"), n.child_by_field_name("value"))
                    && let Some(name) = declared_name(d, self.src)
                {
                    let value = self.expr(v);
                    self.push(n, EventKind::Assign { target: Place::Var(name), value });
                }
                return;
            }
            "initializer_pair" => {
                // `{ .ParentObject = Device }` designated initialisers.
                if let (Some(d), Some(v)) = (n.child_by_field_name("designator"), n.child_by_field_name("value")) {
                    let field = text(d, self.src).trim_start_matches('.').to_string();
                    let value = self.expr(v);
                    self.push(n, EventKind::Assign { target: Place::Field(field), value });
                }
            }
            "return_statement" => {
                for c in named_children(n) {
                    self.walk(c);
                }
                let value = named_children(n).first().map(|v| self.expr(*v));
                self.push(n, EventKind::Return { value });
                return;
            }
            _ => {}
        }
        for c in named_children(n) {
            self.walk(c);
        }
    }

    fn expr(&self, n: Node) -> Expr {
        match n.kind() {
            "call_expression" => {
                let callee = n
                    .child_by_field_name("function")
                    .map(|f| text(f, self.src).rsplit(['.', '>', ':']).next().unwrap_or_default().trim().to_string())
                    .unwrap_or_default();
                let args = n
                    .child_by_field_name("arguments")
                    .map(|a| named_children(a).into_iter().map(|x| self.expr(x)).collect())
                    .unwrap_or_default();
                Expr::Call { callee, args }
            }
            "identifier" => {
                let name = text(n, self.src).to_string();
                match &self.locals {
                    Some(locals) if !locals.contains(&name) => Expr::Place(Place::Field(name)),
                    _ => Expr::Place(Place::Var(name)),
                }
            }
            "field_expression" => match n.child_by_field_name("field") {
                Some(f) => Expr::Place(Place::Field(text(f, self.src).to_string())),
                None => Expr::Other(text(n, self.src).to_string()),
            },
            "pointer_expression" | "parenthesized_expression" | "cast_expression" | "reference_expression" => {
                let inner = n
                    .child_by_field_name("argument")
                    .or_else(|| n.child_by_field_name("value"))
                    .or_else(|| named_children(n).last().copied());
                match inner {
                    Some(i) => self.expr(i),
                    None => Expr::Other(text(n, self.src).to_string()),
                }
            }
            _ => Expr::Other(text(n, self.src).to_string()),
        }
    }
}

/// The variable an init declarator declares (`HANDLE h`, `HANDLE *p`).
fn declared_name(d: Node, src: &[u8]) -> Option<String> {
    match d.kind() {
        "identifier" => Some(text(d, src).to_string()),
        _ => d.child_by_field_name("declarator").and_then(|x| declared_name(x, src)),
    }
}
