//! `scan`: finds WDFKEY handle misuse in C, C++ and Rust driver sources
//! before it crashes a machine. C and C++ are decoded and neutralised
//! (`pre`: SAL, WDK macros, SEH, `#pragma`, `#if 0`, keeping every line and
//! column), parsed by tree-sitter (`c`), Rust by syn (`rust`); both lower
//! each function to the same statements (`ir`). The files compiled together
//! — a directory's sources and the headers they include — are one program
//! (`program`): names, members, globals, typedefs and the tree's own macros
//! are resolved across them, and the rules (`flow`) follow a handle through
//! every function of it.

mod c;
mod flow;
mod ir;
mod pre;
mod program;
mod rust;

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One branch an event sits in: the condition's text and the arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Branch {
    /// Unique per `if` in the function.
    pub id: usize,
    pub cond: String,
    pub then_arm: bool,
}

/// A finding, compiler style.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// The file, as given or found under a given directory.
    pub file: String,
    /// 1-based line of the offending call.
    pub line: usize,
    /// 1-based column (in characters) of the offending call.
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

/// A path that could not be read, or a file that could not be parsed at all.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The file or path.
    pub file: String,
    /// Why, in words.
    pub reason: String,
}

/// Lines of a file the parser could not read (not analysed).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Region {
    /// 1-based first line.
    pub first_line: usize,
    /// 1-based last line (inclusive).
    pub last_line: usize,
    /// Why, in words.
    pub reason: String,
}

/// A file read only in part: what was not read.
#[derive(Debug, Clone, Serialize)]
pub struct Partial {
    /// The file.
    pub file: String,
    /// A summary in words.
    pub reason: String,
    /// The regions skipped, by line.
    pub regions: Vec<Region>,
}

/// The result of one scan (the JSON report).
#[derive(Debug, Default, Serialize)]
pub struct ScanReport {
    /// Files read and checked (in full or in part).
    pub files_scanned: usize,
    /// Files read with no skipped region.
    pub files_in_full: usize,
    /// Files with skipped regions (listed in `partial`).
    pub files_in_part: usize,
    /// Function definitions analysed in full.
    pub functions_in_full: usize,
    /// Function definitions with a skipped region inside, or lost in one.
    pub functions_in_part: usize,
    /// Programs (files compiled together) the rules ran on.
    pub programs: usize,
    /// Every finding, by file and line.
    pub findings: Vec<Finding>,
    /// Paths that could not be read, files that could not be parsed at all.
    pub skipped: Vec<Skipped>,
    /// Files read only in part: the regions skipped, and why.
    pub partial: Vec<Partial>,
}

impl ScanReport {
    /// Whether every file found was read in full and every path read.
    pub fn read_in_full(&self) -> bool {
        self.skipped.is_empty() && self.partial.is_empty()
    }
}

/// A file lowered: what the program-wide analysis needs from it.
#[derive(Debug, Default)]
pub(crate) struct Unit {
    pub functions: Vec<ir::Function>,
    /// Struct and class definitions: name → (member, declared type).
    pub structs: Vec<(String, Vec<(String, String)>)>,
    /// `typedef` alias → target (struct name or type text).
    pub typedefs: Vec<(String, String)>,
    /// File-scope variables with their declared types.
    pub globals: Vec<(String, String)>,
    /// Function (definition or prototype) → declared return type.
    pub returns: Vec<(String, String)>,
    pub regions: Vec<Region>,
    pub functions_in_full: usize,
    pub functions_in_part: usize,
    pub defines: Vec<pre::Define>,
    pub includes: Vec<String>,
    /// `WDF_DECLARE_CONTEXT_TYPE*` accessors → context type.
    pub contexts: Vec<(String, String)>,
    pub cpp: bool,
    /// The file's top-level items, in order: what each added to the unit.
    pub items: Vec<c::Item>,
}

const GET_HANDLE: &str = "WdfRegistryWdmGetHandle";
/// Calls whose value is a key's own WDM handle: the DDI, and `wdfkey`'s
/// lend-out `RegKey::wdm_handle()` (its `KeyHandle` converts to the raw
/// `HANDLE` unchanged).
const HANDLE_SOURCES: &[&str] = &[GET_HANDLE, "wdm_handle"];
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
    "WdfDeviceOpenDevicemapKey",
];

