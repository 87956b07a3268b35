//! `triage`: reads a `!analyze -v` text as it arrives pasted into mail or a
//! forum post and answers "was it my driver?" — whether it is the WDFKEY
//! double close, what the arguments mean, who could have caused it, and what
//! to do next. Every statement cites a fact of the project's docs/facts.md.

use serde::Serialize;

/// What was read from the text.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Parsed {
    /// The bug check code.
    pub code: u64,
    /// Its name (`INVALID_KERNEL_HANDLE`), when the text gives it.
    pub name: Option<String>,
    /// Arg1..Arg4 (missing ones are absent).
    pub args: Vec<u64>,
    /// `BUGCHECK_STR`, else `DEFAULT_BUCKET_ID` or `FAILURE_BUCKET_ID`.
    pub bugcheck_str: Option<String>,
    /// `MODULE_NAME`.
    pub module: Option<String>,
    /// `IMAGE_NAME`.
    pub image: Option<String>,
    /// `SYMBOL_NAME`.
    pub symbol: Option<String>,
    /// `Probably caused by :` as WinDbg printed it.
    pub probably_caused_by: Option<String>,
    /// `module!symbol` frames, innermost first.
    pub stack: Vec<String>,
    /// `PROCESS_NAME`.
    pub process: Option<String>,
    /// `CURRENT_IRQL`.
    pub irql: Option<u64>,
    /// The blamed image's timestamp, as printed.
    pub image_timestamp: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// One of: `wdfkey_double_close`, `invalid_kernel_handle`,
    /// `verifier_handle_check`, `verifier_pool_leak`, `verifier_other`,
    /// `wdf_violation`, `kmdf_verifier_break`, `rust_driver_panic`,
    /// `not_a_handle_bug`, `user_mode_process_dump`.
    pub kind: &'static str,
    /// Whether the dump shows the WDFKEY double-close signature.
    pub wdfkey_double_close: bool,
    /// The verdict in one sentence.
    pub summary: String,
    /// Why, from the dump's own fields.
    pub reasons: Vec<String>,
    /// What each argument means for this bug check.
    pub arguments: Vec<String>,
    /// Whether a user-mode program could have caused it (`None`: the dump
    /// does not say enough).
    pub user_mode_possible: Option<bool>,
    /// Why (or why not) user mode could have caused it.
    pub user_mode_reason: Option<String>,
    /// Why WinDbg blames the framework, when it does.
    pub why_framework_blamed: Option<String>,
    /// What to do next, in order.
    pub next_steps: Vec<String>,
    /// How sure the verdict is: `high` (symbolized frames, or the file's
    /// own kind), `medium` (a dump's faulting place without symbols), `low`
    /// (only saved stack words, or the header alone).
    pub confidence: &'static str,
    /// Why that confidence.
    pub confidence_reason: String,
}

/// The JSON report (`schemas/triage-report.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The tool's name.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// `text` (a pasted `!analyze -v`), `dump` (a kernel dump file) or
    /// `user_dump` (a user-mode minidump).
    pub source: &'static str,
    /// What was read from the text, or the same fields as a dump gives them
    /// (`stack`: the drivers on the saved stack, without symbols).
    pub parsed: Parsed,
    /// Everything read from a kernel dump file (`None` otherwise).
    pub dump: Option<crate::dump::Dump>,
    /// Everything read from a user-mode minidump (`None` otherwise).
    pub user_dump: Option<crate::userdump::UserDump>,
    /// What a dump without symbols can and cannot establish (empty for text).
    pub limits: Vec<String>,
    /// The answer.
    pub verdict: Verdict,
    /// Things noticed while reading (a second, different dump in the text…).
    pub warnings: Vec<String>,
}

/// Undoes what mail and forums do to a pasted dump: HTML line breaks and
/// entities, typographic quotes, quoting markers, mailto noise, CRLF.
pub fn normalize(text: &str) -> String {
    let mut s = text.replace("\r\n", "\n").replace('\r', "\n");
    for br in ["<br>", "<br/>", "<br />", "<BR>", "<BR/>", "<BR />", "<p>", "</p>", "<P>", "</P>"] {
        s = s.replace(br, "\n");
    }
    // Remaining tags (<div>, <span ...>, <pre>): dropped, content kept.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let close = after.find('>');
        let tag = close.map(|c| &after[1..c]);
        let is_tag = tag.is_some_and(|t| {
            let t = t.trim_start_matches('/');
            t.split([' ', '/']).next().is_some_and(|name| {
                ["div", "span", "pre", "code", "font", "a", "b", "i", "tt", "blockquote"]
                    .contains(&name.to_ascii_lowercase().as_str())
            })
        });
        match (is_tag, close) {
            (true, Some(c)) => rest = &after[c + 1..],
            _ => {
                out.push('<');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    let mut s = out;
    for (entity, ch) in [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&#96;", "`"),
        ("&nbsp;", " "),
        ("&#160;", " "),
        ("&lsquo;", "`"),
        ("&rsquo;", "'"),
        ("&amp;", "&"),
    ] {
        s = s.replace(entity, ch);
    }
    s = s.replace(['\u{2018}', '\u{201B}'], "`").replace('\u{2019}', "'").replace(['\u{201C}', '\u{201D}'], "\"");
    s = s.replace(['\u{00A0}', '\t'], " ");
    let lines: Vec<(usize, String)> = s
        .lines()
        .map(|l| {
            let width = l.chars().count();
            // Mail quoting ("> > text") and mailto noise ("<mailto:x@y>", "[mailto:x@y]").
            let mut l = l.trim_start();
            while let Some(rest) = l.strip_prefix('>') {
                l = rest.trim_start();
            }
            let mut l = l.to_string();
            for (open, close) in [("<mailto:", '>'), ("[mailto:", ']'), ("(mailto:", ')')] {
                while let Some(at) = l.find(open) {
                    let end = l[at..].find(close).map_or(l.len(), |e| at + e + 1);
                    l.replace_range(at..end, "");
                }
            }
            (width, l.replace("mailto:", ""))
        })
        .collect();
    unwrap_hard_wrapped(&lines)
}

/// Undoes a hard wrap at a fixed column (`fold -w 40`, a mail client's
/// line limit), which splits tokens: `Wdf0` / `1000!FxRegKey`. The text is
/// taken as hard-wrapped at W when no line is longer than W ≤ 100 and at
/// least three lines of exactly W characters are not one repeated
/// character (a banner); then every line of exactly W characters continues
/// on the next one and is joined to it without a separator.
fn unwrap_hard_wrapped(lines: &[(usize, String)]) -> String {
    let width = lines.iter().map(|l| l.0).max().unwrap_or(0);
    let banner = |l: &str| l.chars().all(|c| l.starts_with(c));
    let full = lines.iter().filter(|(w, l)| *w == width && !banner(l.trim())).count();
    if !(20..=100).contains(&width) || full < 3 {
        return lines.iter().map(|l| l.1.as_str()).collect::<Vec<_>>().join("\n");
    }
    let mut out = String::new();
    for (w, l) in lines {
        out.push_str(l);
        if *w != width {
            out.push('\n');
        }
    }
    out
}

fn hex(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches([',', '.', ';', ')', '}']);
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let s = s.replace('`', "");
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(&s, 16).ok()
}

/// `KEY: value` (WinDbg's upper-case field names), value trimmed.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(key)?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':')?;
    Some(rest.trim())
}

/// A field's first value over all lines.
fn first_field(lines: &[&str], keys: &[&str]) -> Option<String> {
    lines.iter().find_map(|l| keys.iter().find_map(|k| field(l, k)).filter(|v| !v.is_empty()).map(str::to_string))
}

/// `NAME (code)`: the title line of the analysis.
fn title(line: &str) -> Option<(String, u64)> {
    let line = line.trim();
    let (name, rest) = line.split_once(" (")?;
    let code = rest.strip_suffix(')')?;
    let ok_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !ok_name || name.len() < 4 {
        return None;
    }
    Some((name.to_string(), hex(code)?))
}

/// `BugCheck 93, {304, 0, 0, 0}` (the kd preamble).
fn preamble(line: &str) -> Option<(u64, Vec<u64>)> {
    let rest = line.trim().strip_prefix("BugCheck ").or_else(|| line.trim().strip_prefix("Bugcheck code "))?;
    let (code, args) = rest.split_once(',').map_or((rest, ""), |(c, a)| (c, a));
    let code = hex(code)?;
    let args = args.trim().trim_start_matches('{').trim_end_matches('}');
    let args: Vec<u64> = args.split(',').filter_map(hex).collect();
    Some((code, args))
}

/// A stack frame's `module!symbol` (offset dropped), if the line has one:
/// everything from the first token with a `!`, since C++ symbols hold
/// spaces (`` FxRegKey::`scalar deleting destructor' ``).
fn frame(line: &str) -> Option<String> {
    let start = line.split_whitespace().find(|t| t.contains('!') && !t.starts_with('!'))?;
    let at = line.find(start)?;
    let text = line[at..].trim_start_matches(':').trim();
    let text = text.split("+0x").next().unwrap_or(text).trim();
    Some(text.to_string())
}

/// Extracts the fields. `Err` when no bug check code is found.
pub fn parse(text: &str) -> Result<(Parsed, Vec<String>), String> {
    let norm = normalize(text);
    let all: Vec<&str> = norm.lines().collect();
    let mut warnings = Vec::new();
    let mut p = Parsed::default();

    // Every line that states a code, in order: the first decides; a later
    // one with another code starts a second dump, which is cut off.
    let declared: Vec<(usize, u64)> = all
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let from_field = field(l, "BUGCHECK_CODE").and_then(hex);
            from_field.or_else(|| preamble(l).map(|p| p.0)).or_else(|| title(l).map(|t| t.1)).map(|c| (i, c))
        })
        .collect();
    let Some(&(_, code)) = declared.first() else {
        return Err("no bug check found: expected WinDbg's `!analyze -v` text (a line like \
                    `INVALID_KERNEL_HANDLE (93)`, `BUGCHECK_CODE:  93` or `BugCheck 93, {...}`)"
            .into());
    };
    let mut end = all.len();
    if let Some(&(at, other)) = declared.iter().find(|(_, c)| *c != code) {
        let mut cut = at;
        while cut > 0 && all.get(cut - 1).is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('*')) {
            cut -= 1;
        }
        end = cut;
        warnings.push(format!(
            "the text holds more than one bug check (0x{code:X}, then 0x{other:X} from line {}); triaged the first",
            at + 1
        ));
    }
    let lines = &all[..end];
    let titles: Vec<(String, u64)> = lines.iter().filter_map(|l| title(l)).collect();
    let preambles: Vec<(u64, Vec<u64>)> = lines.iter().filter_map(|l| preamble(l)).collect();
    p.code = code;
    p.name = titles.iter().find(|t| t.1 == code).map(|t| t.0.clone());

    // Arguments: Arg1..Arg4 lines, else BUGCHECK_P1..P4, else the preamble.
    let arg_lines: Vec<u64> = (1..=4)
        .map_while(|i| first_field(lines, &[&format!("Arg{i}")]).and_then(|v| hex(v.split(',').next().unwrap_or(""))))
        .collect();
    let p_fields: Vec<u64> =
        (1..=4).map_while(|i| first_field(lines, &[&format!("BUGCHECK_P{i}")]).and_then(|v| hex(&v))).collect();
    p.args = [arg_lines, p_fields, preambles.iter().find(|p| p.0 == code).map(|p| p.1.clone()).unwrap_or_default()]
        .into_iter()
        .max_by_key(Vec::len)
        .unwrap_or_default();

    p.bugcheck_str = first_field(lines, &["BUGCHECK_STR", "DEFAULT_BUCKET_ID", "FAILURE_BUCKET_ID"]);
    p.module = first_field(lines, &["MODULE_NAME"]);
    p.image = first_field(lines, &["IMAGE_NAME"]);
    p.symbol = first_field(lines, &["SYMBOL_NAME", "FAULTING_SYMBOL"]);
    p.process = first_field(lines, &["PROCESS_NAME"]);
    p.irql = first_field(lines, &["CURRENT_IRQL"]).and_then(|v| hex(&v));
    p.image_timestamp = first_field(lines, &["DEBUG_FLR_IMAGE_TIMESTAMP", "IMAGE_TIMESTAMP", "TIMESTAMP"]);
    // "Probably caused by : X ( sym )", possibly wrapped onto the next line.
    p.probably_caused_by = lines.iter().enumerate().find_map(|(i, l)| {
        let at = l.find("Probably caused by")?;
        let mut v = l[at..].split_once(':').map(|x| x.1.trim().to_string())?;
        if v.contains('(')
            && !v.contains(')')
            && let Some(next) = lines.get(i + 1)
        {
            v = format!("{v} {}", next.trim());
        }
        Some(v)
    });
    if p.image.is_none()
        && let Some(by) = &p.probably_caused_by
    {
        p.image = by.split_whitespace().next().map(str::to_string);
    }

    // Stack: from STACK_TEXT to the next blank line or FIELD: line.
    if let Some(start) = lines.iter().position(|l| l.trim_start().starts_with("STACK_TEXT")) {
        for l in &lines[start + 1..] {
            let t = l.trim();
            let is_field = t.split(':').next().is_some_and(|k| {
                k.len() > 3 && k.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            });
            if t.is_empty() && !p.stack.is_empty() || is_field {
                break;
            }
            if let Some(f) = frame(t) {
                p.stack.push(f);
            }
        }
    }

    Ok((p, warnings))
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
}

