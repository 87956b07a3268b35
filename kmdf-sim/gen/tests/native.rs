//! The checked-in native entry-point table is current, serves every routine
//! the surface implements, and classifies arguments as its documentation
//! says.

use kmdf_sim_gen::kmdf_sim_dir;
use kmdf_sim_gen::native::{Kind, OUTPUT, Types, expected, generate, shims};
use std::collections::BTreeMap;

#[test]
fn generated_native_table_is_current() {
    let (expected, counts) = expected(&kmdf_sim_dir()).unwrap_or_else(|e| panic!("{e}"));
    let path = kmdf_sim_dir().join(OUTPUT);
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not what the generator makes from the routine table and the shims ({counts:?}).\n\
         Regenerate it: cargo run -p kmdf-sim-gen -- write native",
        path.display()
    );
}

#[test]
fn every_implemented_routine_is_served_or_listed_with_its_reason() {
    let dir = kmdf_sim_dir();
    let (table, counts) = expected(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (_, coverage) = kmdf_sim_gen::coverage::expected(&dir).unwrap_or_else(|e| panic!("{e}"));
    // The coverage table's count of implemented routines is the same set.
    assert_eq!(
        counts.ddis + counts.kernel + counts.left_out,
        coverage.ddis_implemented + coverage.kernel_implemented,
        "{counts:?} against {coverage:?}"
    );
    let coverage_text = std::fs::read_to_string(dir.join("ROUTINES.md")).expect("ROUTINES.md reads");
    for line in coverage_text.lines().filter(|l| l.contains("| yes |")) {
        let name = line.split('`').nth(1).expect("a routine name");
        let served = table.contains(&format!("    {name}("));
        let listed = table.contains(&format!("//! * `{name}`: "));
        assert!(served ^ listed, "{name}: served {served}, listed {listed}");
    }
    // Only C-variadic routines are left out today.
    assert!(table.lines().filter(|l| l.starts_with("//! * `")).all(|l| l.ends_with(": C-variadic")), "{table}");
}

const TYPES: &str = "
pub type ULONG = u32;
pub type PVOID = *mut ::core::ffi::c_void;
pub type EVT_CB = ::core::option::Option<unsafe extern \"C\" fn(a: PVOID) -> ULONG>;
pub type PFN_CB = EVT_CB;
pub type EVT_WIDE = ::core::option::Option<unsafe extern \"C\" fn(a: ULONG, b: ULONG, c: ULONG, d: ULONG, e: ULONG, f: ULONG, g: ULONG)>;
pub struct _INNER { pub Size: ULONG, pub Cb: PFN_CB }
pub struct _CONFIG { pub Size: ULONG, pub Inner: _INNER, pub Other: PVOID }
pub type PCONFIG = *mut _CONFIG;
pub type PCCONFIG = *const _CONFIG;
pub struct _OBJECT { pub Type: ULONG, pub Cb: PFN_CB }
pub type POBJECT = *mut _OBJECT;
pub struct _PLAIN { pub Size: ULONG, pub Other: PVOID }
pub type PPLAIN = *mut _PLAIN;
";

#[test]
fn arguments_are_classified_by_their_types() {
    let t = Types::parse(TYPES).expect("parses");
    assert_eq!(t.kind("PFN_CB"), Ok(Kind::Callback));
    assert_eq!(t.kind("PCONFIG"), Ok(Kind::Config("_CONFIG".into())), "a contained structure's callback counts");
    assert_eq!(t.kind("* mut _CONFIG"), Ok(Kind::Config("_CONFIG".into())));
    assert_eq!(t.kind("PCCONFIG"), Ok(Kind::Plain), "a *const structure's address is its identity");
    assert_eq!(t.kind("POBJECT"), Ok(Kind::Plain), "not a versioned (Size-first) structure");
    assert_eq!(t.kind("PPLAIN"), Ok(Kind::Plain), "no callbacks");
    assert_eq!(t.kind("ULONG"), Ok(Kind::Plain));
    assert!(t.kind("EVT_WIDE").is_err_and(|e| e.contains("7 parameters")));
}

#[test]
fn the_table_passes_each_argument_by_its_kind_and_lists_what_it_cannot_serve() {
    let t = Types::parse(TYPES).expect("parses");
    let mut all = BTreeMap::new();
    let source = "
        pub unsafe extern \"C\" fn WdfThingCreate(G: PVOID, Config: PCONFIG, Cb: PFN_CB, Out: *mut PVOID) -> ULONG { 0 }
        pub unsafe extern \"C\" fn WdfWide(G: PVOID, Cb: EVT_WIDE) {}
        unsafe extern \"C\" { pub fn KePrint(Format: PVOID, ...) -> ULONG; }
        pub fn helper() {}
    ";
    all.extend(shims(source, "ddi").expect("parses"));
    let names = ["WdfThingCreate", "WdfWide", "WdfNotImplemented", "KePrint"].map(String::from);
    let (text, counts) = generate(&names, 3, &all, &t);
    assert!(
        text.contains(
            "    WdfThingCreate(a0: PVOID = Plain, a1: PCONFIG = Config, a2: PFN_CB = Callback, a3: * mut PVOID = Plain) \
             -> ULONG = ddi::WdfThingCreate;"
        ),
        "{text}"
    );
    assert!(text.contains("//! * `WdfWide`: a callback with 7 parameters"), "{text}");
    assert!(text.contains("//! * `KePrint`: C-variadic"), "{text}");
    assert!(!text.contains("WdfNotImplemented") && !text.contains("helper"), "{text}");
    assert!(text.contains("    _CONFIG: [] [Inner];") && text.contains("    _INNER: [Cb] [];"), "{text}");
    assert_eq!((counts.ddis, counts.kernel, counts.left_out), (1, 0, 2));
}
