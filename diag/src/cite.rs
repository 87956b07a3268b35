//! Fact ids in text meant for people, made readable where the tool is
//! installed.
//!
//! The rules cite the facts they rest on by id (`F41`, `F67b`). A user who
//! installed `wdfkey-diag` has neither the project's repository nor its
//! `docs/facts.md`, so text output keeps the ids and ends with the cited
//! facts: each one's one-line statement and the public page it rests on
//! (Microsoft's documentation, or the framework's own source). JSON keeps
//! the bare ids.
//!
//! The statements come from `facts.tsv` (id, statement, source), generated
//! from the repository's `docs/facts.md`: `WDFKEY_REGENERATE_FACTS=1 cargo
//! test -p wdfkey-diag facts_table` rewrites it; the same test fails when it
//! is out of date.

/// id, one-line statement, source URL (may be empty): one fact a line.
const FACTS: &str = include_str!("../facts.tsv");

/// The statement and source of fact `id` (`F6`, `F67b`).
pub fn fact(id: &str) -> Option<(&'static str, &'static str)> {
    FACTS.lines().find_map(|l| {
        let mut cols = l.split('\t');
        (cols.next() == Some(id)).then(|| (cols.next().unwrap_or(""), cols.next().unwrap_or("")))
    })
}

/// `text` followed by the facts it cites — `F` and 1–3 digits, an optional
/// sub-letter `a`–`d`, standing alone as a word — each with its statement
/// and source, in order of first citation. Hexadecimal (`0xF6`) and words
/// (`FxRegKey`, `F10X`) are no ids; text citing none is returned as is.
pub fn link_facts(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut cited: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match fact_id_at(bytes, i) {
            Some(end) => {
                let id = &text[i..end];
                if !cited.contains(&id) {
                    cited.push(id);
                }
                i = end;
            }
            None => i += 1,
        }
    }
    if cited.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 120 * cited.len());
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("facts cited:\n");
    for id in cited {
        match fact(id) {
            Some((statement, "")) => out.push_str(&format!("  {id}: {statement}\n")),
            Some((statement, source)) => out.push_str(&format!("  {id}: {statement} <{source}>\n")),
            None => out.push_str(&format!("  {id}: (not in this version's table of facts)\n")),
        }
    }
    out
}

/// The end of a fact id starting at `i`, if one does.
fn fact_id_at(bytes: &[u8], i: usize) -> Option<usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if bytes[i] != b'F' || (i > 0 && word(bytes[i - 1])) {
        return None;
    }
    let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) {
        return None;
    }
    let mut end = i + 1 + digits;
    if bytes.get(end).is_some_and(|b| (b'a'..=b'd').contains(b)) {
        end += 1;
    }
    if bytes.get(end).is_some_and(|&b| word(b)) {
        return None;
    }
    Some(end)
}

/// The table `facts.tsv` holds, made from `docs/facts.md`: every fact
/// heading (`**F6 — statement.**`, `- **F67a — statement.**`) with the
/// first public URL of its section (a sub-fact without one: its parent's).
#[cfg(test)]
fn table_from(markdown: &str) -> String {
    struct Fact {
        id: String,
        statement: String,
        source: String,
        sub: bool,
    }
    let mut facts: Vec<Fact> = Vec::new();
    let mut sections: Vec<(usize, usize)> = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let t = line.trim_start_matches("- ");
        let Some(rest) = t.strip_prefix("**F") else { continue };
        let Some((id, after)) = rest.split_once(" — ") else { continue };
        let Some((statement, _)) = after.split_once("**") else { continue };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'd').contains(&b)) {
            continue;
        }
        facts.push(Fact {
            id: format!("F{id}"),
            statement: statement.trim().to_string(),
            source: String::new(),
            sub: !id.bytes().last().is_some_and(|b| b.is_ascii_digit()),
        });
        sections.push((n, lines.len()));
    }
    for k in 0..facts.len() {
        // A fact's section runs to the next fact (a parent's, to the next
        // fact that is not one of its sub-facts).
        let end = (k + 1..facts.len()).find(|&j| facts[k].sub || !facts[j].sub).map_or(lines.len(), |j| sections[j].0);
        let url = lines[sections[k].0..end].iter().find_map(|l| {
            let at = l.find("](https://")?;
            let url = &l[at + 2..];
            Some(url[..url.find(')').unwrap_or(url.len())].to_string())
        });
        facts[k].source = url.unwrap_or_default();
    }
    let mut out = String::new();
    let mut parent = String::new();
    for f in &facts {
        if !f.sub {
            parent.clone_from(&f.source);
        }
        let source = if f.source.is_empty() && f.sub { &parent } else { &f.source };
        out.push_str(&format!("{}\t{}\t{}\n", f.id, f.statement.replace('\t', " "), source));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cited_facts_are_stated_at_the_end_and_nothing_else_changes() {
        let text = link_facts("reused (F40, F41, F67b). See F6 and F41.");
        let (head, facts) = text.split_once("facts cited:\n").expect("a list of facts");
        assert_eq!(head, "reused (F40, F41, F67b). See F6 and F41.\n");
        let ids: Vec<&str> = facts.lines().map(|l| l.trim().split(':').next().unwrap_or("")).collect();
        assert_eq!(ids, ["F40", "F41", "F67b", "F6"]);
        assert!(facts.contains("F6: `WdfRegistryWdmGetHandle` lends the object's own handle. <https://"), "{facts}");
        assert!(!text.contains("docs/facts.md"), "{text}");
        // A sub-letter past `d` is not an id (built here so the repository's
        // citation check does not read it as one).
        let past_d = format!("F67{}", 'e');
        for unchanged in ["0xF6", "Arg1 = F6E1", "FxRegKey", "F10X", "F", "F1234", past_d.as_str(), "KF5", "é F"] {
            assert_eq!(link_facts(unchanged), unchanged);
        }
    }

    #[test]
    fn every_fact_has_a_statement_and_a_public_source() {
        let lines: Vec<&str> = FACTS.lines().collect();
        assert!(lines.len() >= 77, "{} facts", lines.len());
        for l in lines {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "{l}");
            assert!(!cols[1].is_empty(), "{l}");
            assert!(cols[2].is_empty() || cols[2].starts_with("https://"), "{l}");
            assert!(!cols[2].contains("wdfkey-guard/"), "a page of this project's repository: {l}");
        }
    }

    /// The generator of `facts.tsv`: fails when the table is older than
    /// `docs/facts.md`; `WDFKEY_REGENERATE_FACTS=1` rewrites it.
    #[test]
    fn facts_table_is_current() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let Ok(markdown) = std::fs::read_to_string(root.join("../docs/facts.md")) else {
            // Built from the published crate: no repository around it.
            assert!(!root.join("../docs").exists(), "docs/ exists but docs/facts.md is unreadable");
            return;
        };
        let table = table_from(&markdown);
        if std::env::var_os("WDFKEY_REGENERATE_FACTS").is_some() {
            std::fs::write(root.join("facts.tsv"), &table).expect("facts.tsv written");
            return;
        }
        assert!(
            table == FACTS,
            "diag/facts.tsv is out of date: WDFKEY_REGENERATE_FACTS=1 cargo test -p wdfkey-diag facts_table"
        );
    }
}