/// Frames of the framework's registry-key teardown (F3, F9): the key
/// object's destructor or Close, WdfRegistryClose, or the dispose list.
fn key_teardown_frame(f: &str) -> bool {
    contains_ci(f, "FxRegKey") || contains_ci(f, "WdfRegistryClose")
}

fn is_framework(name: &str) -> bool {
    contains_ci(name, "wdf01000") || contains_ci(name, "wdfldr")
}

const NEXT_SCAN: &str = "Search the driver for a WDM handle taken from a WDFKEY and closed by the driver: \
     `WdfRegistryWdmGetHandle` whose result reaches `ZwClose`/`NtClose`/`ObCloseHandle` (also through a generic \
     handle-cleanup helper at unload) — `wdfkey-harness scan <driver sources>` finds it (WKG001). The WDFKEY owns that handle; close the key with WdfRegistryClose or \
     WdfObjectDelete only (F6), or hold it in wdfkey::RegKey: safe code cannot close the key's handle or use a key after \
     it is closed; `unsafe { as_raw() }` is the one escape, and the shipped clippy configuration, `scan` and the \
     simulator (at run time) catch it.";
/// The next step that sets up a reproduction under Driver Verifier, with
/// the project's one rule-class list ([`crate::verifier`]).
fn next_verifier() -> String {
    format!(
        "Reproduce on a test VM with Driver Verifier on the driver and wdf01000.sys (`{}`, F70) and the KMDF \
         verifier (`HKLM\\SYSTEM\\CurrentControlSet\\Services\\<service>\\Parameters\\Wdf`: VerifierOn = 1, \
         TrackHandles = WDFKEY, F52), then unload and reload the driver repeatedly.",
        crate::verifier::command("<driver>.sys")
    )
}
const NEXT_CLEAN: &str = "A clean run proves little: a second close of a freed slot is silent (STATUS_INVALID_HANDLE) \
     unless the slot was reused by a protected handle or verifier checks catch it (F67); run many unload cycles.";

/// STATUS_BREAKPOINT as an exception-code argument: `0x80000003`, or
/// sign-extended to 64 bits (`0xFFFFFFFF80000003`) as WinDbg prints it from
/// some dumps.
fn is_status_breakpoint(a: u64) -> bool {
    a & 0xFFFF_FFFF == 0x8000_0003 && matches!(a >> 32, 0 | 0xFFFF_FFFF)
}

