//! The simulator's surface against the real wdk-sys 0.5.2 bindings
//! (`data/wdk-sys-0.5.2-bindings.tar.xz`: bindgen output for
//! x86_64-pc-windows-msvc made with wdk-build's own configuration, a copy of
//! `../shared/data`'s). Windows is LLP64, so `c_long` / `c_ulong` are 32 bits.
//!
//! Checked here, item by item, with the bindings as the reference:
//! * every kernel routine of `src/surface/ntddk.rs` (and `wdm.rs`) has its bindgen declaration's
//!   parameters (names and types), return type and `#[must_use]`;
//! * every DDI of `src/surface/ddi/` has exactly its `PFN_WDF*` type's signature;
//! * every struct, type alias and constant of the surface has bindgen's
//!   definition (constants: type and value, where bindgen has the name):
//!   for the generated `src/abi/types.rs` (kmdf-sim-gen) this is an
//!   independent second reading of the same archive; for the hand-written
//!   `src/abi/consts.rs` (the constants wdk-sys writes by hand) it checks
//!   that none of them has a bindgen definition it would contradict.
//!
//! The generated file's currency is `cargo test -p kmdf-sim-gen`.

use quote::ToTokens;
use std::collections::BTreeMap;
use std::path::PathBuf;

use kmdf_sim_gen::ARCHIVE;

/// Surface items that are not bindgen output, with the reason.
const NOT_IN_BINDINGS: &[(&str, &str)] = &[
    ("KeGetCurrentIrql", "FORCEINLINE in the headers: bindgen emits no declaration (wdk-sys's PAGED_CODE! calls it)"),
    (
        "ObCloseHandle",
        "not in wdk-sys 0.5.2's bindings; declared with wdm.h's documented signature \
         (learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-obclosehandle)",
    ),
    (
        "ExAllocatePoolWithTag",
        "not in wdk-sys 0.5.2's bindings; declared with wdm.h's documented signature \
         (learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-exallocatepoolwithtag)",
    ),
    (
        "ExAllocatePool",
        "not in wdk-sys 0.5.2's bindings; declared with wdm.h's documented signature \
         (learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-exallocatepool)",
    ),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What the tests compare against, extracted once (syn's trees are not `Sync`).
#[derive(Default)]
struct Index {
    /// ntddk.rs declarations: name -> (parameters, return).
    routines: BTreeMap<String, Signature>,
    /// ntddk.rs declarations marked `#[must_use]`.
    must_use: std::collections::BTreeSet<String>,
    /// Type aliases (and `pub use self::E::Type as N` enum aliases).
    aliases: BTreeMap<String, String>,
    /// Structs and unions: name -> fields in order.
    structs: BTreeMap<String, Vec<(String, String)>>,
    /// Constants: name -> (type, value).
    consts: BTreeMap<String, (String, String)>,
}

type Signature = (Vec<(String, String)>, String);

fn index() -> &'static Index {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let files = bindings();
        let mut ix = Index::default();
        for item in parse(&files["ntddk.rs"], "ntddk.rs").items {
            if let syn::Item::ForeignMod(m) = item {
                for f in m.items {
                    if let syn::ForeignItem::Fn(f) = f {
                        if f.attrs.iter().any(|a| a.path().is_ident("must_use")) {
                            ix.must_use.insert(f.sig.ident.to_string());
                        }
                        ix.routines.insert(f.sig.ident.to_string(), signature(&f.sig));
                    }
                }
            }
        }
        let fields = |fs: &mut dyn Iterator<Item = &syn::Field>| -> Vec<(String, String)> {
            fs.map(|f| (f.ident.as_ref().map(ToString::to_string).unwrap_or_default(), norm(&f.ty))).collect()
        };
        for file in ["types.rs", "constants.rs"] {
            for item in parse(&files[file], file).items {
                match item {
                    syn::Item::Type(t) => drop(ix.aliases.insert(t.ident.to_string(), norm(&t.ty))),
                    syn::Item::Use(u) => {
                        // `pub use self::_E::Type as E;`
                        let text = norm(&u.tree);
                        if let Some((path, name)) = text.strip_prefix("self::").and_then(|t| t.split_once("as")) {
                            ix.aliases.insert(name.to_string(), path.to_string());
                        }
                    }
                    syn::Item::Struct(st) => {
                        drop(ix.structs.insert(st.ident.to_string(), fields(&mut st.fields.iter())))
                    }
                    syn::Item::Union(un) => {
                        drop(ix.structs.insert(un.ident.to_string(), fields(&mut un.fields.named.iter())))
                    }
                    syn::Item::Const(c) => drop(ix.consts.insert(c.ident.to_string(), (norm(&c.ty), norm(&c.expr)))),
                    _ => {}
                }
            }
        }
        ix
    })
}

