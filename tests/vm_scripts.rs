//! The test-VM PowerShell (scripts/vm/), checked on every host:
//! * every `.ps1`/`.psm1` parses with a real PowerShell grammar
//!   (tree-sitter-powershell), and uses no syntax Windows PowerShell 5.1
//!   lacks (`?:`, `??`, `&&`/`||` pipeline chains, `ForEach-Object -Parallel`);
//! * every external command it runs uses only flags docs/facts.md documents
//!   (or is marked UNCONFIRMED on its line);
//! * WdfKeyGuard.Constants.ps1 is generated from the Rust crates and current;
//! * the report fixture uses the harness stress report's field names with
//!   the same types.
//!
//! A broken copy proves each check can fail.

use std::collections::BTreeMap;

/// The one Driver Verifier rule-class list, compiled from the dependency-free
/// source file the triage tool uses too.
#[path = "../diag/src/verifier.rs"]
#[allow(dead_code)]
mod verifier;
use std::path::PathBuf;
use tree_sitter::{Node, Parser};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scripts() -> Vec<PathBuf> {
    let dir = root().join("scripts/vm");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scripts/vm")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ps1" || x == "psm1"))
        .collect();
    files.sort();
    files
}

fn parse(text: &str) -> tree_sitter::Tree {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_powershell::LANGUAGE.into()).expect("grammar");
    parser.parse(text, None).expect("a tree")
}

fn walk<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>) {
    out.push(n);
    let mut cursor = n.walk();
    for c in n.children(&mut cursor) {
        walk(c, out);
    }
}

fn nodes(tree: &tree_sitter::Tree) -> Vec<Node<'_>> {
    let mut all = Vec::new();
    walk(tree.root_node(), &mut all);
    all
}

fn line_text(text: &str, row: usize) -> &str {
    text.lines().nth(row).unwrap_or("").trim()
}

/// Syntax errors and PowerShell 7-only syntax, each as `file:line: what: text`.
fn syntax_findings(file: &str, text: &str) -> Vec<String> {
    let tree = parse(text);
    let mut out = Vec::new();
    for n in nodes(&tree) {
        let row = n.start_position().row;
        let at = |what: &str| format!("{file}:{}: {what}: {}", row + 1, line_text(text, row));
        let snippet = n.utf8_text(text.as_bytes()).unwrap_or("");
        if n.is_error() || n.is_missing() {
            if snippet.contains('?') {
                out.push(at("PowerShell 7 operator (?: or ??) — Windows PowerShell 5.1 cannot parse it"));
            } else {
                out.push(at("syntax error"));
            }
        } else if n.kind().starts_with("expandable")
            && let Some(bad) = invalid_variable_reference(snippet)
        {
            out.push(at(&format!(
                "`{bad}` in a string: a variable followed by ':' is a drive-qualified name; write ${{name}}:"
            )));
        } else if n.kind() == "pipeline_chain_tail" {
            out.push(at("pipeline chain (&& or ||) — PowerShell 7 only; use if ($LASTEXITCODE ...)"));
        } else if n.kind() == "command_parameter" && snippet.eq_ignore_ascii_case("-Parallel") {
            out.push(at("ForEach-Object -Parallel — PowerShell 7 only"));
        }
    }
    out
}