/// Decides. Pure function of the parsed fields.
pub fn verdict(p: &Parsed) -> Verdict {
    let arg = |i: usize| p.args.get(i).copied();
    let frames_and_symbol: Vec<&str> = p
        .stack
        .iter()
        .map(String::as_str)
        .chain(p.symbol.as_deref())
        .chain(p.bugcheck_str.as_deref())
        .chain(p.probably_caused_by.as_deref())
        .collect();
    let teardown = frames_and_symbol.iter().find(|f| key_teardown_frame(f)).map(|f| f.to_string());
    let blamed = p.image.clone().or_else(|| p.module.clone()).unwrap_or_default();
    let framework_blamed = is_framework(&blamed);
    let mut v = Verdict {
        kind: "not_a_handle_bug",
        wdfkey_double_close: false,
        summary: String::new(),
        reasons: Vec::new(),
        arguments: Vec::new(),
        user_mode_possible: None,
        user_mode_reason: None,
        why_framework_blamed: None,
        next_steps: Vec::new(),
        confidence: "high",
        confidence_reason: "from the text's bug check code and arguments".into(),
    };
    match p.code {
        0x93 => {
            v.arguments
                .push(format!("Arg1 = 0x{:X}: the handle value NtClose was called with.", arg(0).unwrap_or_default()));
            match arg(1) {
                // Microsoft's 0x93 page: Arg4 = 1 is a reference of an invalid
                // kernel handle with bad-handle detection on; Arg2 is then
                // the handle table.
                Some(table) if arg(3) == Some(1) => v.arguments.push(format!(
                    "Arg2 = 0x{table:X}: the handle table; Arg4 = 1: an invalid kernel handle was referenced (not \
                     closed) while bad-handle detection was on."
                )),
                Some(0) => v.arguments.push(
                    "Arg2 = 0: a protected handle was closed. A WDFKEY's handle is never opened protected, so the slot \
                     held another component's handle: the value had been closed once and the slot reused (F40, F41, F67b)."
                        .into(),
                ),
                Some(1) => v.arguments.push(
                    "Arg2 = 1: an invalid handle was closed — the slot was free: the value had been closed before and \
                     not reused. This form appears only with a kernel debugger and a caller with a PEB, or verifier \
                     checks (F67a, F67c)."
                        .into(),
                ),
                Some(other) => v.arguments.push(format!("Arg2 = 0x{other:X}: not a value the 0x93 page documents.")),
                None => {}
            }
            if let Some(t) = &teardown {
                v.confidence_reason = format!("the framework's key teardown is named in the text: {t}");
                v.kind = "wdfkey_double_close";
                v.wdfkey_double_close = true;
                v.summary = "Matches the WDFKEY double close: the framework's registry-key teardown closed a handle \
                             value that had already been closed — almost certainly by the driver that owns the WDFKEY."
                    .into();
                v.reasons.push(format!("bug check 0x93 INVALID_KERNEL_HANDLE raised under {t}, the framework closing a WDFKEY's handle (F3, F9)"));
                if p.process.as_deref().is_some_and(|x| x.eq_ignore_ascii_case("System")) {
                    v.reasons.push("in the System process, where unload and the dispose work item run (F9)".into());
                }
                v.user_mode_possible = Some(false);
                v.user_mode_reason = Some(
                    "No: a WDFKEY's handle is a kernel handle (OBJ_KERNEL_HANDLE); user mode cannot close it. Only \
                     kernel code — the driver, or the framework — can have closed it first (F45)."
                        .into(),
                );
                v.why_framework_blamed = Some(format!(
                    "WinDbg blames the module on the stack that made the failing call, {}. The framework's close is the \
                     second, correct one; the first close, by the driver, left no trace in the dump (F41).",
                    if blamed.is_empty() { "Wdf01000.sys".to_string() } else { blamed.clone() }
                ));
                v.next_steps = vec![NEXT_SCAN.into(), next_verifier(), NEXT_CLEAN.into()];
            } else {
                v.kind = "invalid_kernel_handle";
                v.summary = "A kernel handle closed twice (0x93), but not from the framework's registry-key teardown: \
                             not the WDFKEY signature."
                    .into();
                v.reasons.push(format!(
                    "no FxRegKey / WdfRegistryClose frame on the stack or in the symbol; blamed: {}",
                    if blamed.is_empty() { "(not given)" } else { &blamed }
                ));
                v.user_mode_possible = Some(false);
                v.user_mode_reason = Some(
                    "Unlikely: from kernel mode NtClose bug-checks 0x93 for the caller's bad close; a user-mode bad close \
                     returns a status instead (F67)."
                        .into(),
                );
                if framework_blamed {
                    v.why_framework_blamed = Some(
                        "The framework made the failing close, but of a handle that is not a WDFKEY's; look at which \
                         framework object owned it in the stack."
                            .into(),
                    );
                }
                v.next_steps = vec![
                    "Find who closed the value first: the module on the stack closed a handle it did not own, or \
                     closed its own twice. Driver Verifier with the handle checks and !htrace on a live repro show it."
                        .into(),
                    next_verifier(),
                ];
            }
        }
        0xC4 => {
            let sub = arg(0).unwrap_or_default();
            // Parameter meanings: Microsoft's bug check 0xC4 page, whose
            // table calls Arg1 "Parameter 1" (the subcode) and Arg2..Arg4
            // "Parameter 2..4" (F47, F50).
            let (kind, meaning) = match sub {
                0x3C => (
                    "verifier_handle_check",
                    "0x3C: ObReferenceObjectByHandle called with a bad handle (Arg2 = the handle, Arg3 = the object type)",
                ),
                0xF5 => (
                    "verifier_handle_check",
                    "0xF5: a NULL handle passed to ObReferenceObjectByHandle (Arg2 = address of the NULL handle, Arg3 = the object type)",
                ),
                0xF6 => (
                    "verifier_handle_check",
                    "0xF6: the driver referenced a user-mode handle as kernel mode (Arg2 = the handle value, Arg3 = the current process, Arg4 = the address in the driver that made the reference)",
                ),
                0xF7 => (
                    "verifier_handle_check",
                    "0xF7: a user-mode reference to a kernel handle in the System process (Arg2 = the handle, Arg3 = the object type, Arg4 = the access mode)",
                ),
                0x62 => (
                    "verifier_pool_leak",
                    "0x62: the driver unloaded with pool allocations not freed (Arg2 = driver name, Arg4 = count; Pool Tracking)",
                ),
                _ => ("verifier_other", "a Driver Verifier rule other than the handle and pool-leak checks"),
            };
            v.kind = kind;
            v.arguments.push(format!("Arg1 = 0x{sub:X}: {meaning} (F47, F50)."));
            v.summary = match kind {
                "verifier_handle_check" => {
                    "A Driver Verifier handle check (0xC4): a handle *reference* rule, not a close; \
                                            not the WDFKEY double close, which shows as 0x93 (F47)."
                        .into()
                }
                "verifier_pool_leak" => {
                    "A pool leak at unload found by Driver Verifier (0xC4/0x62): not a handle bug; \
                                         look for allocations not freed on the unload path (F50)."
                        .into()
                }
                _ => "A Driver Verifier violation (0xC4) other than the handle rules: not a handle bug.".into(),
            };
            v.reasons.push(format!("bug check 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION, subcode 0x{sub:X}"));
            if sub == 0xF6 {
                if let (Some(h), Some(process), Some(at)) = (arg(1), arg(2), arg(3)) {
                    v.arguments.push(format!("Arg2 = 0x{h:X}: the user-mode handle value referenced."));
                    v.arguments.push(format!("Arg3 = 0x{process:X}: the current process (`!process {process:x} 1`)."));
                    v.arguments.push(format!(
                        "Arg4 = 0x{at:X}: the address in the driver that made the reference (`ln {at:x}`)."
                    ));
                }
                v.user_mode_possible = Some(true);
                v.user_mode_reason = Some(
                    "A user-mode program supplied the handle, but the driver's use of it is the bug (F47).".into(),
                );
            }
            v.next_steps.push(
                "Fix the rule the subcode names in the module Verifier blames; it is that module's own call.".into(),
            );
        }
        0x10D => {
            let sub = arg(0).unwrap_or_default();
            let meaning = match sub {
                0x1 => "POWER_ROUTINE_TIMED_OUT",
                0x2 => "RECURSIVE_LOCK",
                0x3 => "VERIFIER_FATAL_ERROR",
                0x4 => "REQUIRED_PARAMETER_IS_NULL (Arg3 = caller address)",
                0x5 => "INVALID_HANDLE: a wrong or deleted WDF handle passed to a method (Arg2 = handle)",
                0x6 => "REQUEST_FATAL_ERROR",
                0x7 => {
                    "OBJECT_ERROR: an object freed with WdfObjectDereference instead of WdfObjectDelete (Arg2 = handle)"
                }
                0x8 => "DMA",
                0x9 => "INVALID_INTERRUPT",
                0xA => "QUEUE_FATAL_ERROR",
                0xB => "INVALID_LOCK_OPERATION",
                0xC => "PNP_FATAL_ERROR",
                0xD => "POWER_MULTIPLE_PPO",
                0xE => "VERIFIER_IRQL_MISMATCH",
                0xF => "VERIFIER_CRITICAL_REGION_MISMATCH",
                0x10 => "API_UNAVAILABLE",
                _ => "not a code wdfbugcodes.h 1.33 defines",
            };
            v.kind = "wdf_violation";
            v.arguments.push(format!("Arg1 = 0x{sub:X}: {meaning} (F54)."));
            v.summary = "A WDF_VIOLATION (0x10D): the framework caught the driver misusing a WDF object. A raw \
                         HANDLE closed twice never shows as 0x10D — KMDF does not validate a key's WDM handle (F54)."
                .into();
            v.reasons.push(format!("bug check 0x10D, Arg1 = 0x{sub:X}"));
            if sub == 0x5 || sub == 0x7 {
                v.reasons.push(
                    "a WDF handle (possibly a WDFKEY) used after delete or released wrongly — an object \
                                ownership bug of the same family, but not the WDM-handle double close"
                        .into(),
                );
            }
            v.user_mode_possible = Some(false);
            v.user_mode_reason = Some("No: WDF handles exist only in the kernel.".into());
            v.why_framework_blamed =
                Some("The framework raises 0x10D on the driver's behalf; the caller is the driver.".into());
            v.next_steps.push("Find the driver's call on the stack just above the framework frames.".into());
        }
        0x7E | 0x1E | 0x1000_007E | 0x1000_008E | 0x8E if arg(0).is_some_and(is_status_breakpoint) => {
            v.kind = "kmdf_verifier_break";
            let printed = arg(0).unwrap_or_default();
            v.arguments.push(format!(
                "Arg1 = 0x80000003: STATUS_BREAKPOINT — a breakpoint with no kernel debugger attached{}.",
                if printed >> 32 != 0 {
                    " (printed sign-extended as 0xFFFFFFFF80000003: an NTSTATUS is 32 bits)"
                } else {
                    ""
                }
            ));
            v.summary = "A KMDF verifier (or DbgBreakPoint) break with no debugger attached: the verifier found \
                         something and tried to stop in the debugger (F65). Attach a kernel debugger to see its message."
                .into();
            v.reasons.push(format!("bug check 0x{:X} with exception code 0x80000003 (F65)", p.code));
            v.user_mode_possible = Some(false);
            v.next_steps.push(
                "Re-run with a kernel debugger attached, or read the framework's log with !wdfkd.wdflogdump <driver>."
                    .into(),
            );
            v.next_steps.push(next_verifier());
            v.next_steps.push(
                "A Rust driver's debug build breaks the same way before it panics (wdk-panic 0.5 calls DbgBreakPoint \
                 first under debug_assertions): with a debugger attached, the panic's bug check 0x52504E43 follows."
                    .into(),
            );
        }
        0x5250_4E43 => {
            v.kind = "rust_driver_panic";
            // wdk-panic 0.5.0 src/lib.rs: KeBugCheckEx(u32::from_be_bytes(*b"RPNC"),
            // file.as_ptr(), file.len(), line, column), all 0 without a location.
            match (arg(0), arg(1), arg(2), arg(3)) {
                (Some(0), Some(0), Some(0), Some(0)) => v
                    .arguments
                    .push("Arg1..Arg4 = 0: the panic had no source location (wdk-panic passes zeros then).".into()),
                (Some(ptr), Some(len), Some(line), Some(column)) => {
                    v.arguments.push(format!(
                        "Arg1 = 0x{ptr:X}: address of the panicking source file's name (a Rust &str, not NUL-terminated)."
                    ));
                    v.arguments.push(format!("Arg2 = 0x{len:X}: the length of that name in bytes ({len})."));
                    v.arguments.push(format!("Arg3 = 0x{line:X}: the line of the panic ({line})."));
                    v.arguments.push(format!("Arg4 = 0x{column:X}: the column of the panic ({column})."));
                }
                _ => v.arguments.push(
                    "Arg1..Arg4: the panic's file name pointer and its length, then line and column (wdk-panic 0.5)."
                        .into(),
                ),
            }
            v.summary = "A Rust driver panicked: wdk-panic turns a panic into bug check 0x52504E43 ('RPNC', a Rust \
                         panic in the driver, not a Windows fault). Not a handle bug; the driver should have returned \
                         an NTSTATUS (K5)."
                .into();
            v.reasons
                .push("bug check 0x52504E43 ('RPNC'): wdk-panic's code for a Rust panic in a kernel driver".into());
            v.user_mode_possible = Some(false);
            let (ptr, len) = (arg(0).unwrap_or_default(), arg(1).unwrap_or_default());
            v.next_steps.push(format!(
                "Read the file name in WinDbg (`da {ptr:x} L{len:x}`) and go to line {}, column {}; turn that panic \
                 (unwrap, expect, indexing, overflow) into an error status.",
                arg(2).unwrap_or_default(),
                arg(3).unwrap_or_default()
            ));
        }
        other => {
            let entry = crate::bugcheck::lookup(other);
            let name = p.name.as_deref().or(entry.map(|b| b.name));
            v.summary = format!(
                "Not a handle bug: bug check 0x{other:X}{} is none of the handle, verifier-handle, WDF or panic signatures.",
                name.map(|n| format!(" {n}")).unwrap_or_default()
            );
            v.reasons.push(format!("bug check 0x{other:X}"));
            if let Some(b) = entry {
                for (i, meaning) in b.args.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
                    let value = arg(i).map(|a| format!(" = 0x{a:X}")).unwrap_or_default();
                    v.arguments.push(format!("Arg{}{value}: {meaning}.", i + 1));
                }
                if let Some(possible) = b.user_mode {
                    v.user_mode_possible = Some(possible);
                    v.user_mode_reason = Some(format!(
                        "{}: Microsoft's page for 0x{other:X} {} ({}).",
                        if possible { "Yes" } else { "No" },
                        if possible { "names a user-mode cause" } else { "names only kernel-mode causes" },
                        crate::bugcheck::SOURCE
                    ));
                }
            }
        }
    }
    v
}

