//! Before C and C++ are parsed: the bytes decoded (UTF-8 with or without
//! BOM, UTF-16LE/BE with BOM, Latin-1 otherwise), then what the grammar
//! cannot read without the WDK's headers neutralised in place — SAL
//! annotations, calling-convention and declaration macros, `#pragma`,
//! `WDF_DECLARE_CONTEXT_TYPE*`, MSVC structured exception handling, `#if 0`
//! blocks. Every neutralised byte becomes a space (newlines are kept), so a
//! line and column of the result are the line and column of the original
//! file. `#define`s and `#include "…"` are collected on the way for the
//! program-wide analysis.

use std::collections::{BTreeSet, HashMap, HashSet};

/// A `#define` of the file.
#[derive(Debug, Clone)]
pub(crate) struct Define {
    pub name: String,
    /// `Some` for a function-like macro: its parameter names.
    pub params: Option<Vec<String>>,
    /// The replacement text, continuation lines joined.
    pub body: String,
}

/// A file ready for the grammar.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// The decoded text, neutralised: same lines, same columns.
    pub text: String,
    pub defines: Vec<Define>,
    /// `#include "…"` targets, as written.
    pub includes: Vec<String>,
    /// Byte offsets where `__try` was rewritten to `if(1)`.
    pub try_at: BTreeSet<usize>,
    /// `WDF_DECLARE_CONTEXT_TYPE*`: (accessor function, context type).
    pub contexts: Vec<(String, String)>,
}

/// Decodes a source file; the name of the encoding with the text.
pub(crate) fn decode(bytes: &[u8]) -> (String, &'static str) {
    fn utf16(bytes: &[u8], le: bool) -> String {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| {
                let (a, b) = (c[0], c.get(1).copied().unwrap_or(0));
                if le { u16::from_le_bytes([a, b]) } else { u16::from_be_bytes([a, b]) }
            })
            .collect();
        String::from_utf16_lossy(&units)
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return (String::from_utf8_lossy(rest).into_owned(), "UTF-8 with BOM");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return (utf16(rest, true), "UTF-16LE");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return (utf16(rest, false), "UTF-16BE");
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "UTF-8"),
        // Every byte is a Latin-1 character: nothing is lost, columns stay.
        Err(_) => (bytes.iter().map(|&b| b as char).collect(), "Latin-1"),
    }
}

/// Whether an identifier is a SAL annotation (`_In_`, `_Out_writes_(n)`,
/// `_IRQL_requires_max_(…)`, `__drv_dispatchType(…)`, SAL 1 `__in_opt`, …).
fn is_annotation(id: &str) -> bool {
    let b = id.as_bytes();
    if b.first() != Some(&b'_') && !id.starts_with("DECLSPEC_") {
        return false;
    }
    // SAL 2: `_X…_`.
    // SAL 2: `_X…_` with a lower-case letter (`_DRIVER_NAME_` is no annotation).
    if b.len() >= 3
        && b[0] == b'_'
        && b[1].is_ascii_uppercase()
        && b[b.len() - 1] == b'_'
        && b.iter().any(u8::is_ascii_lowercase)
    {
        return true;
    }
    if id.starts_with("__drv_")
        || id.starts_with("_IRQL_")
        || id.starts_with("_Kernel_")
        || id.starts_with("__RPC__")
        || id.starts_with("DECLSPEC_")
    {
        return true;
    }
    const SAL1: &[&str] = &[
        "__in",
        "__out",
        "__inout",
        "__deref",
        "__field",
        "__bcount",
        "__ecount",
        "__range",
        "__checkReturn",
        "__success",
        "__nullterminated",
        "__reserved",
        "__callback",
        "__typefix",
        "__format_string",
        "__notnull",
        "__maybenull",
        "__readonly",
        "__post",
        "__pre",
        "__allowed",
        "__control_entrypoint",
        "__analysis_assume",
        "__user_code",
        "__kernel_entry",
        "__drv",
        "__declspec",
        "__pragma",
        "_Pragma",
        "__attribute__",
        "__assume",
    ];
    SAL1.iter().any(|p| id == *p || (id.starts_with(p) && id.as_bytes().get(p.len()) == Some(&b'_')))
}

/// Calling conventions and declaration macros of the WDK headers that
/// stand where the grammar expects a type or a name.
const DECORATIONS: &[&str] = &[
    "NTAPI",
    "WINAPI",
    "APIENTRY",
    "CALLBACK",
    "STDMETHODCALLTYPE",
    "STDAPICALLTYPE",
    "STDMETHODVCALLTYPE",
    "FASTCALL",
    "NTSYSAPI",
    "NTSYSCALLAPI",
    "NTKERNELAPI",
    "NTHALAPI",
    "FORCEINLINE",
    "__forceinline",
    "__cdecl",
    "_cdecl",
    "FAR",
    "NEAR",
    "FLTAPI",
    "_inline",
    "__volatile",
    "__stdcall",
    "_stdcall",
    "__fastcall",
    "__thiscall",
    "__vectorcall",
    "__clrcall",
    "PASCAL",
    "WINAPIV",
    "__RPC_USER",
    "__RPC_FAR",
    "__RPC_STUB",
    "RPC_ENTRY",
    "__inline",
    "INLINE",
    "EXTERN_C",
    "EXTERN_C_START",
    "EXTERN_C_END",
    "IN",
    "OUT",
    "OPTIONAL",
    "UNALIGNED",
    "__unaligned",
    "__ptr64",
    "__ptr32",
    "POINTER_64",
    "POINTER_32",
    "__restrict",
    "NOTHROW",
    "DECLSPEC_NOTHROW",
];

/// Decorations that take a parenthesised argument.
const DECORATIONS_WITH_ARGS: &[&str] = &["DECLSPEC_ALIGN", "DECLSPEC_DEPRECATED_DDK", "C_ASSERT"];

/// Neutralises `text` (see the module's description).
/// `decorations`: object-like macros of the scanned tree that expand to
/// decorations only (see `decoration_macros`), neutralised like the WDK's.
pub(crate) fn prepare(text: String, encoding: &'static str, cpp: bool, decorations: &TreeMacros) -> Prepared {
    prepare_with(text, encoding, cpp, decorations, true)
}

