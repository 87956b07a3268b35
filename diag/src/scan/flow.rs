//! The rules, run on one program (the files that are compiled together):
//! a path-sensitive walk of every function's statements, with what each
//! function does to its parameters (closes them, stores them, writes a
//! key's handle through them, returns one) grown to a fixed point over the
//! program, so a handle is followed into helpers, wrappers and members at
//! any depth.

use super::ir::{Call, Event, EventKind, Expr, Function, Jump, Place, Stmt};
use super::{CLOSERS, Finding, GET_HANDLE, HANDLE_SOURCES, KEY_OPENERS, REGISTRY_CLOSE, REMOVE_KEY, on_failure_path};
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
    /// Keys closed with WdfRegistryClose: where, and under which
    /// conditional-compilation conditions.
    closed: BTreeMap<Place, (usize, Guard)>,
    /// Keys passed to WdfRegistryRemoveKey (or to a function that removes
    /// them): how.
    removed: BTreeMap<Place, Removal>,
    /// Parameters, members, globals and pointees assigned on this path:
    /// a close of one of them no longer closes what the caller passed in.
    written: BTreeSet<Place>,
    /// Conditional-compilation conditions assumed on this path.
    pp: BTreeMap<String, bool>,
}

/// Conditional-compilation conditions (normalised text → holds).
type Guard = BTreeMap<String, bool>;

/// Whether `guard` contradicts the conditions assumed on a path.
fn excluded(guard: &Guard, pp: &Guard) -> bool {
    guard.iter().any(|(k, v)| pp.get(k).is_some_and(|h| h != v))
}

/// Joins the entries of two paths' maps: an entry of one path only holds
/// under that path's conditions, one of both under the conditions they share.
fn join_guarded<V: Clone>(
    a: &mut BTreeMap<Place, V>,
    a_pp: &Guard,
    b: BTreeMap<Place, V>,
    b_pp: &Guard,
    guard: impl Fn(&mut V) -> &mut Guard,
) {
    if a.is_empty() && b.is_empty() {
        return;
    }
    for (p, v) in a.iter_mut() {
        if !b.contains_key(p) {
            let g = guard(v);
            for (k, h) in a_pp {
                g.entry(k.clone()).or_insert(*h);
            }
        }
    }
    for (p, mut v) in b {
        match a.get_mut(&p) {
            Some(mine) => {
                let theirs = guard(&mut v).clone();
                guard(mine).retain(|k, h| theirs.get(k) == Some(h));
            }
            None => {
                let g = guard(&mut v);
                for (k, h) in b_pp {
                    g.entry(k.clone()).or_insert(*h);
                }
                a.insert(p, v);
            }
        }
    }
}

/// A key removed on a path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Removal {
    line: usize,
    /// The conditional-compilation conditions it happened under.
    guard: Guard,
    /// The variable holding the removal's status, once assigned.
    status: Option<String>,
    /// The function called, when its status is tested in place
    /// (`if (!NT_SUCCESS(RemoveIt(k)))`): WdfRegistryRemoveKey or a helper
    /// that returns its status; `None` when the status is not returned.
    tested_as: Option<String>,
    /// How, when through a helper.
    via: Option<String>,
}