/// Reads, decides, reports.
pub fn triage(text: &str) -> Result<Report, String> {
    if text.trim().is_empty() {
        return Err("the input is empty: paste WinDbg's `!analyze -v` output into the file (or standard input)".into());
    }
    let (mut parsed, warnings) = parse(text)?;
    if parsed.name.is_none() {
        parsed.name = bugcheck_name(parsed.code).map(str::to_string);
    }
    let verdict = verdict(&parsed);
    Ok(Report {
        tool: "wdfkey-harness triage",
        version: env!("CARGO_PKG_VERSION"),
        source: "text",
        parsed,
        dump: None,
        user_dump: None,
        limits: Vec::new(),
        verdict,
        warnings,
    })
}

/// The bug check's name from the generated table ([`crate::bugcheck`]).
fn bugcheck_name(code: u64) -> Option<&'static str> {
    crate::bugcheck::lookup(code).map(|b| b.name)
}

/// Which argument is the faulting instruction's address for the exception
/// bug checks (0x1E: Arg2; 0x7E, 0x8E and their 0x1000_00xx forms: Arg2).
fn exception_address_arg(code: u64) -> Option<usize> {
    matches!(code, 0x1E | 0x7E | 0x8E | 0x1000_007E | 0x1000_008E | 0x3B).then_some(1)
}

fn is_kernel_image(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("ntoskrnl") || n.starts_with("ntkrnl") || n.starts_with("ntkrpamp") || n == "hal.dll"
}

/// Where the fault was, strongest evidence first: the saved context's
/// instruction pointer, the exception bug checks' address argument, then
/// the innermost driver (not the kernel) among the saved stack's words.
struct FaultingPath {
    /// (module, how it was found, strength: 2 context or exception
    /// address, 1 a stack word).
    module: Option<(String, String, u8)>,
    /// The kernel's own address (`KeBugCheckEx`) when the context is there.
    in_kernel: bool,
}

fn faulting_path(d: &crate::dump::Dump, code: u64, stack: &[String]) -> FaultingPath {
    let ip = d.context.as_ref().map(|c| c.instruction_pointer);
    let ip_module = ip.and_then(|a| d.module_at(a)).map(|(m, off)| (m.name.clone(), off));
    let in_kernel = ip_module.as_ref().is_some_and(|(m, _)| is_kernel_image(m));
    if let (Some((m, off)), false) = (&ip_module, in_kernel) {
        return FaultingPath {
            module: Some((m.clone(), format!("the saved context's instruction pointer is at {m}+0x{off:X}"), 2)),
            in_kernel,
        };
    }
    let exception = exception_address_arg(code).and_then(|i| d.parameters.get(i).copied());
    if let Some((m, off)) = exception.and_then(|a| d.module_at(a)).filter(|(m, _)| !is_kernel_image(&m.name)) {
        return FaultingPath {
            module: Some((m.name.clone(), format!("the exception address (Arg2) is {}+0x{off:X}", m.name), 2)),
            in_kernel,
        };
    }
    let innermost = stack.iter().find(|m| !is_kernel_image(m));
    FaultingPath {
        module: innermost.map(|m| {
            (
                m.clone(),
                format!(
                    "{m} is the innermost driver other than the kernel among the saved stack's words{}",
                    if in_kernel { " (the saved context is in the kernel)" } else { "" }
                ),
                1,
            )
        }),
        in_kernel,
    }
}

/// `--driver NAME`: where the dump's lists have it.
fn driver_presence(d: &crate::dump::Dump, name: &str, stack: &[String]) -> Result<String, String> {
    let loaded = d.drivers().is_some_and(|l| l.iter().any(|m| m.name.eq_ignore_ascii_case(name)));
    let unloaded: Vec<&crate::dump::Unloaded> =
        d.unloaded().map(|u| u.iter().filter(|u| u.is(name)).collect()).unwrap_or_default();
    let stacked = stack.iter().any(|m| m.eq_ignore_ascii_case(name));
    let cut = unloaded
        .iter()
        .find(|u| !u.name.eq_ignore_ascii_case(name))
        .map(|u| format!(" (as `{}`: the dump keeps 12 characters of an unloaded driver's name)", u.name))
        .unwrap_or_default();
    let when =
        unloaded.iter().find_map(|u| u.unloaded_at.as_deref()).map(|t| format!(", last at {t}")).unwrap_or_default();
    let state = match (loaded, unloaded.is_empty()) {
        (false, true) => return Err(format!("{name} is in neither the loaded nor the unloaded driver list")),
        (true, true) => "loaded".to_string(),
        (true, false) => format!("loaded, and was unloaded once before{cut}{when}"),
        (false, false) => format!("in the unloaded-driver list{cut}: it had been unloaded before the crash{when}"),
    };
    Ok(format!("{name} is {state}{}", if stacked { ", and on the faulting stack" } else { "" }))
}

/// Triage of a kernel dump: the dump's own fields, then the verdicts of
/// text triage on what a dump without symbols can show, strongest evidence
/// first. `driver` names the developer's own driver (`mydrv.sys`), to be
/// looked for in both lists.
pub fn triage_dump(d: &crate::dump::Dump, driver: Option<&str>) -> Report {
    let code = u64::from(d.bugcheck_code);
    let mut warnings = d.notes.clone();
    let mut limits = vec![
        "Established from the dump itself: the bug check code and parameters, the Windows build, the processor count, \
         the dump type."
            .to_string(),
    ];
    let stack: Vec<String> =
        d.small.as_ref().and_then(|s| s.stack.as_ref()).map(|s| s.modules_in_order.clone()).unwrap_or_default();
    let path = faulting_path(d, code, &stack);
    let parsed = Parsed {
        code,
        name: bugcheck_name(code).map(str::to_string),
        args: d.parameters.to_vec(),
        bugcheck_str: None,
        module: None,
        image: path.module.as_ref().filter(|m| m.2 == 2).map(|m| m.0.clone()),
        symbol: None,
        probably_caused_by: None,
        stack: stack.clone(),
        process: d.small.as_ref().and_then(|s| s.process_name.clone()),
        irql: None,
        image_timestamp: None,
    };
    let mut v = verdict(&parsed);
    v.confidence = "medium";
    v.confidence_reason = "from the dump's code and parameters; without symbols the functions are not named".into();

    // The exception bug checks' parameters (Microsoft's 0x7E and 0x1E pages).
    if matches!(code, 0x7E | 0x1000_007E | 0x8E | 0x1000_008E) && v.kind != "kmdf_verifier_break" {
        v.arguments.clear();
        let status = d.parameters[0] & 0xFFFF_FFFF;
        let known = match status {
            0xC000_0005 => " STATUS_ACCESS_VIOLATION",
            0xC000_001D => " STATUS_ILLEGAL_INSTRUCTION",
            0x8000_0003 => " STATUS_BREAKPOINT",
            0xC000_0409 => " STATUS_STACK_BUFFER_OVERRUN",
            _ => "",
        };
        v.arguments.push(format!("Arg1 = 0x{status:08X}{known}: the exception code."));
        v.arguments.push(format!("Arg2 = 0x{:X}: the address where the exception occurred.", d.parameters[1]));
        v.arguments.push(format!("Arg3 = 0x{:X}: the exception record (`.exr` in WinDbg).", d.parameters[2]));
        v.arguments.push(format!("Arg4 = 0x{:X}: the context record (`.cxr` in WinDbg).", d.parameters[3]));
    }
    // The faulting place first, then what each address argument points into.
    let mut evidence = Vec::new();
    if let Some((_, how, _)) = &path.module {
        evidence.push(how.clone());
    }
    if let Some(ctx) = &d.context
        && path.in_kernel
        && let Some(place) = d.describe_address(ctx.instruction_pointer)
    {
        evidence.push(format!("the saved context's instruction pointer 0x{:X} is {place}", ctx.instruction_pointer));
    }
    for (i, a) in d.parameters.iter().enumerate() {
        if let Some(place) = d.describe_address(*a) {
            evidence.push(format!("Arg{} = 0x{a:X} lies in {place}", i + 1));
        }
    }
    // The faulting place and the arguments' places come first.
    v.reasons.splice(0..0, evidence);

    let lists = d.drivers().is_some();
    if let Some(small) = &d.small {
        limits.push(
            "Established from the small dump's lists: which drivers were loaded (with base, size and image \
             timestamp), which were unloaded before the crash (name and address range), and which loaded drivers \
             the faulting thread's saved stack points into, in stack order."
                .into(),
        );
        limits.push(
            "Not established without symbols: function names (whether a Wdf01000.sys word is FxRegKey's destructor \
             or other framework code), and whether a stack word is a return address or stale data — open the dump \
             in WinDbg with symbols and paste `!analyze -v` into `triage` for the frames."
                .into(),
        );
        limits.push(
            "Not recorded in a small dump: when a driver was unloaded (its unloaded-driver entries hold the name and \
             address range only) and more than 12 characters of an unloaded driver's name."
                .into(),
        );
        if small.process_name.is_some() {
            limits.push(
                "The process name is found by its shape in the dump's copy of the process object, not by a symbol \
                 offset."
                    .into(),
            );
        }
    } else if let Some(memory) = &d.memory {
        limits.push(format!(
            "Established from the dump's memory, read through its page tables ({} pages, {}): the loaded drivers \
             (PsLoadedModuleList: base, size, path, image timestamp) and the unloaded ones (MmUnloadedDrivers: whole \
             name, address range, unload time), and the module of the saved context's instruction pointer.",
            memory.layout.pages, memory.layout.form
        ));
        limits.push(
            "Not read from a complete or kernel dump: thread stacks (the faulting thread's frames need the kernel's \
             symbols) — open it in WinDbg (`!analyze -v`, then `triage` on the text)."
                .into(),
        );
        for n in &memory.not_read {
            warnings.push(format!("not read: {n}"));
        }
    } else {
        limits.push(format!(
            "Only the header was read ({}): the driver lists and stacks are in memory pages this dump {} — open it in \
             WinDbg (`!analyze -v`, then `triage` on the text), or triage the small dump Windows writes beside it \
             (%SystemRoot%\\Minidump).",
            d.dump_kind_text,
            if crate::kernel::has_memory(d.dump_type) {
                "could not be read for (see the notes)"
            } else {
                "does not hold or this reader does not walk"
            }
        ));
    }
    if let Some(name) = driver {
        if lists {
            match driver_presence(d, name, &stack) {
                Ok(r) => v.reasons.push(r),
                Err(w) => warnings.push(w),
            }
        } else {
            warnings.push(format!(
                "--driver {name}: this dump holds no driver list that was read, so it was not looked for"
            ));
        }
    }
    if code == 0x93 {
        decide_0x93(d, &path, &stack, &mut v);
    } else if let Some((m, _, 2)) = &path.module {
        v.summary = format!("{} The faulting instruction is in {m}.", v.summary);
    }
    dedup(&mut v.reasons);
    Report {
        tool: "wdfkey-harness triage",
        version: env!("CARGO_PKG_VERSION"),
        source: "dump",
        parsed,
        dump: Some(d.clone()),
        user_dump: None,
        limits,
        verdict: v,
        warnings,
    }
}

