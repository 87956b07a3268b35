//! The rules, run on one program (the files that are compiled together):
//! a path-sensitive walk of every function's statements, with what each
//! function does to its parameters (closes them, stores them, writes a
//! key's handle through them, returns one) grown to a fixed point over the
//! program, so a handle is followed into helpers, wrappers and members at
//! any depth.

use super::ir::{Call, Event, EventKind, Expr, Function, Jump, Place, Stmt};
use super::{CLOSERS, Finding, GET_HANDLE, KEY_OPENERS, REGISTRY_CLOSE, REMOVE_KEY, on_failure_path};
use std::collections::{BTreeMap, BTreeSet};

/// A function of the program, with the file it is in.
pub(crate) struct Func<'a> {
    pub f: &'a Function,
    pub file: &'a str,
}

/// Where a value may come from: a key's handle (with its flow, in words),
/// and/or the function's own parameters (bit `i` for parameter `i`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Taint {
    origin: Option<String>,
    params: u64,
}

impl Taint {
    fn is_clean(&self) -> bool {
        self.origin.is_none() && self.params == 0
    }
    fn join(&mut self, other: &Taint) {
        if self.origin.is_none() {
            self.origin.clone_from(&other.origin);
        }
        self.params |= other.params;
    }
}

/// What is known on one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    /// Places written on this path (a clean entry hides the program's
    /// facts about a member or global).
    taint: BTreeMap<Place, Taint>,
    /// Keys closed with WdfRegistryClose: where.
    closed: BTreeMap<Place, usize>,
    /// Keys passed to WdfRegistryRemoveKey: where, and the status variable.
    removed: BTreeMap<Place, (usize, Option<String>)>,
}

fn join(a: Option<State>, b: Option<State>) -> Option<State> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(mut a), Some(b)) => {
            for (p, t) in b.taint {
                a.taint.entry(p).or_default().join(&t);
            }
            for (p, l) in b.closed {
                a.closed.entry(p).or_insert(l);
            }
            for (p, r) in b.removed {
                a.removed.entry(p).or_insert(r);
            }
            Some(a)
        }
    }
}

/// What functions do with values, program-wide.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Functions returning a key's handle: how.
    helpers: BTreeMap<String, String>,
    /// Members and globals holding a key's handle: how it got there.
    stored: BTreeMap<Place, String>,
    /// (function, parameter) through which a key's handle is written.
    out: BTreeMap<(String, usize), String>,
    /// (function, parameter) the function closes: how, in words.
    closes: BTreeMap<(String, usize), String>,
    /// (function, parameter) the function stores into members or globals.
    stores: BTreeMap<(String, usize), BTreeSet<Place>>,
}

impl Facts {
    /// The program fact about a member or global, if any: a member of an
    /// unknown owner matches every owner's member of that name.
    fn stored_taint(&self, p: &Place) -> Option<&String> {
        if let Some(o) = self.stored.get(p) {
            return Some(o);
        }
        if let Place::Field { ty, name } = p {
            return self.stored.iter().find_map(|(k, o)| match k {
                Place::Field { ty: t2, name: n2 } if n2 == name && (ty.is_none() || t2.is_none()) => Some(o),
                _ => None,
            });
        }
        None
    }
}

/// Runs the rules over a program; findings are added to `out`.
pub(crate) fn check(funcs: &[Func], out: &mut Vec<Finding>) {
    let mut facts = Facts::default();
    let mut rounds = 0;
    loop {
        let mut next = Facts { ..Default::default() };
        let mut findings = Vec::new();
        for f in funcs {
            let mut w = Walk {
                func: f,
                facts: &facts,
                next: &mut next,
                findings: &mut findings,
                frames: Vec::new(),
                labels: BTreeMap::new(),
                loop_depth: 0,
            };
            w.run_function();
        }
        // Facts only grow: what was known stays known.
        merge(&mut next, &facts);
        rounds += 1;
        if next == facts || rounds >= 12 {
            out.extend(findings);
            break;
        }
        facts = next;
    }
}