/// `declarations`: whether file-scope declaration macros are neutralised
/// (not inside a macro's replacement text, which is no file).
fn prepare_with(
    text: String,
    encoding: &'static str,
    cpp: bool,
    decorations: &TreeMacros,
    declarations: bool,
) -> Prepared {
    let _ = encoding;
    let mut out = Prepared::default();
    let mut b = text.into_bytes();
    let n = b.len();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = true;
    // `#if` nesting: for each open conditional, whether it is dead (`#if 0`).
    let mut conds: Vec<bool> = Vec::new();
    let mut dead_depth: Option<usize> = None;
    // Brace depth, and the last significant byte (`;` at the start and after
    // a directive): for declaration macros at file scope.
    let mut depth = 0usize;
    let mut depths: Vec<(usize, Option<usize>)> = Vec::new();
    let mut last_sig = b';';
    // The identifier at hand (one buffer for all of them).
    let mut id = String::new();
    while i < n {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            line_start = true;
            i += 1;
            continue;
        }
        if c == b' ' || c == b'\t' || c == b'\r' || c == 0x0c {
            i += 1;
            continue;
        }
        if line_start && c == b'#' {
            let end = directive_end(&b, i);
            let directive = String::from_utf8_lossy(&b[i + 1..end]).into_owned();
            let start_line = line;
            let lines_in = b[i..end].iter().filter(|&&x| x == b'\n').count();
            let (word, rest) = split_word(directive.trim_start());
            let rest_clean = strip_comments(rest);
            let mut blank = dead_depth.is_some();
            match word {
                "if" | "ifdef" | "ifndef" => depths.push((depth, None)),
                "elif" | "else" => {
                    // Each branch starts at the depth the `#if` saw; the
                    // first branch's end is what follows the `#endif`.
                    if let Some((at_if, first_end)) = depths.last_mut() {
                        first_end.get_or_insert(depth);
                        depth = *at_if;
                    }
                }
                "endif" => {
                    if let Some((_, Some(first_end))) = depths.pop() {
                        depth = first_end;
                    }
                }
                _ => {}
            }
            match word {
                "if" | "ifdef" | "ifndef" => {
                    let zero = word == "if" && is_zero(&rest_clean);
                    conds.push(zero);
                    if zero && dead_depth.is_none() {
                        dead_depth = Some(conds.len());
                        blank = true;
                    }
                }
                // The live branch after a `#if 0`: `#elif X` becomes `#if X`
                // (same length), `#else` is blanked with the matching `#endif`.
                "elif" | "else" if dead_depth == Some(conds.len()) => {
                    dead_depth = None;
                    if word == "elif" {
                        let at = i + 1 + directive.find("elif").unwrap_or(0);
                        b[at..at + 4].copy_from_slice(b"if  ");
                        blank = false;
                    } else {
                        blank = true;
                    }
                    if let Some(top) = conds.last_mut() {
                        *top = word == "else";
                    }
                }
                "endif" => {
                    if dead_depth == Some(conds.len()) {
                        dead_depth = None;
                        blank = true;
                    } else if dead_depth.is_none() && conds.last() == Some(&true) {
                        // Closes a `#if 0 … #else` whose `#if` was blanked.
                        blank = true;
                    }
                    conds.pop();
                }
                "pragma" => blank = true,
                "define" if !blank => {
                    if let Some(d) = parse_define(rest) {
                        out.defines.push(d);
                    }
                }
                "include" if !blank => {
                    let r = rest_clean.trim();
                    if let Some(inner) = include_target(r) {
                        out.includes.push(inner.to_string());
                    }
                }
                _ => {}
            }
            if blank {
                blank_range(&mut b, i, end);
            } else {
                // Comments inside a directive (`WPP_DEFINE_BIT(X) /* … */ \`)
                // end it early for the grammar.
                blank_directive_comments(&mut b, i, end);
            }
            line = start_line + lines_in;
            last_sig = b';';
            i = end;
            continue;
        }
        line_start = false;
        if dead_depth.is_some() {
            // Inside `#if 0`: everything up to the next directive goes.
            let eol = b[i..].iter().position(|&x| x == b'\n').map_or(n, |p| i + p);
            blank_range(&mut b, i, eol);
            i = eol;
            continue;
        }
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = line_comment_end(&b, i);
                line += b[i..end].iter().filter(|&&x| x == b'\n').count();
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = find(&b, i + 2, b"*/").map_or(n, |p| p + 2);
                line += b[i..end].iter().filter(|&&x| x == b'\n').count();
                i = end;
            }
            b'"' | b'\'' => {
                let end = literal_end(&b, i);
                line += b[i..end].iter().filter(|&&x| x == b'\n').count();
                i = end;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < n && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                // `L"…"`, `u8"…"`: the prefix of a literal.
                if i < n && (b[i] == b'"' || b[i] == b'\'') && i - start <= 2 {
                    continue;
                }
                if start > 0 && b[start - 1].is_ascii_digit() {
                    // The rest of a number: MSVC's `I64`/`UI64` suffixes go.
                    let lower = b[start..i].to_ascii_lowercase();
                    for suffix in [&b"ui64"[..], b"i64"] {
                        if lower.ends_with(suffix) {
                            blank_range(&mut b, i - suffix.len(), i);
                            break;
                        }
                    }
                    last_sig = b'0';
                    continue;
                }
                id.clear();
                id.push_str(std::str::from_utf8(&b[start..i]).unwrap_or(""));
                let resumed = neutralise(&mut b, &mut out, start, i, &id, cpp, decorations);
                if resumed == i
                    && b[start] != b' '
                    && declarations
                    && (depth == 0 && (start == 0 || b[start - 1] == b'\n') && matches!(last_sig, b';' | b'}')
                        || depth > 0 && id.contains("DECLARE") && matches!(last_sig, b';' | b'}' | b'{' | b':'))
                    && let Some(stop) = declaration_macro(&b, i, &id)
                {
                    // `DMF_MODULE_DECLARE_CONTEXT(X)` with no `;`: a
                    // declaration the build's headers define; it would
                    // swallow the next definition.
                    blank_range(&mut b, start, stop);
                    line += b[start..stop].iter().filter(|&&x| x == b'\n').count();
                    i = stop;
                    continue;
                }
                if b[start..resumed].iter().any(|x| !x.is_ascii_whitespace()) {
                    last_sig =
                        b[start..resumed].iter().rev().copied().find(|x| !x.is_ascii_whitespace()).unwrap_or(b'a');
                }
                i = resumed;
                line += b[start..i].iter().filter(|&&x| x == b'\n').count();
            }
            // C++/CLI: a handle `String^ s` is a pointer to the grammar (an
            // `a ^ b` read as `a * b` is still an expression).
            b'^' if cpp && (last_sig == b'>' || last_sig == b'_' || last_sig.is_ascii_alphanumeric()) => {
                b[i] = b'*';
                last_sig = b'*';
                i += 1;
            }
            // C++/CLI attributes in front of a declaration:
            // `[System::SerializableAttribute] public ref class X`.
            b'[' if cpp
                && matches!(last_sig, b';' | b'{' | b'}' | b':' | b']')
                && b.get(i + 1).is_some_and(|x| x.is_ascii_alphabetic() || *x == b'_')
                && let Some(close) = attribute_end(&b, i) =>
            {
                line += b[i..close].iter().filter(|&&x| x == b'\n').count();
                blank_range(&mut b, i, close);
                i = close;
            }
            _ => {
                match c {
                    b'{' => depth += 1,
                    b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                last_sig = c;
                i += 1;
            }
        }
    }
    if declarations {
        let tokens = tokens(&b);
        split_continued_literals(&mut b, &tokens);
        concatenated_names(&mut b, &tokens, decorations);
        if cpp {
            cpp_forms(&mut b, &tokens);
            class_scope_macros(&mut b, &tokens);
        }
        extra_declaration_words(&mut b, &tokens, decorations);
    }
    // Only ASCII bytes were replaced by ASCII spaces: still UTF-8.
    out.text = String::from_utf8(b).unwrap_or_default();
    out
}