/// Drops repeated reasons, keeping the first.
fn dedup(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|r| seen.insert(r.clone()));
}

/// 0x93 from a dump: the double close needs the framework on the faulting
/// path — the faulting instruction in Wdf01000.sys, or the innermost driver
/// word of the saved stack in it while the context is in the kernel — not
/// merely somewhere among the saved words.
fn decide_0x93(d: &crate::dump::Dump, path: &FaultingPath, stack: &[String], v: &mut Verdict) {
    let others: Vec<String> = stack
        .iter()
        .filter(|m| !is_framework(m) && !is_kernel_image(m))
        .cloned()
        .chain(d.unloaded().unwrap_or_default().iter().map(|u| format!("{} (unloaded)", u.name)))
        .collect();
    let mut distinct = Vec::new();
    for o in others {
        if !distinct.contains(&o) {
            distinct.push(o);
        }
    }
    v.reasons.retain(|r| !r.starts_with("no FxRegKey"));
    match &path.module {
        Some((m, how, strength)) if is_framework(m) => {
            v.kind = "wdfkey_double_close";
            v.wdfkey_double_close = true;
            v.summary = "Matches the WDFKEY double close as far as a dump without symbols shows: bug check 0x93 with \
                         Wdf01000.sys on the faulting path — the framework closing a handle value that had already \
                         been closed, most likely by the driver that owned the WDFKEY."
                .into();
            v.reasons.retain(|r| r != how);
            v.reasons.insert(0, format!("bug check 0x93 INVALID_KERNEL_HANDLE; {how} (F3, F9)"));
            v.reasons.push(if distinct.is_empty() {
                "no other driver on the stack or in the unloaded list: name yours with --driver".to_string()
            } else {
                format!(
                    "other drivers on the saved stack or unloaded (whether they use KMDF is not established): {}",
                    distinct.join(", ")
                )
            });
            (v.confidence, v.confidence_reason) = if *strength == 2 {
                (
                    "medium",
                    "the faulting instruction is in Wdf01000.sys; without symbols the function is not named".into(),
                )
            } else {
                (
                    "medium",
                    "Wdf01000.sys is the innermost driver word on the saved stack; a word may be stale, and without \
                     symbols the function (FxRegKey's destructor or other framework code) is not named"
                        .into(),
                )
            };
            v.why_framework_blamed = Some(
                "WinDbg blames the module on the stack that made the failing close, Wdf01000.sys. The framework's \
                 close is the second, correct one; the first close, by the driver, left no trace in the dump (F41)."
                    .into(),
            );
            v.user_mode_possible = Some(false);
            v.user_mode_reason = Some(
                "No: a WDFKEY's handle is a kernel handle (OBJ_KERNEL_HANDLE); user mode cannot close it (F45).".into(),
            );
            v.next_steps = vec![
                "Confirm the frame: open the dump in WinDbg with symbols; FxRegKey's destructor or WdfRegistryClose on \
                 the stack confirms it (`triage` reads the pasted `!analyze -v`)."
                    .into(),
                NEXT_SCAN.into(),
                next_verifier(),
            ];
        }
        Some((m, how, strength)) => {
            v.reasons.retain(|r| r != how);
            v.reasons.insert(0, format!("{how}: the close was made from {m}, not from the framework"));
            if stack.iter().any(|s| is_framework(s)) {
                v.reasons.push(format!(
                    "Wdf01000.sys words lie deeper in the saved stack, behind {m}: not on the faulting path (they may \
                     be stale), so not the framework's key teardown"
                ));
            }
            (v.confidence, v.confidence_reason) = if *strength == 2 {
                ("medium", format!("the faulting place is in {m} by the saved context or exception address"))
            } else {
                ("low", format!("only the saved stack's words point at {m}; a word may be stale"))
            };
        }
        None => {
            v.confidence = "low";
            v.confidence_reason = if d.drivers().is_some() {
                "the faulting place is in no listed driver and the dump holds no stack that was read".into()
            } else {
                "the dump's header alone cannot show whether the framework made the close: read its stack in WinDbg"
                    .into()
            };
            v.reasons.push(format!("bug check 0x93 INVALID_KERNEL_HANDLE; {}", v.confidence_reason));
            v.summary = format!("{} {}", v.summary, v.confidence_reason);
        }
    }
}

/// `--driver NAME` with text: the text's stack frames, blamed image and
/// module and any `lm` listing pasted with it are searched; `Err` when the
/// text holds none of them (nothing to search: the option is refused).
fn driver_in_text(text: &str, p: &Parsed, name: &str) -> Result<String, String> {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s).to_ascii_lowercase();
    let frames: Vec<&String> =
        p.stack.iter().filter(|f| f.split('!').next().is_some_and(|m| m.eq_ignore_ascii_case(&stem))).collect();
    let blamed = [&p.image, &p.module]
        .iter()
        .any(|x| x.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(name) || x.eq_ignore_ascii_case(&stem)));
    let (loaded, unloaded) = lm_lists(text);
    let has_lists = !loaded.is_empty() || !unloaded.is_empty();
    if p.stack.is_empty() && p.image.is_none() && p.module.is_none() && !has_lists {
        return Err(format!(
            "--driver {name}: the text holds no stack, blamed image or module list to search; paste `!analyze -v` \
             with `lm` (or give the dump file)"
        ));
    }
    let in_loaded = loaded.iter().any(|m| m.eq_ignore_ascii_case(&stem) || m.eq_ignore_ascii_case(name));
    let probe =
        crate::dump::Unloaded { name: String::new(), name_truncated: false, start: 0, end: 0, unloaded_at: None };
    let in_unloaded = unloaded.iter().any(|u| {
        let cut = crate::dump::looks_cut(u);
        crate::dump::Unloaded { name: u.clone(), name_truncated: cut, ..probe.clone() }.is(name)
    });
    let mut found = Vec::new();
    if !frames.is_empty() {
        found.push(format!("on the stack ({})", frames.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")));
    }
    if blamed {
        found.push("the blamed image".to_string());
    }
    if in_loaded {
        found.push("in the `lm` loaded-module list".to_string());
    }
    if in_unloaded {
        found.push("in the unloaded-module list".to_string());
    }
    Ok(if found.is_empty() {
        format!(
            "{name} appears nowhere in the text's stack, blamed image{}",
            if has_lists { " or module lists" } else { " (the text holds no `lm` module list)" }
        )
    } else {
        format!("{name} is {}", found.join("; "))
    })
}

/// Module names of an `lm` listing in the text: the loaded ones (lines
/// `start end module ...` after the `start ... end ... module name` header)
/// and those after `Unloaded modules:` (`start end name`).
fn lm_lists(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut loaded, mut unloaded) = (Vec::new(), Vec::new());
    let mut section = 0u8;
    for line in normalize(text).lines() {
        let t = line.trim();
        if t.starts_with("start") && t.contains("module name") {
            section = 1;
            continue;
        }
        if t.starts_with("Unloaded modules:") {
            section = 2;
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let is_addr = |w: &str| hex(w).is_some() && w.len() >= 8;
        match (section, words.as_slice()) {
            (1 | 2, [a, b, name, ..]) if is_addr(a) && is_addr(b) => {
                if section == 1 { &mut loaded } else { &mut unloaded }.push(name.to_string());
            }
            (_, []) => {}
            _ => section = 0,
        }
    }
    (loaded, unloaded)
}

/// Triage of text with `--driver`: [`triage`], and the driver looked for.
pub fn triage_text(text: &str, driver: Option<&str>) -> Result<Report, String> {
    let mut report = triage(text)?;
    if let Some(name) = driver {
        report.verdict.reasons.push(driver_in_text(text, &report.parsed, name)?);
    }
    Ok(report)
}

/// Triage of a user-mode minidump: what it shows, and that it is not a
/// kernel crash.
pub fn triage_user_dump(u: &crate::userdump::UserDump, driver: Option<&str>) -> Report {
    let process = u.process.clone().unwrap_or_else(|| "(no module list)".into());
    let mut reasons = vec![format!(
        "the file is a user-mode minidump (MDMP) of {process}{}",
        u.process_id.map(|p| format!(", process id {p}")).unwrap_or_default()
    )];
    if let Some(x) = &u.exception {
        reasons.push(format!(
            "exception 0x{:08X} {} at 0x{:X}{} on thread {}",
            x.code,
            x.name,
            x.address,
            x.faulting_module.as_deref().map(|m| format!(" ({m})")).unwrap_or_default(),
            x.thread_id
        ));
    } else {
        reasons.push("the dump records no exception: it was written on request (Task Manager, ProcDump)".into());
    }
    let mut warnings: Vec<String> = u.not_read.iter().map(|n| format!("not read: {n}")).collect();
    if let Some(name) = driver {
        warnings.push(format!(
            "--driver {name}: a process dump lists the process's modules, not the kernel's drivers, so it was not \
             looked for"
        ));
    }
    let summary = format!(
        "Not a kernel crash: a user-mode process dump of {process}. It cannot show a bug check, a driver's handles or \
         the kernel's driver lists; the kernel's dump of a bug check is %SystemRoot%\\Minidump\\*.dmp (small) or \
         %SystemRoot%\\MEMORY.DMP (kernel, complete or automatic) on the crashed machine."
    );
    let verdict = Verdict {
        kind: "user_mode_process_dump",
        wdfkey_double_close: false,
        summary,
        reasons,
        arguments: Vec::new(),
        user_mode_possible: None,
        user_mode_reason: None,
        why_framework_blamed: None,
        next_steps: vec![
            "For a blue screen, copy %SystemRoot%\\Minidump\\*.dmp or %SystemRoot%\\MEMORY.DMP from the machine and \
             triage that."
                .into(),
            "For this process's crash, open the dump in WinDbg or Visual Studio with the process's symbols \
             (`!analyze -v`)."
                .into(),
        ],
        confidence: "high",
        confidence_reason: "the file's MDMP signature and streams, read by the minidump crate".into(),
    };
    Report {
        tool: "wdfkey-harness triage",
        version: env!("CARGO_PKG_VERSION"),
        source: "user_dump",
        parsed: Parsed::default(),
        dump: None,
        user_dump: Some(u.clone()),
        limits: vec![
            "Established from the minidump's streams: the process's modules, threads count, exception and system."
                .into(),
        ],
        verdict,
        warnings,
    }
}

/// The human-readable form; fact ids point to their anchors in docs/facts.md.
pub fn render(r: &Report) -> String {
    use std::fmt::Write as _;
    let p = &r.parsed;
    let v = &r.verdict;
    let mut s = String::new();
    if let Some(d) = &r.dump {
        render_dump(&mut s, d);
    }
    if let Some(u) = &r.user_dump {
        render_user_dump(&mut s, u);
    }
    let args: Vec<String> = p.args.iter().map(|a| format!("{a:X}")).collect();
    if r.user_dump.is_none() {
        let _ = writeln!(
            s,
            "Bug check 0x{:X}{}  {{{}}}",
            p.code,
            p.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default(),
            args.join(", ")
        );
    }
    for (label, value) in [
        ("blamed", p.probably_caused_by.clone().or_else(|| p.image.clone())),
        ("symbol", p.symbol.clone()),
        ("process", p.process.clone()),
        ("IRQL", p.irql.map(|i| i.to_string())),
        ("image timestamp", p.image_timestamp.clone()),
    ] {
        if let Some(value) = value {
            let _ = writeln!(s, "  {label}: {value}");
        }
    }
    if !p.stack.is_empty() {
        let _ = writeln!(s, "  stack: {}", p.stack.join(" <- "));
    }
    let _ = writeln!(s, "\nVERDICT: {} — {}", v.kind, v.summary);
    let _ = writeln!(s, "Confidence: {} — {}", v.confidence, v.confidence_reason);
    for (title, items) in [("Why", &v.reasons), ("Arguments", &v.arguments)] {
        if !items.is_empty() {
            let _ = writeln!(s, "\n{title}:");
            for i in items {
                let _ = writeln!(s, "  - {i}");
            }
        }
    }
    if let Some(reason) = &v.user_mode_reason {
        let _ = writeln!(s, "\nCould user mode have caused it? {reason}");
    }
    if let Some(why) = &v.why_framework_blamed {
        let _ = writeln!(s, "\nWhy the framework is blamed: {why}");
    }
    if !v.next_steps.is_empty() {
        let _ = writeln!(s, "\nNext:");
        for (n, step) in v.next_steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {step}", n + 1);
        }
    }
    if !r.limits.is_empty() {
        let _ = writeln!(s, "\nWhat this dump can and cannot show:");
        for l in &r.limits {
            let _ = writeln!(s, "  - {l}");
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "\nnote: {w}");
    }
    crate::cite::link_facts(&s)
}

