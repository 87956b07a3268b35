//! `scan`: finds WDFKEY handle misuse in C, C++ and Rust driver sources
//! before it crashes a machine. The parsers (tree-sitter for C/C++, syn for
//! Rust) lower each function to the same list of events — assignments,
//! calls, returns, each with the branches it sits in — and the rules run on
//! that list, so every language gets the same checks.

mod c;
mod rust;

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// A local or parameter.
    Var(String),
    /// A struct field (by field name, file-wide: `ctx->Handle`, `self.handle`).
    Field(String),
}

/// An expression, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Call { callee: String, args: Vec<Expr> },
    Place(Place),
    Other(String),
}

/// One branch an event sits in: the condition's text and the arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Branch {
    /// Unique per `if` in the function.
    pub id: usize,
    pub cond: String,
    pub then_arm: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventKind {
    Assign { target: Place, value: Expr },
    Call { callee: String, args: Vec<Expr> },
    Return { value: Option<Expr> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub kind: EventKind,
    pub line: usize,
    pub col: usize,
    pub branches: Vec<Branch>,
}

/// A function lowered to events in source order.
#[derive(Debug, Clone)]
pub(crate) struct Function {
    pub name: String,
    pub events: Vec<Event>,
}

/// A finding, compiler style.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// The file, as given or found under a given directory.
    pub file: String,
    /// 1-based line of the offending call.
    pub line: usize,
    /// 1-based column of the offending call.
    pub col: usize,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The rule: `WKG001`…`WKG004` (`--explain CODE`).
    pub code: &'static str,
    /// What is wrong, in one line.
    pub message: String,
    /// The flow: where the handle came from, where it is closed, why the
    /// framework closes it again.
    pub notes: Vec<String>,
}

/// A file that could not be read or parsed (reported, skipped).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The file or path.
    pub file: String,
    /// Why, in words.
    pub reason: String,
}

/// The result of one scan (the JSON report).
#[derive(Debug, Default, Serialize)]
pub struct ScanReport {
    /// Files read and checked (in full or in part).
    pub files_scanned: usize,
    /// Every finding, by file and line.
    pub findings: Vec<Finding>,
    /// Paths that could not be read or parsed at all.
    pub skipped: Vec<Skipped>,
    /// Parsed with syntax errors (macros the parser could not see through):
    /// the rest of the file was still checked.
    pub partial: Vec<Skipped>,
}

const GET_HANDLE: &str = "WdfRegistryWdmGetHandle";
const CLOSERS: &[&str] = &["ZwClose", "NtClose", "ObCloseHandle"];
const REGISTRY_CLOSE: &str = "WdfRegistryClose";
const REMOVE_KEY: &str = "WdfRegistryRemoveKey";
/// DDIs that hand out a WDFKEY through their last argument.
const KEY_OPENERS: &[&str] = &[
    "WdfRegistryOpenKey",
    "WdfRegistryCreateKey",
    "WdfDriverOpenParametersRegistryKey",
    "WdfDriverOpenPersistentStateRegistryKey",
    "WdfDeviceOpenRegistryKey",
    "WdfFdoInitOpenRegistryKey",
];