/// Handles the identifier at `start..end`; returns where scanning resumes.
fn neutralise(
    b: &mut [u8],
    out: &mut Prepared,
    start: usize,
    end: usize,
    id: &str,
    cpp: bool,
    decorations: &TreeMacros,
) -> usize {
    let next = skip_space(b, end);
    let paren = b.get(next) == Some(&b'(');
    if id.starts_with("WDF_DECLARE_") && id.contains("CONTEXT_TYPE") && paren {
        let close = matching_paren(b, next);
        let args: Vec<String> = String::from_utf8_lossy(b.get(next + 1..close.saturating_sub(1)).unwrap_or_default())
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        let ty = args.first().cloned().unwrap_or_default();
        let accessor = if id.ends_with("WITH_NAME") {
            args.get(1).cloned().unwrap_or_default()
        } else {
            format!("WdfObjectGet_{ty}")
        };
        out.contexts.push((accessor, ty));
        let mut stop = close;
        let after = skip_space(b, close);
        if b.get(after) == Some(&b';') {
            stop = after + 1;
        }
        blank_range(b, start, stop);
        return stop;
    }
    if is_annotation(id) || DECORATIONS_WITH_ARGS.contains(&id) {
        let stop = if paren { matching_paren(b, next) } else { end };
        blank_range(b, start, stop);
        return stop;
    }
    let before = b[..start].iter().rev().copied().find(|x| !x.is_ascii_whitespace());
    // After a name it is a declarator (`void DumpPath(x)`: a function of
    // that name when the macro is not defined), not an invocation.
    if paren && decorations.calls.contains(id) && !before.is_some_and(|x| x == b'_' || x.is_ascii_alphanumeric()) {
        // `CODE_SEG("PAGE")` defined as `__declspec(code_seg(…))` (or as
        // nothing) in every branch: the invocation goes with its arguments.
        let stop = matching_paren(b, next);
        blank_range(b, start, stop);
        return stop;
    }
    if DECORATIONS.contains(&id) || decorations.decorations.contains(id) {
        // A macro defined as nothing but passed as an argument
        // (`TRACE(FLAG_X, "…")`) stays a name: an empty argument is no C.
        if !DECORATIONS.contains(&id) && matches!(before, Some(b'(' | b',')) && matches!(b.get(next), Some(b',' | b')'))
        {
            return end;
        }
        blank_range(b, start, end);
        return end;
    }
    if paren && let Some(kw) = decorations.keywords.get(id) {
        // `WHILE(c)` defined as `while(c)`: the keyword, padded.
        b[start..start + kw.len()].copy_from_slice(kw.as_bytes());
        blank_range(b, start + kw.len(), end);
        return end;
    }
    match id {
        // Same length, same meaning.
        "PURE" if cpp => {
            b[start..end].copy_from_slice(b"= 0 ");
            end
        }
        "CONST" => {
            b[start..end].copy_from_slice(b"const");
            end
        }
        // COM's interface macros (objbase.h): `THIS_` is nothing in C++,
        // `THIS` is `void`.
        "THIS_" => {
            blank_range(b, start, end);
            end
        }
        "THIS" if cpp => {
            b[start..end].copy_from_slice(b"void");
            end
        }
        "STDMETHODIMP" | "IFACEMETHODIMP" | "STDAPI" => {
            b[start..start + 7].copy_from_slice(b"HRESULT");
            blank_range(b, start + 7, end);
            end
        }
        // `STDMETHODIMP_(ULONG) F()` → `ULONG F()`; `STDMETHOD_(ULONG, F)` →
        // `ULONG F`; `STDMETHOD(F)` → `F`.
        "STDMETHODIMP_" | "STDMETHOD_" | "STDMETHOD" | "STDAPI_" | "IFACEMETHODIMP_" if paren => {
            let close = matching_paren(b, next);
            blank_range(b, start, next + 1);
            if id == "STDMETHOD" {
                // `STDMETHOD(F)` → `HRESULT  F`.
                b[start..start + 7].copy_from_slice(b"HRESULT");
            }
            b[close - 1] = b' ';
            if let Some(comma) = b[next..close].iter().position(|&x| x == b',') {
                b[next + comma] = b' ';
            }
            close
        }
        // C++/CLI: `gcnew T(…)` is a `new`; `ref class`, `value struct`,
        // `public enum class` are classes; `property T Name;` a member.
        "gcnew" if cpp => {
            b[start..end].copy_from_slice(b"new  ");
            end
        }
        "ref" | "value" | "interface" | "public" | "private" | "internal" if cpp && clr_type_prefix(b, id, end) => {
            blank_range(b, start, end);
            end
        }
        "property" if cpp && b.get(next).is_some_and(|x| x.is_ascii_alphabetic() || *x == b'_') => {
            blank_range(b, start, end);
            end
        }
        "__try" => {
            b[start..end].copy_from_slice(b"if(1)");
            out.try_at.insert(start);
            end
        }
        "__except" => {
            // `__except (filter)` → `else`: the handler is the other path.
            b[start..start + 4].copy_from_slice(b"else");
            blank_range(b, start + 4, end);
            if paren {
                let close = matching_paren(b, next);
                blank_range(b, next, close);
                return close;
            }
            end
        }
        "__finally" => {
            blank_range(b, start, end);
            end
        }
        // C sources using `try`/`except`/`finally` (the WDK's excpt.h
        // spellings): the body, then the handler, read in sequence.
        "try" | "finally" if !cpp && b.get(next) == Some(&b'{') => {
            blank_range(b, start, end);
            end
        }
        "except" if !cpp && paren => {
            let close = matching_paren(b, next);
            blank_range(b, start, close);
            close
        }
        _ => end,
    }
}

/// Whether `id` and the words after it (from `at`) make a C++/CLI type
/// declaration: `ref|value|interface class|struct`, or a visibility in
/// front of one or of `enum class|struct`.
fn clr_type_prefix(b: &[u8], id: &str, at: usize) -> bool {
    let word = |from: usize| {
        let s = skip_space(b, from);
        let mut e = s;
        while e < b.len() && (b[e] == b'_' || b[e].is_ascii_alphanumeric()) {
            e += 1;
        }
        (&b[s..e], e)
    };
    let (w1, e1) = word(at);
    let (w2, _) = word(e1);
    let class = |w: &[u8]| w == b"class" || w == b"struct";
    match id {
        "ref" | "value" | "interface" => class(w1),
        _ => matches!(w1, b"ref" | b"value" | b"interface" | b"enum") && class(w2),
    }
}

/// The end of a C++/CLI attribute list `[…]` starting at `open`, if it is
/// one: balanced, and followed by a declaration (a name), not by what
/// follows a lambda's captures or a subscript.
fn attribute_end(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    let after = skip_space_and_comments(b, i + 1);
                    return b
                        .get(after)
                        .is_some_and(|x| x.is_ascii_alphabetic() || *x == b'_' || *x == b'[')
                        .then_some(i + 1);
                }
            }
            b'"' | b'\'' => {
                i = literal_end(b, i);
                continue;
            }
            b';' | b'{' | b'}' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// What the scanned tree's own macros mean to the grammar.
#[derive(Debug, Default)]
pub(crate) struct TreeMacros {
    /// Object-like macros (upper-case names) whose replacement is nothing
    /// but decorations — annotations, `__declspec(…)`, calling conventions,
    /// other such macros: `#define PAGED_CODE_SEG __declspec(code_seg("PAGE"))`.
    pub decorations: HashSet<String>,
    /// Function-like macros every definition of which expands to
    /// decorations only, or to nothing (`#define CODE_SEG(s) __declspec(code_seg(s))`,
    /// `#define TRACE_ERROR(...)`): an invocation is neutralised with its arguments.
    pub calls: HashSet<String>,
    /// Object-like macros whose replacement is a string literal
    /// (`#define GUID_FORMAT_STRING "{%08x-…}"`): next to other literals,
    /// part of one concatenation.
    pub strings: HashSet<String>,
    /// Function-like macros that are a keyword applied to their parameter
    /// (`#define WHILE(c) __pragma(…) while(c)`), no shorter than it.
    pub keywords: HashMap<String, &'static str>,
}