/// The loaded and unloaded driver lists.
fn render_lists(s: &mut String, drivers: &[crate::dump::Module], unloaded: &[crate::dump::Unloaded]) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "\n  Loaded drivers ({}):", drivers.len());
    let _ = writeln!(s, "    {:<18} {:>10}  {:<8}  name", "base", "size", "timestamp");
    for m in drivers {
        let _ = writeln!(s, "    {:016x}   {:>10x}  {:08x}  {}", m.base, m.size, m.timestamp, m.name);
    }
    let _ = writeln!(s, "\n  Unloaded drivers ({}):", unloaded.len());
    for u in unloaded {
        let _ = writeln!(
            s,
            "    {:016x}-{:016x}  {}{}{}",
            u.start,
            u.end,
            u.name,
            if u.name_truncated { "… (name cut to 12 characters)" } else { "" },
            u.unloaded_at.as_deref().map(|t| format!("  unloaded {t}")).unwrap_or_default()
        );
    }
}

/// A user-mode minidump's fields, before the verdict.
fn render_user_dump(s: &mut String, u: &crate::userdump::UserDump) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "User-mode minidump (MDMP), {} bytes: a process dump, not a kernel crash", u.file_size);
    for (label, value) in [
        ("process", u.process.clone()),
        ("process id", u.process_id.map(|p| p.to_string())),
        ("system", u.system.clone()),
        ("threads", u.threads.map(|t| t.to_string())),
    ] {
        if let Some(value) = value {
            let _ = writeln!(s, "  {label}: {value}");
        }
    }
    if let Some(x) = &u.exception {
        let _ = writeln!(
            s,
            "  exception: 0x{:08X} {} at {:016x}{} (thread {})",
            x.code,
            x.name,
            x.address,
            x.faulting_module.as_deref().map(|m| format!(" in {m}")).unwrap_or_default(),
            x.thread_id
        );
    }
    let _ = writeln!(s, "\n  Modules ({}):", u.modules.len());
    for m in &u.modules {
        let _ = writeln!(s, "    {:016x}   {:>10x}  {:08x}  {}", m.base, m.size, m.timestamp, m.name);
    }
    let _ = writeln!(s);
}

