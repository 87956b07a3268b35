//! The crate's layers and the one direction of their arrows (README,
//! "Layering"): `abi` uses nothing; `model` uses `abi` only; `surface` uses
//! `model` and `abi`; `control` may use all three. A file that names a layer
//! it may not use fails here, with the file and the name.
//!
//! Names are read from the code's tokens (syn), not from its comments or
//! string literals: a doc comment may mention the control API, a `use` of it
//! may not. The crate root re-exports the surface, so inside `model` and
//! `abi` every `crate::` path must go on with a layer they may use.

use quote::ToTokens;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The file's code as tokens, one string, with string literals (doc
/// comments included: they are `#[doc = "..."]`) blanked out.
fn code_tokens(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    strip_strings(&file.into_token_stream().to_string())
}

/// `tokens` with the contents of every string literal (plain, byte, raw)
/// removed: `"..."` becomes `""`.
fn strip_strings(tokens: &str) -> String {
    let chars: Vec<char> = tokens.chars().collect();
    let mut out = String::with_capacity(tokens.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A raw string: r"..." or r#"..."# (the token printer keeps the form).
        if c == 'r' && (i == 0 || !chars[i - 1].is_alphanumeric() && chars[i - 1] != '_') {
            let mut j = i + 1;
            while j < chars.len() && chars[j] == '#' {
                j += 1;
            }
            if j < chars.len() && chars[j] == '"' {
                let hashes = j - i - 1;
                let mut k = j + 1;
                while k < chars.len() && !(chars[k] == '"' && chars[k + 1..].iter().take(hashes).all(|&h| h == '#')) {
                    k += 1;
                }
                out.push_str("\"\"");
                i = k + 1 + hashes;
                continue;
            }
        }
        if c == '"' {
            let mut k = i + 1;
            while k < chars.len() && chars[k] != '"' {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = k + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Identifiers of `tokens`, in order.
fn identifiers(tokens: &str) -> Vec<&str> {
    tokens.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect()
}

/// The first segment after every `crate::` of `tokens` (`pub(crate)` is not a path).
fn crate_paths_of(tokens: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (at, _) in tokens.match_indices("crate") {
        let before = tokens[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = tokens[at + "crate".len()..].trim_start();
        if let Some(path) = rest.strip_prefix("::") {
            let path = path.trim_start();
            let end = path.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(path.len());
            found.push(&path[..end]);
        }
    }
    found
}

/// What each file of `layer` names that it may not: layers in `forbidden`,
/// and `crate::` paths that do not go on with one of `crate_paths`.
fn violations(layer: &str, forbidden: &[&str], crate_paths: Option<&[&str]>) -> Vec<String> {
    let mut found = Vec::new();
    let files = rust_files(&src().join(layer));
    assert!(!files.is_empty(), "src/{layer} has no files");
    for path in files {
        let tokens = code_tokens(&path);
        let words = identifiers(&tokens);
        let shown = path.strip_prefix(src()).unwrap_or(&path).display().to_string();
        for w in &words {
            if forbidden.contains(w) {
                found.push(format!("src/{shown} names `{w}`"));
            }
        }
        if let Some(allowed) = crate_paths {
            for next in crate_paths_of(&tokens) {
                if !allowed.contains(&next) {
                    found.push(format!("src/{shown} names `crate::{next}` (the crate root is the surface)"));
                }
            }
        }
    }
    found
}

#[test]
fn the_model_names_neither_the_surface_nor_the_control_api() {
    let found = violations("model", &["surface", "control", "__ddi", "ntddk"], Some(&["abi", "model"]));
    assert!(found.is_empty(), "model/ must use only abi/ and itself:\n{}", found.join("\n"));
}

#[test]
fn the_abi_names_no_layer() {
    let found = violations("abi", &["model", "surface", "control"], Some(&["abi"]));
    assert!(found.is_empty(), "abi/ must use nothing:\n{}", found.join("\n"));
}

#[test]
fn the_surface_does_not_name_the_control_api() {
    let found = violations("surface", &["control"], None);
    assert!(found.is_empty(), "surface/ must use only model/ and abi/:\n{}", found.join("\n"));
}

#[test]
fn the_scan_sees_a_forbidden_name_in_code_and_not_in_comments_or_strings() {
    // The checks above are only as good as this reading of a file.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("layering-self-test");
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let file = dir.join("sample.rs");
    std::fs::write(
        &file,
        "//! Mentions control and surface in a comment.\n\
         /// A doc comment naming crate::control::Machine.\n\
         fn f() { let _ = \"kmdf_sim::control::Machine\"; let _ = r#\"surface\"#; }\n\
         use crate::control::Machine;\n\
         pub(crate) fn g() -> crate::abi::NTSTATUS { 0 }\n",
    )
    .expect("a scratch file");
    let words: Vec<String> = identifiers(&code_tokens(&file)).into_iter().map(str::to_string).collect();
    assert_eq!(words.iter().filter(|w| *w == "control").count(), 1, "{words:?}");
    assert!(!words.iter().any(|w| w == "surface"), "{words:?}");
    assert!(!words.iter().any(|w| w == "kmdf_sim"), "{words:?}");
    assert_eq!(crate_paths_of(&code_tokens(&file)), ["control", "abi"]);
}

#[test]
fn no_shim_spells_a_routine_identity() {
    // A routine's image, symbol and IRQL bound come from the generated
    // routine table (`Routine::image`, `Routine::symbol`); a shim names its
    // routine once, by its `Routine`.
    let mut found = Vec::new();
    for path in rust_files(&src().join("surface")) {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in text.lines().enumerate() {
            if line.contains("\"Wdf01000!") || line.contains("\"nt!") || line.contains("FRAMEWORK_MODULE") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "identity spelled in a shim:\n{}", found.join("\n"));
}

/// The machine's entry points only the model may use: a shim that runs a
/// closure on the state holds a rule of its own.
const STATE_ENTRIES: [&str; 3] = ["with_state", "try_with_state", "Engine"];
/// The model state's parts (`State`'s fields): a shim that reads or writes
/// them holds a rule of its own.
const STATE_FIELDS: [&str; 7] = ["kernel", "framework", "settings", "stop", "faults", "routines", "recorder"];

/// Where `tokens` enters the machine state or touches its fields: each
/// entry point named, each field access `. field` (a path `::kernel` is a
/// module, not the state's field).
fn state_accesses(tokens: &str) -> Vec<String> {
    let mut found: Vec<String> =
        identifiers(tokens).into_iter().filter(|w| STATE_ENTRIES.contains(w)).map(|w| format!("`{w}`")).collect();
    let chars: Vec<char> = tokens.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // A field access: one `.` (not `..`), then the field's name.
        if c != '.' || chars.get(i + 1) == Some(&'.') || (i > 0 && chars[i - 1] == '.') {
            continue;
        }
        let rest: String = chars[i + 1..].iter().collect();
        let rest = rest.trim_start();
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if STATE_FIELDS.contains(&&rest[..end]) && !rest[end..].trim_start().starts_with('(') {
            found.push(format!("`.{}`", &rest[..end]));
        }
    }
    found
}

#[test]
fn the_surface_holds_no_rule() {
    // README "Layering": a shim reads and translates its arguments, calls
    // the model and writes the results; the rules — and every look at the
    // machine's state — are the model's.
    let mut found = Vec::new();
    for path in rust_files(&src().join("surface")) {
        let shown = path.strip_prefix(src()).unwrap_or(&path).display().to_string();
        for access in state_accesses(&code_tokens(&path)) {
            found.push(format!("src/{shown}: {access}"));
        }
    }
    assert!(
        found.is_empty(),
        "the surface touches the machine's state (move the rule into src/model/):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_state_scan_sees_a_rule_in_code_and_not_a_module_path_or_a_comment() {
    // The check above is only as good as this reading of a file.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("layering-state-self-test");
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let file = dir.join("sample.rs");
    std::fs::write(
        &file,
        "//! A comment naming with_state and s.kernel.irql.\n\
         use crate::model::kernel::stack;\n\
         use crate::model::framework::queue;\n\
         fn f() -> u8 { with_state(|s| s.kernel.irql).unwrap_or(0) }\n\
         fn g(s: &mut State) { s.framework.findings.clear(); s.stop(); for _ in 0..2 {} }\n\
         fn h() { let _ = \"x.kernel\"; queue::start(); }\n",
    )
    .expect("a scratch file");
    let found = state_accesses(&code_tokens(&file));
    assert_eq!(found, ["`with_state`", "`.kernel`", "`.framework`"], "{found:?}");
}