/// `$name:` followed by a character that cannot continue a variable name —
/// PowerShell's "Variable reference is not valid" parse error in an
/// expandable string (the grammar here accepts it).
fn invalid_variable_reference(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let name_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'?';
    for (i, _) in s.match_indices('$') {
        if i > 0 && b[i - 1] == b'`' {
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && name_char(b[j]) {
            j += 1;
        }
        if j > i + 1
            && j < b.len()
            && b[j] == b':'
            && b.get(j + 1).is_none_or(|&c| !name_char(c) && c != b'{' && c != b'\\')
        {
            return Some(s[i..=j].to_string());
        }
    }
    None
}

/// The documented command lines (docs/facts.md): tool → (fact, flags,
/// positional verbs). Flags are compared case-insensitively.
fn documented() -> BTreeMap<&'static str, (&'static str, Vec<&'static str>, Vec<&'static str>)> {
    BTreeMap::from([
        (
            "pnputil",
            (
                "F56/F57",
                vec![
                    "/add-driver",
                    "/subdirs",
                    "/install",
                    "/reboot",
                    "/delete-driver",
                    "/uninstall",
                    "/force",
                    "/enum-drivers",
                    "/export-driver",
                    "/enum-devices",
                    "/connected",
                    "/drivers",
                    "/deviceids",
                    "/enum-interfaces",
                    "/disable-device",
                    "/enable-device",
                    "/restart-device",
                    "/remove-device",
                    "/subtree",
                    "/scan-devices",
                    "/instanceid",
                    "/async",
                    "/deviceid",
                    "/class",
                    "/bus",
                ],
                vec![],
            ),
        ),
        (
            "devcon",
            (
                "F57",
                vec!["/r"],
                vec!["install", "update", "remove", "disable", "enable", "restart", "rescan", "hwids", "status"],
            ),
        ),
        (
            "verifier",
            (
                "F48/F70",
                vec![
                    "/standard",
                    "/all",
                    "/driver",
                    "/rc",
                    "/ruleclasses",
                    "/flags",
                    "/query",
                    "/querysettings",
                    "/reset",
                    "/bootmode",
                    "/bc",
                    "/driver.exclude",
                    "/volatile",
                    "/adddriver",
                    "/removedriver",
                    "/dif",
                    "/now",
                ],
                vec![],
            ),
        ),
        ("bcdedit", ("F58", vec!["/set"], vec!["testsigning", "on", "off"])),
        (
            "devgen",
            ("F57", vec!["/add", "/bus", "/instanceid", "/hardwareid", "/compatibleid", "/remove", "/subtree"], vec![]),
        ),
    ])
}

/// Known external tools that have no documented command line here: using
/// them at all needs an UNCONFIRMED mark.
const UNDOCUMENTED_TOOLS: &[&str] = &["reg", "certutil", "sc", "shutdown", "signtool", "wevtutil", "netsh", "bcdboot"];

/// The tool a command invokes: its name (`pnputil.exe` → `pnputil`), or for
/// `& $DevconPath …` the tool the variable is named after.
fn tool_of(name: &str) -> Option<String> {
    let n = name.trim().trim_start_matches('&').trim().to_ascii_lowercase();
    let n = n.rsplit(['\\', '/']).next().unwrap_or(&n).trim_end_matches(".exe").to_string();
    let known = |s: &str| documented().contains_key(s) || UNDOCUMENTED_TOOLS.contains(&s);
    if let Some(var) = n.strip_prefix('$') {
        let var = var.trim_start_matches("script:");
        return documented().keys().chain(UNDOCUMENTED_TOOLS.iter()).find(|t| var.contains(*t)).map(|t| t.to_string());
    }
    known(&n).then_some(n)
}

/// Every external command with a flag or verb docs/facts.md does not
/// document, as `file:line: ...` (lines marked UNCONFIRMED are accepted).
fn command_findings(file: &str, text: &str) -> Vec<String> {
    let tree = parse(text);
    let table = documented();
    let mut out = Vec::new();
    for n in nodes(&tree).into_iter().filter(|n| n.kind() == "command") {
        let Some(name) = n.child_by_field_name("command_name") else { continue };
        let Some(tool) = tool_of(name.utf8_text(text.as_bytes()).unwrap_or("")) else { continue };
        let row = n.start_position().row;
        if line_text(text, row).contains("UNCONFIRMED") {
            continue;
        }
        let Some((fact, flags, verbs)) = table.get(tool.as_str()) else {
            out.push(format!(
                "{file}:{}: {tool} has no documented command line in docs/facts.md: {}",
                row + 1,
                line_text(text, row)
            ));
            continue;
        };
        let Some(elements) = n.child_by_field_name("command_elements") else { continue };
        let mut first_word = true;
        let mut cursor = elements.walk();
        for arg in elements.named_children(&mut cursor) {
            if arg.kind() != "generic_token" && arg.kind() != "command_parameter" {
                if arg.kind() != "command_argument_sep" {
                    first_word = false;
                }
                continue;
            }
            let token = arg.utf8_text(text.as_bytes()).unwrap_or("").to_ascii_lowercase();
            let is_flag = token.starts_with('/') || token.starts_with('-');
            let as_slash = match token.strip_prefix('-') {
                Some(rest) => format!("/{rest}"),
                None => token.clone(),
            };
            if is_flag && !flags.iter().any(|f| f.eq_ignore_ascii_case(&as_slash)) {
                out.push(format!(
                    "{file}:{}: {tool} {token} is not documented ({fact}): {}",
                    row + 1,
                    line_text(text, row)
                ));
            }
            if !is_flag && first_word && !verbs.is_empty() && !verbs.contains(&token.as_str()) {
                out.push(format!(
                    "{file}:{}: {tool} {token} is not a documented command ({fact}): {}",
                    row + 1,
                    line_text(text, row)
                ));
            }
            if !is_flag {
                first_word = false;
            }
        }
    }
    out
}