/// The rules' explanations (`--explain`).
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "WKG001",
        "WKG001: the driver closes the WDM handle inside a WDFKEY.\n\n\
         WdfRegistryWdmGetHandle returns the key object's own handle, not a copy (F6). The \
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

/// WKG004: a key opened into a field with an explicit ParentObject and
/// closed in an unload routine.
pub(crate) fn parented_field_closed_at_unload(funcs: &[flow::Func], out: &mut Vec<Finding>) {
    use ir::{EventKind, Expr, Place};
    let mut parented_fields: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    for f in funcs {
        let mut sets_parent = false;
        ir::for_each_event(&f.f.body, &mut |e| {
            sets_parent |= matches!(&e.kind, EventKind::Assign { target: Place::Field { name, .. }, .. } if name == "ParentObject");
        });
        if !sets_parent {
            continue;
        }
        ir::for_each_event(&f.f.body, &mut |e| {
            if let EventKind::Call(c) = &e.kind
                && KEY_OPENERS.contains(&c.callee.as_str())
                && let Some(Expr::Addr(Place::Field { name, .. }) | Expr::Place(Place::Field { name, .. })) =
                    c.args.last()
            {
                parented_fields.entry(name.clone()).or_insert((f.f.name.clone(), f.file.to_string(), e.line));
            }
        });
    }
    for f in funcs.iter().filter(|f| f.f.name.to_ascii_lowercase().contains("unload")) {
        ir::for_each_event(&f.f.body, &mut |e| {
            if let EventKind::Call(c) = &e.kind
                && c.callee == REGISTRY_CLOSE
                && let Some(Expr::Place(Place::Field { name, .. })) = c.args.first()
                && let Some((opener, file, line)) = parented_fields.get(name)
                && !out.iter().any(|x| x.file == f.file && x.line == e.line && x.code == "WKG004")
            {
                out.push(Finding {
                    file: f.file.into(),
                    line: e.line,
                    col: e.col,
                    severity: "warning",
                    code: "WKG004",
                    message: format!(
                        "key in field `{name}` is closed in `{}` but was parented to another object",
                        f.f.name
                    ),
                    notes: vec![
                        format!("opened at {file}:{line} in `{opener}` with an explicit ParentObject"),
                        "the framework deletes the key with its parent (F11); if the parent goes before this \
                         unload routine runs, this close uses a deleted object (F77)"
                            .into(),
                    ],
                });
            }
        });
    }
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
            Ok(_) if paths.contains(&p) => report.skipped.push(Skipped {
                file: p.display().to_string(),
                reason: "not a C, C++ or Rust source (by its extension)".into(),
            }),
            Ok(_) => {}
        }
    }
    files
}

/// Scans files and directories: each program (see `program`) in turn.
pub fn scan(paths: &[PathBuf]) -> ScanReport {
    // Real sources nest deeply (long `else if` and `||` chains): the walk
    // gets a stack of its own, large enough for any of them.
    let owned = paths.to_vec();
    let worker = std::thread::Builder::new().stack_size(1 << 30).spawn(move || scan_on_this_thread(&owned));
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(report)) => report,
        _ => scan_on_this_thread(paths),
    }
}

fn scan_on_this_thread(paths: &[PathBuf]) -> ScanReport {
    let mut report = ScanReport::default();
    let files = collect(paths, &mut report);
    program::scan_files(&files, &mut report);
    report.findings.sort_by(|a, b| (&a.file, a.line, a.col, a.code).cmp(&(&b.file, b.line, b.col, b.code)));
    report
}

/// Compiler-style text, as `wdfkey-diag` prints it (see `render_as`).
pub fn render(report: &ScanReport) -> String {
    render_as("wdfkey-diag", report)
}

