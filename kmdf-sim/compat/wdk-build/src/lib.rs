//! `wdk-build` off Windows: a driver's `build.rs` runs unchanged.
//!
//! The configure functions succeed and configure nothing that needs the
//! WDK: no include or library paths, no link arguments. They do what a
//! driver's code can observe: declare the `driver_model__driver_type` cfg
//! (`cargo::rustc-check-cfg`) and set it from the driver's
//! `[package.metadata.wdk.driver-model]` (or the workspace's), as wdk-build
//! does on Windows.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration error (this stand-in reports only unreadable manifests).
#[derive(Debug)]
pub struct ConfigError {
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wdk-build (kmdf-sim stand-in): {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The driver model the manifest asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverConfig {
    /// WDM.
    Wdm,
    /// KMDF (version fields are read by the real crate; not needed here).
    Kmdf,
    /// UMDF.
    Umdf,
}

/// The build configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The driver model, if the manifest names one.
    pub driver_config: Option<DriverConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config { driver_config: Some(DriverConfig::Kmdf) }
    }
}

/// `driver-type = "..."` under a `[*.metadata.wdk.driver-model]` table.
fn driver_type_in(manifest: &Path) -> Result<Option<DriverConfig>, ConfigError> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| ConfigError { message: format!("cannot read {}: {e}", manifest.display()) })?;
    let mut in_table = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[package.metadata.wdk.driver-model]" || line == "[workspace.metadata.wdk.driver-model]";
            continue;
        }
        if in_table && let Some(value) = line.strip_prefix("driver-type") {
            let value = value.trim_start().trim_start_matches('=').trim().trim_matches('"');
            return Ok(match value {
                "WDM" => Some(DriverConfig::Wdm),
                "KMDF" => Some(DriverConfig::Kmdf),
                "UMDF" => Some(DriverConfig::Umdf),
                _ => None,
            });
        }
    }
    Ok(None)
}

impl Config {
    /// Reads the driver model from the package's manifest, then from the
    /// manifests above it (the workspace's), as the real `from_env_auto`
    /// reads Cargo metadata.
    pub fn from_env_auto() -> Result<Self, ConfigError> {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .ok_or_else(|| ConfigError { message: "CARGO_MANIFEST_DIR is not set (run from a build script)".into() })?;
        for d in dir.ancestors() {
            let manifest = d.join("Cargo.toml");
            if manifest.is_file()
                && let Some(model) = driver_type_in(&manifest)?
            {
                return Ok(Config { driver_config: Some(model) });
            }
        }
        Ok(Config { driver_config: None })
    }

    /// Declares the cfgs wdk-build sets, so `#[cfg(driver_model__driver_type = ...)]` is known.
    pub fn emit_check_cfg_settings() {
        println!("cargo::rustc-check-cfg=cfg(driver_model__driver_type, values(\"WDM\", \"KMDF\", \"UMDF\"))");
    }

    fn emit_cfg(&self) {
        Self::emit_check_cfg_settings();
        let value = match self.driver_config {
            Some(DriverConfig::Wdm) => "WDM",
            Some(DriverConfig::Kmdf) => "KMDF",
            Some(DriverConfig::Umdf) => "UMDF",
            None => return,
        };
        println!("cargo::rustc-cfg=driver_model__driver_type=\"{value}\"");
    }

    /// A driver binary's configuration: only the cfgs off Windows.
    pub fn configure_binary_build(&self) -> Result<(), ConfigError> {
        self.emit_cfg();
        Ok(())
    }

    /// A library's configuration: only the cfgs off Windows.
    pub fn configure_library_build(&self) -> Result<(), ConfigError> {
        self.emit_cfg();
        Ok(())
    }
}

/// `configure_wdk_binary_build`: succeeds; sets the driver-model cfg.
pub fn configure_wdk_binary_build() -> Result<(), ConfigError> {
    Config::from_env_auto()?.configure_binary_build()
}

/// `configure_wdk_library_build`: succeeds; sets the driver-model cfg.
pub fn configure_wdk_library_build() -> Result<(), ConfigError> {
    Config::from_env_auto()?.configure_library_build()
}

/// `configure_wdk_library_build_and_then`: configures, then calls `f`.
pub fn configure_wdk_library_build_and_then<F, E>(mut f: F) -> Result<(), E>
where
    F: FnMut(Config) -> Result<(), E>,
    E: From<ConfigError>,
{
    let config = Config::from_env_auto()?;
    config.configure_library_build()?;
    f(config)
}