#[test]
fn every_script_parses_as_windows_powershell_5_1() {
    let files = scripts();
    assert!(files.len() >= 3, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("script");
        let name = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
        let findings = syntax_findings(&name, &text);
        assert!(findings.is_empty(), "{findings:#?}");
    }
}

#[test]
fn every_external_command_line_is_documented() {
    let mut seen = BTreeMap::<String, usize>::new();
    for path in scripts() {
        let text = std::fs::read_to_string(&path).expect("script");
        let name = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
        let findings = command_findings(&name, &text);
        assert!(findings.is_empty(), "{findings:#?}");
        let tree = parse(&text);
        for n in nodes(&tree).into_iter().filter(|n| n.kind() == "command") {
            if let Some(tool) =
                n.child_by_field_name("command_name").and_then(|c| tool_of(c.utf8_text(text.as_bytes()).unwrap_or("")))
            {
                *seen.entry(tool).or_default() += 1;
            }
        }
    }
    // The check sees the tools the scripts really run.
    for tool in ["pnputil", "devcon", "verifier"] {
        assert!(seen.get(tool).is_some_and(|n| *n > 0), "{tool} not found: {seen:?}");
    }
}

#[test]
fn broken_scripts_are_rejected_naming_file_line_and_text() {
    let cases: &[(&str, &str)] = &[
        ("$x = $a ? 1 : 2\n", "PowerShell 7 operator"),
        ("$y = $b ?? 3\n", "PowerShell 7 operator"),
        ("Get-Item x && Write-Output ok\n", "pipeline chain"),
        ("1..3 | ForEach-Object -Parallel { $_ }\n", "-Parallel"),
        ("function Broken { param( [string]$x \n", "syntax error"),
        ("Write-Output \"cycle $cycle: done\"\n", "`$cycle:` in a string"),
    ];
    for (text, what) in cases {
        let found = syntax_findings("fixture.ps1", &format!("Set-StrictMode -Version Latest\n{text}"));
        assert!(found.iter().any(|f| f.contains(what) && f.starts_with("fixture.ps1:2:")), "{text:?}: {found:#?}");
    }
    let commands: &[(&str, &str)] = &[
        ("& pnputil.exe /add-driver $inf /install /quiet\n", "pnputil /quiet is not documented"),
        ("& verifier.exe /flags 0x209BB /driverz x.sys\n", "verifier /driverz is not documented"),
        ("& $DevconExe installx $inf $hwid\n", "devcon installx is not a documented command"),
        ("bcdedit /set nointegritychecks on\n", "bcdedit nointegritychecks is not a documented command"),
        ("reg.exe add HKLM\\X /v Y\n", "reg has no documented command line"),
    ];
    for (text, what) in commands {
        let found = command_findings("fixture.ps1", &format!("Set-StrictMode -Version Latest\n{text}"));
        assert!(found.iter().any(|f| f.contains(what) && f.starts_with("fixture.ps1:2:")), "{text:?}: {found:#?}");
    }
    // UNCONFIRMED on the line accepts it.
    let ok =
        command_findings("fixture.ps1", "& pnputil.exe /add-driver $inf /install /quiet   # UNCONFIRMED: /quiet\n");
    assert!(ok.is_empty(), "{ok:?}");
}