/// Classifies the tree's `defines` (see `TreeMacros`).
pub(crate) fn tree_macros<'a>(defines: impl Iterator<Item = &'a Define> + Clone) -> TreeMacros {
    let mut known = TreeMacros::default();
    for d in defines.clone() {
        let Some(params) = &d.params else { continue };
        let [param] = params.as_slice() else { continue };
        if !["while", "if", "switch", "for"].iter().any(|kw| d.body.contains(kw)) {
            continue;
        }
        let p = prepare_with(d.body.clone(), "UTF-8", false, &known, false);
        let body: String = p.text.chars().filter(|c| !c.is_whitespace()).collect();
        for kw in ["while", "if", "switch", "for"] {
            if body == format!("{kw}({param})") && d.name.len() >= kw.len() {
                known.keywords.insert(d.name.clone(), kw);
            }
        }
    }
    for d in defines.clone() {
        let body = strip_comments(&d.body);
        let body = body.trim();
        let b = body.as_bytes();
        let open = b.iter().position(|&c| c == b'"');
        if d.params.is_none()
            && let Some(open) = open
            && open <= 2
            && b[..open].iter().all(u8::is_ascii_alphanumeric)
            && literal_end(b, open) == b.len()
        {
            known.strings.insert(d.name.clone());
        }
    }
    let mut function_like: HashMap<&str, Vec<&Define>> = HashMap::new();
    for d in defines.clone() {
        if d.params.is_some() {
            function_like.entry(d.name.as_str()).or_default().push(d);
        }
    }
    // A name also defined object-like, or with other parameters, is not one
    // to guess at.
    for d in defines.clone() {
        if d.params.is_none() {
            function_like.remove(d.name.as_str());
        }
    }
    for _ in 0..4 {
        let before = known.decorations.len() + known.calls.len();
        for (name, defs) in &function_like {
            if known.calls.contains(*name) || known.keywords.contains_key(*name) {
                continue;
            }
            let empty = defs.iter().all(|d| {
                if !may_vanish(&d.body) {
                    return false;
                }
                let p = prepare_with(d.body.clone(), "UTF-8", false, &known, false);
                p.text.trim().is_empty()
            });
            if empty {
                known.calls.insert((*name).to_string());
            }
        }
        for d in defines.clone() {
            if d.params.is_some()
                || known.decorations.contains(&d.name)
                || !d.name.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
                || !d.name.trim_start_matches('_').as_bytes().first().is_some_and(u8::is_ascii_uppercase)
                || !may_vanish(&d.body)
            {
                continue;
            }
            let p = prepare_with(d.body.clone(), "UTF-8", false, &known, false);
            if p.text.trim().is_empty() {
                known.decorations.insert(d.name.clone());
            }
        }
        if known.decorations.len() + known.calls.len() == before {
            break;
        }
    }
    known
}

/// Whether a replacement text could neutralise to nothing: empty, or
/// starting with a name (a number, a literal, an operator stays).
fn may_vanish(body: &str) -> bool {
    body.trim_start().as_bytes().first().is_none_or(|c| c.is_ascii_alphabetic() || *c == b'_')
}

/// An upper-case macro invoked at file scope with no `;` after it: the end
/// of the invocation, if what follows is not a body, an initialiser or a
/// list (then it is a declarator or a function header).
fn declaration_macro(b: &[u8], end: usize, id: &str) -> Option<usize> {
    let bytes = id.as_bytes();
    if bytes.len() < 3
        || id.starts_with("WDF_DECLARE_")
        || !bytes[0].is_ascii_uppercase()
        || !bytes.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
    {
        return None;
    }
    let open = skip_space(b, end);
    if b.get(open) != Some(&b'(') {
        return None;
    }
    let close = matching_paren(b, open);
    let next = skip_space_and_comments(b, close);
    match b.get(next) {
        None => Some(close),
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b'#' => Some(close),
        // The last member of a class body: `DECLARE_LIBID(x) };`.
        Some(b'}') if id.contains("DECLARE") => Some(close),
        _ => None,
    }
}

/// A token of a prepared text: comments, directives and whitespace are
/// not tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    /// A string or character literal, its prefix included.
    Literal,
    Punct(u8),
}

/// The tokens of a prepared text, with their byte spans.
fn tokens(b: &[u8]) -> Vec<(usize, usize, Tok)> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if line_start && c == b'#' {
            i = directive_end(b, i);
            continue;
        }
        line_start = false;
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_comment_end(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => i = find(b, i + 2, b"*/").map_or(b.len(), |p| p + 2),
            b'"' | b'\'' => {
                let end = literal_end(b, i);
                out.push((i, end, Tok::Literal));
                i = end;
            }
            _ if c == b'_' || c.is_ascii_alphanumeric() => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') && i - start <= 2 && !c.is_ascii_digit() {
                    // `L"…"`, `u8"…"`.
                    let end = literal_end(b, i);
                    out.push((start, end, Tok::Literal));
                    i = end;
                } else {
                    out.push((start, i, Tok::Word));
                }
            }
            _ => {
                out.push((i, i + 1, Tok::Punct(c)));
                i += 1;
            }
        }
    }
    out
}

/// A string literal continued on the next line with a backslash, which the
/// grammar cannot read, as two literals concatenated: the backslash becomes
/// a closing quote, the next line's first byte an opening one (or a space
/// when it is the closing quote). Lines stay where they were.
fn split_continued_literals(b: &mut [u8], tokens: &[(usize, usize, Tok)]) {
    for &(start, end, kind) in tokens {
        if kind != Tok::Literal || !b[start..end].contains(&b'\n') {
            continue;
        }
        let Some(open) = b[start..end].iter().position(|&c| c == b'"').map(|p| p + start) else { continue };
        let mut j = open + 1;
        while j < end {
            match b[j] {
                b'\\' => {
                    let nl = if b.get(j + 1) == Some(&b'\r') { j + 2 } else { j + 1 };
                    if b.get(nl) == Some(&b'\n') {
                        let next = nl + 1;
                        match b.get(next) {
                            Some(b'"') if next + 1 == end => {
                                b[j] = b'"';
                                b[next] = b' ';
                                break;
                            }
                            Some(&c) if c.is_ascii() && c != b'\\' && c != b'\n' && c != b'\r' => {
                                b[j] = b'"';
                                b[next] = b'"';
                                j = next + 1;
                            }
                            _ => j = next,
                        }
                    } else {
                        j += 2;
                    }
                }
                _ => j += 1,
            }
        }
    }
}

/// Names that stand for string literals next to literals — the predefined
/// `__FUNCTION__`, `__FILE__`, … and the tree's own string macros — as a
/// literal of the same length: `"%s: " __FUNCTION__` is one concatenation.
fn concatenated_names(b: &mut [u8], tokens: &[(usize, usize, Tok)], decorations: &TreeMacros) {
    const PREDEFINED: &[&str] = &[
        "__FUNCTION__",
        "__FUNCDNAME__",
        "__FUNCSIG__",
        "__FILE__",
        "__DATE__",
        "__TIME__",
        "__TIMESTAMP__",
        "__FILEW__",
        "__FUNCTIONW__",
        "__PRETTY_FUNCTION__",
    ];
    for (k, &(start, end, kind)) in tokens.iter().enumerate() {
        if kind != Tok::Word || end - start < 2 {
            continue;
        }
        let name = std::str::from_utf8(&b[start..end]).unwrap_or("");
        if !PREDEFINED.contains(&name) && !decorations.strings.contains(name) {
            continue;
        }
        let literal = |t: Option<&(usize, usize, Tok)>| {
            t.is_some_and(|t| {
                t.2 == Tok::Literal && b[t.0..t.1].contains(&b'"')
                    || t.2 == Tok::Word && {
                        let n = std::str::from_utf8(&b[t.0..t.1]).unwrap_or("");
                        PREDEFINED.contains(&n) || decorations.strings.contains(n)
                    }
            })
        };
        if literal(k.checked_sub(1).and_then(|p| tokens.get(p))) || literal(tokens.get(k + 1)) {
            b[start] = b'"';
            blank_range(b, start + 1, end - 1);
            b[end - 1] = b'"';
        }
    }
}

