//! Rust through syn: every function and method lowered to events. DDIs
//! called through `call_unsafe_wdf_function_binding!(Name, args…)` are seen
//! as calls of `Name`.

use super::{Branch, Event, EventKind, Expr, Function, Place};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

/// Functions of `text`; `Err` with the parser's message and line if the
/// file is not valid Rust.
pub fn lower(text: &str) -> Result<Vec<Function>, String> {
    let file = syn::parse_file(text).map_err(|e| {
        let at = e.span().start();
        format!("not valid Rust at line {}:{}: {e}", at.line, at.column + 1)
    })?;
    let mut out = Vec::new();
    items(&file.items, &mut out);
    Ok(out)
}

fn items(list: &[syn::Item], out: &mut Vec<Function>) {
    for item in list {
        match item {
            syn::Item::Fn(f) => out.push(function(&f.sig.ident.to_string(), &f.block)),
            syn::Item::Impl(i) => {
                for it in &i.items {
                    if let syn::ImplItem::Fn(f) = it {
                        out.push(function(&f.sig.ident.to_string(), &f.block));
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

fn function(name: &str, body: &syn::Block) -> Function {
    let mut l = Lowering { events: Vec::new(), branches: Vec::new(), next_if: 0 };
    l.block(body, true);
    Function { name: name.to_string(), events: l.events }
}

struct Lowering {
    events: Vec<Event>,
    branches: Vec<Branch>,
    next_if: usize,
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

impl Lowering {
    fn push(&mut self, span: proc_macro2::Span, kind: EventKind) {
        let at = span.start();
        self.events.push(Event { kind, line: at.line, col: at.column + 1, branches: self.branches.clone() });
    }

    fn block(&mut self, b: &syn::Block, tail_returns: bool) {
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            match s {
                syn::Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        self.expr(&init.expr);
                        if let syn::Pat::Ident(id) = strip_type(&local.pat) {
                            let value = lower_expr(&init.expr);
                            self.push(
                                local.span(),
                                EventKind::Assign { target: Place::Var(id.ident.to_string()), value },
                            );
                        }
                    }
                }
                syn::Stmt::Expr(e, semi) => {
                    self.expr(e);
                    if tail_returns && semi.is_none() && i + 1 == n {
                        self.push(e.span(), EventKind::Return { value: Some(lower_expr(e)) });
                    }
                }
                syn::Stmt::Macro(m) => self.mac(&m.mac),
                syn::Stmt::Item(_) => {}
            }
        }
    }

    fn mac(&mut self, m: &syn::Macro) {
        if is_wdf_binding(m)
            && let Some((callee, args)) = binding_args(m)
        {
            for a in &args {
                self.expr(a);
            }
            let args = args.iter().map(lower_expr).collect();
            self.push(m.span(), EventKind::Call { callee, args });
        } else if let Ok(args) = m.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated) {
            for a in &args {
                self.expr(a);
            }
        }
    }

    fn expr(&mut self, e: &syn::Expr) {
        use syn::Expr as E;
        match e {
            E::Call(c) => {
                for a in &c.args {
                    self.expr(a);
                }
                if let Expr::Call { callee, args } = lower_expr(e) {
                    self.push(c.span(), EventKind::Call { callee, args });
                }
            }
            E::MethodCall(m) => {
                self.expr(&m.receiver);
                for a in &m.args {
                    self.expr(a);
                }
                if let Expr::Call { callee, args } = lower_expr(e) {
                    self.push(m.method.span(), EventKind::Call { callee, args });
                }
            }
            E::Macro(m) => self.mac(&m.mac),
            E::Assign(a) => {
                self.expr(&a.right);
                if let Expr::Place(target) = lower_expr(&a.left) {
                    self.push(a.span(), EventKind::Assign { target, value: lower_expr(&a.right) });
                }
            }
            E::If(i) => {
                self.expr(&i.cond);
                let cond = i.cond.to_token_stream().to_string();
                let id = self.next_if;
                self.next_if += 1;
                self.branches.push(Branch { id, cond: cond.clone(), then_arm: true });
                self.block(&i.then_branch, false);
                self.branches.pop();
                if let Some((_, alt)) = &i.else_branch {
                    self.branches.push(Branch { id, cond, then_arm: false });
                    self.expr(alt);
                    self.branches.pop();
                }
            }
            E::Return(r) => {
                if let Some(v) = &r.expr {
                    self.expr(v);
                }
                self.push(r.span(), EventKind::Return { value: r.expr.as_deref().map(lower_expr) });
            }
            E::Block(b) => self.block(&b.block, false),
            E::Unsafe(u) => self.block(&u.block, false),
            E::Loop(l) => self.block(&l.body, false),
            E::While(w) => {
                self.expr(&w.cond);
                self.block(&w.body, false);
            }
            E::ForLoop(f) => {
                self.expr(&f.expr);
                self.block(&f.body, false);
            }
            E::Match(m) => {
                self.expr(&m.expr);
                for arm in &m.arms {
                    self.expr(&arm.body);
                }
            }
            E::Closure(c) => self.expr(&c.body),
            E::Let(l) => self.expr(&l.expr),
            E::Paren(p) => self.expr(&p.expr),
            E::Reference(r) => self.expr(&r.expr),
            E::Unary(u) => self.expr(&u.expr),
            E::Cast(c) => self.expr(&c.expr),
            E::Try(t) => self.expr(&t.expr),
            E::Field(f) => self.expr(&f.base),
            E::Binary(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            E::Tuple(t) => t.elems.iter().for_each(|x| self.expr(x)),
            E::Array(a) => a.elems.iter().for_each(|x| self.expr(x)),
            E::Struct(s) => s.fields.iter().for_each(|f| self.expr(&f.expr)),
            _ => {}
        }
    }
}

fn strip_type(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::Type(t) => strip_type(&t.pat),
        other => other,
    }
}

fn lower_expr(e: &syn::Expr) -> Expr {
    use syn::Expr as E;
    match e {
        E::Call(c) => {
            let callee = match &*c.func {
                E::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
                other => other.to_token_stream().to_string(),
            };
            Expr::Call { callee, args: c.args.iter().map(lower_expr).collect() }
        }
        E::MethodCall(m) => Expr::Call {
            callee: m.method.to_string(),
            args: std::iter::once(lower_expr(&m.receiver)).chain(m.args.iter().map(lower_expr)).collect(),
        },
        E::Macro(m) if is_wdf_binding(&m.mac) => match binding_args(&m.mac) {
            Some((callee, args)) => Expr::Call { callee, args: args.iter().map(lower_expr).collect() },
            None => Expr::Other(m.to_token_stream().to_string()),
        },
        E::Path(p) if p.path.segments.len() == 1 => match p.path.get_ident() {
            Some(id) => Expr::Place(Place::Var(id.to_string())),
            None => Expr::Other(p.to_token_stream().to_string()),
        },
        E::Field(f) => match &f.member {
            syn::Member::Named(n) => Expr::Place(Place::Field(n.to_string())),
            syn::Member::Unnamed(i) => Expr::Place(Place::Field(i.index.to_string())),
        },
        E::Reference(r) => lower_expr(&r.expr),
        E::Paren(p) => lower_expr(&p.expr),
        E::Cast(c) => lower_expr(&c.expr),
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
