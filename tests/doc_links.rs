//! Every link between the repository's Markdown files resolves: each relative
//! link names a file or folder that exists (a URL under the address the
//! project would have on GitHub is refused: there is no public repository
//! there yet, so such a link is dead wherever it is read), and a
//! `#fragment` into a Markdown file names one of its headings (GitHub's
//! anchor for it) or an `<a id>`. The files checked are the tracked `*.md`
//! files (`git ls-files`), or every `*.md` outside `target/` where git is
//! not available. Links are read as CommonMark reads them (pulldown-cmark),
//! so code blocks and code spans are not links.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// The address a public repository of the project would have: none exists,
/// so any link under it is dead (docs.rs, an editor's hover, a browser).
const UNPUBLISHED_REPO: &str = "https://github.com/wdfkey-guard/";

/// The front page's length limit: what does not fit belongs in a part's own
/// README or in docs/.
const README_MAX_LINES: usize = 250;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files to check, relative to `root`.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let tracked = std::process::Command::new("git")
        .args(["ls-files", "-z", "--", "*.md"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(out) = tracked {
        return out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .filter(|p| root.join(p).is_file())
            .collect();
    }
    let mut found = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(root.join(&dir)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("directory entry");
            let rel = dir.join(entry.file_name());
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() && entry.file_name() != "target" && entry.file_name() != ".git" {
                dirs.push(rel);
            } else if kind.is_file() && rel.extension().is_some_and(|e| e == "md") {
                found.push(rel);
            }
        }
    }
    found
}

/// GitHub's anchor for a heading: lower case, spaces as `-`, everything but
/// letters, digits, `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A link as written, with the line it is on.
struct Link {
    line: usize,
    dest: String,
}

/// The anchors a Markdown text defines and the links it makes.
fn read_markdown(text: &str) -> (BTreeSet<String>, Vec<Link>) {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    let line_at = |offset: usize| text[..offset].matches('\n').count() + 1;
    let options = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let n = seen.entry(base.clone()).or_insert(0);
                anchors.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
                *n += 1;
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::Html(html) | Event::InlineHtml(html) if html.contains("<a ") => {
                for attr in [" id=\"", " name=\""] {
                    for (at, _) in html.match_indices(attr) {
                        let value = html[at + attr.len()..].split('"').next().unwrap_or_default();
                        anchors.insert(value.to_string());
                    }
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                links.push(Link { line: line_at(range.start), dest: dest_url.into_string() });
            }
            _ => {}
        }
    }
    (anchors, links)
}

/// `path` with `.` and `..` folded; `None` if it leaves the repository.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Every broken link of the Markdown files `files` (relative to `root`), as
/// `file:line: what`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut anchors_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut anchors = |path: &Path| -> Option<BTreeSet<String>> {
        if !anchors_of.contains_key(path) {
            let text = std::fs::read_to_string(root.join(path)).ok()?;
            anchors_of.insert(path.to_path_buf(), read_markdown(&text).0);
        }
        anchors_of.get(path).cloned()
    };
    let mut errors = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(root.join(file)) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: unreadable: {e}", file.display()));
                continue;
            }
        };
        let dir = file.parent().unwrap_or(Path::new(""));
        for link in read_markdown(&text).1 {
            let at = format!("{}:{}", file.display(), link.line);
            let (target, fragment) = match link.dest.split_once('#') {
                Some((t, f)) => (t.to_string(), Some(f.to_string())),
                None => (link.dest.clone(), None),
            };
            let local = if target.starts_with(UNPUBLISHED_REPO) {
                errors
                    .push(format!("{at}: {} names a repository that is not published: use a relative link", link.dest));
                continue;
            } else if target.contains("://") || target.starts_with("mailto:") {
                continue;
            } else if target.is_empty() {
                file.clone()
            } else if let Some(from_root) = target.strip_prefix('/') {
                PathBuf::from(from_root)
            } else {
                dir.join(&target)
            };
            let Some(local) = normalise(&local) else {
                errors.push(format!("{at}: {} leaves the repository", link.dest));
                continue;
            };
            let full = root.join(&local);
            if !full.exists() {
                errors.push(format!("{at}: {} does not exist ({})", link.dest, local.display()));
                continue;
            }
            let Some(fragment) = fragment.filter(|f| !f.is_empty()) else { continue };
            if local.extension().is_some_and(|e| e == "md") {
                let known = anchors(&local).unwrap_or_default();
                if !known.contains(&fragment) {
                    errors.push(format!("{at}: {} has no anchor #{fragment}", local.display()));
                }
            } else if let Some(line) =
                fragment.strip_prefix('L').and_then(|l| l.split('-').next()?.parse::<usize>().ok())
            {
                let lines = std::fs::read_to_string(&full).map(|t| t.lines().count()).unwrap_or(0);
                if line == 0 || line > lines {
                    errors.push(format!("{at}: {} has {lines} lines, no #{fragment}", local.display()));
                }
            }
        }
    }
    errors
}

#[test]
fn every_link_between_the_markdown_files_resolves() {
    let root = root();
    let files = markdown_files(&root);
    for expected in ["README.md", "docs/windows.md", "docs/performance.md", "diag/README.md", "kmdf-sim/README.md"] {
        assert!(files.iter().any(|f| f == Path::new(expected)), "{expected} not among the files checked: {files:?}");
    }
    let errors = broken_links(&root, &files);
    assert!(errors.is_empty(), "{} broken link(s):\n{}", errors.len(), errors.join("\n"));
}

#[test]
fn a_missing_file_a_missing_anchor_and_a_link_out_of_the_repository_are_reported() {
    let dir = std::env::temp_dir().join(format!("wdfkey-doc-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("docs")).expect("temp dir");
    let page =
        "# Title\n\n## The harness (`wdfkey-harness`, `harness/`)\n\n## Twice\n\n## Twice\n\n<a id=\"f41\"></a>\n";
    std::fs::write(dir.join("docs/page.md"), page).expect("page");
    let readme = "\
[ok](docs/page.md#the-harness-wdfkey-harness-harness) [ok](docs/page.md#twice-1) [ok](docs/page.md#f41)
[ok](docs/) [ok](#top) [ok](https://example.com/x.md#nowhere)
`[not a link](nowhere.md)`

```text
[not a link either](nowhere.md)
```

[gone](docs/gone.md)
[no anchor](docs/page.md#thrice)
[out](../elsewhere/x.md)
[unpublished](https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/page.md)

# Top
";
    std::fs::write(dir.join("README.md"), readme).expect("readme");
    let errors = broken_links(&dir, &[PathBuf::from("README.md"), PathBuf::from("docs/page.md")]);
    let _ = std::fs::remove_dir_all(&dir);
    let expected = [
        "README.md:9: docs/gone.md does not exist",
        "README.md:10: docs/page.md has no anchor #thrice",
        "README.md:11: ../elsewhere/x.md leaves the repository",
        "README.md:12: https://github.com/wdfkey-guard/wdfkey-guard/blob/main/docs/page.md names a repository that is not published",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, want) in errors.iter().zip(expected) {
        assert!(error.starts_with(want), "{error:?} should start with {want:?}");
    }
}

#[test]
fn the_readme_is_a_front_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines (at most {README_MAX_LINES}): move manuals next to their code"
    );
}