/// The rules' explanations (`--explain`).
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "WKG001",
        "WKG001: the driver closes the WDM handle inside a WDFKEY.\n\n\
         WdfRegistryWdmGetHandle returns the key object's own handle, not a copy (kmdf-facts F6). The \
         framework closes that handle when the WDFKEY is closed or deleted — at the latest when its parent \
         (the driver object by default, F10) is deleted at unload. If the driver has already closed it with \
         ZwClose/NtClose/ObCloseHandle, the framework closes the same value a second time: a silent \
         STATUS_INVALID_HANDLE, another component's handle closed, or bug check 0x93 INVALID_KERNEL_HANDLE \
         blamed on Wdf01000.sys (F41, F67).\n\n\
         Fix (C/C++): never close the handle; close the key with WdfRegistryClose(key) once, or let its parent \
         delete it. Fix (Rust): hold the key in wdfkey::RegKey; its lent KeyHandle cannot be closed.",
    ),
    (
        "WKG002",
        "WKG002: WdfRegistryClose called twice on the same key on one path.\n\n\
         WdfRegistryClose closes the handle and deletes the key object (F4); the second call uses a deleted \
         WDFKEY: bug check 0x10D WDF_VIOLATION with the KMDF verifier, a use of freed memory without it (F77).\n\n\
         Fix: close once, and set the variable to NULL (WDF_NO_HANDLE) after closing; in Rust, RegKey closes \
         exactly once on drop.",
    ),
    (
        "WKG003",
        "WKG003: WdfRegistryClose after a successful WdfRegistryRemoveKey.\n\n\
         On success WdfRegistryRemoveKey deletes the key object as well as the registry key (F69); a close \
         afterwards uses a deleted WDFKEY. On failure the key is still open and must be closed — that path is \
         correct and not reported.\n\n\
         Fix: close only when WdfRegistryRemoveKey failed; in Rust, RegKey::remove(self) consumes the key and \
         hands it back only on failure.",
    ),
    (
        "WKG004",
        "WKG004 (warning): a WDFKEY kept in a field, parented to another object, and closed in an unload \
         routine.\n\n\
         A key deleted with its parent (ParentObject, F11) may already be gone when the unload routine runs \
         (a device is deleted before EvtDriverUnload, F35/F37); closing it then uses a deleted object (F77).\n\n\
         Fix: close the key in the parent's cleanup callback, or parent it to the driver and close it in \
         EvtDriverUnload; in Rust, keep it as Option<RegKey> in the parent's context and take() it there.",
    ),
];

/// The explanation of `code`, if it is one of the rules.
pub fn explain(code: &str) -> Option<&'static str> {
    EXPLANATIONS.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, e)| *e)
}

fn place_text(p: &Place) -> String {
    match p {
        Place::Var(v) => v.clone(),
        Place::Field(f) => format!("field {f}"),
    }
}

/// Whether the event's branches put it on the failure path of `status`:
/// inside `if (!NT_SUCCESS(status))`, or the else of `if (NT_SUCCESS(status))`.
fn on_failure_path(branches: &[Branch], status: &str) -> bool {
    branches.iter().any(|b| {
        let c: String = b.cond.chars().filter(|c| !c.is_whitespace()).collect();
        let negated = c.contains(&format!("!NT_SUCCESS({status})"))
            || c.contains(&format!("{status}<0"))
            || c.contains(&format!("NT_ERROR({status})"))
            || c.contains(&format!("{status}.is_err()"))
            || c.contains(&format!("!NT_SUCCESS(*{status})"));
        let positive =
            !negated && (c.contains(&format!("NT_SUCCESS({status})")) || c.contains(&format!("{status}.is_ok()")));
        (negated && b.then_arm) || (positive && !b.then_arm)
    })
}

/// Whether the event's branches put it on the success path of `status`.
fn on_success_path(branches: &[Branch], status: &str) -> bool {
    let flipped: Vec<Branch> = branches.iter().map(|b| Branch { then_arm: !b.then_arm, ..b.clone() }).collect();
    on_failure_path(&flipped, status)
}

/// Two events are on exclusive arms of the same `if`.
fn exclusive(a: &[Branch], b: &[Branch]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.id == y.id && x.then_arm != y.then_arm))
}

