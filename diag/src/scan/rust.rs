//! Rust through syn: every function and method lowered to statements. DDIs
//! called through `call_unsafe_wdf_function_binding!(Name, args…)` are seen
//! as calls of `Name`.

use super::Unit;
use super::ir::{Call, Event, EventKind, Expr, Function, Jump, Place, Stmt};
use quote::ToTokens;
use std::collections::BTreeSet;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

/// The file's functions; `Err` with the parser's message and line if the
/// file is not valid Rust.
pub fn lower(text: &str) -> Result<Unit, String> {
    let file = syn::parse_file(text).map_err(|e| {
        let at = e.span().start();
        format!("not valid Rust at line {}:{}: {e}", at.line, at.column + 1)
    })?;
    let mut unit = Unit::default();
    let mut statics = BTreeSet::new();
    statics_of(&file.items, &mut statics);
    items(&file.items, &mut unit.functions);
    for f in &mut unit.functions {
        let params: BTreeSet<String> = f.params.iter().cloned().collect();
        globals(&mut f.body, &statics, &params);
    }
    unit.functions_in_full = unit.functions.len();
    Ok(unit)
}

/// The names of the file's `static` items (in modules too).
fn statics_of(list: &[syn::Item], out: &mut BTreeSet<String>) {
    for item in list {
        match item {
            syn::Item::Static(s) => {
                out.insert(s.ident.to_string());
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    statics_of(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// A name of a `static` (not shadowed by a parameter) is a global.
fn globals(stmts: &mut [Stmt], statics: &BTreeSet<String>, params: &BTreeSet<String>) {
    fn place(p: &mut Place, statics: &BTreeSet<String>, params: &BTreeSet<String>) {
        match p {
            Place::Var(v) if statics.contains(v.as_str()) && !params.contains(v.as_str()) => {
                *p = Place::Global(std::mem::take(v));
            }
            Place::Elem(i) | Place::Deref(i) => place(i, statics, params),
            _ => {}
        }
    }
    fn expr(e: &mut Expr, statics: &BTreeSet<String>, params: &BTreeSet<String>) {
        match e {
            Expr::Place(p) | Expr::Addr(p) => place(p, statics, params),
            Expr::Call(c) => c.args.iter_mut().for_each(|a| expr(a, statics, params)),
            Expr::Other(_) => {}
        }
    }
    for s in stmts {
        match s {
            Stmt::Ev(e) => match &mut e.kind {
                EventKind::Assign { target, value } => {
                    place(target, statics, params);
                    expr(value, statics, params);
                }
                EventKind::Call(c) => c.args.iter_mut().for_each(|a| expr(a, statics, params)),
            },
            Stmt::If { then, els, .. } => {
                globals(then, statics, params);
                globals(els, statics, params);
            }
            Stmt::Loop { body, .. } | Stmt::Nested(body) => globals(body, statics, params),
            Stmt::Switch { cases, .. } => cases.iter_mut().for_each(|c| globals(c, statics, params)),
            Stmt::Try { body, handlers } => {
                globals(body, statics, params);
                handlers.iter_mut().for_each(|h| globals(h, statics, params));
            }
            Stmt::Jump { jump: Jump::Return(Some(v)), .. } => expr(v, statics, params),
            Stmt::Jump { .. } | Stmt::Label(_) => {}
        }
    }
}

fn items(list: &[syn::Item], out: &mut Vec<Function>) {
    for item in list {
        match item {
            syn::Item::Fn(f) => function(&f.sig, &f.block, out),
            syn::Item::Impl(i) => {
                for it in &i.items {
                    if let syn::ImplItem::Fn(f) = it {
                        function(&f.sig, &f.block, out);
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    items(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// A function (a method's receiver is its parameter `self`), and the
/// functions defined inside its body.
fn function(sig: &syn::Signature, body: &syn::Block, out: &mut Vec<Function>) {
    let params = sig
        .inputs
        .iter()
        .map(|a| match a {
            syn::FnArg::Typed(t) => match strip_type(&t.pat) {
                syn::Pat::Ident(id) => id.ident.to_string(),
                _ => String::new(),
            },
            syn::FnArg::Receiver(_) => "self".to_string(),
        })
        .collect();
    let mut lowered = Vec::new();
    let mut inner = Lower { nested: Vec::new() };
    inner.block(body, true, &mut lowered);
    out.push(Function { name: sig.ident.to_string(), params, class: None, body: lowered, assume: Vec::new() });
    items(&inner.nested, out);
}

fn is_wdf_binding(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| s.ident == "call_unsafe_wdf_function_binding")
}

/// `call_unsafe_wdf_function_binding!(Name, args…)` as (name, args).
fn binding_args(m: &syn::Macro) -> Option<(String, Vec<syn::Expr>)> {
    let parsed = m.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated).ok()?;
    let mut it = parsed.into_iter();
    let name = match it.next()? {
        syn::Expr::Path(p) => p.path.segments.last()?.ident.to_string(),
        _ => return None,
    };
    Some((name, it.collect()))
}

fn ev(span: proc_macro2::Span, kind: EventKind, out: &mut Vec<Stmt>) {
    let at = span.start();
    out.push(Stmt::Ev(Event { kind, line: at.line, col: at.column + 1 }));
}

/// Lowering of one function's body; items defined inside it are kept to be
/// lowered as functions of their own.
struct Lower {
    nested: Vec<syn::Item>,
}

impl Lower {
    fn block(&mut self, b: &syn::Block, tail_returns: bool, out: &mut Vec<Stmt>) {
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            match s {
                syn::Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        self.expr(&init.expr, out);
                        if let Some(name) = bound_name(&local.pat) {
                            let value = lower_expr(&init.expr);
                            ev(local.span(), EventKind::Assign { target: Place::Var(name), value }, out);
                        }
                    }
                }
                syn::Stmt::Expr(e, semi) => {
                    self.expr(e, out);
                    if tail_returns && semi.is_none() && i + 1 == n {
                        let line = e.span().start().line;
                        out.push(Stmt::Jump { jump: Jump::Return(Some(lower_expr(e))), line });
                    }
                }
                syn::Stmt::Macro(m) => self.mac(&m.mac, out),
                syn::Stmt::Item(item) => self.nested.push(item.clone()),
            }
        }
    }

    fn mac(&mut self, m: &syn::Macro, out: &mut Vec<Stmt>) {
        if is_wdf_binding(m)
            && let Some((callee, args)) = binding_args(m)
        {
            for a in &args {
                self.expr(a, out);
            }
            let args = args.iter().map(lower_expr).collect();
            ev(m.span(), EventKind::Call(Call { callee, args }), out);
        } else if let Ok(args) = m.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated) {
            for a in &args {
                self.expr(a, out);
            }
        }
    }

    fn expr(&mut self, e: &syn::Expr, out: &mut Vec<Stmt>) {
        use syn::Expr as E;
        match e {
            E::Call(c) => {
                for a in &c.args {
                    self.expr(a, out);
                }
                if let Expr::Call(call) = lower_expr(e) {
                    ev(c.span(), EventKind::Call(call), out);
                }
            }
            E::MethodCall(m) => {
                self.expr(&m.receiver, out);
                for a in &m.args {
                    self.expr(a, out);
                }
                if let Expr::Call(call) = lower_expr(e) {
                    ev(m.method.span(), EventKind::Call(call), out);
                }
            }
            E::Macro(m) => self.mac(&m.mac, out),
            E::Assign(a) => {
                self.expr(&a.right, out);
                if let Expr::Place(target) = lower_expr(&a.left) {
                    ev(a.span(), EventKind::Assign { target, value: lower_expr(&a.right) }, out);
                }
            }
            E::If(i) => {
                self.expr(&i.cond, out);
                let cond = i.cond.to_token_stream().to_string();
                let mut then = Vec::new();
                // `if let Some(h) = self.handle.take()`: `h` holds the value.
                if let E::Let(l) = &*i.cond
                    && let Some(name) = bound_name(&l.pat)
                {
                    let value = lower_expr(&l.expr);
                    ev(l.span(), EventKind::Assign { target: Place::Var(name), value }, &mut then);
                }
                self.block(&i.then_branch, false, &mut then);
                let mut els = Vec::new();
                if let Some((_, alt)) = &i.else_branch {
                    self.expr(alt, &mut els);
                }
                out.push(Stmt::If { cond, then, els });
            }
            E::Return(r) => {
                if let Some(v) = &r.expr {
                    self.expr(v, out);
                }
                let line = r.span().start().line;
                out.push(Stmt::Jump { jump: Jump::Return(r.expr.as_deref().map(lower_expr)), line });
            }
            E::Break(b) => out.push(Stmt::Jump { jump: Jump::Break, line: b.span().start().line }),
            E::Continue(c) => out.push(Stmt::Jump { jump: Jump::Continue, line: c.span().start().line }),
            E::Block(b) => self.block(&b.block, false, out),
            E::Unsafe(u) => self.block(&u.block, false, out),
            E::Loop(l) => {
                let mut body = Vec::new();
                self.block(&l.body, false, &mut body);
                out.push(Stmt::Loop { body, once: false });
            }
            E::While(w) => {
                let mut body = Vec::new();
                self.expr(&w.cond, &mut body);
                self.block(&w.body, false, &mut body);
                out.push(Stmt::Loop { body, once: false });
            }
            E::ForLoop(f) => {
                self.expr(&f.expr, out);
                let mut body = Vec::new();
                self.block(&f.body, false, &mut body);
                out.push(Stmt::Loop { body, once: false });
            }
            E::Match(m) => {
                self.expr(&m.expr, out);
                let cases = m
                    .arms
                    .iter()
                    .map(|arm| {
                        let mut c = Vec::new();
                        if let Some(name) = bound_name(&arm.pat) {
                            let value = lower_expr(&m.expr);
                            ev(arm.pat.span(), EventKind::Assign { target: Place::Var(name), value }, &mut c);
                        }
                        self.expr(&arm.body, &mut c);
                        // Arms do not fall through.
                        c.push(Stmt::Jump { jump: Jump::Break, line: 0 });
                        c
                    })
                    .collect();
                out.push(Stmt::Switch { cases, has_default: true });
            }
            E::Closure(c) => {
                // A function of its own: a `return` in it ends only it.
                let mut body = Vec::new();
                match &*c.body {
                    E::Block(b) => self.block(&b.block, false, &mut body),
                    other => self.expr(other, &mut body),
                }
                out.push(Stmt::Nested(body));
            }
            E::Let(l) => self.expr(&l.expr, out),
            E::Paren(p) => self.expr(&p.expr, out),
            E::Reference(r) => self.expr(&r.expr, out),
            E::RawAddr(r) => self.expr(&r.expr, out),
            E::Unary(u) => self.expr(&u.expr, out),
            E::Cast(c) => self.expr(&c.expr, out),
            E::Try(t) => self.expr(&t.expr, out),
            E::Field(f) => self.expr(&f.base, out),
            E::Index(x) => {
                self.expr(&x.expr, out);
                self.expr(&x.index, out);
            }
            E::Binary(b) => {
                self.expr(&b.left, out);
                self.expr(&b.right, out);
            }
            E::Tuple(t) => t.elems.iter().for_each(|x| self.expr(x, out)),
            E::Array(a) => a.elems.iter().for_each(|x| self.expr(x, out)),
            E::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr, out);
                    // `Ctx { handle: h }`: the member is written.
                    let name = match &f.member {
                        syn::Member::Named(n) => n.to_string(),
                        syn::Member::Unnamed(i) => i.index.to_string(),
                    };
                    let target = Place::Field { ty: None, name };
                    ev(f.span(), EventKind::Assign { target, value: lower_expr(&f.expr) }, out);
                }
            }
            _ => {}
        }
    }
}

/// The one variable a pattern binds the whole value (or its one payload)
/// to: `h`, `mut h: HANDLE`, `Some(h)`, `Ok(h)`, `&h`.
fn bound_name(p: &syn::Pat) -> Option<String> {
    match strip_type(p) {
        syn::Pat::Ident(id) if id.subpat.is_none() => Some(id.ident.to_string()),
        syn::Pat::TupleStruct(t) if t.elems.len() == 1 => bound_name(&t.elems[0]),
        syn::Pat::Reference(r) => bound_name(&r.pat),
        _ => None,
    }
}

fn strip_type(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::Type(t) => strip_type(&t.pat),
        other => other,
    }
}

/// Methods that hand their receiver's value on unchanged, as far as a
/// handle goes: `KeyHandle::as_raw`, `Into::into`, `Option::unwrap`, …
const PASS_THROUGH_METHODS: &[&str] = &[
    "as_raw",
    "into",
    "try_into",
    "clone",
    "to_owned",
    "unwrap",
    "expect",
    "unwrap_unchecked",
    "cast",
    "get",
    "read",
    "take",
    "replace",
];
/// Functions that hand their one argument's value on unchanged:
/// `HANDLE::from(h)`, `core::mem::transmute(h)`, `ptr::read(&h)`, …
const PASS_THROUGH_FUNCTIONS: &[&str] = &[
    "from",
    "transmute",
    "transmute_copy",
    "read",
    "read_volatile",
    "read_unaligned",
    "identity",
    "Some",
    "Ok",
    "take",
];

fn lower_expr(e: &syn::Expr) -> Expr {
    use syn::Expr as E;
    match e {
        E::Call(c) => {
            let callee = match &*c.func {
                E::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
                other => other.to_token_stream().to_string(),
            };
            if c.args.len() == 1 && PASS_THROUGH_FUNCTIONS.contains(&callee.as_str()) {
                return match lower_expr(&c.args[0]) {
                    Expr::Addr(p) => Expr::Place(p),
                    other => other,
                };
            }
            Expr::Call(Call { callee, args: c.args.iter().map(lower_expr).collect() })
        }
        E::MethodCall(m) => {
            let method = m.method.to_string();
            if m.args.len() <= 1 && PASS_THROUGH_METHODS.contains(&method.as_str()) {
                return lower_expr(&m.receiver);
            }
            // The receiver is the first argument (a method's `self`).
            let args = std::iter::once(&*m.receiver).chain(m.args.iter()).map(lower_expr).collect();
            Expr::Call(Call { callee: method, args })
        }
        E::Macro(m) if is_wdf_binding(&m.mac) => match binding_args(&m.mac) {
            Some((callee, args)) => Expr::Call(Call { callee, args: args.iter().map(lower_expr).collect() }),
            None => Expr::Other(m.to_token_stream().to_string()),
        },
        // `addr_of_mut!(H)`, `addr_of!(H)`.
        E::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident.to_string().starts_with("addr_of")) => {
            match m.mac.parse_body::<syn::Expr>() {
                Ok(inner) => match lower_expr(&inner) {
                    Expr::Place(p) => Expr::Addr(p),
                    other => other,
                },
                Err(_) => Expr::Other(m.to_token_stream().to_string()),
            }
        }
        E::Path(p) if p.path.segments.len() == 1 => match p.path.get_ident() {
            Some(id) => Expr::Place(Place::Var(id.to_string())),
            None => Expr::Other(p.to_token_stream().to_string()),
        },
        E::Field(f) => match &f.member {
            syn::Member::Named(n) => Expr::Place(Place::Field { ty: None, name: n.to_string() }),
            syn::Member::Unnamed(i) => Expr::Place(Place::Field { ty: None, name: i.index.to_string() }),
        },
        E::Index(x) => match lower_expr(&x.expr) {
            Expr::Place(p) => Expr::Place(Place::Elem(Box::new(p))),
            other => other,
        },
        E::Reference(r) => match lower_expr(&r.expr) {
            Expr::Place(p) => Expr::Addr(p),
            other => other,
        },
        E::RawAddr(r) => match lower_expr(&r.expr) {
            Expr::Place(p) => Expr::Addr(p),
            other => other,
        },
        E::Paren(p) => lower_expr(&p.expr),
        E::Cast(c) => lower_expr(&c.expr),
        E::Try(t) => lower_expr(&t.expr),
        E::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => lower_expr(&u.expr),
        E::Unsafe(u) => tail(&u.block),
        E::Block(b) => tail(&b.block),
        other => Expr::Other(other.to_token_stream().to_string()),
    }
}

fn tail(b: &syn::Block) -> Expr {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => lower_expr(e),
        _ => Expr::Other(String::new()),
    }
}