/// The four files of the archive: name -> text.
fn bindings() -> BTreeMap<String, String> {
    kmdf_sim_gen::archive_files(&crate_dir().join("data").join(ARCHIVE)).unwrap_or_else(|e| panic!("{e}"))
}

/// Token text with Windows' LLP64 C types and bindgen's paths normalised.
fn norm(tokens: impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut t = text.replace(' ', "");
    for (c, rust) in [
        ("::core::ffi::c_ulonglong", "u64"),
        ("::core::ffi::c_longlong", "i64"),
        ("::core::ffi::c_ulong", "u32"),
        ("::core::ffi::c_long", "i32"),
        ("::core::ffi::c_uint", "u32"),
        ("::core::ffi::c_int", "i32"),
        ("::core::ffi::c_ushort", "u16"),
        ("::core::ffi::c_short", "i16"),
        ("::core::ffi::c_uchar", "u8"),
        ("::core::ffi::c_schar", "i8"),
        ("::core::ffi::c_char", "i8"),
        ("::core::ffi::c_void", "c_void"),
        ("core::ffi::c_void", "c_void"),
        ("::core::option::Option", "Option"),
        ("std::ffi::c_void", "c_void"),
    ] {
        t = t.replace(c, rust);
    }
    // bindgen's trailing commas.
    t.replace(",)", ")").replace(",>", ">").replace(",]", "]")
}

fn parse(text: &str, what: &str) -> syn::File {
    syn::parse_file(text).unwrap_or_else(|e| panic!("{what} does not parse: {e}"))
}

fn local(rel: &str) -> syn::File {
    let path = crate_dir().join(rel);
    parse(&std::fs::read_to_string(&path).expect("readable"), rel)
}

fn skipped(name: &str) -> bool {
    NOT_IN_BINDINGS.iter().any(|(n, _)| *n == name)
}

/// `(name, [(param, type)], return)` of a signature, normalised.
fn signature(sig: &syn::Signature) -> (Vec<(String, String)>, String) {
    let params = sig
        .inputs
        .iter()
        .map(|a| match a {
            // Parameters the simulator leaves unused carry a leading `_`.
            syn::FnArg::Typed(p) => {
                (p.pat.to_token_stream().to_string().trim_start_matches('_').to_string(), norm(&p.ty))
            }
            syn::FnArg::Receiver(_) => panic!("a method in an extern block"),
        })
        .collect();
    let ret = match &sig.output {
        syn::ReturnType::Default => String::new(),
        syn::ReturnType::Type(_, t) => norm(t),
    };
    (params, ret)
}

#[test]
fn the_bindings_copy_equals_shared_data() {
    let local_copy = crate_dir().join("data").join(ARCHIVE);
    assert!(local_copy.is_file(), "missing {}", local_copy.display());
    let shared = crate_dir().join("../../shared/data").join(ARCHIVE);
    if !shared.is_file() {
        eprintln!("SKIPPED: {} is not present, so the in-repo copy was not compared with it", shared.display());
        return;
    }
    assert!(
        std::fs::read(&local_copy).expect("readable") == std::fs::read(&shared).expect("readable"),
        "{} differs from {}: copy it again",
        local_copy.display(),
        shared.display()
    );
}

