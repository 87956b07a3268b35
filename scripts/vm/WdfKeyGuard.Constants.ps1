# Generated from the Rust crates by tests/vm_scripts.rs; do not edit.
# Regenerate: UPDATE_VM_CONSTANTS=1 cargo test --test vm_scripts
$script:WdfKeyGuard = @{
    Version        = '0.1.0'
    PackageName    = 'wdfkey_guard'
    ServiceName    = 'wdfkey_guard'
    SysName        = 'wdfkey_guard.sys'
    InfName        = 'wdfkey_guard.inf'
    CatName        = 'wdfkey_guard.cat'
    CertName       = 'WDRLocalTestCert.cer'
    HardwareId     = 'Root\WdfKeyGuard'
    InterfaceGuid  = '6f1d6a34-3c5e-4b8e-9d0a-2f5b7c41e8d3'
    IoctlGetValue  = [uint32]0x00226000
    IoctlSetValue  = [uint32]0x0022A004
    IoctlDelete    = [uint32]0x0022A008
    IoctlEnum      = [uint32]0x0022600C
    IoctlGetStats  = [uint32]0x00222010
    StatsLength    = 20
    RegDword       = [uint32]4
    MinimumBuild   = 20348
    ResumeTaskName = 'wdfkey-guard-resume'
    VerifierRuleClasses = @(1, 2, 4, 5, 6, 8, 9, 12, 18, 34)
}
