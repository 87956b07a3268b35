//! Report files: checked before a run starts (so a long run is never lost
//! to a path that cannot be written), written at its end.

use std::fs::OpenOptions;
use std::path::Path;

/// Checks that `path` can be written as a report file, without changing
/// anything there: a path that is a directory, a missing or non-directory
/// parent, or a file that cannot be opened for writing is refused with what
/// is wrong and what to do.
pub fn check_writable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err("the path is empty; give a file path, e.g. report.json".into());
    }
    if path.is_dir() {
        return Err(format!("{shown} is a directory; give a file path, e.g. {}", path.join("report.json").display()));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.exists() {
        return Err(format!(
            "directory {} does not exist; create it (mkdir -p {}) or give a path in an existing directory",
            parent.display(),
            parent.display()
        ));
    }
    if !parent.is_dir() {
        return Err(format!("{} is not a directory, so {shown} cannot be created in it", parent.display()));
    }
    if path.exists() {
        // Append mode: proves the file can be written without truncating
        // the report already there.
        OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| format!("cannot write {shown}: {e}; it exists and cannot be opened for writing"))
    } else {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| format!("cannot create {shown}: {e}; check that {} is writable", parent.display()))?;
        std::fs::remove_file(path).map_err(|e| format!("cannot remove the probe file {shown}: {e}"))
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("cannot encode the report: {e}"))?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}