/// Runs every rule over a file's functions.
pub(crate) fn check(file: &str, functions: &[Function]) -> Vec<Finding> {
    let mut findings = Vec::new();
    // Helpers returning the key's handle (directly, through a local, or
    // through another helper): grown until no function is added.
    let mut helpers: BTreeMap<String, (usize, String)> = BTreeMap::new();
    loop {
        let known = helpers.len();
        for f in functions {
            let tainted = local_taint(f, &BTreeMap::new(), &helpers);
            for e in &f.events {
                if let EventKind::Return { value: Some(v) } = &e.kind
                    && let Some(origin) = taint_of(v, &tainted, &BTreeMap::new(), &helpers)
                {
                    helpers.entry(f.name.clone()).or_insert((e.line, origin));
                }
            }
        }
        if helpers.len() == known {
            break;
        }
    }
    // Fields assigned a key's handle anywhere in the file.
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for f in functions {
        let tainted = local_taint(f, &BTreeMap::new(), &helpers);
        for e in &f.events {
            if let EventKind::Assign { target: Place::Field(field), value } = &e.kind
                && let Some(origin) = taint_of(value, &tainted, &BTreeMap::new(), &helpers)
            {
                fields
                    .entry(field.clone())
                    .or_insert(format!("{origin}; stored in field `{field}` at {file}:{} in `{}`", e.line, f.name));
            }
        }
    }
    for f in functions {
        let tainted = local_taint(f, &fields, &helpers);
        for e in &f.events {
            let EventKind::Call { callee, args } = &e.kind else { continue };
            // WKG001
            if CLOSERS.contains(&callee.as_str())
                && let Some(arg) = args.first()
                && let Some(origin) = taint_of(arg, &tainted, &fields, &helpers)
            {
                findings.push(Finding {
                    file: file.into(),
                    line: e.line,
                    col: e.col,
                    severity: "error",
                    code: "WKG001",
                    message: format!("`{callee}` closes the WDM handle of a WDFKEY; the framework will close it again"),
                    notes: vec![
                        format!("the handle comes from {origin}"),
                        format!("closed here by the driver, in `{}`", f.name),
                        "the WDFKEY still owns it: WdfRegistryClose, or the deletion of the key's parent at unload, \
                         closes the same value again (F6, F10) — 0x93 INVALID_KERNEL_HANDLE blamed on Wdf01000.sys"
                            .into(),
                    ],
                });
            }
        }
        findings.extend(double_close(file, f));
        findings.extend(close_after_remove(file, f));
    }
    findings.extend(parented_field_closed_at_unload(file, functions));
    findings.sort_by_key(|x| (x.line, x.col));
    findings
}

/// Locals holding a key's handle in `f`: name → where it came from.
fn local_taint(
    f: &Function,
    fields: &BTreeMap<String, String>,
    helpers: &BTreeMap<String, (usize, String)>,
) -> BTreeMap<String, String> {
    let mut tainted = BTreeMap::new();
    for e in &f.events {
        if let EventKind::Assign { target: Place::Var(v), value } = &e.kind {
            match taint_of(value, &tainted, fields, helpers) {
                Some(origin) => {
                    tainted.insert(v.clone(), format!("{origin}, assigned to `{v}` at line {}", e.line));
                }
                None => {
                    tainted.remove(v);
                }
            }
        }
    }
    tainted
}

fn taint_of(
    e: &Expr,
    locals: &BTreeMap<String, String>,
    fields: &BTreeMap<String, String>,
    helpers: &BTreeMap<String, (usize, String)>,
) -> Option<String> {
    match e {
        Expr::Call { callee, args } if callee == GET_HANDLE => {
            let key = args.last().map(expr_text).unwrap_or_default();
            Some(format!("`{GET_HANDLE}({key})`"))
        }
        Expr::Call { callee, .. } => {
            helpers.get(callee).map(|(line, origin)| format!("`{callee}()` (line {line}), which returns {origin}"))
        }
        Expr::Place(Place::Var(v)) => locals.get(v).cloned(),
        Expr::Place(Place::Field(f)) => fields.get(f).cloned(),
        Expr::Other(_) => None,
    }
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Call { callee, .. } => format!("{callee}(…)"),
        Expr::Place(p) => place_text(p),
        Expr::Other(t) => t.clone(),
    }
}