/// WdfKeyGuard.Constants.ps1 as the Rust crates define the names and codes.
fn constants_ps1() -> String {
    use wdfkey_guard::wire;
    let g = wdfkey_guard::GUID_DEVINTERFACE_WDFKEY_GUARD;
    let guid = format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        g.Data1,
        g.Data2,
        g.Data3,
        g.Data4[0],
        g.Data4[1],
        g.Data4[2..].iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let name = wdfkey_guard::SERVICE_NAME;
    format!(
        "# Generated from the Rust crates by tests/vm_scripts.rs; do not edit.\r\n\
         # Regenerate: UPDATE_VM_CONSTANTS=1 cargo test --test vm_scripts\r\n\
         $script:WdfKeyGuard = @{{\r\n\
         \x20   Version        = '{version}'\r\n\
         \x20   PackageName    = '{name}'\r\n\
         \x20   ServiceName    = '{name}'\r\n\
         \x20   SysName        = '{name}.sys'\r\n\
         \x20   InfName        = '{name}.inf'\r\n\
         \x20   CatName        = '{name}.cat'\r\n\
         \x20   CertName       = 'WDRLocalTestCert.cer'\r\n\
         \x20   HardwareId     = '{hwid}'\r\n\
         \x20   InterfaceGuid  = '{guid}'\r\n\
         \x20   IoctlGetValue  = [uint32]0x{get:08X}\r\n\
         \x20   IoctlSetValue  = [uint32]0x{set:08X}\r\n\
         \x20   IoctlDelete    = [uint32]0x{del:08X}\r\n\
         \x20   IoctlEnum      = [uint32]0x{enm:08X}\r\n\
         \x20   IoctlGetStats  = [uint32]0x{stats:08X}\r\n\
         \x20   StatsLength    = {stats_len}\r\n\
         \x20   RegDword       = [uint32]{reg_dword}\r\n\
         \x20   MinimumBuild   = 20348\r\n\
         \x20   ResumeTaskName = 'wdfkey-guard-resume'\r\n\
         \x20   VerifierRuleClasses = @({rule_classes})\r\n\
         }}\r\n",
        version = env!("CARGO_PKG_VERSION"),
        hwid = wdfkey_guard::HARDWARE_ID,
        get = wire::IOCTL_GET_VALUE,
        set = wire::IOCTL_SET_VALUE,
        del = wire::IOCTL_DELETE_VALUE,
        enm = wire::IOCTL_ENUM_VALUES,
        stats = wire::IOCTL_GET_STATS,
        stats_len = wire::STATS_LEN,
        reg_dword = wdfkey_guard::sys::REG_DWORD,
        rule_classes = verifier::RULE_CLASSES.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
    )
}

#[test]
fn the_constants_file_is_generated_from_the_crates_and_current() {
    let path = root().join("scripts/vm/WdfKeyGuard.Constants.ps1");
    let want = constants_ps1();
    if std::env::var_os("UPDATE_VM_CONSTANTS").is_some() {
        std::fs::write(&path, &want).expect("written");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default().replace("\r\n", "\n");
    assert_eq!(have, want.replace("\r\n", "\n"), "stale: run UPDATE_VM_CONSTANTS=1 cargo test --test vm_scripts");
    assert!(syntax_findings("WdfKeyGuard.Constants.ps1", &want).is_empty());
}

#[test]
fn the_vm_report_uses_the_stress_reports_field_names_and_types() {
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root().join(p)).expect(p)).expect("JSON")
    };
    let schema = read("schemas/stress-report.schema.json");
    let fixture = read("scripts/vm/fixtures/report.sample.json");
    let script = std::fs::read_to_string(root().join("scripts/vm/Invoke-WdfKeyGuardTest.ps1")).expect("script");
    let properties = schema["properties"].as_object().expect("properties");
    let report = fixture.as_object().expect("an object");
    let mut shared = 0;
    for (key, value) in report {
        // The script writes every key of the fixture.
        assert!(
            script.lines().any(|l| l.trim_start().starts_with(&format!("{key} ")) && l.contains('=')),
            "the script does not write {key}"
        );
        if let Some(sub) = properties.get(key) {
            let validator = jsonschema::validator_for(sub).expect("subschema");
            let errors: Vec<String> = validator.iter_errors(value).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{key}: {errors:?}");
            shared += 1;
        }
    }
    for key in [
        "tool",
        "version",
        "result",
        "cycles_requested",
        "cycles_done",
        "duration_ms",
        "cycles_per_second",
        "bug_checks",
        "errors",
        "findings",
    ] {
        assert!(report.contains_key(key), "the VM report lacks the stress report's {key}");
    }
    assert!(shared >= 10);
    // A wrong type in a shared field is caught.
    let bad = serde_json::json!({"code": "147", "cycle": 1, "name": "x", "parameters": ["0x1"], "blamed": "", "analysis": ""});
    let validator = jsonschema::validator_for(&properties["bug_checks"]).expect("subschema");
    assert!(validator.iter_errors(&serde_json::json!([bad])).next().is_some());
}

