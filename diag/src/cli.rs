//! The `scan` and `triage` subcommands, shared by the `wdfkey-diag` binary
//! and `wdfkey-harness`: their arguments, help text, output and exit codes.

use crate::{scan, triage};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output format of `triage` and `scan`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For tools.
    Json,
}

/// Reads a pasted `!analyze -v` (mail and forum mangling undone: wrapped
/// lines, HTML breaks and entities, typographic quotes, quoting, the
/// dump pasted twice) and says whether it is the WDFKEY double close,
/// what the arguments mean, whether user mode could have caused it, why
/// the framework is blamed, and what to do next. Also recognises 0x93
/// elsewhere, Driver Verifier's 0xC4 handle and leak codes, WDF 0x10D,
/// KMDF verifier breaks without a debugger and wdk-panic's 0x52504E43.
/// Exits 0 when the text was read (whatever the verdict), 2 when not.
#[derive(clap::Args, Debug)]
pub struct TriageArgs {
    /// The text file; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// `text` for people, `json` for tools (schemas/triage-report.schema.json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Scans C, C++ and Rust driver sources (files or directories) for
/// WDFKEY handle misuse: WKG001 the key's WDM handle closed by the driver
/// (from WdfRegistryWdmGetHandle, directly, through a local, a struct
/// field or a helper's return value, into ZwClose/NtClose/ObCloseHandle);
/// WKG002 WdfRegistryClose twice on one path; WKG003 WdfRegistryClose
/// after a successful WdfRegistryRemoveKey; WKG004 (warning) a parented
/// key in a field closed in an unload routine. Exit 0 clean, 1 findings,
/// 2 unreadable input.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Files or directories (searched for .c .h .cpp .cc .cxx .hpp .rs).
    #[arg(required_unless_present = "explain")]
    pub paths: Vec<PathBuf>,
    /// `text` (compiler-style) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Explains a rule (WKG001…WKG004) and how to fix it.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
}

/// Prints a report as text (`render`) or JSON; `Err(exit code 2)` if it
/// cannot be encoded. `program` prefixes error messages.
pub fn print_report<T: serde::Serialize>(
    program: &str,
    format: Format,
    report: &T,
    render: fn(&T) -> String,
) -> Result<(), ExitCode> {
    match format {
        Format::Text => print!("{}", render(report)),
        Format::Json => match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("{program}: cannot encode the report: {e}");
                return Err(ExitCode::from(2));
            }
        },
    }
    Ok(())
}

/// Runs `scan`; `program` names the binary in messages.
pub fn run_scan(program: &str, args: &ScanArgs) -> ExitCode {
    if let Some(code) = args.explain.as_deref() {
        return match scan::explain(code) {
            Some(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            None => {
                let codes: Vec<&str> = scan::EXPLANATIONS.iter().map(|(c, _)| *c).collect();
                eprintln!("{program} scan: no rule {code}; the rules are {}", codes.join(", "));
                ExitCode::from(2)
            }
        };
    }
    let report = scan::scan(&args.paths);
    if let Err(code) = print_report(program, args.format, &report, scan::render) {
        return code;
    }
    if report.skipped.iter().any(|s| s.reason.starts_with("cannot")) {
        ExitCode::from(2)
    } else if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs `triage`; `program` names the binary in messages.
pub fn run_triage(program: &str, args: &TriageArgs) -> ExitCode {
    let text = match args.input.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => read_lossy(path),
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .map(|_| String::from_utf8_lossy(&buf).into_owned())
                .map_err(|e| format!("cannot read standard input: {e}"))
        }
    };
    match text.and_then(|t| triage::triage(&t)) {
        Ok(report) => match print_report(program, args.format, &report, triage::render) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        Err(e) => {
            eprintln!("{program} triage: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_lossy(path: &Path) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