fn merge(into: &mut Facts, from: &Facts) {
    for (k, v) in &from.helpers {
        into.helpers.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &from.stored {
        into.stored.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &from.out {
        into.out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &from.closes {
        into.closes.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &from.stores {
        into.stores.entry(k.clone()).or_default().extend(v.iter().cloned());
    }
}

enum Frame {
    Loop { breaks: Option<State>, conts: Option<State> },
    Switch { breaks: Option<State> },
    Try { leaves: Option<State> },
}

struct Walk<'a, 'f> {
    func: &'a Func<'f>,
    facts: &'a Facts,
    next: &'a mut Facts,
    findings: &'a mut Vec<Finding>,
    frames: Vec<Frame>,
    labels: BTreeMap<String, Option<State>>,
    loop_depth: usize,
}

impl<'a, 'f> Walk<'a, 'f> {
    fn file(&self) -> &str {
        self.func.file
    }
    fn name(&self) -> &str {
        &self.func.f.name
    }

    fn run_function(&mut self) {
        let mut s = State::default();
        for (i, p) in self.func.f.params.iter().enumerate().take(64) {
            s.taint.insert(Place::Var(p.clone()), Taint { origin: None, params: 1 << i });
        }
        let body = &self.func.f.body;
        self.block(body, Some(s));
    }

    fn block(&mut self, stmts: &[Stmt], mut s: Option<State>) -> Option<State> {
        for st in stmts {
            if let Stmt::Label(l) = st {
                let pending = self.labels.remove(l).flatten();
                s = join(s, pending);
                continue;
            }
            if s.is_none() {
                // Unreachable until a label.
                continue;
            }
            s = self.stmt(st, s);
        }
        s
    }

    fn stmt(&mut self, st: &Stmt, s: Option<State>) -> Option<State> {
        let s = s?;
        match st {
            Stmt::Ev(e) => Some(self.event(e, s)),
            Stmt::If { cond, then, els } => {
                let t = self.block(then, Some(refine(s.clone(), cond, true)));
                let e = self.block(els, Some(refine(s, cond, false)));
                join(t, e)
            }
            Stmt::Loop { body, once } => {
                self.frames.push(Frame::Loop { breaks: None, conts: None });
                let iterations = if *once || self.loop_depth >= 3 { 1 } else { 2 };
                self.loop_depth += 1;
                let mut entry = Some(s.clone());
                let mut exit = if *once { None } else { Some(s.clone()) };
                for _ in 0..iterations {
                    let end = self.block(body, entry.clone());
                    let conts = match self.frames.last_mut() {
                        Some(Frame::Loop { conts, .. }) => conts.take(),
                        _ => None,
                    };
                    let back = join(end, conts);
                    exit = join(exit, back.clone());
                    entry = join(Some(s.clone()), back);
                }
                self.loop_depth -= 1;
                if let Some(Frame::Loop { breaks, .. }) = self.frames.pop() {
                    exit = join(exit, breaks);
                }
                exit
            }
            Stmt::Switch { cases, has_default } => {
                self.frames.push(Frame::Switch { breaks: None });
                let mut fall: Option<State> = None;
                for c in cases {
                    fall = self.block(c, join(Some(s.clone()), fall));
                }
                let mut exit = fall;
                if !has_default {
                    exit = join(exit, Some(s));
                }
                if let Some(Frame::Switch { breaks }) = self.frames.pop() {
                    exit = join(exit, breaks);
                }
                exit
            }
            Stmt::Try { body, handlers } => {
                self.frames.push(Frame::Try { leaves: None });
                let mut exit = self.block(body, Some(s.clone()));
                if let Some(Frame::Try { leaves }) = self.frames.pop() {
                    exit = join(exit, leaves);
                }
                for h in handlers {
                    let e = self.block(h, Some(s.clone()));
                    exit = join(exit, e);
                }
                exit
            }
            Stmt::Jump { jump, .. } => {
                match jump {
                    Jump::Return(v) => {
                        if let Some(v) = v {
                            let t = self.taint_of(v, &s);
                            if let Some(o) = t.origin {
                                self.next.helpers.entry(self.name().to_string()).or_insert(o);
                            }
                        }
                    }
                    Jump::Break => {
                        for fr in self.frames.iter_mut().rev() {
                            match fr {
                                Frame::Loop { breaks, .. } | Frame::Switch { breaks } => {
                                    *breaks = join(breaks.take(), Some(s));
                                    break;
                                }
                                Frame::Try { .. } => {}
                            }
                        }
                    }
                    Jump::Continue => {
                        for fr in self.frames.iter_mut().rev() {
                            if let Frame::Loop { conts, .. } = fr {
                                *conts = join(conts.take(), Some(s));
                                break;
                            }
                        }
                    }
                    Jump::Goto(l) => {
                        let pending = self.labels.remove(l).flatten();
                        self.labels.insert(l.clone(), join(pending, Some(s)));
                    }
                    Jump::Leave => {
                        for fr in self.frames.iter_mut().rev() {
                            if let Frame::Try { leaves } = fr {
                                *leaves = join(leaves.take(), Some(s));
                                break;
                            }
                        }
                    }
                }
                None
            }
            Stmt::Label(_) => Some(s),
        }
    }

    fn taint_of(&self, e: &Expr, s: &State) -> Taint {
        match e {
            Expr::Call(c) if c.callee == GET_HANDLE => {
                let key = c.args.last().map(expr_text).unwrap_or_default();
                Taint {
                    origin: Some(format!("`{GET_HANDLE}({key})` in `{}` ({})", self.name(), self.file())),
                    params: 0,
                }
            }
            Expr::Call(c) => match self.facts.helpers.get(&c.callee) {
                Some(o) => Taint { origin: Some(format!("`{}()`, which returns {o}", c.callee)), params: 0 },
                None => Taint::default(),
            },
            Expr::Place(p) => self.place_taint(p, s),
            Expr::Addr(_) | Expr::Other(_) => Taint::default(),
        }
    }

    fn place_taint(&self, p: &Place, s: &State) -> Taint {
        if let Some(t) = s.taint.get(p) {
            return t.clone();
        }
        match p {
            Place::Elem(inner) | Place::Deref(inner) => self.place_taint(inner, s),
            Place::Field { .. } | Place::Global(_) => Taint { origin: self.facts.stored_taint(p).cloned(), params: 0 },
            _ => Taint::default(),
        }
    }

    fn event(&mut self, e: &Event, mut s: State) -> State {
        match &e.kind {
            EventKind::Assign { target, value } => {
                let t = self.taint_of(value, &s);
                self.assign(target, t, e, &mut s);
                if let Expr::Call(c) = value
                    && c.callee == REMOVE_KEY
                    && let (Place::Var(status), Some(Expr::Place(k))) = (target, c.args.first())
                    && let Some(r) = s.removed.get_mut(k)
                {
                    r.1 = Some(status.clone());
                }
            }
            EventKind::Call(c) => self.call(c, e, &mut s),
        }
        s
    }

    fn assign(&mut self, target: &Place, t: Taint, e: &Event, s: &mut State) {
        match target {
            Place::Elem(inner) => {
                // One element written: the array may hold both.
                let mut cur = self.place_taint(inner, s);
                cur.join(&t);
                self.record_store(inner, &t, e);
                s.taint.insert((**inner).clone(), cur);
            }
            Place::Deref(inner) => {
                if let Place::Var(v) = &**inner
                    && let Some(i) = self.func.f.params.iter().position(|p| p == v)
                    && let Some(o) = &t.origin
                {
                    self.next.out.entry((self.name().to_string(), i)).or_insert_with(|| {
                        format!("{o}, written through its parameter `{v}` at {}:{}", self.func.file, e.line)
                    });
                }
                s.taint.insert(target.clone(), t);
            }
            _ => {
                self.record_store(target, &t, e);
                s.closed.remove(target);
                s.removed.remove(target);
                if t.is_clean() {
                    // A clean value where nothing was known: no entry (the
                    // place reads clean without one; most writes are these).
                    s.taint.remove(target);
                    if !self.place_taint(target, s).is_clean() {
                        s.taint.insert(target.clone(), t);
                    }
                } else {
                    s.taint.insert(target.clone(), t);
                }
            }
        }
    }

    /// A member or global written: the program's facts grow.
    fn record_store(&mut self, target: &Place, t: &Taint, e: &Event) {
        if !matches!(target, Place::Field { .. } | Place::Global(_)) {
            return;
        }
        if let Some(o) = &t.origin {
            let note = format!("{o}; stored in `{}` at {}:{} in `{}`", target.text(), self.file(), e.line, self.name());
            self.next.stored.entry(target.clone()).or_insert(note);
        }
        for i in bits(t.params) {
            self.next.stores.entry((self.name().to_string(), i)).or_default().insert(target.clone());
        }
    }

    fn call(&mut self, c: &Call, e: &Event, s: &mut State) {
        let callee = c.callee.as_str();
        if CLOSERS.contains(&callee) {
            if let Some(arg) = c.args.first() {
                let t = self.taint_of(arg, s);
                if let Some(origin) = &t.origin {
                    self.wkg001(e, format!("`{callee}` closes the WDM handle of a WDFKEY"), origin.clone(), None);
                }
                for i in bits(t.params) {
                    let how = format!("`{callee}` in `{}` ({}:{})", self.name(), self.file(), e.line);
                    self.next.closes.entry((self.name().to_string(), i)).or_insert(how);
                }
            }
            return;
        }
        if callee == REGISTRY_CLOSE {
            if let Some(Expr::Place(p)) = c.args.first()
                && !matches!(p, Place::Elem(_))
            {
                if let Some(first) = s.closed.get(p) {
                    self.push(Finding {
                        file: self.file().into(),
                        line: e.line,
                        col: e.col,
                        severity: "error",
                        code: "WKG002",
                        message: format!("`{REGISTRY_CLOSE}({})` on a key already closed on this path", p.text()),
                        notes: vec![
                            format!("first closed at {}:{first}, in `{}`", self.file(), self.name()),
                            "WdfRegistryClose deletes the key object (F4); the second call uses a deleted WDFKEY (F77)"
                                .into(),
                        ],
                    });
                } else if let Some((line, _)) = s.removed.get(p) {
                    self.push(Finding {
                        file: self.file().into(),
                        line: e.line,
                        col: e.col,
                        severity: "error",
                        code: "WKG003",
                        message: format!("`{REGISTRY_CLOSE}({})` after `{REMOVE_KEY}` succeeded", p.text()),
                        notes: vec![
                            format!("removed at {}:{line}, in `{}`; this path runs when it succeeded", self.file(), self.name()),
                            "a successful WdfRegistryRemoveKey deletes the key object (F69); close only on its failure path"
                                .into(),
                        ],
                    });
                }
                s.closed.insert(p.clone(), e.line);
            }
            return;
        }
        if callee == REMOVE_KEY {
            if let Some(Expr::Place(p)) = c.args.first() {
                s.removed.insert(p.clone(), (e.line, None));
            }
            return;
        }
        if KEY_OPENERS.contains(&callee) {
            if let Some(Expr::Addr(p) | Expr::Place(p)) = c.args.last() {
                // A new key: whatever was closed under that name is gone.
                s.closed.remove(p);
                s.removed.remove(p);
                s.taint.insert(p.clone(), Taint::default());
            }
            return;
        }
        for (i, arg) in c.args.iter().enumerate() {
            let key = (callee.to_string(), i);
            if let Some(o) = self.facts.out.get(&key)
                && let Expr::Addr(p) | Expr::Place(p) = arg
            {
                let t =
                    Taint { origin: Some(format!("{o}, from `{callee}` at {}:{}", self.file(), e.line)), params: 0 };
                let target = if matches!(arg, Expr::Place(Place::Var(_))) {
                    Place::Deref(Box::new(p.clone()))
                } else {
                    p.clone()
                };
                self.assign(&target, t, e, s);
                continue;
            }
            let t = self.taint_of(arg, s);
            if t.is_clean() {
                continue;
            }
            if let Some(how) = self.facts.closes.get(&key).cloned() {
                if let Some(origin) = &t.origin {
                    self.wkg001(
                        e,
                        format!("`{callee}` closes the WDM handle of a WDFKEY passed to it"),
                        origin.clone(),
                        Some(format!("passed to `{callee}`, which closes it: {how}")),
                    );
                }
                for j in bits(t.params) {
                    let via = format!(
                        "`{callee}` called in `{}` ({}:{}), which closes it with {how}",
                        self.name(),
                        self.file(),
                        e.line
                    );
                    self.next.closes.entry((self.name().to_string(), j)).or_insert(via);
                }
            }
            if let Some(places) = self.facts.stores.get(&key).cloned() {
                for p in places {
                    if let Some(o) = &t.origin {
                        let note = format!(
                            "{o}; passed to `{callee}` at {}:{} in `{}`, which stores it in `{}`",
                            self.file(),
                            e.line,
                            self.name(),
                            p.text()
                        );
                        self.next.stored.entry(p.clone()).or_insert(note);
                    }
                    for j in bits(t.params) {
                        self.next.stores.entry((self.name().to_string(), j)).or_default().insert(p.clone());
                    }
                }
            }
        }
    }

    fn wkg001(&mut self, e: &Event, message: String, origin: String, via: Option<String>) {
        let mut notes = vec![format!("the handle comes from {origin}")];
        notes.extend(via);
        notes.push(format!("closed here by the driver, in `{}`", self.name()));
        notes.push(
            "the WDFKEY still owns it: WdfRegistryClose, or the deletion of the key's parent at unload, closes the \
             same value again (F6, F10) — 0x93 INVALID_KERNEL_HANDLE blamed on Wdf01000.sys"
                .into(),
        );
        self.push(Finding {
            file: self.file().into(),
            line: e.line,
            col: e.col,
            severity: "error",
            code: "WKG001",
            message: format!("{message}; the framework will close it again"),
            notes,
        });
    }

    fn push(&mut self, f: Finding) {
        if !self.findings.iter().any(|x| x.line == f.line && x.col == f.col && x.code == f.code && x.file == f.file) {
            self.findings.push(f);
        }
    }
}

/// The state on one arm of `if (cond)`: a removal known to have failed is
/// no removal.
fn refine(mut s: State, cond: &str, then_arm: bool) -> State {
    let branch = [super::Branch { id: 0, cond: cond.to_string(), then_arm }];
    s.removed.retain(|_, (_, status)| match status {
        Some(st) => !on_failure_path(&branch, st),
        // Tested in place: `if (!NT_SUCCESS(WdfRegistryRemoveKey(k)))`.
        None if cond.contains(REMOVE_KEY) => cond.contains('!') != then_arm,
        None => true,
    });
    s
}

fn bits(mask: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |i| mask & (1 << i) != 0)
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Call(c) => format!("{}(…)", c.callee),
        Expr::Place(p) | Expr::Addr(p) => p.text(),
        Expr::Other(t) => t.clone(),
    }
}
