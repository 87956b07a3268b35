//! The checked-in generated surface is current, and the generator does what
//! its documentation says.

use kmdf_sim_gen::{ARCHIVE, Bindings, archive_files, check_roots, generate, kmdf_sim_dir, rewrite};

/// The bindings, parsed once per test binary.
fn bindings() -> &'static Bindings {
    static B: std::sync::OnceLock<Bindings> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let files = archive_files(&kmdf_sim_dir().join("data").join(ARCHIVE)).expect("the archive reads");
        Bindings::parse(&files).expect("the bindings parse")
    })
}

#[test]
fn generated_surface_is_current() {
    let roots_file = kmdf_sim_dir().join(kmdf_sim_gen::ROOTS);
    let roots = kmdf_sim_gen::read_roots(&roots_file).unwrap_or_else(|e| panic!("{e}"));
    let (expected, counts) =
        generate(bindings(), &roots).unwrap_or_else(|p| panic!("{}:\n  {}", roots_file.display(), p.join("\n  ")));
    let path = kmdf_sim_dir().join(kmdf_sim_gen::OUTPUT);
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not what the generator makes from the bindings and {} ({counts:?}).\n\
         Regenerate it: cargo run -p kmdf-sim-gen -- write",
        path.display(),
        kmdf_sim_gen::ROOTS
    );
}

#[test]
fn the_rewrites_touch_whole_identifiers_only() {
    let text = "a: ::core::ffi::c_long, b: ::core::ffi::c_ulong, c: ::core::ffi::c_longlong, \
                d: ::core::ffi::c_ulonglong, e: ::std::ffi::c_void";
    assert_eq!(
        rewrite(text),
        "a: i32, b: u32, c: ::core::ffi::c_longlong, d: ::core::ffi::c_ulonglong, e: ::core::ffi::c_void"
    );
}

#[test]
fn roots_the_bindings_lack_or_repeat_are_reported() {
    let b = bindings();
    let roots: Vec<String> =
        ["_DRIVER_OBJECT", "STATUS_SUCCESS", "KEY_INFORMATION_CLASS", "_DRIVER_OBJECT"].map(String::from).to_vec();
    let problems = check_roots(b, &roots);
    // wdk-sys hand-writes STATUS_*: bindgen has none.
    assert!(problems.iter().any(|p| p.starts_with("STATUS_SUCCESS: not an item")), "{problems:?}");
    assert!(problems.iter().any(|p| p == "_DRIVER_OBJECT: listed twice"), "{problems:?}");
    // Enum aliases (`pub use self::_E::Type as E`) are names of their own.
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(generate(b, &roots).is_err());
}

#[test]
fn the_closure_brings_dependencies_impls_and_layout_assertions() {
    let b = bindings();
    let (text, counts) = generate(b, &["PDRIVER_OBJECT".to_string()]).expect("a valid root");
    // The alias, the struct it points to, its fields' types (and theirs).
    for want in [
        "pub type PDRIVER_OBJECT = *mut _DRIVER_OBJECT;",
        "pub struct _DRIVER_OBJECT {",
        "pub struct _DEVICE_OBJECT {",
        "pub struct _UNICODE_STRING {",
        "impl Default for _DRIVER_OBJECT {",
        "[\"Size of _DRIVER_OBJECT\"][::core::mem::size_of::<_DRIVER_OBJECT>() - 336usize];",
        "pub type ULONG = u32;",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }
    assert!(!text.contains("::core::ffi::c_ulong;") && !text.contains("::core::ffi::c_long;"), "c_long left");
    assert!(!text.contains("pub struct _WDF_DRIVER_CONFIG"), "an item nothing needs came in");
    assert!(b.items_of("_DRIVER_OBJECT") >= 3, "struct, Default and layout assertions");
    assert!(counts.names > 10 && counts.items > counts.names, "{counts:?}");
}

#[test]
fn an_enum_alias_brings_its_module() {
    let (text, _) = generate(bindings(), &["KEY_INFORMATION_CLASS".to_string()]).expect("a valid root");
    assert!(text.contains("pub use self::_KEY_INFORMATION_CLASS::Type as KEY_INFORMATION_CLASS;"));
    assert!(text.contains("pub mod _KEY_INFORMATION_CLASS {"));
    assert!(text.contains("pub const KeyBasicInformation: Type = 0;"));
}
