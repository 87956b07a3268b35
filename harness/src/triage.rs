//! `triage`: reads a `!analyze -v` text as it arrives pasted into mail or a
//! forum post and answers "was it my driver?" — whether it is the WDFKEY
//! double close, what the arguments mean, who could have caused it, and what
//! to do next. Every statement cites a fact of kmdf-facts.md.

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
    pub bugcheck_str: Option<String>,
    pub module: Option<String>,
    pub image: Option<String>,
    pub symbol: Option<String>,
    /// `Probably caused by :` as WinDbg printed it.
    pub probably_caused_by: Option<String>,
    /// `module!symbol` frames, innermost first.
    pub stack: Vec<String>,
    pub process: Option<String>,
    pub irql: Option<u64>,
    pub image_timestamp: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// One of: `wdfkey_double_close`, `invalid_kernel_handle`,
    /// `verifier_handle_check`, `verifier_pool_leak`, `verifier_other`,
    /// `wdf_violation`, `kmdf_verifier_break`, `rust_driver_panic`,
    /// `not_a_handle_bug`.
    pub kind: &'static str,
    /// Whether the dump shows the WDFKEY double-close signature.
    pub wdfkey_double_close: bool,
    pub summary: String,
    /// Why, from the dump's own fields.
    pub reasons: Vec<String>,
    /// What each argument means for this bug check.
    pub arguments: Vec<String>,
    /// Whether a user-mode program could have caused it (`None`: the dump
    /// does not say enough).
    pub user_mode_possible: Option<bool>,
    pub user_mode_reason: Option<String>,
    /// Why WinDbg blames the framework, when it does.
    pub why_framework_blamed: Option<String>,
    pub next_steps: Vec<String>,
}

/// The JSON report (`schemas/triage-report.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub parsed: Parsed,
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
    s.lines()
        .map(|l| {
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
            l.replace("mailto:", "")
        })
        .collect::<Vec<_>>()
        .join("\n")
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
    let lines: Vec<&str> = norm.lines().collect();
    let mut warnings = Vec::new();
    let mut p = Parsed::default();

    let titles: Vec<(String, u64)> = lines.iter().filter_map(|l| title(l)).collect();
    let preambles: Vec<(u64, Vec<u64>)> = lines.iter().filter_map(|l| preamble(l)).collect();
    let code_field = first_field(&lines, &["BUGCHECK_CODE"]).and_then(|v| hex(&v));
    let code = code_field.or_else(|| preambles.first().map(|p| p.0)).or_else(|| titles.first().map(|t| t.1));
    let Some(code) = code else {
        return Err("no bug check found: expected WinDbg's `!analyze -v` text (a line like \
                    `INVALID_KERNEL_HANDLE (93)`, `BUGCHECK_CODE:  93` or `BugCheck 93, {...}`)"
            .into());
    };
    p.code = code;
    p.name = titles.iter().find(|t| t.1 == code).map(|t| t.0.clone());

    // Arguments: Arg1..Arg4 lines, else BUGCHECK_P1..P4, else the preamble.
    let arg_lines: Vec<u64> = (1..=4)
        .map_while(|i| first_field(&lines, &[&format!("Arg{i}")]).and_then(|v| hex(v.split(',').next().unwrap_or(""))))
        .collect();
    let p_fields: Vec<u64> =
        (1..=4).map_while(|i| first_field(&lines, &[&format!("BUGCHECK_P{i}")]).and_then(|v| hex(&v))).collect();
    p.args = [arg_lines, p_fields, preambles.iter().find(|p| p.0 == code).map(|p| p.1.clone()).unwrap_or_default()]
        .into_iter()
        .max_by_key(Vec::len)
        .unwrap_or_default();

    p.bugcheck_str = first_field(&lines, &["BUGCHECK_STR", "DEFAULT_BUCKET_ID", "FAILURE_BUCKET_ID"]);
    p.module = first_field(&lines, &["MODULE_NAME"]);
    p.image = first_field(&lines, &["IMAGE_NAME"]);
    p.symbol = first_field(&lines, &["SYMBOL_NAME", "FAULTING_SYMBOL"]);
    p.process = first_field(&lines, &["PROCESS_NAME"]);
    p.irql = first_field(&lines, &["CURRENT_IRQL"]).and_then(|v| hex(&v));
    p.image_timestamp = first_field(&lines, &["DEBUG_FLR_IMAGE_TIMESTAMP", "IMAGE_TIMESTAMP", "TIMESTAMP"]);
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

    // The dump pasted twice (or two dumps): keep the first, say so.
    let distinct: std::collections::BTreeSet<u64> =
        titles.iter().map(|t| t.1).chain(preambles.iter().map(|p| p.0)).collect();
    if distinct.len() > 1 {
        let codes: Vec<String> = distinct.iter().map(|c| format!("0x{c:X}")).collect();
        warnings.push(format!(
            "the text holds more than one bug check ({}); triaged the first, 0x{code:X}",
            codes.join(", ")
        ));
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
     handle-cleanup helper at unload). The WDFKEY owns that handle; close the key with WdfRegistryClose or \
     WdfObjectDelete only (F6), or hold it in wdfkey::RegKey, which cannot hand the handle out to be closed.";