/// The dump's own fields, before the verdict.
fn render_dump(s: &mut String, d: &crate::dump::Dump) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "Kernel dump ({}, {}-bit): {}", d.format, d.pointer_bits, d.dump_kind_text);
    let _ = writeln!(
        s,
        "  bug check 0x{:08X}  Arg1 {:016x}  Arg2 {:016x}  Arg3 {:016x}  Arg4 {:016x}",
        d.bugcheck_code, d.parameters[0], d.parameters[1], d.parameters[2], d.parameters[3]
    );
    let _ = writeln!(
        s,
        "  Windows build {} ({}), {} processor(s), machine {}",
        d.build,
        if d.major_version == 0xC { "checked" } else { "free" },
        d.processors,
        d.machine_name.map_or_else(|| format!("0x{:X}", d.machine), str::to_string)
    );
    if let Some(t) = &d.system_time {
        let _ = writeln!(s, "  written {t}");
    }
    if let Some(c) = &d.context {
        let place = d.describe_address(c.instruction_pointer).unwrap_or_else(|| "not in a listed driver".into());
        let _ = writeln!(s, "  context: ip {:016x} ({place}), sp {:016x}", c.instruction_pointer, c.stack_pointer);
    }
    if let Some(stated) = d.size_stated {
        let _ = writeln!(
            s,
            "  size: {} bytes of the {stated} its header states{}",
            d.file_size,
            if d.shorter_than_stated { " — SHORTER: the dump was cut" } else { "" }
        );
    }
    if let Some(m) = &d.memory {
        let _ = writeln!(
            s,
            "  memory: {} physical pages ({}), read through the page tables of DirectoryTableBase",
            m.layout.pages, m.layout.form
        );
        render_lists(s, &m.drivers, &m.unloaded);
        let _ = writeln!(s);
    }
    let Some(small) = &d.small else {
        let _ = writeln!(s);
        return;
    };
    if let Some(p) = &small.process_name {
        let _ = writeln!(s, "  process: {p}");
    }
    if let Some(t) = small.current_thread {
        let _ = writeln!(s, "  current thread: {t:016x}");
    }
    render_lists(s, &small.drivers, &small.unloaded);
    match &small.stack {
        Some(st) => {
            let _ = writeln!(
                s,
                "\n  Faulting stack: {} words from {:016x}, {} point into drivers; drivers in stack order (innermost first):",
                st.words,
                st.top,
                st.hits.len()
            );
            let _ = writeln!(s, "    {}", st.modules_in_order.join(" -> "));
            let mut distinct: Vec<&str> = Vec::new();
            for m in &st.modules_in_order {
                if !distinct.contains(&m.as_str()) {
                    distinct.push(m);
                }
            }
            let _ = writeln!(s, "  Drivers on the stack: {}", distinct.join(", "));
        }
        None => {
            let _ = writeln!(s, "\n  Faulting stack: not in this dump");
        }
    }
    let _ = writeln!(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simulator's own rendering of a replayed crash (`wdfkey-harness
    /// replay-crash`, outcome `1.` or `2b.`), kept in `fixtures/`; the
    /// harness's tests check the copies are current.
    fn simulated(outcome: &str) -> String {
        let name = format!("replay-{}.txt", outcome.trim_end_matches('.'));
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(&name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    // Mail and forum manglings.
    fn wrap(text: &str, width: usize) -> String {
        let mut out = String::new();
        for line in text.lines() {
            let mut current = String::new();
            for word in line.split(' ') {
                if !current.is_empty() && current.len() + 1 + word.len() > width {
                    out += &current;
                    out.push('\n');
                    current.clear();
                } else if !current.is_empty() {
                    current.push(' ');
                }
                current += word;
            }
            out += &current;
            out.push('\n');
        }
        out
    }
    fn html(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\'', "&#39;")
            .replace('`', "&#96;")
            .replace('\n', "<br>")
    }
    fn typographic(text: &str) -> String {
        text.replace('`', "\u{2018}").replace('\'', "\u{2019}")
    }
    fn quoted(text: &str) -> String {
        let body: Vec<String> = text.lines().map(|l| format!("> {l}")).collect();
        format!(
            "On Tue, dev wrote <mailto:dev@example.com>:\n{}\n-- \nSent [mailto:ops@example.com]\n",
            body.join("\n")
        )
    }
    fn twice(text: &str) -> String {
        format!("{text}\n\nand again, in case:\n\n{text}")
    }
    fn crlf_tabs(text: &str) -> String {
        text.replace("  ", "\t").replace('\n', "\r\n")
    }

    const KD_FXREGKEY: &str = r"Microsoft (R) Windows Debugger Version 10.0.26100.1 AMD64
Loading Dump File [C:\Windows\MEMORY.DMP]
BugCheck 93, {304, 0, 0, 0}
Probably caused by : Wdf01000.sys ( Wdf01000!FxRegKey::~FxRegKey+3a )

INVALID_KERNEL_HANDLE (93)
This message occurs if kernel code (server, redirector, other driver, etc.)
attempts to close a handle that is not a valid handle.
Arguments:
Arg1: 0000000000000304, The handle that NtClose was called with.
Arg2: 0000000000000000, means a protected handle was closed.
Arg3: 0000000000000000
Arg4: 0000000000000000

DEBUG_FLR_IMAGE_TIMESTAMP:  5c8c2d0e
BUGCHECK_STR:  0x93
PROCESS_NAME:  System
CURRENT_IRQL:  0

STACK_TEXT:
fffff805`5a27f4f8 fffff805`57e1a0e5     : 00000000`00000093 00000000`00000304 00000000`00000000 00000000`00000000 : nt!KeBugCheckEx
fffff805`5a27f500 fffff805`57d3b2a1     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : nt!ObpCloseHandle+0x2b5
fffff805`5a27f560 fffff805`5a3c10b2     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : Wdf01000!FxRegKey::~FxRegKey+0x3a
fffff805`5a27f5a0 fffff805`5a3b0c11     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : Wdf01000!FxObject::ProcessDestroy+0x21
fffff805`5a27f5e0 fffff805`5a3b1234     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : Wdf01000!FxDriver::Unload+0x64

SYMBOL_NAME:  Wdf01000!FxRegKey::~FxRegKey+3a
MODULE_NAME: Wdf01000
IMAGE_NAME:  Wdf01000.sys
FAILURE_BUCKET_ID:  0x93_Wdf01000!FxRegKey::_FxRegKey
";

    fn dump(name: &str, code: u64, args: [u64; 4], stack: &[&str], blamed: &str) -> String {
        let mut s = format!(
            "*******************************************************************************\n\
             *                        Bugcheck Analysis                                    *\n\
             *******************************************************************************\n\n{name} ({code:x})\nArguments:\n"
        );
        for (i, a) in args.iter().enumerate() {
            s += &format!("Arg{}: {a:016x}, text\n", i + 1);
        }
        s += "\nPROCESS_NAME:  System\nCURRENT_IRQL:  2\n\nSTACK_TEXT:\n";
        for f in stack {
            s += &format!("ffffd000`1234abcd fffff800`11112222 : 00000000`00000000 : {f}\n");
        }
        s +=
            &format!("\n\nIMAGE_NAME:  {blamed}\nProbably caused by : {blamed} ( {} )\n", stack.get(1).unwrap_or(&"?"));
        s
    }

    fn kind_of(text: &str) -> (&'static str, Parsed, Vec<String>) {
        let r = triage(text).unwrap_or_else(|e| panic!("not parsed: {e}\n{text}"));
        (r.verdict.kind, r.parsed, r.warnings)
    }

    #[test]
    fn the_simulators_renderings_match_the_signature_however_mangled() {
        let protected = simulated("1.");
        let free = simulated("2b.");
        let inputs: Vec<(&str, String, u64)> = vec![
            ("clean", protected.clone(), 0),
            ("free slot", free.clone(), 1),
            ("wrapped at 50", wrap(&protected, 50), 0),
            ("wrapped at 38", wrap(&free, 38), 1),
            ("html", html(&protected), 0),
            ("typographic quotes", typographic(&protected), 0),
            ("mail quoted with mailto noise", quoted(&protected), 0),
            ("pasted twice", twice(&protected), 0),
            ("crlf and tabs", crlf_tabs(&free), 1),
            ("everything", html(&quoted(&typographic(&wrap(&twice(&protected), 60)))), 0),
        ];
        for (what, text, arg2) in inputs {
            let r = triage(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(r.verdict.kind, "wdfkey_double_close", "{what}:\n{text}\n{}", render(&r));
            assert!(r.verdict.wdfkey_double_close);
            assert_eq!(r.parsed.code, 0x93, "{what}");
            assert_eq!(r.parsed.args, vec![0x304, arg2, 0, 0], "{what}");
            assert_eq!(r.parsed.process.as_deref(), Some("System"), "{what}");
            assert_eq!(r.parsed.irql, Some(0), "{what}");
            assert_eq!(r.parsed.image.as_deref(), Some("Wdf01000.sys"), "{what}");
            assert!(
                r.parsed.stack.iter().any(|f| f.starts_with("Wdf01000!FxRegKey::")),
                "{what}: {:?}",
                r.parsed.stack
            );
            assert_eq!(r.verdict.user_mode_possible, Some(false), "{what}");
            assert!(r.verdict.arguments.iter().any(|a| a.starts_with(&format!("Arg2 = {arg2}:"))), "{what}");
            assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings);
        }
    }

    #[test]
    fn windbg_layouts_of_the_double_close_match() {
        let (kind, p, _) = kind_of(KD_FXREGKEY);
        assert_eq!(kind, "wdfkey_double_close");
        assert_eq!(p.image_timestamp.as_deref(), Some("5c8c2d0e"));
        assert_eq!(p.bugcheck_str.as_deref(), Some("0x93"));
        assert_eq!(p.stack.first().map(String::as_str), Some("nt!KeBugCheckEx"));
        assert!(p.stack.contains(&"Wdf01000!FxRegKey::~FxRegKey".to_string()), "{:?}", p.stack);
        assert_eq!(kind_of(&html(&wrap(KD_FXREGKEY, 72))).0, "wdfkey_double_close");

        let dispose = dump(
            "INVALID_KERNEL_HANDLE",
            0x93,
            [0x1f8, 0, 0, 0],
            &[
                "nt!KeBugCheckEx",
                "Wdf01000!FxRegKey::~FxRegKey+0x3a",
                "Wdf01000!FxDisposeList::DrainListLocked+0x80",
                "Wdf01000!FxSystemWorkItem::WorkItemHandler+0x7e",
            ],
            "Wdf01000.sys",
        );
        assert_eq!(kind_of(&dispose).0, "wdfkey_double_close", "the dispose work item path (F9)");
        let close = dump(
            "INVALID_KERNEL_HANDLE",
            0x93,
            [0x2a0, 1, 0, 0],
            &["nt!KeBugCheckEx", "Wdf01000!imp_WdfRegistryClose+0x44", "mydrv!EvtDriverUnload+0x20"],
            "Wdf01000.sys",
        );
        let r = triage(&close).expect("parsed");
        assert_eq!(r.verdict.kind, "wdfkey_double_close", "WdfRegistryClose");
        assert_eq!(r.parsed.args, vec![0x2a0, 1, 0, 0]);
        // Only the preamble and the blame line.
        let minimal = "BugCheck 93, {304, 0, 0, 0}\nProbably caused by : Wdf01000.sys ( Wdf01000!FxRegKey::`scalar deleting destructor'\n)\n";
        let r = triage(minimal).expect("parsed");
        assert_eq!(r.verdict.kind, "wdfkey_double_close");
        assert_eq!(r.parsed.args, vec![0x304, 0, 0, 0]);
    }

    #[test]
    fn the_neighbours_are_recognised_with_their_meaning() {
        let cases: Vec<(&str, String, &str, &str)> = vec![
            (
                "0x93 from the driver itself",
                dump("INVALID_KERNEL_HANDLE", 0x93, [0x1a4, 1, 0, 0], &["nt!KeBugCheckEx", "nt!NtClose+0x1e", "mydrv!CleanupHandles+0x42"], "mydrv.sys"),
                "invalid_kernel_handle",
                "not the WDFKEY signature",
            ),
            (
                "pool leak",
                dump("DRIVER_VERIFIER_DETECTED_VIOLATION", 0xc4, [0x62, 0xffffe0012c3d4e50, 0xffffe0012b1a0000, 3], &["nt!KeBugCheckEx", "nt!VerifierBugCheckIfAppropriate+0x3c"], "mydrv.sys"),
                "verifier_pool_leak",
                "pool leak",
            ),
            (
                "user handle as kernel",
                dump("DRIVER_VERIFIER_DETECTED_VIOLATION", 0xc4, [0xf6, 0x1c4, 0xffffe00100000000, 0xfffff80012345678], &["nt!KeBugCheckEx", "mydrv!Ioctl+0x10"], "mydrv.sys"),
                "verifier_handle_check",
                "reference",
            ),
            (
                "bad handle reference, wrapped html",
                html(&wrap(&dump("DRIVER_VERIFIER_DETECTED_VIOLATION", 0xc4, [0x3c, 0x304, 0xffffe00011112222, 0], &["nt!KeBugCheckEx", "mydrv!Work+0x10"], "mydrv.sys"), 40)),
                "verifier_handle_check",
                "reference",
            ),
            (
                "another verifier rule",
                dump("DRIVER_VERIFIER_DETECTED_VIOLATION", 0xc4, [0x2000, 0, 0, 0], &["nt!KeBugCheckEx", "mydrv!Alloc+0x10"], "mydrv.sys"),
                "verifier_other",
                "not a handle bug",
            ),
            (
                "WDF object error",
                dump("WDF_VIOLATION", 0x10d, [0x7, 0x7ffe12345678, 0, 0], &["nt!KeBugCheckEx", "Wdf01000!FxVerifierBugCheckWorker+0x24"], "Wdf01000.sys"),
                "wdf_violation",
                "WDF_VIOLATION",
            ),
            (
                "WDF invalid handle, typographic",
                typographic(&dump("WDF_VIOLATION", 0x10d, [0x5, 0x7ffe12345678, 0x1006, 0], &["nt!KeBugCheckEx", "Wdf01000!FxObjectHandleGetPtr+0x50"], "Wdf01000.sys")),
                "wdf_violation",
                "never shows as 0x10D",
            ),
            (
                "KMDF verifier break, 0x7E",
                dump("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED", 0x7e, [0x8000_0003, 0xfffff80012345678, 0xffffd00012345678, 0xffffd00087654321], &["nt!DbgBreakPoint", "Wdf01000!FxVerifierDbgBreakPoint+0x40"], "Wdf01000.sys"),
                "kmdf_verifier_break",
                "no debugger attached",
            ),
            (
                "KMDF verifier break, 0x1E quoted",
                quoted(&dump("KMODE_EXCEPTION_NOT_HANDLED", 0x1e, [0x8000_0003, 0xfffff80012345678, 0, 0], &["nt!DbgBreakPoint", "Wdf01000!FxVerifierDbgBreakPoint+0x40"], "Wdf01000.sys")),
                "kmdf_verifier_break",
                "no debugger attached",
            ),
            (
                "access violation, not a break",
                dump("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED", 0x7e, [0xc000_0005, 0xfffff80012345678, 0, 0], &["nt!KeBugCheckEx", "mydrv!Read+0x10"], "mydrv.sys"),
                "not_a_handle_bug",
                "Not a handle bug",
            ),
            (
                "a Rust driver panic",
                "BugCheck 52504E43, {fffff80012340000, 2a, 57, 13}\nProbably caused by : wdfkey_guard.sys ( wdfkey_guard!rust_begin_unwind+0x20 )\n".to_string(),
                "rust_driver_panic",
                "panicked",
            ),
            (
                "IRQL",
                crlf_tabs(&dump("DRIVER_IRQL_NOT_LESS_OR_EQUAL", 0xd1, [0x8, 2, 0, 0xfffff80012345678], &["nt!KeBugCheckEx", "mydrv!Dpc+0x10"], "mydrv.sys")),
                "not_a_handle_bug",
                "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
            ),
        ];
        for (what, text, kind, phrase) in cases {
            let r = triage(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(r.verdict.kind, kind, "{what}\n{}", render(&r));
            assert!(!r.verdict.wdfkey_double_close, "{what}");
            assert!(r.verdict.summary.contains(phrase), "{what}: {:?} lacks {phrase:?}", r.verdict.summary);
            assert_eq!(r.parsed.args.len(), 4, "{what}: {:?}", r.parsed.args);
        }
    }

    #[test]
    fn two_different_dumps_are_noticed_and_the_first_is_triaged() {
        let irql = dump(
            "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
            0xd1,
            [0x8, 2, 0, 0],
            &["nt!KeBugCheckEx", "mydrv!Dpc+0x10"],
            "mydrv.sys",
        );
        let (kind, p, warnings) = kind_of(&format!("{irql}\n{}", simulated("1.")));
        assert_eq!((kind, p.code), ("not_a_handle_bug", 0xd1));
        assert!(warnings.iter().any(|w| w.contains("0x93") && w.contains("0xD1")), "{warnings:?}");
    }

    #[test]
    fn garbage_and_empty_inputs_are_refused_with_a_message() {
        for (what, text) in [
            ("empty", ""),
            ("blank", " \n\t\r\n "),
            ("prose", "My PC crashed after installing the driver, any idea?\nThanks"),
            ("bad code", "BUGCHECK_CODE:  zz\nArg1: 0000000000000304"),
            ("binary", "\u{0}\u{1}\u{fffd}\u{fffd}PK\u{3}\u{4}"),
        ] {
            let e = triage(text).expect_err(what);
            assert!(e.contains("empty") || e.contains("no bug check found"), "{what}: {e}");
        }
    }

    /// `fold -w N`: a hard wrap that splits tokens.
    fn fold(text: &str, width: usize) -> String {
        let mut out = String::new();
        for line in text.lines() {
            let chars: Vec<char> = line.chars().collect();
            if chars.is_empty() {
                out.push('\n');
            }
            for chunk in chars.chunks(width) {
                out.extend(chunk);
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn text_hard_wrapped_at_40_columns_is_joined_before_it_is_reported() {
        for text in [simulated("1."), KD_FXREGKEY.to_string()] {
            for width in [40, 47, 64] {
                let r = triage(&fold(&text, width)).unwrap_or_else(|e| panic!("{width}: {e}"));
                assert_eq!(r.verdict.kind, "wdfkey_double_close", "{width}");
                let shown = render(&r);
                assert!(!shown.contains("Wdf0 1000") && !shown.contains("Wdf0\n1000"), "{width}:\n{shown}");
                let by = r.parsed.probably_caused_by.as_deref().unwrap_or_default();
                assert!(by.contains("Wdf01000!FxRegKey::"), "{width}: {by}");
                assert!(
                    r.parsed.symbol.as_deref().is_some_and(|s| s.starts_with("Wdf01000!FxRegKey::")),
                    "{width}: {:?}",
                    r.parsed.symbol
                );
                assert!(
                    r.parsed.stack.iter().any(|f| f.starts_with("Wdf01000!FxRegKey::") && f.ends_with("destructor'")
                        || f.ends_with("~FxRegKey")),
                    "{width}: {:?}",
                    r.parsed.stack
                );
            }
        }
        // Word-wrapped and ordinary text is left alone.
        assert_eq!(normalize("a\nbb\nccc"), "a\nbb\nccc");
    }

    #[test]
    fn a_sign_extended_breakpoint_is_a_kmdf_verifier_break() {
        for arg1 in ["ffffffff80000003", "0000000080000003", "80000003"] {
            let text = format!(
                "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (7e)\nArguments:\nArg1: {arg1}, The exception code that was not handled\n\
                 Arg2: fffff80012345678\nArg3: ffffd00012345678\nArg4: ffffd00087654321\n"
            );
            let r = triage(&text).expect("parsed");
            assert_eq!(r.verdict.kind, "kmdf_verifier_break", "{arg1}");
            assert!(r.verdict.arguments[0].starts_with("Arg1 = 0x80000003"), "{arg1}");
            assert_eq!(r.verdict.arguments[0].contains("sign-extended"), arg1.len() == 16 && arg1.starts_with('f'));
        }
        for not_a_break in ["ffffffffc0000005", "0000000180000003", "ffff000080000003"] {
            let text =
                format!("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (7e)\nArg1: {not_a_break}\nArg2: 0\nArg3: 0\nArg4: 0\n");
            assert_eq!(triage(&text).expect("parsed").verdict.kind, "not_a_handle_bug", "{not_a_break}");
        }
    }

    #[test]
    fn verifier_0xf6_arguments_follow_microsofts_parameter_order() {
        // Microsoft's 0xC4 page: Parameter 1 = 0xF6, 2 = handle value, 3 = current process,
        // 4 = address inside the driver. WinDbg prints them as Arg1..Arg4.
        let text = dump(
            "DRIVER_VERIFIER_DETECTED_VIOLATION",
            0xc4,
            [0xf6, 0x1c4, 0xffffe00100000000, 0xfffff80012345678],
            &["nt!KeBugCheckEx", "mydrv!Ioctl+0x10"],
            "mydrv.sys",
        );
        let r = triage(&text).expect("parsed");
        let args = &r.verdict.arguments;
        assert!(
            args[0].contains("Arg2 = the handle value, Arg3 = the current process, Arg4 = the address in the driver"),
            "{args:?}"
        );
        assert!(args.iter().any(|a| a.starts_with("Arg2 = 0x1C4: the user-mode handle")), "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("Arg3 = 0xFFFFE00100000000: the current process")), "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("Arg4 = 0xFFFFF80012345678: the address in the driver")), "{args:?}");
        let json = serde_json::to_value(&r).expect("JSON");
        assert_eq!(json["parsed"]["args"][1], 0x1c4, "JSON keeps the handle in Arg2");
        assert_eq!(json["verdict"]["arguments"][1], args[1].as_str());
    }

    #[test]
    fn wdk_panic_bug_checks_explain_file_line_and_column() {
        let r = triage("BugCheck 52504E43, {fffff80012340000, 2a, 57, 13}\n").expect("parsed");
        assert_eq!(r.verdict.kind, "rust_driver_panic");
        let a = &r.verdict.arguments;
        assert!(a[0].starts_with("Arg1 = 0xFFFFF80012340000: address of the panicking source file's name"), "{a:?}");
        assert!(a[1].contains("length of that name in bytes (42)"), "{a:?}");
        assert!(a[2].contains("line of the panic (87)") && a[3].contains("column of the panic (19)"), "{a:?}");
        assert!(r.verdict.summary.contains("Rust panic in the driver"));
        assert!(
            r.verdict.next_steps[0].contains("da fffff80012340000 L2a")
                && r.verdict.next_steps[0].contains("line 87, column 19")
        );
        let r = triage("BugCheck 52504E43, {0, 0, 0, 0}\n").expect("parsed");
        assert!(r.verdict.arguments[0].contains("no source location"));
        // The code is wdk-panic's: the ASCII tag read big-endian.
        assert_eq!(u32::from_be_bytes(*b"RPNC"), 0x5250_4E43);
    }

    #[test]
    fn the_recommended_verifier_command_is_the_projects_one_list() {
        let r = triage(KD_FXREGKEY).expect("parsed");
        let wanted = crate::verifier::command("<driver>.sys");
        assert_eq!(wanted, "verifier /rc 1 2 4 5 6 8 9 12 18 34 /driver <driver>.sys wdf01000.sys");
        assert!(r.verdict.next_steps.iter().any(|s| s.contains(&wanted)), "{:?}", r.verdict.next_steps);
        // The test-VM page's commands use the same list.
        let readme =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/windows.md"))
                .expect("docs/windows.md");
        let mut seen = 0;
        for (at, _) in readme.match_indices("verifier /rc ") {
            let rest = &readme[at + "verifier /rc ".len()..];
            let classes: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == ' ').collect();
            assert_eq!(
                classes.trim(),
                crate::verifier::rule_classes_text(),
                "docs/windows.md: {}",
                &readme[at..at + 60]
            );
            seen += 1;
        }
        assert!(seen >= 1, "docs/windows.md names no verifier /rc command");
    }

    #[test]
    fn the_json_report_matches_its_schema() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/triage-report.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
        let validator = jsonschema::validator_for(&schema).expect("valid schema");
        for text in [simulated("1."), KD_FXREGKEY.to_string(), "BugCheck D1, {8, 2, 0, 0}".to_string()] {
            let report = serde_json::to_value(triage(&text).expect("parsed")).expect("serialises");
            let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}\n{report}");
        }
    }
}