/// Compiler-style text; `program` is the binary the user runs (its
/// `scan --explain` is named in each finding's help); the facts cited are
/// stated at the end.
pub fn render_as(program: &str, report: &ScanReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for f in &report.findings {
        let _ = writeln!(s, "{}:{}:{}: {}[{}]: {}", f.file, f.line, f.col, f.severity, f.code, f.message);
        for n in &f.notes {
            let _ = writeln!(s, "    = note: {n}");
        }
        let _ = writeln!(s, "    = help: `{program} scan --explain {}`", f.code);
    }
    for k in &report.skipped {
        let _ = writeln!(s, "{}: skipped: {}", k.file, k.reason);
    }
    for p in &report.partial {
        let _ = writeln!(s, "{}: note: {}", p.file, p.reason);
        for r in &p.regions {
            let lines = if r.first_line == r.last_line {
                format!("line {}", r.first_line)
            } else {
                format!("lines {}-{}", r.first_line, r.last_line)
            };
            let _ = writeln!(s, "    = not read: {lines}: {}", r.reason);
        }
    }
    if report.files_scanned == 0 {
        let _ = writeln!(s, "nothing to scan: no readable C, C++ or Rust source file under the paths given");
    }
    let errors = report.findings.iter().filter(|f| f.severity == "error").count();
    let _ = writeln!(
        s,
        "{} file(s) scanned: {errors} error(s), {} warning(s), {} skipped; read in full: {} of {} file(s), {} of {} function(s){}",
        report.files_scanned,
        report.findings.len() - errors,
        report.skipped.len(),
        report.files_in_full,
        report.files_scanned,
        report.functions_in_full,
        report.functions_in_full + report.functions_in_part,
        if report.read_in_full() || !report.findings.is_empty() {
            String::new()
        } else {
            " — no finding in what was read, but not everything was read".to_string()
        }
    );
    crate::cite::link_facts(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scan-corpus")
    }

    /// `(file, line, code)` of every `expect: CODE` marker in `file`.
    fn expected(file: &Path) -> Vec<(String, usize, String)> {
        let (text, _) = pre::decode(&std::fs::read(file).expect("corpus file"));
        text.lines()
            .enumerate()
            .filter_map(|(i, l)| {
                l.split("expect: ")
                    .nth(1)
                    .map(|c| (file.display().to_string(), i + 1, c.split_whitespace().next().unwrap_or("").to_string()))
            })
            .collect()
    }

    /// Every entry of the corpus: a file is scanned on its own, a directory
    /// (a header and the sources using it) as one program.
    #[test]
    fn every_corpus_file_gives_exactly_its_expected_findings() {
        let mut entries = Vec::new();
        for dir in ["c", "cpp", "rust"] {
            for entry in std::fs::read_dir(corpus().join(dir)).expect("corpus dir") {
                entries.push(entry.expect("entry").path());
            }
        }
        entries.sort();
        assert!(entries.len() >= 35, "{entries:?}");
        let (mut positives, mut clean, mut programs) = (0, 0, 0);
        for entry in entries {
            let files: Vec<PathBuf> = if entry.is_dir() {
                programs += 1;
                let mut v: Vec<PathBuf> =
                    std::fs::read_dir(&entry).expect("dir").map(|e| e.expect("entry").path()).collect();
                v.sort();
                v
            } else {
                vec![entry.clone()]
            };
            let report = scan(std::slice::from_ref(&entry));
            assert!(report.skipped.is_empty(), "{}: {:?}", entry.display(), report.skipped);
            assert!(report.partial.is_empty(), "{}: read only in part:\n{}", entry.display(), render(&report));
            assert_eq!(report.files_scanned, files.len(), "{}", entry.display());
            let mut got: Vec<(String, usize, String)> =
                report.findings.iter().map(|f| (f.file.clone(), f.line, f.code.to_string())).collect();
            got.sort();
            let mut want: Vec<(String, usize, String)> = files.iter().flat_map(|f| expected(f)).collect();
            want.sort();
            assert_eq!(got, want, "{}:\n{}", entry.display(), render(&report));
            if want.is_empty() {
                clean += 1;
            } else {
                positives += want.len();
            }
        }
        assert!(positives >= 25 && clean >= 15 && programs >= 3, "{positives} findings, {clean} clean look-alikes");
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
        for file in [
            "kmdf-sim/tests/negative_controls.rs",
            "scripts/emulate/raw-variant/src/lib.rs",
            "kmdf-sim/examples/original_crash.rs",
        ] {
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
