//! The `scan` and `triage` subcommands, shared by the `wdfkey-diag` binary
//! and `wdfkey-harness`: their arguments, help text, output and exit codes.

use crate::{input, scan, triage};
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format of `triage` and `scan`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For tools.
    Json,
}

/// Reads a Windows crash dump — a small dump (Minidump\*.dmp), a complete,
/// kernel or bitmap dump (MEMORY.DMP), a user-mode minidump (MDMP) — or a
/// pasted `!analyze -v`, and says whether it is the WDFKEY double close, what
/// the arguments mean, whether user mode could have caused it, why the
/// framework is blamed, how sure it is, and what to do next.
///
/// The kind is told by the first bytes (PAGEDU64/PAGEDUMP, MDMP, else
/// text). Dumps are read without symbols and without Windows: the header
/// (bug check and parameters, build, processors, dump type) of every kind;
/// a small dump's loaded and unloaded driver lists, the drivers its saved
/// stack points into, the current process and thread; a complete, kernel or
/// bitmap x64 dump's loaded and unloaded driver lists read through its page
/// tables, and whether the file is shorter than its header states; a
/// user-mode minidump's process, exception, faulting module, modules and
/// threads (it is not a kernel crash: the report says where those are).
/// The faulting instruction's module outranks words found on the stack.
/// Text (at most 64 MiB; a larger file is refused before it is read) is read
/// with mail and forum mangling undone (wrapped lines, HTML breaks and
/// entities, typographic quotes, quoting, the text pasted twice).
///
/// Recognises 0x93 from the framework or elsewhere, Driver Verifier's 0xC4
/// handle and leak codes, WDF 0x10D, KMDF verifier breaks without a
/// debugger and wdk-panic's 0x52504E43 (a Rust panic in the driver); names
/// every code of Microsoft's bugcodes.h.
/// Exits 0 when the input was read (whatever the verdict), 2 when it was
/// not (unreadable, truncated or corrupt dump, no bug check in the text,
/// text over 64 MiB, --driver with text that holds nothing to search).
#[derive(clap::Args, Debug)]
pub struct TriageArgs {
    /// A dump file or a text file; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// `text` for people, `json` for tools (schemas/triage-report.schema.json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Your driver's binary name (`mydrv.sys`): a dump's loaded and unloaded
    /// driver lists and its stack are searched for it (an unloaded name cut
    /// to 12 characters matches its first 12); with text, its stack, blamed
    /// image and any `lm` listing.
    #[arg(long, value_name = "NAME.sys")]
    pub driver: Option<String>,
}

/// Scans C, C++ and Rust driver sources (files or directories) for
/// WDFKEY handle misuse:
///
/// WKG001 the key's WDM handle (WdfRegistryWdmGetHandle, or wdfkey's
/// RegKey::wdm_handle() and KeyHandle::as_raw()) closed by the driver with
/// ZwClose/NtClose/ObCloseHandle — directly, or after it went through
/// locals, array elements, struct members (by owner type), globals and
/// statics, a pointer to it, helpers' return values and out-parameters,
/// arguments of functions, methods and constructors that close it or store
/// it in a member or global closed elsewhere (destructors and Drop
/// included, any depth), and the tree's own macros (a macro that closes its
/// argument is a close). WKG002 WdfRegistryClose twice on one path; WKG003
/// WdfRegistryClose after a successful WdfRegistryRemoveKey — both through
/// helpers that close or remove a key (and return the removal's status),
/// wrappers' Close() and destructors; WKG004 (warning) a parented key in a
/// field closed in an unload routine.
///
/// Paths: return, break, continue, goto and __leave end a path; every
/// branch of if/switch/#if (of unknown configuration) is a path, and
/// branches that exclude each other (#ifdef X … #ifndef X, #if !X inside
/// #if X) are never on one path; a lambda, a closure and a local class's
/// method are functions of their own (a return inside ends only them); a
/// loop body is followed twice; a key re-opened by an opener DDI is a new
/// key.
///
/// The files of one directory and the headers they include are one
/// program: names resolve across them. C and C++ are read without the
/// WDK's headers: SAL, calling conventions, #pragma, WDF_DECLARE_CONTEXT_TYPE*,
/// __try/__except/__finally/__leave, the tree's macros that expand to
/// decorations or to nothing (object-like, and function-like with their
/// arguments) and C++/CLI syntax are neutralised in place; literals
/// continued with a backslash, __FUNCTION__ and the tree's string macros in
/// concatenations, a decoration word before a declarator (NTSTATUS WSKAPI
/// F), ATL/COM class decorations and member macros are rewritten to the
/// same length (lines and columns stay those of the file); UTF-8 (with or without BOM),
/// UTF-16LE/BE with BOM and Latin-1 are decoded. What the parser still
/// cannot read (macros used as statements or types the tree does not
/// define, templates of libraries not in the tree) is listed (file, lines,
/// why) and counted: files and functions read in full or in part; nothing
/// of it is guessed at.
///
/// Exit 0: no finding (and, with --strict, everything read); 1: a finding;
/// 2: bad arguments, or nothing scannable (no source file under the paths,
/// every path unreadable), or with --strict a file read only in part or a
/// path not read.
#[derive(clap::Args, Debug)]
#[command(after_long_help = EXIT_CODES)]
pub struct ScanArgs {
    /// Files or directories (searched for .c .h .cpp .cc .cxx .hpp .hh .hxx .inl .rs).
    #[arg(required_unless_present = "explain")]
    pub paths: Vec<PathBuf>,
    /// `text` (compiler-style) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Explains a rule (WKG001…WKG004) and how to fix it.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
    /// Exit 2 when a file was read only in part or a path could not be
    /// read, even without a finding: "clean" only for what was read in full.
    #[arg(long)]
    pub strict: bool,
}

