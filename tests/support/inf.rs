//! A reader and a checker for the driver's `.inx`: sections, directives and
//! `%string%` tokens, as stampinf and InfVerif see them (windows-drivers-rs
//! guide §6). Every finding names the line it is about.

use std::collections::BTreeMap;

/// One non-empty, comment-free line of a section.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The text left of the first `=` outside quotes, if any.
    pub key: Option<String>,
    /// The comma-separated values (of the right side, or of the whole line),
    /// trimmed, surrounding quotes removed.
    pub values: Vec<String>,
}

/// A `[name]` section and its entries.
#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// The parsed file.
#[derive(Debug, Default)]
pub struct Inf {
    pub sections: Vec<Section>,
    pub lines: usize,
}

/// Splits `text` at `sep` outside double quotes.
fn split_outside_quotes(text: &str, sep: char, limit: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted && parts.len() + 1 < limit {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(s).to_string()
}

impl Inf {
    /// Parses the file; a malformed line (text before the first section, an
    /// unterminated header, an unbalanced quote) is an error naming it.
    pub fn parse(text: &str) -> Result<Inf, String> {
        let mut inf = Inf::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            inf.lines = line;
            if !raw.is_ascii() {
                return Err(format!("line {line}: non-ASCII text (the INF is ASCII)"));
            }
            if raw.matches('"').count() % 2 != 0 {
                return Err(format!("line {line}: unbalanced quote"));
            }
            let code = split_outside_quotes(raw, ';', 2)[0].trim();
            if code.is_empty() {
                continue;
            }
            if let Some(rest) = code.strip_prefix('[') {
                let name = rest.strip_suffix(']').ok_or_else(|| format!("line {line}: section header without ']'"))?;
                inf.sections.push(Section { name: name.trim().to_string(), line, entries: Vec::new() });
                continue;
            }
            let section =
                inf.sections.last_mut().ok_or_else(|| format!("line {line}: text before the first section"))?;
            let parts = split_outside_quotes(code, '=', 2);
            let (key, right) = match parts.as_slice() {
                [key, right] => (Some(key.trim().to_string()), *right),
                _ => (None, code),
            };
            let values = split_outside_quotes(right, ',', usize::MAX).into_iter().map(unquote).collect();
            section.entries.push(Entry { line, key, values });
        }
        Ok(inf)
    }

    /// The section of that name (INF section names are case-insensitive).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The entries with that key in that section.
    pub fn directives(&self, section: &str, key: &str) -> Vec<&Entry> {
        self.section(section)
            .into_iter()
            .flat_map(|s| s.entries.iter())
            .filter(|e| e.key.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(key)))
            .collect()
    }

    /// The first directive with that key in that section.
    pub fn directive(&self, section: &str, key: &str) -> Option<&Entry> {
        self.directives(section, key).into_iter().next()
    }
}

/// What the INF must agree with: the package and the driver's constants.
pub struct Expected<'a> {
    /// The package's fs-name (`wdfkey_guard`): `.sys`, service and INF name.
    pub fs_name: &'a str,
    pub hardware_id: &'a str,
    pub sddl: &'a str,
    /// `(value name, default)` the driver reads from `Parameters`.
    pub parameters: &'a [(&'a str, u32)],
}

/// Setup classes reserved for Microsoft's samples (InfVerif 1284/1285).
const RESERVED_CLASS_GUIDS: &[&str] = &["{78A1C341-4539-11d3-B88D-00C04FAD5171}"];
/// DIRID 13 needs a TargetOSVersion decoration of at least this build (InfVerif 1199).
const DIRID13_MIN_BUILD: u32 = 16299;