/// WKG002: WdfRegistryClose twice on the same place, on one path, with no
/// assignment to it in between.
fn double_close(file: &str, f: &Function) -> Vec<Finding> {
    let mut out = Vec::new();
    let closes: Vec<(usize, &Event, &Place)> = f
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.kind {
            EventKind::Call { callee, args } if callee == REGISTRY_CLOSE => match args.first() {
                Some(Expr::Place(p)) => Some((i, e, p)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    for (n, (i, first, place)) in closes.iter().enumerate() {
        for (j, second, other) in closes.iter().skip(n + 1) {
            if place != other || exclusive(&first.branches, &second.branches) {
                continue;
            }
            let reassigned = f.events[i + 1..*j].iter().any(|e| match &e.kind {
                EventKind::Assign { target, .. } => target == *place,
                // Passed by address to an opener: a new key.
                EventKind::Call { callee, args } => {
                    KEY_OPENERS.contains(&callee.as_str()) && args.last() == Some(&Expr::Place((*place).clone()))
                }
                // A return that runs whenever the first close ran: the
                // second close is on another path.
                EventKind::Return { .. } => e.branches.iter().all(|b| first.branches.contains(b)),
            });
            if reassigned {
                continue;
            }
            out.push(Finding {
                file: file.into(),
                line: second.line,
                col: second.col,
                severity: "error",
                code: "WKG002",
                message: format!("`{REGISTRY_CLOSE}({})` on a key already closed on this path", place_text(place)),
                notes: vec![
                    format!("first closed at {file}:{}", first.line),
                    "WdfRegistryClose deletes the key object (F4); the second call uses a deleted WDFKEY (F77)".into(),
                ],
            });
            break;
        }
    }
    out
}

/// WKG003: WdfRegistryClose after a successful WdfRegistryRemoveKey.
fn close_after_remove(file: &str, f: &Function) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, e) in f.events.iter().enumerate() {
        let (status, key) = match &e.kind {
            EventKind::Assign { target: Place::Var(s), value: Expr::Call { callee, args } } if callee == REMOVE_KEY => {
                (Some(s.clone()), args.first().cloned())
            }
            // The call of an assignment is seen once, through the assignment.
            EventKind::Call { callee, args }
                if callee == REMOVE_KEY
                    && !f.events.iter().any(|a| {
                        a.line == e.line
                            && matches!(&a.kind, EventKind::Assign { value: Expr::Call { callee, .. }, .. } if callee == REMOVE_KEY)
                    }) =>
            {
                (None, args.first().cloned())
            }
            _ => continue,
        };
        let Some(Expr::Place(key)) = key else { continue };
        for later in &f.events[i + 1..] {
            let EventKind::Call { callee, args } = &later.kind else { continue };
            if callee != REGISTRY_CLOSE || args.first() != Some(&Expr::Place(key.clone())) {
                continue;
            }
            if exclusive(&e.branches, &later.branches) {
                continue;
            }
            let on_failure = match &status {
                Some(s) => {
                    on_failure_path(&later.branches, s)
                        || f.events.iter().any(|r| {
                            matches!(r.kind, EventKind::Return { .. })
                                && r.line > e.line
                                && r.line < later.line
                                && on_success_path(&r.branches, s)
                        })
                }
                // The status was tested in place: `if (!NT_SUCCESS(WdfRegistryRemoveKey(k)))`.
                None => {
                    later.branches.iter().any(|b| b.cond.contains(REMOVE_KEY) && b.cond.contains('!') == b.then_arm)
                }
            };
            if on_failure {
                continue;
            }
            out.push(Finding {
                file: file.into(),
                line: later.line,
                col: later.col,
                severity: "error",
                code: "WKG003",
                message: format!("`{REGISTRY_CLOSE}({})` after `{REMOVE_KEY}` succeeded", place_text(&key)),
                notes: vec![
                    format!("removed at {file}:{}", e.line),
                    "a successful WdfRegistryRemoveKey deletes the key object (F69); close only on its failure path"
                        .into(),
                ],
            });
        }
    }
    out
}

/// WKG004: a key opened into a field with an explicit ParentObject and
/// closed in an unload routine.
fn parented_field_closed_at_unload(file: &str, functions: &[Function]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut parented_fields: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for f in functions {
        let sets_parent = f
            .events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Assign { target: Place::Field(x), .. } if x == "ParentObject"));
        if !sets_parent {
            continue;
        }
        for e in &f.events {
            if let EventKind::Call { callee, args } = &e.kind
                && KEY_OPENERS.contains(&callee.as_str())
                && let Some(Expr::Place(Place::Field(field))) = args.last()
            {
                parented_fields.entry(field.clone()).or_insert((f.name.clone(), e.line));
            }
        }
    }
    for f in functions.iter().filter(|f| f.name.to_ascii_lowercase().contains("unload")) {
        for e in &f.events {
            if let EventKind::Call { callee, args } = &e.kind
                && callee == REGISTRY_CLOSE
                && let Some(Expr::Place(Place::Field(field))) = args.first()
                && let Some((opener, line)) = parented_fields.get(field)
            {
                out.push(Finding {
                    file: file.into(),
                    line: e.line,
                    col: e.col,
                    severity: "warning",
                    code: "WKG004",
                    message: format!(
                        "key in field `{field}` is closed in `{}` but was parented to another object",
                        f.name
                    ),
                    notes: vec![
                        format!("opened at {file}:{line} in `{opener}` with an explicit ParentObject"),
                        "the framework deletes the key with its parent (F11); if the parent goes before this \
                         unload routine runs, this close uses a deleted object (F77)"
                            .into(),
                    ],
                });
            }
        }
    }
    out
}

