//! Build script of the driver package.
//!
//! `cfg(windows)` here is the host the build script runs on, which is also how Cargo
//! evaluates `[target.'cfg(windows)'.build-dependencies]`, so the two always agree
//! (windows-drivers-rs guide §2). On other hosts there is nothing to configure: the
//! driver's code is built against the simulator.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(windows)]
    wdk_build::configure_wdk_binary_build()?;
    Ok(())
}
