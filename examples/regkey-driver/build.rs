//! Build script: the WDK link configuration on Windows hosts, nothing
//! elsewhere (docs/windows-drivers-rs.md §2).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(windows)]
    wdk_build::configure_wdk_binary_build()?;
    Ok(())
}
