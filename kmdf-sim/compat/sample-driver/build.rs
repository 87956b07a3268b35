//! As every windows-drivers-rs driver: let wdk-build configure the build.

fn main() -> Result<(), wdk_build::ConfigError> {
    wdk_build::configure_wdk_binary_build()
}