fn join(a: Option<State>, b: Option<State>) -> Option<State> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(mut a), Some(b)) => {
            for (p, t) in b.taint {
                a.taint.entry(p).or_default().join(&t);
            }
            join_guarded(&mut a.closed, &a.pp, b.closed, &b.pp, |v| &mut v.1);
            join_guarded(&mut a.removed, &a.pp, b.removed, &b.pp, |r| &mut r.guard);
            a.written.extend(b.written);
            a.pp.retain(|k, v| b.pp.get(k) == Some(v));
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
    /// (function, parameter) whose key the function closes with
    /// WdfRegistryClose (the key passed in, or pointed to): how.
    key_closes: BTreeMap<(String, usize), String>,
    /// (function, parameter) whose key the function still holds closed
    /// when it returns (not set to another value after the close).
    key_left_closed: BTreeSet<(String, usize)>,
    /// (function, parameter) whose key the function removes: how, and
    /// whether it returns the removal's status.
    key_removes: BTreeMap<(String, usize), (String, bool)>,
    /// Members and globals whose key a function closes as it found them:
    /// function → place → how.
    member_closes: BTreeMap<String, BTreeMap<Place, String>>,
    /// Members whose key a method removed and left in place when the
    /// removal succeeded: place → (class, where, method).
    left_removed: BTreeMap<Place, (String, String, usize, String)>,
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
            destroyed_after_removal(funcs, &next, &mut findings);
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
    for (k, v) in &from.key_closes {
        into.key_closes.entry(k.clone()).or_insert_with(|| v.clone());
    }
    into.key_left_closed.extend(from.key_left_closed.iter().cloned());
    for (k, v) in &from.key_removes {
        into.key_removes.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &from.member_closes {
        let e = into.member_closes.entry(k.clone()).or_default();
        for (p, how) in v {
            e.entry(p.clone()).or_insert_with(|| how.clone());
        }
    }
    for (k, v) in &from.left_removed {
        into.left_removed.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// WKG003 through a destructor: a method removed a member's key and, when
/// the removal succeeded, left it in the member; the class's destructor
/// closes that member as it finds it.
fn destroyed_after_removal(funcs: &[Func], facts: &Facts, out: &mut Vec<Finding>) {
    for (place, (class, file, line, method)) in &facts.left_removed {
        for f in funcs.iter().filter(|f| f.f.name == format!("~{class}")) {
            let Some(closes) = facts.member_closes.get(&f.f.name) else { continue };
            let Some(how) = closes.get(place) else { continue };
            let Some((at, col)) = first_close_of(&f.f.body, place, facts) else { continue };
            let finding = Finding {
                file: f.file.into(),
                line: at,
                col,
                severity: "error",
                code: "WKG003",
                message: format!(
                    "the destructor closes `{}` after `{REMOVE_KEY}` succeeded in `{method}`",
                    place.text()
                ),
                notes: vec![
                    format!(
                        "removed at {file}:{line}, in `{method}`, and left in `{}` when it succeeded",
                        place.text()
                    ),
                    format!("closed here when the object is destroyed: {how}"),
                    "a successful WdfRegistryRemoveKey deletes the key object (F69); set the member to NULL \
                     once the removal succeeded"
                        .into(),
                ],
            };
            if !out.iter().any(|x| x.file == finding.file && x.line == finding.line && x.code == finding.code) {
                out.push(finding);
            }
        }
    }
}

/// Line and column of the first event of `stmts` that closes `place`
/// (WdfRegistryClose, or a call the destructor makes that does).
fn first_close_of(stmts: &[Stmt], place: &Place, facts: &Facts) -> Option<(usize, usize)> {
    let mut found = None;
    super::ir::for_each_event(stmts, &mut |e| {
        if found.is_none()
            && let EventKind::Call(c) = &e.kind
            && (c.callee == REGISTRY_CLOSE && c.args.first() == Some(&Expr::Place(place.clone()))
                || facts.member_closes.get(&c.callee).is_some_and(|m| m.contains_key(place)))
        {
            found = Some((e.line, e.col));
        }
    });
    found
}

enum Frame {
    Loop {
        breaks: Option<State>,
        conts: Option<State>,
    },
    Switch {
        breaks: Option<State>,
    },
    Try {
        leaves: Option<State>,
    },
    /// A lambda's or closure's body: where its returns go.
    Nested {
        returns: Option<State>,
    },
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
        for (cond, holds) in &self.func.f.assume {
            s.pp.insert(cond.clone(), *holds);
        }
        let body = &self.func.f.body;
        if let Some(end) = self.block(body, Some(s)) {
            self.summarise_exit(&end, None);
        }
    }

    /// What the function did to its parameters' keys and to members, on a
    /// path that returns `value`.
    fn summarise_exit(&mut self, s: &State, value: Option<&Expr>) {
        let params = &self.func.f.params;
        for (place, removal) in &s.removed {
            let Some(i) = param_of(place, params) else {
                if let Some(class) = &self.func.f.class
                    && matches!(place, Place::Field { ty: Some(t), .. } if t == class)
                    && !self.name().starts_with('~')
                {
                    self.next.left_removed.entry(place.clone()).or_insert_with(|| {
                        (class.clone(), self.func.file.to_string(), removal.line, self.func.f.name.clone())
                    });
                }
                continue;
            };
            let returned = match value {
                Some(Expr::Place(Place::Var(v))) => removal.status.as_deref() == Some(v.as_str()),
                Some(Expr::Call(c)) => removal.tested_as.as_deref() == Some(c.callee.as_str()),
                _ => false,
            };
            let how = format!("`{}` ({}:{})", self.name(), self.func.file, removal.line);
            let e = self.next.key_removes.entry((self.name().to_string(), i)).or_insert((how, returned));
            e.1 |= returned;
        }
        for place in s.closed.keys() {
            if let Some(i) = param_of(place, params) {
                self.next.key_left_closed.insert((self.name().to_string(), i));
            }
        }
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
                let t = refine(s.clone(), cond, true).and_then(|s| self.block(then, Some(s)));
                let e = refine(s, cond, false).and_then(|s| self.block(els, Some(s)));
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
                        if let Some(Frame::Nested { returns }) =
                            self.frames.iter_mut().rev().find(|f| matches!(f, Frame::Nested { .. }))
                        {
                            *returns = join(returns.take(), Some(s));
                            return None;
                        }
                        if let Some(v) = v {
                            let t = self.taint_of(v, &s);
                            if let Some(o) = t.origin {
                                self.next.helpers.entry(self.name().to_string()).or_insert(o);
                            }
                        }
                        self.summarise_exit(&s, v.as_ref());
                    }
                    Jump::Break => {
                        for fr in self.frames.iter_mut().rev() {
                            match fr {
                                Frame::Loop { breaks, .. } | Frame::Switch { breaks } => {
                                    *breaks = join(breaks.take(), Some(s));
                                    break;
                                }
                                Frame::Try { .. } | Frame::Nested { .. } => {}
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
            Stmt::Nested(body) => {
                // Its own function: its returns end it, not this one; it
                // may also not run at all.
                let (frames, labels) = (std::mem::take(&mut self.frames), std::mem::take(&mut self.labels));
                self.frames.push(Frame::Nested { returns: None });
                let end = self.block(body, Some(s.clone()));
                let returns = match self.frames.pop() {
                    Some(Frame::Nested { returns }) => returns,
                    _ => None,
                };
                self.frames = frames;
                self.labels = labels;
                join(Some(s), join(end, returns))
            }
        }
    }

    fn taint_of(&self, e: &Expr, s: &State) -> Taint {
        match e {
            Expr::Call(c) if HANDLE_SOURCES.contains(&c.callee.as_str()) => {
                let key = c.args.last().map(expr_text).unwrap_or_default();
                let call = if c.callee == GET_HANDLE {
                    format!("{GET_HANDLE}({key})")
                } else {
                    format!("{key}.{}()", c.callee)
                };
                Taint { origin: Some(format!("`{call}` in `{}` ({})", self.name(), self.file())), params: 0 }
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
                if let (Expr::Call(c), Place::Var(status)) = (value, target) {
                    // `status = WdfRegistryRemoveKey(k)` (or a helper that
                    // returns the removal's status): the status of `k`'s.
                    for (k, r) in &mut s.removed {
                        if r.status.is_none()
                            && r.tested_as.as_deref() == Some(c.callee.as_str())
                            && c.args.iter().any(|a| matches!(a, Expr::Place(q) | Expr::Addr(q) if q == k))
                        {
                            r.status = Some(status.clone());
                        }
                    }
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
                s.closed.remove(target);
                s.removed.remove(target);
                s.written.insert(target.clone());
                s.taint.insert(target.clone(), t);
            }
            _ => {
                if !matches!(target, Place::Var(v) if !self.func.f.params.contains(v)) {
                    s.written.insert(target.clone());
                }
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
                self.close_key(p, e, s, None, true);
            }
            return;
        }
        if callee == REMOVE_KEY {
            if let Some(Expr::Place(p)) = c.args.first() {
                let removal = Removal {
                    line: e.line,
                    guard: s.pp.clone(),
                    status: None,
                    tested_as: Some(REMOVE_KEY.into()),
                    via: None,
                };
                s.removed.insert(p.clone(), removal);
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
        self.key_summaries(c, e, s);
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
            let t = match arg {
                // A pointer to the handle: what it points to.
                Expr::Addr(p) => self.place_taint(p, s),
                other => self.taint_of(other, s),
            };
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

    /// `WdfRegistryClose(p)` at `e` (`via`: through a called function):
    /// reported when `p` is already closed or removed on this path; `p` is
    /// closed afterwards when `stays`.
    fn close_key(&mut self, p: &Place, e: &Event, s: &mut State, via: Option<(&str, &str)>, stays: bool) {
        let what = match via {
            Some((callee, _)) => format!("`{callee}` closes `{}`", p.text()),
            None => format!("`{REGISTRY_CLOSE}({})`", p.text()),
        };
        let closed_by = via.map(|(callee, how)| format!("`{callee}` closes it: {how}"));
        let pp = &s.pp;
        let found = if let Some((first, _)) = s.closed.get(p).filter(|(_, g)| !excluded(g, pp)) {
            Some((
                "WKG002",
                format!("{what}, a key already closed on this path"),
                format!("first closed at {}:{first}, in `{}`", self.file(), self.name()),
                "WdfRegistryClose deletes the key object (F4); the second call uses a deleted WDFKEY (F77)",
            ))
        } else {
            s.removed.get(p).filter(|r| !excluded(&r.guard, pp)).map(|r| {
                let how = r.via.as_ref().map(|v| format!(" by {v}")).unwrap_or_default();
                (
                    "WKG003",
                    format!("{what} after `{REMOVE_KEY}` succeeded"),
                    format!(
                        "removed at {}:{}{how}, in `{}`; this path runs when it succeeded",
                        self.file(),
                        r.line,
                        self.name()
                    ),
                    "a successful WdfRegistryRemoveKey deletes the key object (F69); close only on its failure path",
                )
            })
        };
        if let Some((code, message, first, why)) = found {
            let mut notes = vec![first];
            notes.extend(closed_by);
            notes.push(why.into());
            let finding =
                Finding { file: self.file().into(), line: e.line, col: e.col, severity: "error", code, message, notes };
            self.push(finding);
        }
        if !s.written.contains(p) {
            // The key as the caller passed it or the object holds it.
            if let Some(i) = param_of(p, &self.func.f.params) {
                let how = format!("`{REGISTRY_CLOSE}` in `{}` ({}:{})", self.name(), self.file(), e.line);
                self.next.key_closes.entry((self.name().to_string(), i)).or_insert(how);
            } else if matches!(p, Place::Field { .. } | Place::Global(_)) {
                let how = format!("`{REGISTRY_CLOSE}({})` in `{}` ({}:{})", p.text(), self.name(), self.file(), e.line);
                self.next.member_closes.entry(self.name().to_string()).or_default().entry(p.clone()).or_insert(how);
            }
        }
        if stays {
            s.closed.insert(p.clone(), (e.line, s.pp.clone()));
        }
    }

    /// A call of a function that closes or removes the keys passed to it,
    /// or closes members' keys: the same as the DDI at this call.
    fn key_summaries(&mut self, c: &Call, e: &Event, s: &mut State) {
        let callee = c.callee.as_str();
        if let Some(members) = self.facts.member_closes.get(callee).filter(|_| callee != self.name()) {
            for (p, how) in members.clone() {
                if s.closed.contains_key(&p) || s.removed.contains_key(&p) {
                    self.close_key(&p, e, s, Some((callee, &how)), false);
                } else if !s.written.contains(&p) {
                    // The caller closes that member as it found it, too.
                    let via =
                        format!("`{callee}()` in `{}` ({}:{}), which calls {how}", self.name(), self.file(), e.line);
                    self.next.member_closes.entry(self.name().to_string()).or_default().entry(p).or_insert(via);
                }
            }
        }
        for (i, arg) in c.args.iter().enumerate() {
            let (Expr::Place(p) | Expr::Addr(p)) = arg else { continue };
            if matches!(p, Place::Elem(_)) {
                continue;
            }
            let key = (callee.to_string(), i);
            if let Some(how) = self.facts.key_closes.get(&key).cloned() {
                let stays = self.facts.key_left_closed.contains(&key);
                self.close_key(p, e, s, Some((callee, &how)), stays);
            }
            if let Some((how, returned)) = self.facts.key_removes.get(&key).cloned() {
                let removal = Removal {
                    line: e.line,
                    guard: s.pp.clone(),
                    status: None,
                    tested_as: returned.then(|| callee.to_string()),
                    via: Some(format!("`{callee}`, which removes it in {how}")),
                };
                s.removed.insert(p.clone(), removal);
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
/// no removal; `None` when the arm cannot be taken (a conditional-compilation
/// condition contradicting one assumed on this path).
fn refine(mut s: State, cond: &str, then_arm: bool) -> Option<State> {
    if let Some(c) = cond.strip_prefix('#') {
        let (atom, holds) = super::pre::condition_atom(c);
        let holds = holds == then_arm;
        if s.pp.get(&atom).is_some_and(|&h| h != holds) {
            return None;
        }
        s.pp.insert(atom, holds);
        return Some(s);
    }
    let branch = [super::Branch { id: 0, cond: cond.to_string(), then_arm }];
    s.removed.retain(|_, r| match (&r.status, &r.tested_as) {
        (Some(st), _) => !on_failure_path(&branch, st),
        // Tested in place: `if (!NT_SUCCESS(WdfRegistryRemoveKey(k)))`.
        (None, Some(callee)) if cond.contains(callee.as_str()) => cond.contains('!') != then_arm,
        _ => true,
    });
    Some(s)
}

/// The parameter index of `p` (a parameter, or what it points to).
fn param_of(p: &Place, params: &[String]) -> Option<usize> {
    match p {
        Place::Var(v) => params.iter().position(|x| x == v),
        Place::Deref(inner) => match &**inner {
            Place::Var(v) => params.iter().position(|x| x == v),
            _ => None,
        },
        _ => None,
    }
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