/// C++ the grammar does not read, rewritten to the same length and
/// meaning for the rules: `delete [] (T *) p` (read as a lambda) loses its
/// brackets, `new (pool) T *[n]` its star, `p->*f` and `o.*f` theirs.
fn cpp_forms(b: &mut [u8], tokens: &[(usize, usize, Tok)]) {
    let word = |b: &[u8], t: &(usize, usize, Tok), w: &[u8]| t.2 == Tok::Word && &b[t.0..t.1] == w;
    let is = |k: usize, p: u8| tokens.get(k).is_some_and(|t| t.2 == Tok::Punct(p));
    for k in 0..tokens.len() {
        let t = tokens[k];
        match t.2 {
            // COM's `interface` (objbase.h: `#define interface struct`).
            Tok::Word if word(b, &t, b"interface") => {
                let mut n = k + 1;
                if tokens.get(n).is_some_and(|x| word(b, x, b"__declspec")) && is(n + 1, b'(') {
                    let close = matching_paren(b, tokens[n + 1].0);
                    while n < tokens.len() && tokens[n].0 < close {
                        n += 1;
                    }
                }
                if tokens.get(n).is_some_and(|x| x.2 == Tok::Word) && (is(n + 1, b':') || is(n + 1, b'{')) {
                    b[t.0..t.0 + 6].copy_from_slice(b"struct");
                    blank_range(b, t.0 + 6, t.1);
                }
            }
            // `class ATL_NO_VTABLE CFoo : …`: a decoration before the name.
            Tok::Word if word(b, &t, b"class") || word(b, &t, b"struct") => {
                if let (Some(d), Some(name)) = (tokens.get(k + 1), tokens.get(k + 2))
                    && d.2 == Tok::Word
                    && name.2 == Tok::Word
                    && !word(b, name, b"final")
                    && (is(k + 3, b':') && !is(k + 4, b':') || is(k + 3, b'{'))
                {
                    blank_range(b, d.0, d.1);
                }
            }
            Tok::Word if word(b, &t, b"delete") => {
                if let (Some(o), Some(c), Some(p)) = (tokens.get(k + 1), tokens.get(k + 2), tokens.get(k + 3))
                    && o.2 == Tok::Punct(b'[')
                    && c.2 == Tok::Punct(b']')
                    && p.2 == Tok::Punct(b'(')
                {
                    blank_range(b, o.0, c.1);
                }
            }
            Tok::Punct(b'*') => {
                // `new (…) T *[n]`: a `new` earlier in the statement.
                let array = tokens.get(k + 1).is_some_and(|n| n.2 == Tok::Punct(b'['))
                    && k > 0
                    && tokens[k - 1].2 == Tok::Word
                    && tokens[..k]
                        .iter()
                        .rev()
                        .take_while(|x| !matches!(x.2, Tok::Punct(b';' | b'{' | b'}')))
                        .any(|x| word(b, x, b"new"));
                let member = k > 0
                    && (tokens[k - 1].2 == Tok::Punct(b'.') && tokens[k - 1].1 == t.0
                        || tokens[k - 1].2 == Tok::Punct(b'>')
                            && k > 1
                            && tokens[k - 2].2 == Tok::Punct(b'-')
                            && tokens[k - 1].1 == t.0);
                if array || member {
                    b[t.0] = b' ';
                }
            }
            _ => {}
        }
    }
}

/// Macros in a class body that declare members and take no `;` (ATL's
/// `DECLARE_REGISTRY_RESOURCEID(…)`, test frameworks' `BEGIN_TEST_CLASS(…)`,
/// `END_TEST_CLASS()`): an upper-case invocation followed by a name or the
/// end of the body, where a member declaration would need its `;`, goes.
fn class_scope_macros(b: &mut [u8], tokens: &[(usize, usize, Tok)]) {
    let upper = |b: &[u8], t: &(usize, usize, Tok)| {
        t.2 == Tok::Word
            && t.1 - t.0 >= 3
            && b[t.0].is_ascii_uppercase()
            && b[t.0..t.1].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
    };
    // For each open brace: the class whose body it opens, if it does.
    let mut scopes: Vec<Option<(usize, usize)>> = Vec::new();
    let mut k = 0;
    while k < tokens.len() {
        let t = tokens[k];
        // A token blanked by an earlier rewrite (a macro just removed).
        let blanked = |x: &(usize, usize, Tok)| b[x.0] == b' ';
        match t.2 {
            Tok::Punct(b'{') => {
                let head: Vec<&(usize, usize, Tok)> =
                    tokens[..k].iter().rev().take_while(|x| !matches!(x.2, Tok::Punct(b';' | b'{' | b'}'))).collect();
                let mut class = None;
                // The name: the last word before the base list or the body.
                let mut name = None;
                for (i, x) in head.iter().enumerate() {
                    match x.2 {
                        Tok::Punct(b'=' | b'(' | b')') => {
                            class = None;
                            break;
                        }
                        Tok::Punct(b':') if i + 1 < head.len() && head[i + 1].2 != Tok::Punct(b':') => name = None,
                        Tok::Word if name.is_none() => name = Some((x.0, x.1)),
                        Tok::Word if matches!(&b[x.0..x.1], b"class" | b"struct" | b"union") => class = name,
                        _ => {}
                    }
                }
                scopes.push(class);
            }
            Tok::Punct(b'}') => {
                scopes.pop();
            }
            // `Class::Method(` declared inside `Class`'s body (MSVC accepts
            // the extra qualification).
            Tok::Word
                if scopes.last().is_some_and(|c| c.is_some_and(|(s, e)| b[s..e] == b[t.0..t.1]))
                    && tokens.get(k + 1).is_some_and(|x| x.2 == Tok::Punct(b':'))
                    && tokens.get(k + 2).is_some_and(|x| x.2 == Tok::Punct(b':'))
                    && tokens.get(k + 3).is_some_and(|x| x.2 == Tok::Word)
                    && tokens.get(k + 4).is_some_and(|x| x.2 == Tok::Punct(b'(')) =>
            {
                blank_range(b, t.0, tokens[k + 2].1);
                k += 3;
                continue;
            }
            Tok::Word
                if scopes.last().is_some_and(Option::is_some)
                    && upper(b, &t)
                    && (k == 0
                        || matches!(tokens[k - 1].2, Tok::Punct(b';' | b'{' | b'}' | b':') | Tok::Word)
                            && (tokens[k - 1].2 != Tok::Word || upper(b, &tokens[k - 1]))
                        || blanked(&tokens[k - 1])) =>
            {
                let mut end = t.1;
                let mut next = k + 1;
                if tokens.get(next).is_some_and(|x| x.2 == Tok::Punct(b'(')) {
                    end = matching_paren(b, tokens[next].0);
                    while next < tokens.len() && tokens[next].0 < end {
                        next += 1;
                    }
                }
                let follows = tokens.get(next);
                let member_end = match follows {
                    None => true,
                    Some(x) if x.2 == Tok::Punct(b'}') => true,
                    Some(x) if x.2 == Tok::Word => {
                        upper(b, x) && next > k + 1
                            || matches!(&b[x.0..x.1], b"public" | b"private" | b"protected")
                            || next > k + 1
                                && !tokens
                                    .get(next + 1)
                                    .is_some_and(|y| matches!(y.2, Tok::Punct(b';' | b'=' | b'[' | b',')))
                    }
                    _ => false,
                };
                if member_end && (next > k + 1 || follows.is_some_and(|x| upper(b, x))) {
                    blank_range(b, t.0, end);
                }
                k = next;
                continue;
            }
            _ => {}
        }
        k += 1;
    }
}

