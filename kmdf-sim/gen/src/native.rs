//! The native entry-point table, `kmdf-sim/src/surface/win64/table.rs`: one
//! `extern "win64"` entry point for every routine of the routine table the
//! surface implements (a public `extern "C"` function of that name in
//! `src/surface/ddi/*.rs` or `src/surface/ntddk.rs`), calling that same
//! function — one implementation per routine, two ABIs.
//!
//! Each argument is passed on by its kind, read from the generated types
//! (`src/abi/types.rs`):
//! * `Callback`: a driver callback (a type that is, through its aliases,
//!   `Option<unsafe extern "C" fn …>`): the driver's win64 function is
//!   replaced by a host-ABI adapter that calls it;
//! * `Config`: a `*mut` pointer to one of the framework's versioned input
//!   structures (first field `Size`) with callback fields (directly or in a
//!   structure it contains): the routine gets a copy with each callback
//!   adapted (the `callbacks!` lines list the fields). Pointers inside it are
//!   passed as is (a context type's address is its identity);
//! * `Plain`: anything else, passed as is.
//!
//! A routine the generator cannot serve this way is listed in the file with
//! its reason: C-variadic routines (their arguments cross the ABIs
//! differently; `surface/win64/dbgprint.rs` serves DbgPrint and DbgPrintEx by
//! hand), a callback with more than six parameters (bound to a stub that
//! stops the machine naming it).

use crate::routines::{DDI_TABLE, KERNEL_ROUTINES, OVERRIDES, routine_rows, surface_sources};
use quote::ToTokens as _;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The output, relative to `kmdf-sim/`.
pub const OUTPUT: &str = "src/surface/win64/table.rs";
/// The generated types the arguments are classified by, relative to `kmdf-sim/`.
pub const TYPES: &str = "src/abi/types.rs";
/// The most parameters a callback may have (the adapter passes six).
pub const MAX_CALLBACK_PARAMS: usize = 6;

/// How many routines the table serves and leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// DDIs with an entry point.
    pub ddis: usize,
    /// Kernel routines with an entry point.
    pub kernel: usize,
    /// Implemented routines left out (each listed with its reason).
    pub left_out: usize,
}

/// A shim: the routine's parameters' types (token text) and return type.
#[derive(Debug, Clone)]
pub struct Shim {
    /// `ddi` or `ntddk`: the surface module defining it.
    pub module: &'static str,
    /// Parameter types.
    pub params: Vec<String>,
    /// Return type (`()` for none).
    pub ret: String,
    /// Whether the function is C-variadic (or declared in a foreign block).
    pub variadic: bool,
}

