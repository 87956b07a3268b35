//! Rust through syn: every function and method lowered to statements. DDIs
//! called through `call_unsafe_wdf_function_binding!(Name, args…)` are seen
//! as calls of `Name`.

use super::Unit;
use super::ir::{Call, Event, EventKind, Expr, Function, Jump, Place, Stmt};
use quote::ToTokens;
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
    items(&file.items, &mut unit.functions);
    unit.functions_in_full = unit.functions.len();
    Ok(unit)
}

fn items(list: &[syn::Item], out: &mut Vec<Function>) {
    for item in list {
        match item {
            syn::Item::Fn(f) => out.push(function(&f.sig, &f.block)),
            syn::Item::Impl(i) => {
                for it in &i.items {
                    if let syn::ImplItem::Fn(f) = it {
                        out.push(function(&f.sig, &f.block));
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

fn function(sig: &syn::Signature, body: &syn::Block) -> Function {
    let params = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(t) => match strip_type(&t.pat) {
                syn::Pat::Ident(id) => Some(id.ident.to_string()),
                _ => Some(String::new()),
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    let mut out = Vec::new();
    block(body, true, &mut out);
    Function { name: sig.ident.to_string(), params, class: None, body: out }
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

fn block(b: &syn::Block, tail_returns: bool, out: &mut Vec<Stmt>) {
    let n = b.stmts.len();
    for (i, s) in b.stmts.iter().enumerate() {
        match s {
            syn::Stmt::Local(local) => {
                if let Some(init) = &local.init {
                    expr(&init.expr, out);
                    if let syn::Pat::Ident(id) = strip_type(&local.pat) {
                        let value = lower_expr(&init.expr);
                        ev(local.span(), EventKind::Assign { target: Place::Var(id.ident.to_string()), value }, out);
                    }
                }
            }
            syn::Stmt::Expr(e, semi) => {
                expr(e, out);
                if tail_returns && semi.is_none() && i + 1 == n {
                    let line = e.span().start().line;
                    out.push(Stmt::Jump { jump: Jump::Return(Some(lower_expr(e))), line });
                }
            }
            syn::Stmt::Macro(m) => mac(&m.mac, out),
            syn::Stmt::Item(_) => {}
        }
    }
}

fn mac(m: &syn::Macro, out: &mut Vec<Stmt>) {
    if is_wdf_binding(m)
        && let Some((callee, args)) = binding_args(m)
    {
        for a in &args {
            expr(a, out);
        }
        let args = args.iter().map(lower_expr).collect();
        ev(m.span(), EventKind::Call(Call { callee, args }), out);
    } else if let Ok(args) = m.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated) {
        for a in &args {
            expr(a, out);
        }
    }
}

fn expr(e: &syn::Expr, out: &mut Vec<Stmt>) {
    use syn::Expr as E;
    match e {
        E::Call(c) => {
            for a in &c.args {
                expr(a, out);
            }
            if let Expr::Call(call) = lower_expr(e) {
                ev(c.span(), EventKind::Call(call), out);
            }
        }
        E::MethodCall(m) => {
            expr(&m.receiver, out);
            for a in &m.args {
                expr(a, out);
            }
            if let Expr::Call(call) = lower_expr(e) {
                ev(m.method.span(), EventKind::Call(call), out);
            }
        }
        E::Macro(m) => mac(&m.mac, out),
        E::Assign(a) => {
            expr(&a.right, out);
            if let Expr::Place(target) = lower_expr(&a.left) {
                ev(a.span(), EventKind::Assign { target, value: lower_expr(&a.right) }, out);
            }
        }
        E::If(i) => {
            expr(&i.cond, out);
            let cond = i.cond.to_token_stream().to_string();
            let mut then = Vec::new();
            block(&i.then_branch, false, &mut then);
            let mut els = Vec::new();
            if let Some((_, alt)) = &i.else_branch {
                expr(alt, &mut els);
            }
            out.push(Stmt::If { cond, then, els });
        }
        E::Return(r) => {
            if let Some(v) = &r.expr {
                expr(v, out);
            }
            let line = r.span().start().line;
            out.push(Stmt::Jump { jump: Jump::Return(r.expr.as_deref().map(lower_expr)), line });
        }
        E::Break(b) => out.push(Stmt::Jump { jump: Jump::Break, line: b.span().start().line }),
        E::Continue(c) => out.push(Stmt::Jump { jump: Jump::Continue, line: c.span().start().line }),
        E::Block(b) => block(&b.block, false, out),
        E::Unsafe(u) => block(&u.block, false, out),
        E::Loop(l) => {
            let mut body = Vec::new();
            block(&l.body, false, &mut body);
            out.push(Stmt::Loop { body, once: false });
        }
        E::While(w) => {
            let mut body = Vec::new();
            expr(&w.cond, &mut body);
            block(&w.body, false, &mut body);
            out.push(Stmt::Loop { body, once: false });
        }
        E::ForLoop(f) => {
            expr(&f.expr, out);
            let mut body = Vec::new();
            block(&f.body, false, &mut body);
            out.push(Stmt::Loop { body, once: false });
        }
        E::Match(m) => {
            expr(&m.expr, out);
            let cases = m
                .arms
                .iter()
                .map(|arm| {
                    let mut c = Vec::new();
                    expr(&arm.body, &mut c);
                    // Arms do not fall through.
                    c.push(Stmt::Jump { jump: Jump::Break, line: 0 });
                    c
                })
                .collect();
            out.push(Stmt::Switch { cases, has_default: true });
        }
        E::Closure(c) => expr(&c.body, out),
        E::Let(l) => expr(&l.expr, out),
        E::Paren(p) => expr(&p.expr, out),
        E::Reference(r) => expr(&r.expr, out),
        E::Unary(u) => expr(&u.expr, out),
        E::Cast(c) => expr(&c.expr, out),
        E::Try(t) => expr(&t.expr, out),
        E::Field(f) => expr(&f.base, out),
        E::Binary(b) => {
            expr(&b.left, out);
            expr(&b.right, out);
        }
        E::Tuple(t) => t.elems.iter().for_each(|x| expr(x, out)),
        E::Array(a) => a.elems.iter().for_each(|x| expr(x, out)),
        E::Struct(s) => s.fields.iter().for_each(|f| expr(&f.expr, out)),
        _ => {}
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
            Expr::Call(Call { callee, args: c.args.iter().map(lower_expr).collect() })
        }
        E::MethodCall(m) => {
            Expr::Call(Call { callee: m.method.to_string(), args: m.args.iter().map(lower_expr).collect() })
        }
        E::Macro(m) if is_wdf_binding(&m.mac) => match binding_args(&m.mac) {
            Some((callee, args)) => Expr::Call(Call { callee, args: args.iter().map(lower_expr).collect() }),
            None => Expr::Other(m.to_token_stream().to_string()),
        },
        E::Path(p) if p.path.segments.len() == 1 => match p.path.get_ident() {
            Some(id) => Expr::Place(Place::Var(id.to_string())),
            None => Expr::Other(p.to_token_stream().to_string()),
        },
        E::Field(f) => match &f.member {
            syn::Member::Named(n) => Expr::Place(Place::Field { ty: None, name: n.to_string() }),
            syn::Member::Unnamed(i) => Expr::Place(Place::Field { ty: None, name: i.index.to_string() }),
        },
        E::Reference(r) => match lower_expr(&r.expr) {
            Expr::Place(p) => Expr::Addr(p),
            other => other,
        },
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
