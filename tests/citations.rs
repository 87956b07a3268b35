//! Every citation in the repository resolves inside the repository.
//!
//! Code, rustdoc, README, scripts and tool output cite facts (`F41`, `F67c`),
//! invariants (`K3`), performance targets (`P2`), sections of the
//! windows-drivers-rs build rules (`guide §1.2`) and documents
//! (`docs/design.md#two-kernels`). Each must name an explicit
//! `<a id="…"></a>` anchor in `docs/`, because a reader who cloned the
//! repository has nothing else to look them up in. Names of documents that
//! are not in the repository (`kmdf-facts.md`, `shared/docs/…`) are errors
//! too. The whole tree is read at test time, so a citation added anywhere is
//! checked; every failure is reported as `file:line`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Directories that hold no citations: build output, VCS data, fuzz inputs,
/// and the KMDF/wdk-sys tables (generated data).
const SKIP_DIRS: &[&str] = &["target", ".git", "fuzz/target", "fuzz/corpus", "fuzz/artifacts", "kmdf-sim/data"];

/// Files read for citations (by extension); others are not text meant for people.
const TEXT_EXTS: &[&str] = &["rs", "md", "toml", "ps1", "psm1", "inx", "yml", "yaml", "txt", "json", "stderr"];

/// Documents that users do not have, and what to cite instead.
const MISSING_DOCUMENTS: &[(&str, &str)] = &[
    ("kmdf-facts", "docs/facts.md"),
    ("shared/docs", "docs/"),
    ("windows-drivers-rs-guide", "docs/windows-drivers-rs.md"),
    ("style.md", "docs/design.md"),
];

