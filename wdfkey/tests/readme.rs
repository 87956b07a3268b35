//! The README says only what the repository backs:
//!
//! * every ```` ```rust ```` and ```` ```toml ```` block that a reader would
//!   copy is marked `<!-- verbatim: FILE -->` (the whole file) or
//!   `<!-- excerpt: FILE -->` (a part of it) and is that text exactly — so
//!   the template's tests and tests/adopt.rs, which build and run those
//!   files, back every line of it; the only unmarked Rust blocks are the
//!   `rust,ignore` fragments of the migration and escape sections;
//! * every link resolves: relative links to files of the checkout (and
//!   in-page anchors to its headings), absolute links only to known public
//!   sites, none to a repository of this project (it has no public URL yet);
//! * the same for the crate's rustdoc sources, and no manifest names a URL
//!   of this project.

use std::fs;
use std::path::{Path, PathBuf};

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("wdfkey/ is in the checkout").to_path_buf()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn readme() -> String {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
}

/// Fenced blocks: (line of the opening fence, info string, content, the
/// marker comment on the line before the fence, if any).
fn blocks(text: &str) -> Vec<(usize, String, String, Option<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(info) = lines[i].strip_prefix("```") {
            let start = i;
            let end = (i + 1..lines.len())
                .find(|&j| lines[j] == "```")
                .unwrap_or_else(|| panic!("README.md:{}: unclosed", i + 1));
            let marker = start.checked_sub(1).map(|p| lines[p]).filter(|l| l.starts_with("<!--")).map(String::from);
            out.push((start + 1, info.to_string(), lines[start + 1..end].join("\n"), marker));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn the_readme_code_is_the_tested_template_verbatim() {
    let text = readme();
    let first_ignored_section = text.find("## Instead of the raw handle").expect("the section");
    let mut checked = 0;
    for (line, info, content, marker) in blocks(&text) {
        let copied = info == "rust" || info == "toml";
        match marker.as_deref().and_then(|m| m.strip_prefix("<!-- ")).and_then(|m| m.strip_suffix(" -->")) {
            Some(m) => {
                let (kind, file) = m.split_once(": ").unwrap_or_else(|| panic!("README.md:{line}: bad marker {m:?}"));
                let source = read(&checkout().join(file));
                match kind {
                    "verbatim" => assert_eq!(content, source.trim_end_matches('\n'), "README.md:{line} is not {file}"),
                    "excerpt" => assert!(source.contains(&content), "README.md:{line}: the block is not in {file}"),
                    _ => panic!("README.md:{line}: unknown marker {kind:?}"),
                }
                checked += 1;
            }
            None => assert!(!copied, "README.md:{line}: a ```{info} block without a verbatim/excerpt marker"),
        }
        if info.starts_with("rust,ignore") {
            let offset: usize = text.lines().take(line - 1).map(|l| l.len() + 1).sum();
            assert!(
                offset > first_ignored_section,
                "README.md:{line}: an untested Rust block before the migration notes"
            );
        }
    }
    assert!(checked >= 10, "only {checked} marked blocks");
    // The one edit the install steps ask of a copy, which tests/adopt.rs makes.
    assert!(text.contains("replace each `path = \"../../`"), "the install step names the edit tests/adopt.rs makes");
    // The compile error the README quotes is the one the compile-fail test pins.
    let stderr = read(&checkout().join("wdfkey/tests/compile-fail/close_lent_handle.stderr"));
    assert!(stderr.contains("error[E0308]") && stderr.contains("expected `*mut c_void`, found `KeyHandle<'_>`"));
    assert!(text.contains("expected\n`*mut c_void`, found `KeyHandle<'_>`"));
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Sites a link may point at: public, and not this project's.
const KNOWN_SITES: &[&str] = &[
    "https://github.com/microsoft/",
    "https://learn.microsoft.com/",
    "https://devblogs.microsoft.com/",
    "https://doc.rust-lang.org/",
    "https://docs.rs/wdk",
    "https://crates.io/crates/wdk",
];

fn check_links(name: &str, text: &str, base: &Path, anchors: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            rest = &rest[end..];
            if target.starts_with("http://") || target.starts_with("https://") {
                if !KNOWN_SITES.iter().any(|s| target.starts_with(s)) {
                    bad.push(format!("{name}:{}: {target} is not a known public site", n + 1));
                }
            } else if let Some(anchor) = target.strip_prefix('#') {
                if !anchors.iter().any(|a| a == anchor) {
                    bad.push(format!("{name}:{}: no heading for #{anchor}", n + 1));
                }
            } else if !target.contains("::") {
                let path = base.join(target.split('#').next().unwrap_or(target));
                if !path.exists() {
                    bad.push(format!("{name}:{}: {target} does not exist", n + 1));
                }
            }
        }
        if line.contains("wdfkey-guard/wdfkey-guard") {
            bad.push(format!("{name}:{}: a URL of this project, which has no public repository", n + 1));
        }
    }
    bad
}

#[test]
fn every_link_in_the_readme_and_the_rustdoc_sources_resolves() {
    let text = readme();
    let anchors: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim_start_matches('#').strip_prefix(' ').filter(|_| l.starts_with('#')))
        .map(slug)
        .collect();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = check_links("wdfkey/README.md", &text, crate_dir, &anchors);
    for entry in fs::read_dir(crate_dir.join("src")).expect("src/").flatten() {
        let name = format!("wdfkey/src/{}", entry.file_name().to_string_lossy());
        bad.extend(check_links(&name, &read(&entry.path()), crate_dir, &[]));
    }
    for doc in ["docs/facts.md", "docs/invariants.md"] {
        let text = read(&checkout().join(doc));
        bad.extend(
            check_links(doc, &text, &checkout().join("docs"), &[]).into_iter().filter(|b| !b.contains(": no heading")),
        );
    }
    for manifest in ["Cargo.toml", "wdfkey/Cargo.toml", "kmdf-sim/Cargo.toml", "examples/regkey-driver/Cargo.toml"] {
        let text = read(&checkout().join(manifest));
        for (n, line) in text.lines().enumerate() {
            let key = line.split('=').next().unwrap_or("").trim();
            if key == "repository" || key == "repository.workspace" || line.contains("wdfkey-guard/wdfkey-guard") {
                bad.push(format!("{manifest}:{}: names a repository URL that does not exist", n + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every link definition of the crate's `doc_links!` table names an anchor
/// that its document has (rustdoc checks the item, not the `#fragment`).
#[test]
fn every_rustdoc_fact_and_invariant_link_has_its_anchor() {
    let lib = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"));
    let mut checked = 0;
    for line in lib.lines() {
        let Some((label, target)) = line.split_once("]: crate::docs::") else { continue };
        let (doc, anchor) = target.split_once('#').unwrap_or((target, ""));
        let text = read(&checkout().join(format!("docs/{doc}.md")));
        assert!(
            anchor.is_empty() || text.contains(&format!("<a id=\"{anchor}\"></a>")),
            "{label}]: no #{anchor} in docs/{doc}.md"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} link definitions found");
}

/// Every public type and trait of the crate documents `# Examples` (which
/// rustdoc runs as doctests, under kmdf-sim).
#[test]
fn every_public_type_has_examples() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut types = 0;
    for entry in fs::read_dir(&src).expect("src/").flatten() {
        let text = read(&entry.path());
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let item = ["pub struct ", "pub enum ", "pub trait ", "pub type "].iter().any(|p| line.starts_with(p));
            if !item {
                continue;
            }
            types += 1;
            // The doc block and attributes right above the item.
            let above = lines[..i].iter().rev().take_while(|l| l.starts_with("///") || l.starts_with("#["));
            if !above.clone().any(|l| *l == "/// # Examples") {
                missing.push(format!("{}:{}: {line}", entry.file_name().to_string_lossy(), i + 1));
            }
        }
    }
    assert!(types >= 15, "only {types} public types found");
    assert!(missing.is_empty(), "no # Examples:\n{}", missing.join("\n"));
}