/// The exit codes of both subcommands, as `--help` shows them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  scan: no finding (with --strict: and every file read in full);
     triage: the input was read, whatever the verdict
  1  scan: at least one finding (error or warning)
  2  bad arguments; scan: nothing scannable, or with --strict a file read
     only in part or a path not read; triage: the input could not be read
     (unreadable, truncated or corrupt dump, no bug check in the text)";

/// Writes `text` to standard output. A reader that stops early (`| head`)
/// ends the output quietly; another write error is reported and is exit
/// code 2.
pub fn emit(program: &str, text: &str) -> Result<(), ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("{program}: cannot write the output: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Prints a report as text (`render`) or JSON; `Err(exit code 2)` if it
/// cannot be encoded or written. `program` prefixes error messages.
pub fn print_report<T: serde::Serialize>(
    program: &str,
    format: Format,
    report: &T,
    render: impl Fn(&T) -> String,
) -> Result<(), ExitCode> {
    match format {
        Format::Text => emit(program, &render(report)),
        Format::Json => match serde_json::to_string_pretty(report) {
            Ok(json) => emit(program, &format!("{json}\n")),
            Err(e) => {
                eprintln!("{program}: cannot encode the report: {e}");
                Err(ExitCode::from(2))
            }
        },
    }
}

/// Runs `scan`; `program` names the binary in messages.
pub fn run_scan(program: &str, args: &ScanArgs) -> ExitCode {
    if let Some(code) = args.explain.as_deref() {
        return match scan::explain(code) {
            Some(text) => match emit(program, &crate::cite::link_facts(&format!("{text}\n"))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            },
            None => {
                let codes: Vec<&str> = scan::EXPLANATIONS.iter().map(|(c, _)| *c).collect();
                eprintln!("{program} scan: no rule {code}; the rules are {}", codes.join(", "));
                ExitCode::from(2)
            }
        };
    }
    let report = scan::scan(&args.paths);
    if let Err(code) = print_report(program, args.format, &report, |r| scan::render_as(program, r)) {
        return code;
    }
    ExitCode::from(scan_exit_code(&report, args.strict))
}

/// The exit code of a scan (see `ScanArgs`).
pub fn scan_exit_code(report: &scan::ScanReport, strict: bool) -> u8 {
    if report.files_scanned == 0 {
        // Nothing scannable: no source file, or every path unreadable.
        2
    } else if !report.findings.is_empty() {
        1
    } else if strict && !report.read_in_full() {
        2
    } else {
        0
    }
}

/// Runs `triage`; `program` names the binary in messages.
pub fn run_triage(program: &str, args: &TriageArgs) -> ExitCode {
    let driver = args.driver.as_deref();
    let report = match args.input.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => input::triage_path(path, driver),
        None => input::triage_reader(std::io::stdin().lock(), driver),
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
