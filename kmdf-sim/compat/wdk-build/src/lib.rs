//! `wdk-build` off Windows: a driver's `build.rs` runs unchanged.
//!
//! What a driver's code can observe is done as wdk-build does it
//! (microsoft/windows-drivers-rs, `crates/wdk-build/src/lib.rs`,
//! `Config::from_env_auto`, `emit_cfg_settings`; `src/metadata/mod.rs`,
//! `TryFrom<&Metadata> for Wdk`): the build graph's `metadata.wdk` tables
//! — every package's `[package.metadata.wdk]` and the workspace's
//! `[workspace.metadata.wdk]`, read from `cargo metadata` — must name exactly
//! one driver model, and the crate whose build script configures the build
//! gets the `driver_model__driver_type` cfg (`"WDM"`, `"KMDF"` or `"UMDF"`)
//! with its `cargo::rustc-check-cfg` declaration. A binary build with no
//! configuration, or with two different ones, fails as it does there; a
//! library build with none only declares the cfg.
//!
//! What needs the WDK is not done: no include or library paths, no link
//! arguments, no check that the C runtime is linked statically; the functions
//! that return WDK paths fail with [`ConfigError::NoWdk`].
//!
//! One difference: wdk-build takes the top-level manifest from the first
//! ancestor of `OUT_DIR` holding a `Cargo.lock`, which assumes the target
//! directory lies inside the workspace. Test workspaces often keep it
//! elsewhere, so this crate looks first from the package's own directory
//! (`CARGO_MANIFEST_DIR`), then from `OUT_DIR`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

/// Why the build could not be configured. Its `Debug` is its message: a
/// build script's `fn main() -> Result<(), ConfigError>` prints it.
#[non_exhaustive]
pub enum ConfigError {
    /// `cargo metadata` could not run or its output was not understood.
    CargoMetadata(String),
    /// A `metadata.wdk` table is not a valid WDK configuration.
    WdkMetadata {
        /// Where the table is (`package NAME` or `workspace`).
        source: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No `metadata.wdk` table names a driver model in the build graph.
    NoWdkConfigurationsDetected,
    /// The build graph names more than one driver model.
    MultipleWdkConfigurationsDetected(Vec<DriverConfig>),
    /// The operation needs the Windows Driver Kit, which hosts that are not
    /// Windows do not have.
    NoWdk(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wdk-build (kmdf-sim stand-in): ")?;
        match self {
            Self::CargoMetadata(why) => write!(f, "cargo metadata failed: {why}"),
            Self::WdkMetadata { source, reason } => write!(f, "metadata.wdk of {source} is not valid: {reason}"),
            Self::NoWdkConfigurationsDetected => f.write_str(
                "no WDK configuration metadata is detected in the dependency graph; add \
                 [package.metadata.wdk.driver-model] (driver-type = \"KMDF\", \"UMDF\" or \"WDM\") to the \
                 driver's Cargo.toml or [workspace.metadata.wdk.driver-model] to its workspace's",
            ),
            Self::MultipleWdkConfigurationsDetected(configs) => write!(
                f,
                "multiple configurations of the WDK are detected across the dependency graph, but only one is \
                 allowed: {configs:?}"
            ),
            Self::NoWdk(what) => write!(f, "{what} needs the Windows Driver Kit, which this host does not have"),
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

/// The driver model and its framework version, as `metadata.wdk.driver-model` states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DriverConfig {
    /// Windows Driver Model.
    Wdm,
    /// Kernel Mode Driver Framework.
    Kmdf(KmdfConfig),
    /// User Mode Driver Framework.
    Umdf(UmdfConfig),
}

/// KMDF's version fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KmdfConfig {
    /// `kmdf-version-major`.
    pub kmdf_version_major: u8,
    /// `target-kmdf-version-minor`.
    pub target_kmdf_version_minor: u8,
    /// `minimum-kmdf-version-minor`, if stated.
    pub minimum_kmdf_version_minor: Option<u8>,
}

/// UMDF's version fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UmdfConfig {
    /// `umdf-version-major`.
    pub umdf_version_major: u8,
    /// `target-umdf-version-minor`.
    pub target_umdf_version_minor: u8,
    /// `minimum-umdf-version-minor`, if stated.
    pub minimum_umdf_version_minor: Option<u8>,
}

impl Default for KmdfConfig {
    /// KMDF 1.33, wdk-build's default.
    fn default() -> Self {
        Self { kmdf_version_major: 1, target_kmdf_version_minor: 33, minimum_kmdf_version_minor: None }
    }
}

impl KmdfConfig {
    /// KMDF 1.33, wdk-build's default.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl Default for UmdfConfig {
    /// UMDF 2.33, wdk-build's default.
    fn default() -> Self {
        Self { umdf_version_major: 2, target_umdf_version_minor: 33, minimum_umdf_version_minor: None }
    }
}

impl UmdfConfig {
    /// UMDF 2.33, wdk-build's default.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl DriverConfig {
    /// The value of the `driver_model__driver_type` cfg.
    #[must_use]
    pub const fn driver_type(&self) -> &'static str {
        match self {
            Self::Wdm => "WDM",
            Self::Kmdf(_) => "KMDF",
            Self::Umdf(_) => "UMDF",
        }
    }
}

