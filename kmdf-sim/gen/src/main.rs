//! `kmdf-sim-gen`: writes or checks kmdf-sim's generated files: the surface
//! (`kmdf-sim/src/abi/types.rs`, from the real wdk-sys 0.5.2 bindings)
//! and the routine table (`kmdf-sim/src/model/routine_table.rs`, from the
//! DDI and kernel-routine tables).

use std::process::ExitCode;

const HELP: &str = "\
kmdf-sim-gen: kmdf-sim's generated files: the wdk-sys 0.5.2 types and constants
(from the real bindings) and the routine table (from the DDI tables)

USAGE:
    cargo run -p kmdf-sim-gen -- [check|write] [all|surface|routines|coverage|native]

COMMANDS:
    check   (default) exit 1 if a generated file is not what its inputs produce
    write   write the generated files that differ from what their inputs produce

OUTPUTS (default: all):
    surface    kmdf-sim/src/abi/types.rs
    routines   kmdf-sim/src/model/routine_table.rs
    coverage   kmdf-sim/ROUTINES.md (each routine: implemented, maximum IRQL, basis; counts)
    native     kmdf-sim/src/surface/win64/table.rs (a win64 entry point for every
               implemented routine, for natively loaded driver images)

INPUTS (in kmdf-sim/):
  surface:
    data/wdk-sys-0.5.2-bindings.tar.xz   bindgen's output for x86_64-pc-windows-msvc
    data/surface-roots.txt               the names the surface must have, one a line;
                                         everything they need is added transitively
  routines:
    data/kmdf-1.33-ddi.tsv               every KMDF 1.33 DDI and its irql_max column
    data/ddi-irql-overrides.tsv          DDIs whose simulated maximum IRQL differs
                                         from the column, each with its basis
    data/kernel-routines.tsv             the kernel routines the simulator serves,
                                         their maximum IRQL (`-`: none) and its basis
  coverage:
    the three routine tables above, and the public functions of
    src/surface/ddi/*.rs and src/surface/ntddk.rs (what is implemented)
  native:
    the routine tables, the shims' signatures (the same sources) and
    src/abi/types.rs (which arguments carry driver callbacks)

The surface's items are bindgen's text, in bindgen's order, with c_long/c_ulong
written as Windows' i32/u32. The routine table is `enum Routine` (one variant per
routine: the DDIs in the table's order, then the kernel routines), NAME and
MAX_IRQL. `cargo test -p kmdf-sim-gen` runs `check` as a test.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help" || a == "help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let (command, target) = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => ("check", "all"),
        [c @ ("check" | "write")] => (*c, "all"),
        [c @ ("check" | "write"), t @ ("all" | "surface" | "routines" | "coverage" | "native")] => (*c, *t),
        _ => {
            eprintln!(
                "kmdf-sim-gen: unexpected arguments {args:?}; expected `[check|write] [all|surface|routines|coverage|native]` \
                 (see --help)"
            );
            return ExitCode::from(2);
        }
    };
    let dir = kmdf_sim_gen::kmdf_sim_dir();
    let mut ok = true;
    if target == "all" || target == "coverage" {
        let made = kmdf_sim_gen::coverage::expected(&dir).map(|(text, c)| {
            let summary = format!(
                "{}/{} DDIs, {}/{} kernel routines implemented",
                c.ddis_implemented, c.ddis, c.kernel_implemented, c.kernel
            );
            (text, summary)
        });
        ok &= one(command, &dir.join(kmdf_sim_gen::coverage::OUTPUT), made, "coverage");
    }
    if target == "all" || target == "native" {
        let made = kmdf_sim_gen::native::expected(&dir).map(|(text, c)| {
            let summary = format!("{} DDIs + {} kernel routines served, {} left out", c.ddis, c.kernel, c.left_out);
            (text, summary)
        });
        ok &= one(command, &dir.join(kmdf_sim_gen::native::OUTPUT), made, "native");
    }
    if target == "all" || target == "routines" {
        let made = kmdf_sim_gen::routines::expected(&dir).map(|(text, c)| {
            let summary = format!("{} DDIs ({} overridden) + {} kernel routines", c.ddis, c.overridden, c.kernel);
            (text, summary)
        });
        ok &= one(command, &dir.join(kmdf_sim_gen::routines::OUTPUT), made, "routines");
    }
    if target == "all" || target == "surface" {
        let made = kmdf_sim_gen::expected().map(|(text, c)| {
            let summary = format!("{} roots -> {} names, {} items, {} bytes", c.roots, c.names, c.items, text.len());
            (text, summary)
        });
        ok &= one(command, &dir.join(kmdf_sim_gen::OUTPUT), made, "surface");
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Checks or writes one output; false on a failure (reported).
fn one(command: &str, path: &std::path::Path, made: Result<(String, String), String>, target: &str) -> bool {
    let (text, summary) = match made {
        Ok(m) => m,
        Err(e) => {
            eprintln!("kmdf-sim-gen: {e}");
            return false;
        }
    };
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == text {
        println!("{}: up to date ({summary})", path.display());
        return true;
    }
    if command == "write" {
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("kmdf-sim-gen: cannot write {}: {e}", path.display());
            return false;
        }
        println!("{}: written ({summary})", path.display());
        return true;
    }
    eprintln!(
        "{}: not what its inputs produce ({summary}); run `cargo run -p kmdf-sim-gen -- write {target}`",
        path.display()
    );
    false
}