/// The language of a path, by extension.
fn language(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "c" | "h" => Some("c"),
        "cpp" | "cc" | "cxx" | "hpp" | "hh" | "hxx" | "inl" => Some("cpp"),
        "rs" => Some("rust"),
        _ => None,
    }
}

/// Every source file under `paths` (files given directly are taken whatever
/// their extension says only if it is a known one). Errors for paths that
/// do not exist.
fn collect(paths: &[PathBuf], report: &mut ScanReport) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        match std::fs::metadata(&p) {
            Err(e) => {
                report.skipped.push(Skipped { file: p.display().to_string(), reason: format!("cannot read: {e}") })
            }
            Ok(m) if m.is_dir() => match std::fs::read_dir(&p) {
                Ok(entries) => {
                    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    children.retain(|c| {
                        c.file_name().is_none_or(|n| !n.to_string_lossy().starts_with('.') && n != "target")
                    });
                    stack.extend(children.into_iter().rev());
                }
                Err(e) => {
                    report.skipped.push(Skipped { file: p.display().to_string(), reason: format!("cannot list: {e}") })
                }
            },
            Ok(_) if language(&p).is_some() => files.push(p),
            Ok(_) => {}
        }
    }
    files
}

/// Scans files and directories.
pub fn scan(paths: &[PathBuf]) -> ScanReport {
    let mut report = ScanReport::default();
    for path in collect(paths, &mut report) {
        let name = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                report.skipped.push(Skipped { file: name, reason: format!("cannot read: {e}") });
                continue;
            }
        };
        // Non-UTF-8 bytes (comments in legacy code pages) become U+FFFD;
        // line and column positions stay those of the file's lines.
        let text = String::from_utf8_lossy(&bytes);
        let parsed = match language(&path) {
            Some("rust") => rust::lower(&text).map(|f| (f, 0)),
            Some(lang) => c::lower(&text, lang == "cpp"),
            None => continue,
        };
        match parsed {
            Ok((functions, errors)) => {
                report.files_scanned += 1;
                if errors > 0 {
                    report.partial.push(Skipped {
                        file: name.clone(),
                        reason: format!("{errors} syntax error(s) (unexpanded macros?); the rest was checked"),
                    });
                }
                report.findings.extend(check(&name, &functions));
            }
            Err(reason) => report.skipped.push(Skipped { file: name, reason }),
        }
    }
    report
}