/// The build configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The driver model of the build graph.
    pub driver_config: DriverConfig,
}

impl Default for Config {
    /// WDM, wdk-build's default.
    fn default() -> Self {
        Self { driver_config: DriverConfig::Wdm }
    }
}

/// The cfg wdk-build exports, with its values (`EXPORTED_CFG_SETTINGS` there).
const DRIVER_TYPE_CFG: &str = "driver_model__driver_type";

impl Config {
    /// The default configuration (WDM).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The configuration the build graph's `metadata.wdk` tables state.
    ///
    /// # Errors
    /// `cargo metadata` failed; a table is malformed; the graph has no
    /// configuration or more than one.
    pub fn from_env_auto() -> Result<Self, ConfigError> {
        let manifest = top_level_cargo_manifest()?;
        let metadata = cargo_metadata(&manifest)?;
        for path in manifest_paths(&metadata) {
            println!("cargo::rerun-if-changed={path}");
        }
        Ok(Self { driver_config: driver_config_of(&metadata)? })
    }

    /// Declares the cfg wdk-build may set, so `#[cfg(driver_model__driver_type = "...")]` is checked.
    pub fn emit_check_cfg_settings() {
        println!("cargo::rustc-check-cfg=cfg({DRIVER_TYPE_CFG}, values(\"WDM\", \"KMDF\", \"UMDF\"))");
    }

    fn emit_cfg_settings(&self) {
        Self::emit_check_cfg_settings();
        println!("cargo::rustc-cfg={DRIVER_TYPE_CFG}=\"{}\"", self.driver_config.driver_type());
    }

    /// A library's configuration: the driver-model cfg.
    ///
    /// # Errors
    /// None here; the signature is wdk-build's.
    pub fn configure_library_build(&self) -> Result<(), ConfigError> {
        self.emit_cfg_settings();
        Ok(())
    }

    /// A driver binary's configuration: the driver-model cfg (no link arguments).
    ///
    /// # Errors
    /// None here; the signature is wdk-build's.
    pub fn configure_binary_build(&self) -> Result<(), ConfigError> {
        self.emit_cfg_settings();
        Ok(())
    }

    /// The WDK's include directories.
    ///
    /// # Errors
    /// Always [`ConfigError::NoWdk`].
    pub fn include_paths(&self) -> Result<std::vec::IntoIter<PathBuf>, ConfigError> {
        Err(ConfigError::NoWdk("Config::include_paths"))
    }