/// Every finding of `text` against `expected`, each naming its line.
pub fn check(text: &str, expected: &Expected) -> Vec<String> {
    let inf = match Inf::parse(text) {
        Ok(inf) => inf,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let mut err = |line: usize, message: String| errors.push(format!("line {line}: {message}"));
    let end = inf.lines;
    for name in ["Version", "DestinationDirs", "SourceDisksNames", "SourceDisksFiles", "Manufacturer", "Strings"] {
        if inf.section(name).is_none() {
            err(end, format!("no [{name}] section in the file"));
        }
    }
    let version_line = inf.section("Version").map_or(end, |s| s.line);
    let version = |key: &str| inf.directive("Version", key);
    match version("Signature") {
        Some(e) if e.values.first().is_some_and(|v| v.eq_ignore_ascii_case("$WINDOWS NT$")) => {}
        Some(e) => err(e.line, "Signature must be \"$WINDOWS NT$\"".into()),
        None => err(version_line, "[Version] has no Signature".into()),
    }
    match version("Class") {
        Some(e) if e.values.first().is_some_and(|v| v.eq_ignore_ascii_case("Sample")) => {
            err(e.line, "Class = Sample is reserved for Microsoft (InfVerif 1284); use a real class".into())
        }
        Some(_) => {}
        None => err(version_line, "[Version] has no Class".into()),
    }
    match version("ClassGuid") {
        Some(e) if RESERVED_CLASS_GUIDS.iter().any(|g| e.values.first().is_some_and(|v| v.eq_ignore_ascii_case(g))) => {
            err(e.line, "ClassGuid is the reserved Sample class (InfVerif 1284)".into())
        }
        Some(_) => {}
        None => err(version_line, "[Version] has no ClassGuid".into()),
    }
    match version("Provider") {
        Some(e) if e.values.first().is_some_and(|v| !v.is_empty()) => {}
        Some(e) => err(e.line, "Provider is empty (InfVerif 1234)".into()),
        None => err(version_line, "[Version] has no Provider (InfVerif 1234)".into()),
    }
    match version("PnpLockdown") {
        Some(e) if e.values.first().is_some_and(|v| v == "1") => {}
        Some(e) => err(e.line, "PnpLockdown must be 1".into()),
        None => err(version_line, "[Version] has no PnpLockdown = 1".into()),
    }
    match inf.directive("DestinationDirs", "DefaultDestDir") {
        Some(e) if e.values.first().is_some_and(|v| v == "13") => {}
        Some(e) => err(e.line, "DefaultDestDir must be 13 (run from the Driver Store)".into()),
        None => err(inf.section("DestinationDirs").map_or(end, |s| s.line), "no DefaultDestDir = 13".into()),
    }

    let sys = format!("{}.sys", expected.fs_name);
    // Every .sys named anywhere is the package's.
    for section in &inf.sections {
        for e in &section.entries {
            for word in e.key.iter().chain(e.values.iter()) {
                let file = word.rsplit('\\').next().unwrap_or(word);
                if file.to_ascii_lowercase().ends_with(".sys") && !file.eq_ignore_ascii_case(&sys) {
                    err(e.line, format!("names {file}, but the package's binary is {sys}"));
                }
            }
        }
    }
    if !inf
        .section("SourceDisksFiles")
        .is_some_and(|s| s.entries.iter().any(|e| e.key.as_deref() == Some(sys.as_str())))
    {
        err(inf.section("SourceDisksFiles").map_or(end, |s| s.line), format!("[SourceDisksFiles] does not list {sys}"));
    }

    // Manufacturer -> models (per decoration) -> install sections.
    let mut install_sections = Vec::new();
    for m in inf.section("Manufacturer").into_iter().flat_map(|s| &s.entries) {
        let Some((models, decorations)) = m.values.split_first() else {
            err(m.line, "manufacturer entry without a models section".into());
            continue;
        };
        if decorations.is_empty() {
            err(m.line, "no TargetOSVersion decoration (DIRID 13 needs NT$ARCH$.10.0...16299 or later)".into());
        }
        for decoration in decorations {
            let build = decoration.rsplit('.').next().and_then(|b| b.parse::<u32>().ok());
            if !decoration.starts_with("NT$ARCH$") || build.is_none_or(|b| b < DIRID13_MIN_BUILD) {
                err(m.line, format!("decoration {decoration} must be NT$ARCH$.10.0...<build >= {DIRID13_MIN_BUILD}>"));
            }
            let name = format!("{models}.{decoration}");
            let Some(section) = inf.section(&name) else {
                err(m.line, format!("the decoration names [{name}], which does not exist"));
                continue;
            };
            for model in &section.entries {
                match model.values.as_slice() {
                    [install, ids @ ..] if !ids.is_empty() => {
                        if !ids.iter().any(|id| id.eq_ignore_ascii_case(expected.hardware_id)) {
                            err(
                                model.line,
                                format!("hardware ID {} is not the driver's {}", ids.join(", "), expected.hardware_id),
                            );
                        }
                        install_sections.push((install.clone(), model.line));
                    }
                    _ => err(model.line, "model line must be <description> = <install section>, <hardware ID>".into()),
                }
            }
        }
    }
    if install_sections.is_empty() {
        err(inf.section("Manufacturer").map_or(end, |s| s.line), "no model installs the device".into());
    }

    for (install, model_line) in &install_sections {
        // The install section carries a platform decoration; its .Services,
        // .Wdf and .HW sections must carry the same one.
        let Some(ddinstall) =
            ["NT", "NT$ARCH$"].iter().map(|d| format!("{install}.{d}")).find(|n| inf.section(n).is_some())
        else {
            err(*model_line, format!("no [{install}.NT] (or .NT$ARCH$) install section"));
            continue;
        };
        let ddinstall_line = inf.section(&ddinstall).map_or(end, |s| s.line);
        for suffix in ["Services", "Wdf", "HW"] {
            let wanted = format!("{ddinstall}.{suffix}");
            if inf.section(&wanted).is_none() {
                let other = inf.sections.iter().find(|s| {
                    s.name.to_ascii_lowercase().starts_with(&format!("{install}.").to_ascii_lowercase())
                        && s.name.to_ascii_lowercase().ends_with(&format!(".{suffix}").to_ascii_lowercase())
                });
                match other {
                    Some(o) => {
                        err(o.line, format!("[{}] does not match the install section's decoration: [{wanted}]", o.name))
                    }
                    None => err(ddinstall_line, format!("no [{wanted}] section")),
                }
            }
        }
        // Files.
        let copied = inf.directives(&ddinstall, "CopyFiles").into_iter().flat_map(|e| e.values.iter()).any(|list| {
            inf.section(list).is_some_and(|s| {
                s.entries.iter().any(|e| e.values.first().is_some_and(|v| v.eq_ignore_ascii_case(&sys)))
            })
        });
        if !copied {
            err(ddinstall_line, format!("CopyFiles does not copy {sys}"));
        }
        // Service.
        let services = format!("{ddinstall}.Services");
        let mut service_install = None;
        match inf.directive(&services, "AddService") {
            Some(e) => match e.values.as_slice() {
                [name, flags, section, ..] => {
                    if name != expected.fs_name {
                        err(e.line, format!("service {name} is not {} (the package's fs-name)", expected.fs_name));
                    }
                    if u32::from_str_radix(flags.trim_start_matches("0x"), 16).map_or(true, |f| f & 2 == 0) {
                        err(e.line, "AddService flags lack 0x00000002 (SPSVCINST_ASSOCSERVICE)".into());
                    }
                    service_install = Some((section.clone(), e.line));
                }
                _ => err(e.line, "AddService = <name>, 0x00000002, <service-install section>".into()),
            },
            None => err(inf.section(&services).map_or(ddinstall_line, |s| s.line), "no AddService".into()),
        }
        if let Some((section, line)) = service_install {
            match inf.section(&section) {
                None => err(line, format!("service-install section [{section}] does not exist")),
                Some(s) => {
                    for (key, value) in [("ServiceType", "1"), ("StartType", "3"), ("ErrorControl", "1")] {
                        match inf.directive(&section, key) {
                            Some(e) if e.values.first().is_some_and(|v| v == value) => {}
                            Some(e) => err(e.line, format!("{key} must be {value}")),
                            None => err(s.line, format!("[{section}] has no {key} = {value}")),
                        }
                    }
                    let binary = format!("%13%\\{sys}");
                    match inf.directive(&section, "ServiceBinary") {
                        Some(e) if e.values.first().is_some_and(|v| v.eq_ignore_ascii_case(&binary)) => {}
                        Some(e) => err(e.line, format!("ServiceBinary must be {binary}")),
                        None => err(s.line, format!("[{section}] has no ServiceBinary")),
                    }
                    check_parameters(&inf, &section, s.line, expected, &mut err);
                }
            }
        }
        // KMDF section.
        let wdf = format!("{ddinstall}.Wdf");
        if let Some(e) = inf.directive(&wdf, "KmdfService") {
            match e.values.as_slice() {
                [name, section] => {
                    if name != expected.fs_name {
                        err(e.line, format!("KmdfService {name} is not the service {}", expected.fs_name));
                    }
                    match inf.directive(section, "KmdfLibraryVersion") {
                        Some(v) if v.values.first().is_some_and(|x| x == "$KMDFVERSION$") => {}
                        Some(v) => err(v.line, "KmdfLibraryVersion must be $KMDFVERSION$ (stampinf -k 1.33)".into()),
                        None => err(e.line, format!("[{section}] has no KmdfLibraryVersion")),
                    }
                }
                _ => err(e.line, "KmdfService = <service>, <wdf section>".into()),
            }
        } else if let Some(s) = inf.section(&wdf) {
            err(s.line, "no KmdfService".into());
        }
        // Device security (F73).
        let hw = format!("{ddinstall}.HW");
        let secured = inf.directives(&hw, "AddReg").into_iter().flat_map(|e| e.values.iter()).any(|list| {
            inf.section(list).is_some_and(|s| {
                s.entries.iter().any(|e| {
                    matches!(e.values.as_slice(), [root, sub, name, _, sddl, ..]
                        if root.eq_ignore_ascii_case("HKR") && sub.is_empty()
                            && name.eq_ignore_ascii_case("Security") && sddl == expected.sddl)
                })
            })
        });
        if !secured {
            let line = inf.section(&hw).map_or(ddinstall_line, |s| s.line);
            err(line, format!("no security descriptor {} for the device (an AddReg in [{hw}], F73)", expected.sddl));
        }
    }

    // String tokens.
    let strings: BTreeMap<String, usize> = inf
        .section("Strings")
        .into_iter()
        .flat_map(|s| &s.entries)
        .filter_map(|e| e.key.as_ref().map(|k| (k.to_ascii_lowercase(), e.line)))
        .collect();
    for line_text in text.lines().enumerate() {
        let (i, raw) = line_text;
        let code = split_outside_quotes(raw, ';', 2)[0];
        let mut rest = code;
        while let Some(start) = rest.find('%') {
            let after = &rest[start + 1..];
            let Some(len) = after.find('%') else { break };
            let token = &after[..len];
            if !token.is_empty()
                && !token.chars().all(|c| c.is_ascii_digit())
                && !strings.contains_key(&token.to_ascii_lowercase())
            {
                err(i + 1, format!("%{token}% is not defined in [Strings]"));
            }
            rest = &after[len + 1..];
        }
    }
    errors
}

/// The service's `Parameters` defaults: provisioned, and equal to the driver's.
fn check_parameters(inf: &Inf, section: &str, line: usize, expected: &Expected, err: &mut impl FnMut(usize, String)) {
    let regs: Vec<&Entry> = inf
        .directives(section, "AddReg")
        .into_iter()
        .flat_map(|e| e.values.iter())
        .filter_map(|list| inf.section(list))
        .flat_map(|s| &s.entries)
        .collect();
    for (name, default) in expected.parameters {
        let found = regs.iter().find(|e| {
            matches!(e.values.as_slice(), [root, sub, n, ..]
                if root.eq_ignore_ascii_case("HKR") && sub.eq_ignore_ascii_case("Parameters") && n == name)
        });
        match found {
            None => err(line, format!("the service's AddReg does not provision Parameters\\{name}")),
            Some(e) => match e.values.as_slice() {
                [_, _, _, flags, value]
                    if flags.eq_ignore_ascii_case("0x00010001") && value.parse::<u32>() == Ok(*default) => {}
                _ => err(
                    e.line,
                    format!("Parameters\\{name} must be REG_DWORD (0x00010001) {default}, the driver's default"),
                ),
            },
        }
    }
}