const NEXT_VERIFIER: &str = "Reproduce on a test VM with Driver Verifier on the driver and wdf01000.sys \
     (`verifier /rc 1 2 4 9 12 18 34 /driver <driver>.sys wdf01000.sys`, F70) and the KMDF verifier \
     (`HKLM\\SYSTEM\\CurrentControlSet\\Services\\<service>\\Parameters\\Wdf`: VerifierOn = 1, TrackHandles = WDFKEY, F52), \
     then unload and reload the driver repeatedly.";
const NEXT_CLEAN: &str = "A clean run proves little: a second close of a freed slot is silent (STATUS_INVALID_HANDLE) \
     unless the slot was reused by a protected handle or verifier checks catch it (F67); run many unload cycles.";

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
    };
    match p.code {
        0x93 => {
            v.arguments
                .push(format!("Arg1 = 0x{:X}: the handle value NtClose was called with.", arg(0).unwrap_or_default()));
            match arg(1) {
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
                v.next_steps = vec![NEXT_SCAN.into(), NEXT_VERIFIER.into(), NEXT_CLEAN.into()];
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
                    NEXT_VERIFIER.into(),
                ];
            }
        }
        0xC4 => {
            let sub = arg(0).unwrap_or_default();
            let (kind, meaning) = match sub {
                0x3C => {
                    ("verifier_handle_check", "0x3C: ObReferenceObjectByHandle with a bad handle (Arg2 = object type)")
                }
                0xF5 => ("verifier_handle_check", "0xF5: a NULL handle passed to ObReferenceObjectByHandle"),
                0xF6 => (
                    "verifier_handle_check",
                    "0xF6: the driver referenced a user-mode handle as kernel mode (Arg2 = process, Arg3 = address in the driver)",
                ),
                0xF7 => {
                    ("verifier_handle_check", "0xF7: a user-mode reference to a kernel handle in the System process")
                }
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
        0x7E | 0x1E | 0x1000_007E | 0x1000_008E | 0x8E if arg(0) == Some(0x8000_0003) => {
            v.kind = "kmdf_verifier_break";
            v.arguments
                .push("Arg1 = 0x80000003: STATUS_BREAKPOINT — a breakpoint with no kernel debugger attached.".into());
            v.summary = "A KMDF verifier (or DbgBreakPoint) break with no debugger attached: the verifier found \
                         something and tried to stop in the debugger (F65). Attach a kernel debugger to see its message."
                .into();
            v.reasons.push(format!("bug check 0x{:X} with exception code 0x80000003 (F65)", p.code));
            v.user_mode_possible = Some(false);
            v.next_steps.push(
                "Re-run with a kernel debugger attached, or read the framework's log with !wdfkd.wdflogdump <driver>."
                    .into(),
            );
            v.next_steps.push(NEXT_VERIFIER.into());
        }
        0x5250_4E43 => {
            v.kind = "rust_driver_panic";
            v.arguments.push("Arg1..Arg4: the panic's file name pointer, length, line and column (wdk-panic).".into());
            v.summary = "A Rust driver panicked: wdk-panic turns a panic into bug check 0x52504E43 ('RPNC'). Not a \
                         handle bug; the driver should have returned an NTSTATUS."
                .into();
            v.reasons.push("bug check 0x52504E43 (wdk-panic's code)".into());
            v.user_mode_possible = Some(false);
            v.next_steps.push("Read the file and line from Arg1..Arg4 (`da <Arg1> L<Arg2>`) and turn that panic into an error status.".into());
        }
        other => {
            v.summary = format!(
                "Not a handle bug: bug check 0x{other:X}{} is none of the handle, verifier-handle, WDF or panic signatures.",
                p.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
            );
            v.reasons.push(format!("bug check 0x{other:X}"));
        }
    }
    v
}

/// Reads, decides, reports.
pub fn triage(text: &str) -> Result<Report, String> {
    if text.trim().is_empty() {
        return Err("the input is empty: paste WinDbg's `!analyze -v` output into the file (or standard input)".into());
    }
    let (parsed, warnings) = parse(text)?;
    let verdict = verdict(&parsed);
    Ok(Report { tool: "wdfkey-harness triage", version: env!("CARGO_PKG_VERSION"), parsed, verdict, warnings })
}

/// The human-readable form.
pub fn render(r: &Report) -> String {
    use std::fmt::Write as _;
    let p = &r.parsed;
    let v = &r.verdict;
    let mut s = String::new();
    let args: Vec<String> = p.args.iter().map(|a| format!("{a:X}")).collect();
    let _ = writeln!(
        s,
        "Bug check 0x{:X}{}  {{{}}}",
        p.code,
        p.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default(),
        args.join(", ")
    );
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
    for w in &r.warnings {
        let _ = writeln!(s, "\nnote: {w}");
    }
    s
}