    /// The WDK's library directories.
    ///
    /// # Errors
    /// Always [`ConfigError::NoWdk`].
    pub fn library_paths(&self) -> Result<std::vec::IntoIter<PathBuf>, ConfigError> {
        Err(ConfigError::NoWdk("Config::library_paths"))
    }
}

/// The manifest of the workspace being built: the first ancestor of the
/// package's directory, then of `OUT_DIR`, that holds a `Cargo.lock`.
///
/// # Panics
/// Outside a build script (neither variable is set), or when no ancestor
/// holds a `Cargo.lock`, as wdk-build panics.
#[must_use]
pub fn find_top_level_cargo_manifest() -> PathBuf {
    top_level_cargo_manifest().unwrap_or_else(|e| panic!("{e}"))
}

/// [`find_top_level_cargo_manifest`], failing with an error instead.
fn top_level_cargo_manifest() -> Result<PathBuf, ConfigError> {
    ["CARGO_MANIFEST_DIR", "OUT_DIR"]
        .into_iter()
        .filter_map(std::env::var_os)
        .find_map(|dir| PathBuf::from(dir).ancestors().find(|d| d.join("Cargo.lock").is_file()).map(Path::to_path_buf))
        .map(|root| root.join("Cargo.toml"))
        .ok_or(ConfigError::CargoMetadata(
            "no Cargo.lock above the package's directory or OUT_DIR, so no top-level manifest: run the build from \
             a workspace (Cargo writes Cargo.lock at its root) or keep the target directory inside it"
                .into(),
        ))
}