#[test]
fn the_script_has_the_promised_interface() {
    let text = std::fs::read_to_string(root().join("scripts/vm/Invoke-WdfKeyGuardTest.ps1")).expect("script");
    for needle in [
        "[CmdletBinding(SupportsShouldProcess)]",
        "Set-StrictMode -Version Latest",
        "$ErrorActionPreference = 'Stop'",
        ".SYNOPSIS",
        "[string]$PackageDir",
        "[int]$Cycles = 100",
        "[ValidateSet('devcon', 'pnputil', 'auto')][string]$Tool",
        "[switch]$Verifier",
        "[switch]$NoVerifier",
        "[string]$ReportPath",
        "[switch]$AllowReboot",
        "[switch]$Uninstall",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    // Module functions use approved verbs (Get-Verb, Windows PowerShell 5.1).
    let module = std::fs::read_to_string(root().join("scripts/vm/WdfKeyGuard.psm1")).expect("module");
    let approved = [
        "Get",
        "Test",
        "New",
        "Find",
        "Wait",
        "Install",
        "Enable",
        "Disable",
        "Invoke",
        "Save",
        "Register",
        "Unregister",
        "Uninstall",
        "Add",
        "Remove",
        "Set",
        "Export",
        "Restart",
    ];
    let tree = parse(&module);
    let mut functions = 0;
    for n in nodes(&tree).into_iter().filter(|n| n.kind() == "function_statement") {
        let mut cursor = n.walk();
        let name = n
            .named_children(&mut cursor)
            .find(|c| c.kind() == "function_name")
            .map(|x| x.utf8_text(module.as_bytes()).unwrap_or(""))
            .unwrap_or("");
        let verb = name.split('-').next().unwrap_or("");
        assert!(approved.contains(&verb), "{name}: not an approved verb");
        functions += 1;
    }
    assert!(functions >= 15, "{functions} functions");
}

#[test]
fn the_verifier_rule_classes_come_from_the_one_list() {
    let constants = std::fs::read_to_string(root().join("scripts/vm/WdfKeyGuard.Constants.ps1")).expect("constants");
    assert!(constants.contains("VerifierRuleClasses = @(1, 2, 4, 5, 6, 8, 9, 12, 18, 34)"), "{constants}");
    for file in ["WdfKeyGuard.psm1", "Invoke-WdfKeyGuardTest.ps1"] {
        let text = std::fs::read_to_string(root().join("scripts/vm").join(file)).expect("script");
        assert!(text.contains("$c.VerifierRuleClasses"), "{file} does not use the constant");
        // No second, hand-written list of classes.
        for line in text.lines() {
            let l = line.to_ascii_lowercase();
            assert!(!(l.contains("/rc 1") || l.contains("@(1, 2, 4")), "{file}: {line}");
        }
    }
    let readme = std::fs::read_to_string(root().join("docs/windows.md")).expect("docs/windows.md");
    assert!(
        readme.contains(&verifier::command("wdfkey_guard.sys")),
        "docs/windows.md lacks `{}`",
        verifier::command("wdfkey_guard.sys")
    );
}

#[test]
fn the_vm_report_names_each_bug_checks_dumps() {
    let text = std::fs::read_to_string(root().join("scripts/vm/Invoke-WdfKeyGuardTest.ps1")).expect("script");
    assert!(text.contains("Get-WdfKeyGuardCrashDump"), "the report does not look for dump files");
    assert!(text.lines().any(|l| l.trim_start().starts_with("dumps ") && l.contains('=')));
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("scripts/vm/fixtures/report.sample.json")).expect("fixture"),
    )
    .expect("JSON");
    for b in fixture["bug_checks"].as_array().expect("bug_checks") {
        let dumps = b["dumps"].as_array().expect("each bug check lists its dumps");
        assert!(
            dumps.iter().all(|d| d.as_str().is_some_and(|d| d.to_ascii_lowercase().ends_with(".dmp"))),
            "{dumps:?}"
        );
    }
}