#[test]
fn kernel_routines_have_their_bindgen_declarations() {
    let declared = &index().routines;
    let mut problems = Vec::new();
    let mut checked = 0;
    // ntddk.rs and its submodules' files (src/surface/ntddk/*.rs).
    let mut files: Vec<String> = std::fs::read_dir(crate_dir().join("src/surface/ntddk"))
        .expect("src/surface/ntddk is readable")
        .map(|e| format!("src/surface/ntddk/{}", e.expect("a directory entry").file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".rs"))
        .collect();
    files.sort();
    files.insert(0, "src/surface/ntddk.rs".into());
    // The I/O manager's routines are in `wdm.rs`, re-exported by `ntddk`.
    files.push("src/surface/wdm.rs".into());
    for item in files.iter().flat_map(|f| local(f).items) {
        let syn::Item::Fn(f) = item else { continue };
        if !matches!(f.vis, syn::Visibility::Public(_)) {
            continue;
        }
        let name = f.sig.ident.to_string();
        let must_use = f.attrs.iter().any(|a| a.path().is_ident("must_use"));
        if declared.contains_key(&name) && must_use != index().must_use.contains(&name) {
            problems.push(format!("{name}: #[must_use] is {must_use}, the bindings differ"));
        }
        match declared.get(&name) {
            None if skipped(&name) => {}
            None => problems.push(format!("{name}: not declared in the bindings' ntddk.rs")),
            Some(want) if *want != signature(&f.sig) => {
                problems.push(format!("{name}: {:?}, bindgen declares {want:?}", signature(&f.sig)));
            }
            Some(_) => checked += 1,
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 10, "only {checked} routines checked");
}

#[test]
fn ddis_have_exactly_their_pfn_signatures() {
    let types = &index().aliases;
    let mut dir: Vec<PathBuf> = std::fs::read_dir(crate_dir().join("src/surface/ddi"))
        .expect("src/surface/ddi")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    dir.sort();
    let (mut problems, mut checked) = (Vec::new(), 0);
    for path in dir {
        let text = std::fs::read_to_string(&path).expect("readable");
        for item in parse(&text, &path.display().to_string()).items {
            let syn::Item::Fn(f) = item else { continue };
            if !matches!(f.vis, syn::Visibility::Public(_)) || f.sig.abi.is_none() {
                continue;
            }
            let name = f.sig.ident.to_string();
            let pfn = format!("PFN_{}", name.to_uppercase());
            let Some(want) = types.get(&pfn) else {
                problems.push(format!("{name}: no {pfn} in the bindings"));
                continue;
            };
            let (params, ret) = signature(&f.sig);
            let args: Vec<String> = params.iter().map(|(n, t)| format!("{n}:{t}")).collect();
            let arrow = if ret.is_empty() { String::new() } else { format!("->{ret}") };
            let have = format!("Option<unsafeextern\"C\"fn({}){arrow}>", args.join(","));
            if have != *want {
                problems.push(format!("{name}:\n  simulator {have}\n  bindgen   {want}"));
            } else {
                checked += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 60, "only {checked} DDIs checked");
}

#[test]
fn structs_aliases_and_constants_are_bindgens() {
    let Index { aliases: types, structs, consts, .. } = index();
    let mut problems = Vec::new();
    let mut checked = 0;
    for item in local("src/abi/types.rs").items.into_iter().chain(local("src/abi/consts.rs").items) {
        match item {
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                let name = s.ident.to_string();
                let have: Vec<(String, String)> = s
                    .fields
                    .iter()
                    .map(|f| (f.ident.as_ref().map(ToString::to_string).unwrap_or_default(), norm(&f.ty)))
                    .collect();
                match structs.get(&name) {
                    _ if skipped(&name) => {}
                    None => problems.push(format!("struct {name}: not in the bindings")),
                    Some(want) if *want != have => {
                        problems.push(format!("struct {name}: {have:?}\n  bindgen {want:?}"))
                    }
                    Some(_) => checked += 1,
                }
            }
            syn::Item::Type(t) if matches!(t.vis, syn::Visibility::Public(_)) => {
                let name = t.ident.to_string();
                match types.get(&name) {
                    None => problems.push(format!("type {name}: not in the bindings")),
                    Some(want) if *want != norm(&t.ty) => {
                        problems.push(format!("type {name} = {}, bindgen {want}", norm(&t.ty)));
                    }
                    Some(_) => checked += 1,
                }
            }
            syn::Item::Const(c) if matches!(c.vis, syn::Visibility::Public(_)) => {
                let name = c.ident.to_string();
                if let Some((ty, value)) = consts.get(&name) {
                    let (have_ty, have_value) = (norm(&c.ty), norm(&c.expr));
                    // Values compare as numbers (bindgen writes `64`, the
                    // surface `0x0000_0000_0000_0040`).
                    let number = |v: &str| {
                        let v = v.replace('_', "");
                        let v = v.trim_end_matches("u32").trim_end_matches("i32").trim_end_matches("u64");
                        v.strip_prefix("0x")
                            .map_or_else(|| v.parse::<i128>().ok(), |h| i128::from_str_radix(h, 16).ok())
                    };
                    if number(&have_value).is_none() || number(&have_value) != number(value) || have_ty != *ty {
                        problems.push(format!("const {name}: {have_ty} = {have_value}, bindgen {ty} = {value}"));
                    } else {
                        checked += 1;
                    }
                }
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(checked >= 100, "only {checked} items checked");
}