/// `cargo metadata` of the workspace, for the platform being built.
fn cargo_metadata(manifest: &Path) -> Result<Value, ConfigError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["metadata", "--format-version", "1", "--manifest-path"]).arg(manifest);
    if let Some(target) = std::env::var_os("TARGET") {
        command.arg("--filter-platform").arg(target);
    }
    if let Some(dir) = manifest.parent() {
        command.current_dir(dir);
    }
    let out = command.output().map_err(|e| ConfigError::CargoMetadata(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(ConfigError::CargoMetadata(format!(
            "{} for {}:\n{}",
            out.status,
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| ConfigError::CargoMetadata(format!("unreadable output: {e}")))
}

/// Every package manifest of the graph and the workspace's.
fn manifest_paths(metadata: &Value) -> BTreeSet<String> {
    let packages = metadata["packages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut paths: BTreeSet<String> =
        packages.iter().filter_map(|p| p["manifest_path"].as_str()).map(str::to_owned).collect();
    if let Some(root) = metadata["workspace_root"].as_str() {
        paths.insert(format!("{root}/Cargo.toml"));
    }
    paths
}

/// The one driver model of the graph: packages' tables (an empty one is
/// skipped, as a `[package.metadata.wdk]` header that defers to the
/// workspace is) and the workspace's.
fn driver_config_of(metadata: &Value) -> Result<DriverConfig, ConfigError> {
    let mut configs = BTreeSet::new();
    for package in metadata["packages"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let wdk = &package["metadata"]["wdk"];
        if wdk.is_null() || wdk.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        let source = format!("package {}", package["name"].as_str().unwrap_or("?"));
        configs.insert(parse_wdk(wdk).map_err(|reason| ConfigError::WdkMetadata { source, reason })?);
    }
    // `cargo metadata` prints `[workspace.metadata]` as the top-level `metadata`.
    let wdk = &metadata["metadata"]["wdk"];
    if !wdk.is_null() {
        configs.insert(
            parse_wdk(wdk).map_err(|reason| ConfigError::WdkMetadata { source: "the workspace".into(), reason })?,
        );
    }
    let mut configs: Vec<DriverConfig> = configs.into_iter().collect();
    match configs.len() {
        0 => Err(ConfigError::NoWdkConfigurationsDetected),
        1 => Ok(configs.remove(0)),
        _ => Err(ConfigError::MultipleWdkConfigurationsDetected(configs)),
    }
}

/// A `metadata.wdk` table: exactly `driver-model`, whose fields are those of
/// its `driver-type` (wdk-build denies unknown fields).
fn parse_wdk(wdk: &Value) -> Result<DriverConfig, String> {
    let table = wdk.as_object().ok_or("not a table")?;
    if let Some(key) = table.keys().find(|k| *k != "driver-model") {
        return Err(format!("unknown field `{key}` (expected `driver-model`)"));
    }
    let model = table.get("driver-model").ok_or("missing field `driver-model`")?;
    let model = model.as_object().ok_or("`driver-model` is not a table")?;
    let driver_type = model.get("driver-type").ok_or("missing field `driver-type`")?;
    let (allowed, config): (&[&str], DriverConfig) = match driver_type.as_str() {
        Some("WDM") => (&[], DriverConfig::Wdm),
        Some("KMDF") => {
            const KEYS: [&str; 3] = ["kmdf-version-major", "target-kmdf-version-minor", "minimum-kmdf-version-minor"];
            let (major, target, minimum) = framework_versions(model, KEYS)?;
            let config = KmdfConfig {
                kmdf_version_major: major,
                target_kmdf_version_minor: target,
                minimum_kmdf_version_minor: minimum,
            };
            (&KEYS, DriverConfig::Kmdf(config))
        }
        Some("UMDF") => {
            const KEYS: [&str; 3] = ["umdf-version-major", "target-umdf-version-minor", "minimum-umdf-version-minor"];
            let (major, target, minimum) = framework_versions(model, KEYS)?;
            let config = UmdfConfig {
                umdf_version_major: major,
                target_umdf_version_minor: target,
                minimum_umdf_version_minor: minimum,
            };
            (&KEYS, DriverConfig::Umdf(config))
        }
        _ => return Err(format!("driver-type {driver_type} is not one of \"WDM\", \"KMDF\", \"UMDF\"")),
    };
    match model.keys().find(|k| *k != "driver-type" && !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("unknown field `{key}` for driver-type {driver_type}")),
        None => Ok(config),
    }
}

/// A framework's major, target minor and optional minimum minor version,
/// under `keys` in that order; the first two are required.
fn framework_versions(model: &Map<String, Value>, keys: [&str; 3]) -> Result<(u8, u8, Option<u8>), String> {
    let required = |key: &str| version_field(model, key)?.ok_or(format!("missing field `{key}`"));
    Ok((required(keys[0])?, required(keys[1])?, version_field(model, keys[2])?))
}

/// An optional `u8` field of a driver-model table.
fn version_field(model: &Map<String, Value>, key: &str) -> Result<Option<u8>, String> {
    match model.get(key) {
        None => Ok(None),
        Some(v) => v.as_u64().and_then(|n| u8::try_from(n).ok()).map(Some).ok_or(format!("`{key}` = {v} is not a u8")),
    }
}

/// `configure_wdk_binary_build`: the driver-model cfg of the graph's one configuration.
///
/// # Errors
/// As [`Config::from_env_auto`].
pub fn configure_wdk_binary_build() -> Result<(), ConfigError> {
    Config::from_env_auto()?.configure_binary_build()
}

/// `configure_wdk_library_build`: as the binary build, but a graph with no
/// configuration only declares the cfg (a library built on its own).
///
/// # Errors
/// As [`Config::from_env_auto`], except for a graph with no configuration.
pub fn configure_wdk_library_build() -> Result<(), ConfigError> {
    configure_wdk_library_build_and_then(|_| Ok::<(), ConfigError>(()))
}

/// `configure_wdk_library_build_and_then`: configures, then calls `f` with
/// the configuration (not called when the graph has none).
///
/// # Errors
/// As [`configure_wdk_library_build`], or `f`'s error.
pub fn configure_wdk_library_build_and_then<F, E>(mut f: F) -> Result<(), E>
where
    F: FnMut(Config) -> Result<(), E>,
    E: From<ConfigError>,
{
    match Config::from_env_auto() {
        Ok(config) => {
            config.configure_library_build()?;
            f(config)
        }
        Err(ConfigError::NoWdkConfigurationsDetected) => {
            Config::emit_check_cfg_settings();
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

/// `detect_wdk_build_number`.
///
/// # Errors
/// Always [`ConfigError::NoWdk`].
pub fn detect_wdk_build_number() -> Result<u32, ConfigError> {
    Err(ConfigError::NoWdk("detect_wdk_build_number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn graph(packages: Value, workspace: Value) -> Value {
        json!({ "packages": packages, "metadata": workspace })
    }

    const KMDF_1_33: DriverConfig = DriverConfig::Kmdf(KmdfConfig {
        kmdf_version_major: 1,
        target_kmdf_version_minor: 33,
        minimum_kmdf_version_minor: None,
    });

    #[test]
    fn a_package_table_names_the_model() {
        let kmdf = json!({"wdk": {"driver-model": {"driver-type": "KMDF", "kmdf-version-major": 1, "target-kmdf-version-minor": 33}}});
        let g = graph(json!([{"name": "drv", "metadata": kmdf}, {"name": "dep", "metadata": null}]), Value::Null);
        assert_eq!(driver_config_of(&g).unwrap(), KMDF_1_33);
    }

    #[test]
    fn an_empty_package_table_defers_to_the_workspace() {
        let ws = json!({"wdk": {"driver-model": {"driver-type": "WDM"}}});
        let g = graph(json!([{"name": "drv", "metadata": {"wdk": {}}}]), ws);
        assert_eq!(driver_config_of(&g).unwrap(), DriverConfig::Wdm);
    }

    #[test]
    fn no_table_and_two_different_tables_are_errors() {
        let none = graph(json!([{"name": "drv", "metadata": null}]), Value::Null);
        assert!(matches!(driver_config_of(&none), Err(ConfigError::NoWdkConfigurationsDetected)));
        let wdm = json!({"wdk": {"driver-model": {"driver-type": "WDM"}}});
        let kmdf = json!({"wdk": {"driver-model": {"driver-type": "KMDF", "kmdf-version-major": 1, "target-kmdf-version-minor": 33}}});
        let two = graph(json!([{"name": "a", "metadata": wdm}]), kmdf);
        assert!(
            matches!(driver_config_of(&two), Err(ConfigError::MultipleWdkConfigurationsDetected(v)) if v.len() == 2)
        );
    }

    #[test]
    fn the_same_table_twice_is_one_configuration() {
        let wdm = json!({"wdk": {"driver-model": {"driver-type": "WDM"}}});
        let g = graph(json!([{"name": "a", "metadata": wdm}, {"name": "b", "metadata": wdm}]), wdm.clone());
        assert_eq!(driver_config_of(&g).unwrap(), DriverConfig::Wdm);
    }

    #[test]
    fn malformed_tables_are_refused_with_the_field() {
        for (model, expect) in [
            (json!({"driver-type": "KMDF", "kmdf-version-major": 1}), "target-kmdf-version-minor"),
            (json!({"driver-type": "WDM", "kmdf-version-major": 1}), "unknown field `kmdf-version-major`"),
            (json!({"driver-type": "KMDF", "kmdf-version-major": 300, "target-kmdf-version-minor": 1}), "not a u8"),
            (json!({"driver-type": "NDIS"}), "is not one of"),
        ] {
            let g = graph(json!([{"name": "drv", "metadata": {"wdk": {"driver-model": model}}}]), Value::Null);
            let err = driver_config_of(&g).unwrap_err().to_string();
            assert!(err.contains("package drv") && err.contains(expect), "{err}");
        }
        let g = graph(json!([]), json!({"wdk": {"driver-model": {"driver-type": "WDM"}, "extra": 1}}));
        assert!(driver_config_of(&g).unwrap_err().to_string().contains("unknown field `extra`"));
    }
}