/// Words C and C++ reserve that may stand in a declaration's specifiers.
const SPECIFIER_KEYWORDS: &[&str] = &[
    "const",
    "volatile",
    "static",
    "extern",
    "inline",
    "__inline",
    "__forceinline",
    "register",
    "virtual",
    "explicit",
    "friend",
    "constexpr",
    "mutable",
    "thread_local",
    "typedef",
    "_Noreturn",
    "restrict",
    "__restrict",
    "__ptr64",
    "__ptr32",
    "__unaligned",
];
/// The builtin types.
const PRIMITIVE_TYPES: &[&str] = &[
    "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "bool", "_Bool", "wchar_t",
    "__int8", "__int16", "__int32", "__int64", "char8_t", "char16_t", "char32_t", "auto",
];
/// Words after which a run of words is no declaration.
const NOT_A_DECLARATION: &[&str] = &[
    "return",
    "new",
    "delete",
    "throw",
    "case",
    "goto",
    "else",
    "do",
    "sizeof",
    "co_return",
    "co_await",
    "co_yield",
    "using",
    "namespace",
    "template",
    "typename",
    "operator",
    "decltype",
    "alignof",
    "__declspec",
    "__attribute__",
    "if",
    "while",
    "for",
    "switch",
    "struct",
    "class",
    "union",
    "enum",
    "public",
    "private",
    "protected",
    "default",
];

/// A declaration can name one type before its declarator: a word more,
/// not a keyword (`NTSTATUS WSKAPI Foo(`, `SCSIPORT_API NTSTATUS Foo(`,
/// `PAGED void K::F(`, `const AVRT_DATA T<1> C::m(`) is a decoration the
/// build's headers define, and goes. The type kept is a template, a
/// builtin type, else the first word not spelled like a decoration (`…API`,
/// `__…`).
fn extra_declaration_words(b: &mut [u8], tokens: &[(usize, usize, Tok)], decorations: &TreeMacros) {
    fn text(b: &[u8], t: &(usize, usize, Tok)) -> String {
        std::str::from_utf8(&b[t.0..t.1]).unwrap_or("").to_string()
    }
    let mut k = 0;
    while k < tokens.len() {
        let starts = k == 0
            || matches!(tokens[k - 1].2, Tok::Punct(b';' | b'{' | b'}' | b':'))
                && !(k > 1 && tokens[k - 2].2 == Tok::Punct(b':'));
        if !starts || tokens[k].2 != Tok::Word {
            k += 1;
            continue;
        }
        // The run: words (a name may be qualified, a type templated).
        let mut words: Vec<(usize, usize, bool)> = Vec::new(); // start, end, is_template
        let mut j = k;
        let mut primitive = false;
        let mut abort = false;
        while j < tokens.len() && tokens[j].2 == Tok::Word {
            let w = text(b, &tokens[j]);
            if NOT_A_DECLARATION.contains(&w.as_str()) || decorations.calls.contains(&w) {
                abort = true;
                break;
            }
            let (start, mut end) = (tokens[j].0, tokens[j].1);
            let mut templated = false;
            j += 1;
            loop {
                // `A::B`, `T<…>`.
                if j + 2 < tokens.len()
                    && tokens[j].2 == Tok::Punct(b':')
                    && tokens[j + 1].2 == Tok::Punct(b':')
                    && tokens[j + 2].2 == Tok::Word
                {
                    end = tokens[j + 2].1;
                    j += 3;
                } else if j < tokens.len() && tokens[j].2 == Tok::Punct(b'<') {
                    let mut depth = 0;
                    let mut m = j;
                    while m < tokens.len() {
                        match tokens[m].2 {
                            Tok::Punct(b'<') => depth += 1,
                            Tok::Punct(b'>') => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            Tok::Punct(b';' | b'{' | b'}' | b'(' | b')') => break,
                            _ => {}
                        }
                        m += 1;
                    }
                    if m >= tokens.len() || tokens[m].2 != Tok::Punct(b'>') {
                        abort = true;
                        break;
                    }
                    end = tokens[m].1;
                    templated = true;
                    j = m + 1;
                } else {
                    break;
                }
            }
            if abort {
                break;
            }
            if SPECIFIER_KEYWORDS.contains(&w.as_str()) {
                continue;
            }
            if PRIMITIVE_TYPES.contains(&w.as_str()) && end == tokens[j - 1].1 && !templated {
                primitive = true;
                continue;
            }
            words.push((start, end, templated));
        }
        let follows = tokens.get(j).map(|t| t.2);
        if abort
            || !matches!(follows, Some(Tok::Punct(b'(' | b';' | b'=' | b'[')))
            || words.len() + usize::from(primitive) < 3
        {
            k = j.max(k + 1);
            continue;
        }
        // The declarator is the last word; the others are types.
        words.pop();
        let spelled = |s: usize, e: usize| {
            let w = std::str::from_utf8(&b[s..e]).unwrap_or("");
            w.ends_with("API") || w.starts_with("__")
        };
        let keep = if primitive {
            None
        } else {
            words.iter().position(|w| w.2).or_else(|| words.iter().position(|w| !spelled(w.0, w.1))).or(Some(0))
        };
        for (i, &(s, e, _)) in words.iter().enumerate() {
            if Some(i) != keep {
                blank_range(b, s, e);
            }
        }
        k = j;
    }
}

fn skip_space_and_comments(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_space(b, i);
        match (b.get(i), b.get(i + 1)) {
            (Some(b'/'), Some(b'/')) => i = line_comment_end(b, i),
            (Some(b'/'), Some(b'*')) => i = find(b, i + 2, b"*/").map_or(b.len(), |p| p + 2),
            _ => return i,
        }
    }
}

fn blank_directive_comments(b: &mut [u8], start: usize, end: usize) {
    let mut i = start;
    while i + 1 < end {
        match (b[i], b[i + 1]) {
            (b'/', b'*') => {
                let stop = find(b, i + 2, b"*/").map_or(end, |p| (p + 2).min(end));
                // A backslash ending a line inside the comment still
                // continues the directive.
                let kept: Vec<usize> =
                    (i..stop).filter(|&k| b[k] == b'\\' && matches!(b.get(k + 1), Some(b'\n' | b'\r'))).collect();
                blank_range(b, i, stop);
                for k in kept {
                    b[k] = b'\\';
                }
                i = stop;
            }
            (b'"', _) | (b'\'', _) => i = literal_end(b, i),
            _ => i += 1,
        }
    }
}

/// The `#define`s and `#include "…"`s of a text, without preparing it.
pub(crate) fn directives_of(text: &str) -> (Vec<Define>, Vec<String>) {
    let b = text.as_bytes();
    let (mut defines, mut includes) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let end = if b.get(j) == Some(&b'#') {
            let end = directive_end(b, j);
            let d = String::from_utf8_lossy(&b[j + 1..end]);
            let (word, rest) = split_word(d.trim_start());
            if word == "define"
                && let Some(def) = parse_define(rest)
            {
                defines.push(def);
            } else if word == "include"
                && let Some(inner) = include_target(&strip_comments(rest))
            {
                includes.push(inner.to_string());
            }
            end
        } else {
            b[i..].iter().position(|&x| x == b'\n').map_or(b.len(), |p| i + p)
        };
        i = end + 1;
    }
    (defines, includes)
}

/// The file an `#include "x"` or `#include <x>` names (a `<…>` one counts
/// only if the tree has a file of that name).
fn include_target(rest: &str) -> Option<&str> {
    let r = rest.trim();
    if let Some(q) = r.strip_prefix('"') {
        return q.split('"').next();
    }
    r.strip_prefix('<').and_then(|x| x.split('>').next())
}

/// Which branch of every conditional a variant keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Branches {
    /// The `#if` branch.
    First,
    /// The last `#elif`/`#else` branch (the `#if` branch when there is none).
    Last,
}