/// Files whose old document names are still to be renamed by their
/// owners; their ids are checked like any other file's. Each entry is
/// printed on every run until it is removed.
const RENAME_PENDING: &[&str] = &[];

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = relative(&path);
        if path.is_dir() {
            if !SKIP_DIRS.contains(&rel.as_str()) && !rel.ends_with("/target") {
                collect_files(&path, out);
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| TEXT_EXTS.contains(&e)) {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// The anchors of every document in `docs/`, by file name.
fn anchors() -> BTreeMap<String, BTreeSet<String>> {
    let mut map = BTreeMap::new();
    let docs = root().join("docs");
    for entry in fs::read_dir(&docs).unwrap_or_else(|e| panic!("{}: {e}", docs.display())).flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".md") {
            continue;
        }
        let text = fs::read_to_string(entry.path()).expect("docs are UTF-8");
        let mut ids = BTreeSet::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("<a id=\"") {
            rest = &rest[at + 7..];
            if let Some(end) = rest.find('"') {
                ids.insert(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        map.insert(name, ids);
    }
    map
}

/// One citation found in a line: where it points (document, anchor) and how it was written.
#[derive(Debug, PartialEq)]
struct Citation {
    doc: String,
    anchor: Option<String>,
    text: String,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `F12`, `F67c`, `K3`, `P2` at word boundaries (`0xF5` and `F1xx` are not ids).
fn ids_in(line: &str, out: &mut Vec<Citation>) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A token right after `..` ends a range of field names, not a citation.
        let after_range = i >= 2 && chars[i - 1] == '.' && chars[i - 2] == '.';
        let starts = matches!(c, 'F' | 'K' | 'P') && (i == 0 || !is_word(chars[i - 1])) && !after_range;
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j == i + 1 || j - i > 4 {
            i += 1;
            continue;
        }
        let mut end = j;
        if c == 'F' && end < chars.len() && chars[end].is_ascii_lowercase() {
            end += 1;
        }
        if end < chars.len() && is_word(chars[end]) {
            i = end;
            continue;
        }
        let text: String = chars[i..end].iter().collect();
        let doc = match c {
            'F' => "facts.md",
            'K' => "invariants.md",
            _ => "design.md",
        };
        out.push(Citation { doc: doc.into(), anchor: Some(text.to_lowercase()), text });
        i = end;
    }
}

/// `§1.2`, `§12`: sections of docs/windows-drivers-rs.md.
fn sections_in(line: &str, out: &mut Vec<Citation>) {
    for (at, _) in line.match_indices('§') {
        let rest = &line[at + '§'.len_utf8()..];
        let number: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let number = number.trim_end_matches('.');
        if number.is_empty() {
            continue;
        }
        out.push(Citation {
            doc: "windows-drivers-rs.md".into(),
            anchor: Some(format!("s{}", number.replace('.', "-"))),
            text: format!("§{number}"),
        });
    }
}

/// `docs/facts.md#f67`, `(facts.md#f67)` inside docs, `design.md`:
/// a document of docs/ and, when given, its anchor.
fn documents_in(line: &str, in_docs: bool, docs: &BTreeMap<String, BTreeSet<String>>, out: &mut Vec<Citation>) {
    for name in docs.keys() {
        for (at, _) in line.match_indices(name.as_str()) {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| is_word(c) || c == '-') {
                continue; // `windows-drivers-rs-guide.md` is not `guide.md`
            }
            let rest = &line[at + name.len()..];
            let anchor = rest.strip_prefix('#').map(|a| {
                a.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect::<String>()
            });
            out.push(Citation { doc: name.clone(), anchor, text: name.clone() });
        }
    }
    // Links inside a document of docs/ to its own anchors: `](#f65)`.
    for (at, _) in line.match_indices("](#").filter(|_| in_docs) {
        let anchor: String = line[at + 3..].chars().take_while(|c| *c != ')').collect();
        out.push(Citation { doc: String::new(), anchor: Some(anchor.clone()), text: format!("#{anchor}") });
    }
}

fn citations_in(line: &str, in_docs: bool, docs: &BTreeMap<String, BTreeSet<String>>) -> Vec<Citation> {
    let mut out = Vec::new();
    ids_in(line, &mut out);
    sections_in(line, &mut out);
    documents_in(line, in_docs, docs, &mut out);
    out
}

/// Whether `doc` is a document of docs/ and, when given, has `anchor`.
fn resolves(doc: &str, anchor: Option<&str>, docs: &BTreeMap<String, BTreeSet<String>>) -> bool {
    match (docs.get(doc), anchor) {
        (Some(ids), Some(anchor)) => ids.contains(anchor),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[test]
fn every_cited_id_resolves_to_an_anchor_in_docs() {
    let docs = anchors();
    for required in ["facts.md", "invariants.md", "design.md", "windows-drivers-rs.md"] {
        assert!(docs.contains_key(required), "docs/{required} is missing");
    }
    let mut files = Vec::new();
    collect_files(root(), &mut files);
    files.sort();
    assert!(files.len() > 50, "read only {} files under {}", files.len(), root().display());

    let mut unresolved = Vec::new();
    let mut pending = Vec::new();
    let mut cited = 0usize;
    for file in &files {
        let rel = relative(file);
        // This file holds deliberately unresolvable examples for its own tests.
        if rel == "tests/citations.rs" {
            continue;
        }
        let Ok(text) = fs::read_to_string(file) else { continue };
        let own_doc = rel.strip_prefix("docs/").map(str::to_string);
        for (n, line) in text.lines().enumerate() {
            for c in citations_in(line, own_doc.is_some(), &docs) {
                cited += 1;
                let doc = if c.doc.is_empty() { own_doc.clone().unwrap_or_default() } else { c.doc.clone() };
                if !resolves(&doc, c.anchor.as_deref(), &docs) {
                    let want = c.anchor.as_ref().map_or(String::new(), |a| format!("#{a}"));
                    unresolved.push(format!("{rel}:{}: `{}` — no anchor docs/{doc}{want}", n + 1, c.text));
                }
            }
            for (name, instead) in MISSING_DOCUMENTS {
                if line.contains(name) {
                    let entry =
                        format!("{rel}:{}: names `{name}`, which is not in the repository; cite {instead}", n + 1);
                    if RENAME_PENDING.contains(&rel.as_str()) {
                        pending.push(entry);
                    } else {
                        unresolved.push(entry);
                    }
                }
            }
        }
    }
    if !pending.is_empty() {
        // Straight to stderr: libtest hides `eprintln!` output of a passing test.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "citations: {} old document name(s) still to be renamed:\n  {}",
            pending.len(),
            pending.join("\n  ")
        );
    }
    assert!(cited > 500, "found only {cited} citations: the scan is not reading the tree");
    assert!(unresolved.is_empty(), "{} unresolved citation(s):\n  {}", unresolved.len(), unresolved.join("\n  "));
}

#[test]
fn the_scanner_finds_each_kind_of_citation_and_nothing_else() {
    let docs = anchors();
    let found = |line: &str| citations_in(line, true, &docs).into_iter().map(|c| c.text).collect::<Vec<_>>();
    assert_eq!(found("the handle (F6, F10) and F67c; K1–K5; P2"), ["F6", "F10", "F67c", "K1", "K5", "P2"]);
    assert_eq!(found("0xF5, F1xx, WKG001, KF2, F10x2, BUGCHECK_P1..P4"), Vec::<String>::new());
    assert_eq!(found("(guide §1.3, §12)."), ["§1.3", "§12"]);
    assert_eq!(found("see docs/facts.md#f67 and [F65](#f65)"), ["F65", "facts.md", "#f65"]);
    let cited = citations_in("docs/facts.md#f67c", false, &docs);
    assert_eq!(cited[0].anchor.as_deref(), Some("f67c"));

    // What resolves and what does not.
    let resolved =
        |line: &str| citations_in(line, false, &docs).iter().all(|c| resolves(&c.doc, c.anchor.as_deref(), &docs));
    assert!(resolved("F1, F67c, F77, K1, K5, P3, guide §1.2, §12, docs/design.md#two-kernels"));
    for bad in ["F99", "F67e", "K6", "P4", "guide §3", "docs/facts.md#f0"] {
        assert!(!resolved(bad) || citations_in(bad, false, &docs).is_empty(), "{bad} resolved");
    }
    assert!(!citations_in("docs/facts.md#f0", false, &docs).is_empty());
}

#[test]
fn every_fact_the_docs_define_is_stated_with_a_source() {
    let text = fs::read_to_string(root().join("docs/facts.md")).expect("docs/facts.md");
    // Each fact runs from its anchor to the next fact's; sub-cases (f67a…)
    // belong to their fact and share its source.
    let mut facts: Vec<(String, String)> = Vec::new();
    for block in text.split("<a id=\"f").skip(1) {
        let id = block.split('"').next().unwrap_or_default();
        if !id.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        match facts.last_mut() {
            Some((last, body)) if id.trim_end_matches(|c: char| c.is_ascii_lowercase()) == last => body.push_str(block),
            _ => facts.push((id.to_string(), block.to_string())),
        }
    }
    assert!(facts.len() >= 77, "only {} facts in docs/facts.md", facts.len());
    let missing: Vec<String> =
        facts.iter().filter(|(_, body)| !body.contains("Source:")).map(|(id, _)| format!("F{id}")).collect();
    assert!(missing.is_empty(), "facts without a source: {missing:?}");
}
