//! `kmdf-sim-gen`: writes or checks kmdf-sim's generated surface
//! (`kmdf-sim/src/surface/types.rs`) from the real wdk-sys 0.5.2 bindings.

use std::process::ExitCode;

const HELP: &str = "\
kmdf-sim-gen: kmdf-sim's wdk-sys 0.5.2 types and constants, generated from the real bindings

USAGE:
    cargo run -p kmdf-sim-gen -- [check|write]

COMMANDS:
    check   (default) exit 1 if kmdf-sim/src/surface/types.rs is not what the
            bindings and the roots produce
    write   write kmdf-sim/src/surface/types.rs

INPUTS (in kmdf-sim/):
    data/wdk-sys-0.5.2-bindings.tar.xz   bindgen's output for x86_64-pc-windows-msvc
    data/surface-roots.txt               the names the surface must have, one a line;
                                         everything they need is added transitively

The items are bindgen's text, in bindgen's order, with c_long/c_ulong written as
Windows' i32/u32. `cargo test -p kmdf-sim-gen` runs `check` as a test.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.as_slice() {
        [] => "check",
        [a] if a == "check" || a == "write" => a.as_str(),
        [a] if a == "-h" || a == "--help" || a == "help" => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("kmdf-sim-gen: unexpected arguments {args:?}; expected `check` or `write` (see --help)");
            return ExitCode::from(2);
        }
    };
    let (text, counts) = match kmdf_sim_gen::expected() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kmdf-sim-gen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = kmdf_sim_gen::kmdf_sim_dir().join(kmdf_sim_gen::OUTPUT);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let summary =
        format!("{} roots -> {} names, {} items, {} bytes", counts.roots, counts.names, counts.items, text.len());
    if command == "write" {
        if current == text {
            println!("{}: up to date ({summary})", path.display());
        } else if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("kmdf-sim-gen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("{}: written ({summary})", path.display());
        }
        return ExitCode::SUCCESS;
    }
    if current == text {
        println!("{}: up to date ({summary})", path.display());
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{}: not what the bindings and the roots produce ({summary}); run `cargo run -p kmdf-sim-gen -- write`",
            path.display()
        );
        ExitCode::FAILURE
    }
}