/// Compiler-style text.
pub fn render(report: &ScanReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for f in &report.findings {
        let _ = writeln!(s, "{}:{}:{}: {}[{}]: {}", f.file, f.line, f.col, f.severity, f.code, f.message);
        for n in &f.notes {
            let _ = writeln!(s, "    = note: {n}");
        }
        let _ = writeln!(s, "    = help: `wdfkey-harness scan --explain {}`", f.code);
    }
    for k in &report.skipped {
        let _ = writeln!(s, "{}: skipped: {}", k.file, k.reason);
    }
    for k in &report.partial {
        let _ = writeln!(s, "{}: note: {}", k.file, k.reason);
    }
    let errors = report.findings.iter().filter(|f| f.severity == "error").count();
    let _ = writeln!(
        s,
        "{} file(s) scanned: {errors} error(s), {} warning(s), {} skipped",
        report.files_scanned,
        report.findings.len() - errors,
        report.skipped.len()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scan-corpus")
    }

    /// `(line, code)` of every `expect: CODE` marker in `file`.
    fn expected(file: &Path) -> Vec<(usize, String)> {
        let text = String::from_utf8_lossy(&std::fs::read(file).expect("corpus file")).into_owned();
        text.lines()
            .enumerate()
            .filter_map(|(i, l)| {
                l.split("expect: ").nth(1).map(|c| (i + 1, c.split_whitespace().next().unwrap_or("").to_string()))
            })
            .collect()
    }

    #[test]
    fn every_corpus_file_gives_exactly_its_expected_findings() {
        let mut files = Vec::new();
        for dir in ["c", "cpp", "rust"] {
            for entry in std::fs::read_dir(corpus().join(dir)).expect("corpus dir") {
                files.push(entry.expect("entry").path());
            }
        }
        files.sort();
        assert!(files.len() >= 15, "{files:?}");
        let (mut positives, mut clean) = (0, 0);
        for file in files {
            let report = scan(std::slice::from_ref(&file));
            assert!(report.skipped.is_empty(), "{}: {:?}", file.display(), report.skipped);
            let mut got: Vec<(usize, String)> = report.findings.iter().map(|f| (f.line, f.code.to_string())).collect();
            got.sort();
            let want = expected(&file);
            assert_eq!(got, want, "{}:\n{}", file.display(), render(&report));
            if want.is_empty() {
                clean += 1;
            } else {
                positives += want.len();
            }
        }
        assert!(positives >= 10 && clean >= 5, "{positives} findings, {clean} clean look-alikes");
    }

    #[test]
    fn findings_carry_the_flow() {
        let report = scan(&[corpus().join("c/via_field.c")]);
        let f = report.findings.first().expect("a finding");
        assert_eq!((f.code, f.severity, f.col), ("WKG001", "error", 9));
        assert!(
            f.notes[0].contains("WdfRegistryWdmGetHandle") && f.notes[0].contains("ParametersHandle"),
            "{:?}",
            f.notes
        );
        assert!(f.notes[0].contains("DriverEntry") && f.notes[1].contains("CloseContextHandles"), "{:?}", f.notes);
        let text = render(&report);
        assert!(
            text.contains("c/via_field.c:24:9: error[WKG001]: `ZwClose` closes the WDM handle of a WDFKEY"),
            "{text}"
        );
        let helper = scan(&[corpus().join("c/via_helper.c")]);
        assert!(
            helper.findings[1].notes[0].contains("`ParametersHandle()`")
                && helper.findings[1].notes[0].contains("`KeyHandleOf()`"),
            "{:?}",
            helper.findings[1].notes
        );
    }

    #[test]
    fn the_simulators_raw_clients_are_flagged() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in
            ["kmdf-sim/tests/negative_controls.rs", "harness/src/replay.rs", "kmdf-sim/examples/original_crash.rs"]
        {
            let report = scan(&[root.join(file)]);
            assert!(report.skipped.is_empty(), "{file}: {:?}", report.skipped);
            assert!(report.findings.iter().any(|f| f.code == "WKG001"), "{file}:\n{}", render(&report));
        }
        // The driver and the RegKey library are clean.
        let report = scan(&[root.join("src"), root.join("wdfkey/src")]);
        assert!(report.files_scanned >= 10 && report.findings.is_empty(), "{}", render(&report));
    }

    #[test]
    fn unparseable_and_unreadable_inputs_are_reported_not_fatal() {
        let dir = std::env::temp_dir().join(format!("wdfkey-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("broken.rs"), "fn main( {").expect("written");
        std::fs::write(dir.join("macro_soup.c"), "FOO(BAR) { ZwClose(WdfRegistryWdmGetHandle(k)); } ))) {{")
            .expect("written");
        let report = scan(&[dir.clone(), dir.join("missing.c")]);
        assert!(
            report
                .skipped
                .iter()
                .any(|s| s.file.ends_with("broken.rs") && s.reason.contains("not valid Rust at line 1")),
            "{:?}",
            report.skipped
        );
        assert!(
            report.skipped.iter().any(|s| s.file.ends_with("missing.c") && s.reason.starts_with("cannot read")),
            "{:?}",
            report.skipped
        );
        assert!(report.partial.iter().any(|s| s.file.ends_with("macro_soup.c")), "{:?}", report.partial);
    }

    #[test]
    fn every_rule_is_explained() {
        for code in ["WKG001", "wkg002", "WKG003", "WKG004"] {
            assert!(explain(code).is_some_and(|e| e.contains("Fix")), "{code}");
        }
        assert!(explain("WKG999").is_none());
    }
}