/// A prepared text with one branch of every conditional kept and the
/// others (and the directives) blanked: for conditionals that split a
/// statement, which the grammar cannot read with both branches in place.
pub(crate) fn select_branches(text: &str, which: Branches) -> String {
    let mut b = text.as_bytes().to_vec();
    // Lines: (start, end, directive word).
    let mut lines = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let eol = if b.get(j) == Some(&b'#') {
            directive_end(&b, i)
        } else {
            b[i..].iter().position(|&x| x == b'\n').map_or(b.len(), |p| i + p)
        };
        let word = (b.get(j) == Some(&b'#'))
            .then(|| split_word(String::from_utf8_lossy(&b[j + 1..eol]).trim_start()).0.to_string());
        lines.push((i, eol, word));
        i = eol + 1;
    }
    // For each conditional: its branch boundaries (line indices).
    struct Cond {
        branches: Vec<usize>,
    }
    let mut stack: Vec<Cond> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = Vec::new(); // blanked line index ranges [a, b)
    let mut directives = Vec::new();
    for (k, (_, _, w)) in lines.iter().enumerate() {
        match w.as_deref() {
            Some("if" | "ifdef" | "ifndef") => {
                stack.push(Cond { branches: vec![k] });
                directives.push(k);
            }
            Some("elif" | "else" | "elifdef" | "elifndef") => {
                if let Some(c) = stack.last_mut() {
                    c.branches.push(k);
                }
                directives.push(k);
            }
            Some("endif") => {
                directives.push(k);
                if let Some(c) = stack.pop() {
                    let n = c.branches.len();
                    let keep = match which {
                        Branches::First => 0,
                        Branches::Last => n - 1,
                    };
                    for (j, &start) in c.branches.iter().enumerate() {
                        if j != keep {
                            let stop = c.branches.get(j + 1).copied().unwrap_or(k);
                            ranges.push((start, stop));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (a, z) in ranges {
        for (s, e, _) in &lines[a..z] {
            blank_range(&mut b, *s, *e);
        }
    }
    for k in directives {
        let (s, e, _) = &lines[k];
        blank_range(&mut b, *s, *e);
    }
    String::from_utf8(b).unwrap_or_default()
}

/// A conditional-compilation condition as (atom, whether it holds):
/// `ifdef X` and `if defined(X)` are (`defined(X)`, true), `ifndef X` and
/// `if !defined X` (`defined(X)`, false), `if !(A && B)` (`A&&B`, false).
pub(crate) fn condition_atom(directive: &str) -> (String, bool) {
    let (word, rest) = split_word(directive.trim());
    let mut t: String = strip_comments(rest).chars().filter(|c| !c.is_whitespace()).collect();
    let mut holds = true;
    match word {
        "ifdef" | "elifdef" => t = format!("defined({t})"),
        "ifndef" | "elifndef" => {
            t = format!("defined({t})");
            holds = false;
        }
        _ => {}
    }
    loop {
        if let Some(inner) = t.strip_prefix('!') {
            holds = !holds;
            t = inner.to_string();
        } else if t.starts_with('(') && t.ends_with(')') && matching_paren(t.as_bytes(), 0) == t.len() {
            t = t[1..t.len() - 1].to_string();
        } else if let Some(name) = t.strip_prefix("defined").filter(|n| !n.starts_with('(') && !n.is_empty()) {
            t = format!("defined({name})");
            break;
        } else {
            break;
        }
    }
    (t, holds)
}

fn split_word(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn strip_comments(s: &str) -> String {
    let mut t = s.to_string();
    if let Some(p) = t.find("//") {
        t.truncate(p);
    }
    while let Some(p) = t.find("/*") {
        match t[p..].find("*/") {
            Some(q) => t.replace_range(p..p + q + 2, " "),
            None => t.truncate(p),
        }
    }
    t.replace("\\\n", " ").replace("\\\r\n", " ")
}

fn is_zero(cond: &str) -> bool {
    let c: String = cond.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(c.as_str(), "0" | "(0)" | "FALSE" | "(FALSE)")
}

fn parse_define(rest: &str) -> Option<Define> {
    let text = strip_comments(rest);
    let t = text.trim_start();
    let (name, after) = split_word(t);
    if name.is_empty() {
        return None;
    }
    let (params, body) = if let Some(p) = after.strip_prefix('(') {
        let close = p.find(')')?;
        let params = p[..close].split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        (Some(params), p[close + 1..].trim().to_string())
    } else {
        (None, after.trim().to_string())
    };
    Some(Define { name: name.to_string(), params, body })
}

/// The end of a directive starting at `i` (`#`): the newline that is not
/// escaped by a backslash (excluded).
fn directive_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\n' if !continued(b, i) => return i,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |p| p + 2);
            }
            // A `//` comment runs to the end of the line (continued by a
            // backslash): a `/*` inside it opens nothing.
            b'/' if b.get(i + 1) == Some(&b'/') => return line_comment_end(b, i),
            _ => i += 1,
        }
    }
    b.len()
}

/// Whether the newline at `i` is escaped by a backslash (before an optional
/// `\r`): the line goes on.
fn continued(b: &[u8], i: usize) -> bool {
    let j = if i > 0 && b[i - 1] == b'\r' { i - 1 } else { i };
    j > 0 && b[j - 1] == b'\\'
}

/// The end of a `//` comment starting at `i`: the newline that is not
/// escaped by a backslash (excluded).
fn line_comment_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        if b[i] == b'\n' && !continued(b, i) {
            return i;
        }
        i += 1;
    }
    b.len()
}

