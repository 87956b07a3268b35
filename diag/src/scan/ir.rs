//! What the parsers lower a function to: statements that keep the control
//! flow the rules need (branches, loops, switches, jumps, SEH), over events
//! (assignments and calls) on places (locals, globals, struct members,
//! array elements, pointees).

/// Where a value lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Place {
    /// A local or parameter.
    Var(String),
    /// A variable of file or program scope.
    Global(String),
    /// A struct or class member. `ty` is the owner's type: while lowering, a
    /// description of where to find it (see `scan::program`); afterwards the
    /// owner's canonical type name, `None` when unknown (then the member
    /// matches any owner's member of that name).
    Field { ty: Option<String>, name: String },
    /// A bare name inside a C++ method that is neither a parameter nor a
    /// local: a member of the method's class, or a global.
    Member(String),
    /// An element of an array (`h[i]`, `ctx->Keys[i]`).
    Elem(Box<Place>),
    /// What a pointer points to (`*Out`).
    Deref(Box<Place>),
}

impl Place {
    /// The place as a driver author would write it.
    pub fn text(&self) -> String {
        match self {
            Place::Var(v) | Place::Global(v) | Place::Member(v) => v.clone(),
            Place::Field { ty: Some(t), name } if !t.contains(':') => format!("{t}::{name}"),
            Place::Field { name, .. } => format!("field {name}"),
            Place::Elem(p) => format!("{}[…]", p.text()),
            Place::Deref(p) => format!("*{}", p.text()),
        }
    }
}

/// A call: `callee(args…)`, the receiver of a method call apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub callee: String,
    pub args: Vec<Expr>,
}

/// An expression, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Call(Call),
    Place(Place),
    /// `&place`.
    Addr(Place),
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventKind {
    Assign { target: Place, value: Expr },
    Call(Call),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub kind: EventKind,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Jump {
    Return(Option<Expr>),
    Break,
    Continue,
    Goto(String),
    /// `__leave`: to the end of the `__try` body.
    Leave,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stmt {
    Ev(Event),
    /// The condition's own calls come as events before the `If`.
    If {
        cond: String,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    /// `once`: `do { … } while (0)`.
    Loop {
        body: Vec<Stmt>,
        once: bool,
    },
    /// Each case from its label on (control falls through to the next).
    Switch {
        cases: Vec<Vec<Stmt>>,
        has_default: bool,
    },
    /// `__try`/`__except`, `try`/`catch`: the body, or one of the handlers.
    Try {
        body: Vec<Stmt>,
        handlers: Vec<Vec<Stmt>>,
    },
    Jump {
        jump: Jump,
        line: usize,
    },
    Label(String),
    /// A lambda or closure written here: a function of its own (a `return`
    /// inside ends only it) that shares the enclosing function's variables;
    /// it may run here, or not at all.
    Nested(Vec<Stmt>),
}

/// A function lowered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Function {
    pub name: String,
    pub params: Vec<String>,
    /// A C++ method's class.
    pub class: Option<String>,
    pub body: Vec<Stmt>,
    /// The conditional-compilation conditions the whole definition sits in
    /// (`#if` text, normalised, and whether it holds there).
    pub assume: Vec<(String, bool)>,
}

/// Calls every event of `stmts`, depth first, in source order.
pub(crate) fn for_each_event<'a>(stmts: &'a [Stmt], f: &mut impl FnMut(&'a Event)) {
    for s in stmts {
        match s {
            Stmt::Ev(e) => f(e),
            Stmt::If { then, els, .. } => {
                for_each_event(then, f);
                for_each_event(els, f);
            }
            Stmt::Loop { body, .. } | Stmt::Nested(body) => for_each_event(body, f),
            Stmt::Switch { cases, .. } => cases.iter().for_each(|c| for_each_event(c, f)),
            Stmt::Try { body, handlers } => {
                for_each_event(body, f);
                handlers.iter().for_each(|h| for_each_event(h, f));
            }
            Stmt::Jump { jump: Jump::Return(Some(_)), .. } | Stmt::Jump { .. } | Stmt::Label(_) => {}
        }
    }
}
