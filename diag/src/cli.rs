//! The `scan` and `triage` subcommands, shared by the `wdfkey-diag` binary
//! and `wdfkey-harness`: their arguments, help text, output and exit codes.

use crate::{dump, scan, triage};
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

/// Reads a Windows kernel crash dump (MEMORY.DMP, Minidump\*.dmp — found by
/// its PAGEDU64/PAGEDUMP signature) or a pasted `!analyze -v`, and says
/// whether it is the WDFKEY double close, what the arguments mean, whether
/// user mode could have caused it, why the framework is blamed, and what to
/// do next.
///
/// A dump is read without symbols and without Windows: the header (bug
/// check and parameters, build, processors, dump type: full, kernel,
/// bitmap, small) of every kind; for a small dump also the loaded and
/// unloaded driver lists, the drivers the faulting thread's saved stack
/// points into, the current process and thread — and the report says what
/// such a dump cannot establish. Text is read with mail and forum mangling
/// undone (wrapped lines, HTML breaks and entities, typographic quotes,
/// quoting, the text pasted twice).
///
/// Recognises 0x93 from the framework or elsewhere, Driver Verifier's 0xC4
/// handle and leak codes, WDF 0x10D, KMDF verifier breaks without a
/// debugger and wdk-panic's 0x52504E43 (a Rust panic in the driver).
/// Exits 0 when the input was read (whatever the verdict), 2 when it was
/// not (unreadable, truncated or corrupt dump, no bug check in the text).
#[derive(clap::Args, Debug)]
pub struct TriageArgs {
    /// A dump file or a text file; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// `text` for people, `json` for tools (schemas/triage-report.schema.json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Your driver's binary name (`mydrv.sys`): a dump's loaded and unloaded
    /// driver lists and its stack are searched for it.
    #[arg(long, value_name = "NAME.sys")]
    pub driver: Option<String>,
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
    let report = match args.input.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => match starts_like_dump(path) {
            Ok(true) => dump::read_file(path)
                .map_err(|e| format!("{}: {e}", path.display()))
                .map(|d| triage::triage_dump(&d, args.driver.as_deref())),
            Ok(false) => read_lossy(path).and_then(|t| triage::triage(&t)),
            Err(e) => Err(e),
        },
        None => {
            let mut buf = Vec::new();
            match std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf) {
                Ok(_) if dump::is_dump(&buf) => dump::parse(&buf, buf.len() as u64)
                    .map_err(|e| format!("standard input: {e}"))
                    .map(|d| triage::triage_dump(&d, args.driver.as_deref())),
                Ok(_) => triage::triage(&String::from_utf8_lossy(&buf)),
                Err(e) => Err(format!("cannot read standard input: {e}")),
            }
        }
    };
    match report {
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

/// Whether the file starts with a kernel dump's signature.
fn starts_like_dump(path: &Path) -> Result<bool, String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(dump::is_dump(&head))
}

fn read_lossy(path: &Path) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