fn literal_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            x if x == q => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(pat.len()).position(|w| w == pat).map(|p| p + from)
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index after the `)` matching the `(` at `open` (strings and comments
/// skipped); the end of the text if unbalanced.
fn matching_paren(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'"' | b'\'' => {
                i = literal_end(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |p| p + 2);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = line_comment_end(b, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Spaces over `start..end`, newlines kept; non-ASCII bytes kept too, so
/// the text stays valid UTF-8 (they are in comments or literals).
fn blank_range(b: &mut [u8], start: usize, end: usize) {
    let end = end.min(b.len());
    if start >= end {
        return;
    }
    for x in &mut b[start..end] {
        if *x != b'\n' && *x != b'\r' && x.is_ascii() {
            *x = b' ';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(s: &str) -> Prepared {
        prepare(s.to_string(), "UTF-8", false, &TreeMacros::default())
    }

    #[test]
    fn header_forms_are_rewritten_in_place() {
        let macros = tree_macros([Define { name: "PREFIX".into(), params: None, body: "L\"drv: \"".into() }].iter());
        let cases: &[(&str, bool, &str)] = &[
            // A literal continued on the next line: two literals.
            ("x = \"ab\\\ncd\";", false, "x = \"ab\"\n\"d\";"),
            ("x = \"ab\\\n\";", false, "x = \"ab\"\n ;"),
            // Predefined names and the tree's string macros next to literals.
            ("p(\"%s\" __FUNCTION__ \"!\");", false, "p(\"%s\" \"          \" \"!\");"),
            ("p(PREFIX L\"x\");", false, "p(\"    \" L\"x\");"),
            ("p(__FUNCTION__);", false, "p(__FUNCTION__);"),
            // One type before a declarator: the extra words go.
            ("NTSTATUS WSKAPI F(int a);", false, "NTSTATUS        F(int a);"),
            ("SCSIPORT_API NTSTATUS F(void);", false, "             NTSTATUS F(void);"),
            ("PAGED void K::F();", true, "      void K::F();"),
            ("const AVRT_DATA T<1> C::m(1);", true, "const           T<1> C::m(1);"),
            ("static unsigned long x = 1;", false, "static unsigned long x = 1;"),
            ("return a b(c);", false, "return a b(c);"),
            // C++ the grammar does not read.
            ("delete [] (PBYTE) p;", true, "delete    (PBYTE) p;"),
            ("q = new (a, 1) T *[n];", true, "q = new (a, 1) T  [n];"),
            ("(this->*f)(x);", true, "(this-> f)(x);"),
            ("interface I : public IUnknown {};", true, "struct    I : public IUnknown {};"),
            ("class ATL_NO_VTABLE C : public B {};", true, "class               C : public B {};"),
            ("class C { public: C::F(); };", true, "class C { public:    F(); };"),
            ("class C { DECLARE_X(C) };", true, "class C {              };"),
            (
                "class C { BEGIN_M(C) ENTRY(I) END_M() int x; };",
                true,
                "class C {                             int x; };",
            ),
        ];
        for (src, cpp, want) in cases {
            let p = prepare(src.to_string(), "UTF-8", *cpp, &macros);
            assert_eq!(p.text.len(), src.len(), "{src}");
            assert_eq!(p.text.lines().count(), src.lines().count(), "{src}");
            assert_eq!(&p.text, want, "{src}");
        }
    }

    #[test]
    fn conditions_are_atoms_with_a_polarity() {
        assert_eq!(condition_atom("ifdef DBG"), ("defined(DBG)".into(), true));
        assert_eq!(condition_atom("ifndef DBG // comment"), ("defined(DBG)".into(), false));
        assert_eq!(condition_atom("if !defined(DBG)"), ("defined(DBG)".into(), false));
        assert_eq!(condition_atom("if !defined DBG"), ("defined(DBG)".into(), false));
        assert_eq!(condition_atom("if !(A && B)"), ("A&&B".into(), false));
        assert_eq!(condition_atom("if (A) && (B)"), ("(A)&&(B)".into(), true));
    }

    #[test]
    fn neutralising_keeps_every_line_and_column() {
        let src = "_Use_decl_annotations_\nNTSTATUS NTAPI\nF(_In_ WDFKEY k, _Out_writes_(n) PULONG p)\n{\n#pragma warning(disable:4127)\n    __try { ZwClose(h); } __except (EXCEPTION_EXECUTE_HANDLER) { }\n}\n";
        let p = prep(src);
        assert_eq!(p.text.len(), src.len());
        assert_eq!(p.text.lines().count(), src.lines().count());
        assert!(
            p.text.starts_with("                      \nNTSTATUS      \nF(     WDFKEY k,                 PULONG p)"),
            "{}",
            p.text
        );
        assert!(p.text.contains("    if(1) { ZwClose(h); } else"), "{}", p.text);
        assert_eq!(p.text.find("ZwClose"), src.find("ZwClose"));
        assert_eq!(p.try_at.len(), 1);
    }

    #[test]
    fn a_slash_star_inside_a_line_comment_opens_no_block_comment() {
        let p = prep("//*****\r\n// banner\r\nUSHORT F(\r\n    IN USHORT Size)\r\n{ }\r\n");
        assert!(p.text.contains("\n       USHORT Size)"), "{}", p.text);
        let d = prep("#define X 1 //* not a block\nVOID G(_In_ int a);\n");
        assert!(d.text.contains("VOID G(     int a);"), "{}", d.text);
        assert_eq!(d.defines.len(), 1);
    }

    #[test]
    fn function_like_macros_that_expand_to_decorations_go_with_their_arguments() {
        let (defines, _) = directives_of(
            "#ifdef K\n#define SEG(s) __declspec(code_seg(s))\n#else\n#define SEG(s)\n#endif\n\
             #define PAGED SEG(\"PAGE\") _IRQL_requires_max_(PASSIVE_LEVEL)\n#define FLAG\n#define LOG(...)\n\
             #define DUMP(x)\n#define CHECK(x) if (!(x)) Fail()\n",
        );
        let macros = tree_macros(defines.iter());
        assert!(macros.calls.contains("SEG") && macros.calls.contains("LOG"), "{macros:?}");
        assert!(macros.decorations.contains("PAGED") && !macros.calls.contains("CHECK"), "{macros:?}");
        let src = "PAGED ~Holder();\nvoid F() { LOG(FLAG, \"x\", k); G(FLAG); }\nvoid DUMP(int x) { }\n";
        let p = prepare(src.to_string(), "UTF-8", true, &macros);
        assert!(p.text.starts_with("      ~Holder();"), "{}", p.text);
        assert!(p.text.contains("void F() {                  ; G(FLAG); }"), "{}", p.text);
        assert!(p.text.contains("void DUMP(int x)"), "{}", p.text);
    }

    #[test]
    fn cpp_cli_reads_as_cpp() {
        let src = "[System::SerializableAttribute]\npublic ref class Schema {\npublic: [Xml::Element(Order=1)]\n\
                   property System::String^ Name;\n  void F() { auto s = gcnew String(x); a[i] = b ^ c; G([this]() { }); }\n};\n";
        let p = prepare(src.to_string(), "UTF-8", true, &TreeMacros::default());
        assert_eq!(p.text.len(), src.len());
        let lines: Vec<&str> = p.text.lines().collect();
        assert_eq!(lines[0].trim(), "", "{}", p.text);
        assert_eq!(lines[1], "           class Schema {", "{}", p.text);
        assert_eq!(lines[2].trim(), "public:", "{}", p.text);
        assert_eq!(lines[3], "         System::String* Name;", "{}", p.text);
        assert!(lines[4].contains("new   String(x); a[i] = b * c; G([this]() { });"), "{}", p.text);
        // Not C++: nothing of it is touched.
        let c = prep("x = a ^ b; [Attr] int y;");
        assert_eq!(c.text, "x = a ^ b; [Attr] int y;");
    }

    #[test]
    fn if_zero_goes_and_its_else_stays() {
        let n = prep("x = 0xffffffffffffffffI64 + 1UI64 + 2i64;");
        assert_eq!(n.text, "x = 0xffffffffffffffff    + 1     + 2   ;");
        let p = prep("#if 0\nZwClose(a);\n#else\nZwClose(b);\n#endif\n#ifdef X\nc();\n#endif\n");
        assert!(!p.text.contains("ZwClose(a)") && p.text.contains("ZwClose(b)"), "{}", p.text);
        assert!(!p.text.contains("#else") && !p.text.contains("#if 0"), "{}", p.text);
        assert_eq!(p.text.matches("#endif").count(), 1, "{}", p.text);
        assert!(p.text.contains("#ifdef X"), "{}", p.text);
        let q = prep("#if 0\nx\n#elif DBG\ny();\n#endif\n");
        assert!(q.text.contains("#if   DBG") && q.text.contains("#endif"), "{}", q.text);
    }

    #[test]
    fn defines_includes_and_context_types_are_collected() {
        let p = prep(
            "#include \"driver.h\"\n#define SAFE_CLOSE(h) \\\n  if (h) { ZwClose(h); (h) = NULL; }\n\
             WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(DEVICE_CONTEXT, DeviceGetContext);\n",
        );
        assert_eq!(p.includes, ["driver.h"]);
        let d = &p.defines[0];
        assert_eq!((d.name.as_str(), d.params.as_deref()), ("SAFE_CLOSE", Some(&["h".to_string()][..])));
        assert!(d.body.contains("ZwClose(h)"), "{}", d.body);
        assert_eq!(p.contexts, [("DeviceGetContext".to_string(), "DEVICE_CONTEXT".to_string())]);
        assert!(!p.text.contains("WDF_DECLARE"), "{}", p.text);
    }

    #[test]
    fn encodings_are_decoded() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("int x;\n".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(&le), ("int x;\n".to_string(), "UTF-16LE"));
        let mut be = vec![0xFE, 0xFF];
        be.extend("int y;".encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(decode(&be), ("int y;".to_string(), "UTF-16BE"));
        assert_eq!(decode(b"\xEF\xBB\xBFint z;"), ("int z;".to_string(), "UTF-8 with BOM"));
        assert_eq!(decode(b"// caf\xE9\nint w;"), ("// caf\u{e9}\nint w;".to_string(), "Latin-1"));
    }
}
