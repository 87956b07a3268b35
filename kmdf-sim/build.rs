//! Compiles the C entry points of the C-variadic kernel routines
//! (`csrc/dbgprint.c`: DbgPrint, DbgPrintEx), which stable Rust cannot define.

fn main() {
    println!("cargo::rerun-if-changed=csrc/dbgprint.c");
    cc::Build::new().file("csrc/dbgprint.c").warnings(true).compile("kmdf_sim_dbgprint");
}