/// The public functions of one surface file with their signatures.
///
/// # Errors
/// The file does not parse.
pub fn shims(source: &str, module: &'static str) -> Result<BTreeMap<String, Shim>, String> {
    let file = syn::parse_file(source).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    let mut add = |sig: &syn::Signature, variadic: bool| {
        let params = sig
            .inputs
            .iter()
            .filter_map(|i| match i {
                syn::FnArg::Typed(p) => Some(p.ty.to_token_stream().to_string()),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let ret = match &sig.output {
            syn::ReturnType::Default => "()".to_string(),
            syn::ReturnType::Type(_, t) => t.to_token_stream().to_string(),
        };
        out.insert(sig.ident.to_string(), Shim { module, params, ret, variadic: variadic || sig.variadic.is_some() });
    };
    for item in &file.items {
        match item {
            syn::Item::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => add(&f.sig, false),
            syn::Item::ForeignMod(m) => {
                for inner in &m.items {
                    if let syn::ForeignItem::Fn(f) = inner
                        && matches!(f.vis, syn::Visibility::Public(_))
                    {
                        add(&f.sig, true);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The generated types: aliases and structures (named fields).
#[derive(Default)]
pub struct Types {
    aliases: BTreeMap<String, syn::Type>,
    structs: BTreeMap<String, Vec<(String, syn::Type)>>,
}

/// How an argument crosses from the driver to the shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Passed as is.
    Plain,
    /// A driver callback, adapted.
    Callback,
    /// A pointer to this structure with callbacks, copied and adapted.
    Config(String),
}

impl Types {
    /// Reads `src/abi/types.rs`'s text.
    ///
    /// # Errors
    /// It does not parse.
    pub fn parse(source: &str) -> Result<Types, String> {
        let file = syn::parse_file(source).map_err(|e| e.to_string())?;
        let mut t = Types::default();
        for item in file.items {
            match item {
                syn::Item::Type(a) => {
                    t.aliases.insert(a.ident.to_string(), *a.ty);
                }
                syn::Item::Struct(s) => {
                    if let syn::Fields::Named(named) = s.fields {
                        let fields =
                            named.named.into_iter().filter_map(|f| Some((f.ident?.to_string(), f.ty))).collect();
                        t.structs.insert(s.ident.to_string(), fields);
                    }
                }
                _ => {}
            }
        }
        Ok(t)
    }

    /// `ty` with its outer aliases resolved (at most 16 deep).
    fn resolve<'a>(&'a self, mut ty: &'a syn::Type) -> &'a syn::Type {
        for _ in 0..16 {
            let syn::Type::Path(p) = ty else { return ty };
            let Some(id) = p.path.get_ident() else { return ty };
            match self.aliases.get(&id.to_string()) {
                Some(next) => ty = next,
                None => return ty,
            }
        }
        ty
    }

    /// The callback's parameter count when `ty` is a callback type.
    fn callback_params(&self, ty: &syn::Type) -> Option<usize> {
        let syn::Type::Path(p) = self.resolve(ty) else { return None };
        let last = p.path.segments.last()?;
        if last.ident != "Option" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
        match args.args.first()? {
            syn::GenericArgument::Type(syn::Type::BareFn(f)) => Some(f.inputs.len()),
            _ => None,
        }
    }

    /// The structure `ty` names (through aliases), if it is one.
    fn structure(&self, ty: &syn::Type) -> Option<&str> {
        let syn::Type::Path(p) = self.resolve(ty) else { return None };
        let id = p.path.get_ident()?.to_string();
        self.structs.get_key_value(&id).map(|(k, _)| k.as_str())
    }

    /// Whether the structure `name` carries callbacks (itself or in a
    /// structure it contains; pointers are not followed: what they point to
    /// is passed as is); an error for what the table cannot adapt.
    fn has_callbacks(&self, name: &str, depth: usize) -> Result<bool, String> {
        if depth > 8 {
            return Ok(false);
        }
        let mut any = false;
        for (field, ty) in self.structs.get(name).into_iter().flatten() {
            if let Some(n) = self.callback_params(ty) {
                if n > MAX_CALLBACK_PARAMS {
                    return Err(format!("{name}.{field}: a callback with {n} parameters"));
                }
                any = true;
            } else if let Some(inner) = self.structure(ty) {
                any |= self.has_callbacks(inner, depth + 1)?;
            }
        }
        Ok(any)
    }

    /// Whether `name` is one of the framework's versioned input structures
    /// (its first field `Size`: WDF_DRIVER_CONFIG, WDF_OBJECT_ATTRIBUTES,
    /// WDF_IO_QUEUE_CONFIG, …), which the framework reads on entry. Other
    /// structures a routine takes by pointer (DRIVER_OBJECT, DEVICE_OBJECT)
    /// are objects whose address is their identity: passed as is; so is a
    /// `*const` one (`PCWDF_OBJECT_CONTEXT_TYPE_INFO`: the driver's static
    /// context type, whose address is the type's identity).
    fn versioned(&self, name: &str) -> bool {
        self.structs.get(name).and_then(|f| f.first()).is_some_and(|(field, _)| field == "Size")
    }

    /// How an argument of type `ty` (token text) is passed.
    ///
    /// # Errors
    /// What the table cannot adapt.
    pub fn kind(&self, ty: &str) -> Result<Kind, String> {
        let ty: syn::Type = syn::parse_str(ty).map_err(|e| format!("{ty}: {e}"))?;
        if let Some(n) = self.callback_params(&ty) {
            if n > MAX_CALLBACK_PARAMS {
                return Err(format!("a callback with {n} parameters"));
            }
            return Ok(Kind::Callback);
        }
        if let syn::Type::Ptr(p) = self.resolve(&ty)
            && p.mutability.is_some()
            && let Some(s) = self.structure(&p.elem)
            && self.versioned(s)
            && self.has_callbacks(s, 0)?
        {
            return Ok(Kind::Config(s.to_string()));
        }
        Ok(Kind::Plain)
    }

    /// The `callbacks!` line of structure `name`: its callback fields, then
    /// its contained structures with callbacks (`field: inner`).
    fn callbacks_line(&self, name: &str) -> (String, Vec<String>) {
        let mut direct = Vec::new();
        let mut nested = Vec::new();
        for (field, ty) in self.structs.get(name).into_iter().flatten() {
            if self.callback_params(ty).is_some() {
                direct.push(field.clone());
            } else if let Some(inner) = self.structure(ty)
                && self.has_callbacks(inner, 1).unwrap_or(false)
            {
                nested.push((field.clone(), inner.to_string()));
            }
        }
        let inner = nested.iter().map(|(_, s)| s.clone()).collect();
        let nested = nested.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
        (format!("    {name}: [{}] [{}];", direct.join(", "), nested.join(", ")), inner)
    }
}

/// The text of `table.rs` from the routine names (table order, `ddis` of
/// them DDIs), the shims and the types.
#[must_use]
pub fn generate(names: &[String], ddis: usize, shims: &BTreeMap<String, Shim>, types: &Types) -> (String, Counts) {
    let mut counts = Counts { ddis: 0, kernel: 0, left_out: 0 };
    let mut sections = [String::new(), String::new()];
    let mut left_out = String::new();
    let mut configs = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let Some(shim) = shims.get(name) else { continue };
        let ddi = i < ddis;
        let why = if shim.variadic {
            Err("C-variadic".to_string())
        } else {
            shim.params.iter().map(|p| types.kind(p)).collect::<Result<Vec<_>, _>>()
        };
        let kinds = match why {
            Ok(k) => k,
            Err(e) => {
                counts.left_out += 1;
                let _ = writeln!(left_out, "//! * `{name}`: {e}");
                continue;
            }
        };
        let args = shim
            .params
            .iter()
            .zip(&kinds)
            .enumerate()
            .map(|(j, (t, k))| {
                let mode = match k {
                    Kind::Plain => "Plain",
                    Kind::Callback => "Callback",
                    Kind::Config(s) => {
                        configs.insert(s.clone());
                        "Config"
                    }
                };
                format!("a{j}: {t} = {mode}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(sections[usize::from(!ddi)], "    {name}({args}) -> {} = {}::{name};", shim.ret, shim.module);
        if ddi {
            counts.ddis += 1;
        } else {
            counts.kernel += 1;
        }
    }
    // The structures contained in listed ones need their lines too.
    let mut lines = BTreeMap::new();
    let mut todo: Vec<String> = configs.into_iter().collect();
    while let Some(s) = todo.pop() {
        if lines.contains_key(&s) {
            continue;
        }
        let (line, inner) = types.callbacks_line(&s);
        lines.insert(s, line);
        todo.extend(inner);
    }
    let mut o = String::new();
    let w = &mut o;
    let _ =
        writeln!(w, "//! GENERATED by kmdf-sim/gen (the kmdf-sim-gen package) from the routine table ({DDI_TABLE},");
    let _ = writeln!(w, "//! {KERNEL_ROUTINES}), the surface's shims and {TYPES}; do not edit.");
    let _ = writeln!(w, "//! Regenerate: `cargo run -p kmdf-sim-gen -- write native`.");
    let _ = writeln!(w, "//!");
    let _ = writeln!(
        w,
        "//! A win64 entry point for each of the {} DDIs and {} kernel routines the surface implements,",
        counts.ddis, counts.kernel
    );
    let _ = writeln!(w, "//! calling the routine's shim (`a: T = Mode`: how the argument is passed, `super::adapt`).");
    if counts.left_out > 0 {
        let _ = writeln!(w, "//!");
        let _ = writeln!(
            w,
            "//! Implemented but not generated here (C-variadic ones: `super::dbgprint`; any other stays bound to a stub that stops the machine naming it):"
        );
        o.push_str(&left_out);
    }
    let w = &mut o;
    let _ = writeln!(w);
    let _ = writeln!(w, "use super::adapt::{{Callback, Config, Plain}};");
    let _ = writeln!(w, "use crate::abi::*;");
    let _ = writeln!(w, "use crate::surface::{{ddi, ntddk}};");
    let _ = writeln!(w);
    for (title, lookup, section) in [("DDIs", "ddi", &sections[0]), ("kernel routines", "kernel", &sections[1])] {
        let _ = writeln!(w, "// The {title}.");
        let _ = writeln!(w, "entry_points! {{ {lookup}:");
        w.push_str(section);
        let _ = writeln!(w, "}}");
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "// The structures with callbacks: `Name: [callback fields] [contained structures];`.");
    let _ = writeln!(w, "callbacks! {{");
    for line in lines.values() {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(w, "}}");
    (o, counts)
}

/// The file this checkout's inputs produce.
///
/// # Errors
/// An input unreadable or unparsable, or the routine tables' problems.
pub fn expected(kmdf_sim: &Path) -> Result<(String, Counts), String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let (ddi, overrides, kernel) =
        (read(&kmdf_sim.join(DDI_TABLE))?, read(&kmdf_sim.join(OVERRIDES))?, read(&kmdf_sim.join(KERNEL_ROUTINES))?);
    let rows = routine_rows(&ddi, &overrides, &kernel).map_err(|p| p.join("\n"))?;
    let ddis = ddi.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    let names: Vec<String> = rows.into_iter().map(|r| r.name).collect();
    let mut all = BTreeMap::new();
    for (f, module) in surface_sources(kmdf_sim)? {
        all.extend(shims(&read(&f)?, module).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    let types = Types::parse(&read(&kmdf_sim.join(TYPES))?).map_err(|e| format!("{TYPES}: {e}"))?;
    Ok(generate(&names, ddis, &all, &types))
}
