# Helpers of Invoke-WdfKeyGuardTest.ps1 (Windows PowerShell 5.1, elevated).
#
# Every external command line here is one docs/facts.md documents (the fact id
# is beside it); tests/vm_scripts.rs checks that on every commit. Tool output
# is never parsed (it is localized): exit codes, CIM, Get-PnpDevice and the
# event log's XML are.

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'WdfKeyGuard.Constants.ps1')

function Get-WdfKeyGuardConstant {
    <#
    .SYNOPSIS
    The names and codes shared with the Rust crates (WdfKeyGuard.Constants.ps1).
    #>
    [CmdletBinding()]
    param()
    return $script:WdfKeyGuard
}

function Test-WdfKeyGuardElevation {
    <#
    .SYNOPSIS
    True when the current process runs as an Administrator.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param()
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object Security.Principal.WindowsPrincipal($identity)
    return $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

function New-WdfKeyGuardCheck {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][string]$Name,
        [Parameter(Mandatory)][bool]$Passed,
        [Parameter(Mandatory)][string]$Message
    )
    return [pscustomobject]@{ Name = $Name; Passed = $Passed; Message = $Message }
}

function Get-WdfKeyGuardPreflight {
    <#
    .SYNOPSIS
    Checks the machine and the package before anything is changed; returns
    one object per check (Name, Passed, Message saying what to do).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][string]$PackageDir)
    $c = $script:WdfKeyGuard
    $checks = New-Object System.Collections.Generic.List[object]

    $elevated = Test-WdfKeyGuardElevation
    $checks.Add((New-WdfKeyGuardCheck -Name 'elevated' -Passed $elevated -Message $(if ($elevated) { 'running as Administrator' } else { 'run PowerShell as Administrator (right-click, Run as administrator)' })))

    $build = [int](Get-CimInstance -ClassName Win32_OperatingSystem).BuildNumber
    $buildOk = $build -ge $c.MinimumBuild
    $checks.Add((New-WdfKeyGuardCheck -Name 'os-build' -Passed $buildOk -Message $(if ($buildOk) { "build $build" } else { "build ${build}: KMDF 1.33 needs Windows 11 / Server 2022 (build $($c.MinimumBuild)) or later (F75); use a newer VM image" })))

    # ASSUMPTION: the kernel's boot options string lists TESTSIGNING when
    # `bcdedit /set testsigning on` is in effect (read, not parsed from bcdedit's localized output).
    $options = (Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control' -Name SystemStartOptions -ErrorAction SilentlyContinue).SystemStartOptions
    $testSigning = ($null -ne $options) -and ($options -match '\bTESTSIGNING\b')
    $checks.Add((New-WdfKeyGuardCheck -Name 'test-signing' -Passed $testSigning -Message $(if ($testSigning) { 'test signing is on' } else { 'test signing is off: run `bcdedit /set testsigning on` elevated and restart (F58)' })))

    $secureBoot = $null
    try { $secureBoot = Confirm-SecureBootUEFI } catch { $secureBoot = $null }
    $sbOk = $secureBoot -ne $true
    $sbText = if ($secureBoot -eq $true) { 'Secure Boot is on: turn it off in the VM firmware settings, then enable test signing (F58)' } elseif ($null -eq $secureBoot) { 'Secure Boot state unavailable (BIOS firmware or no permission): not blocking' } else { 'Secure Boot is off' }
    $checks.Add((New-WdfKeyGuardCheck -Name 'secure-boot' -Passed $sbOk -Message $sbText))

    # F59: CrashDumpEnabled 0 = no dump; DumpFile / MinidumpDir say where dumps go.
    $crash = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl' -ErrorAction SilentlyContinue
    $dumpOk = ($null -ne $crash) -and ($crash.CrashDumpEnabled -ne 0)
    $dumpText = if ($dumpOk) { "dumps on (type $($crash.CrashDumpEnabled)): $($crash.DumpFile), small dumps in $($crash.MinidumpDir)" } else { 'crash dumps are off: System Properties > Advanced > Startup and Recovery > Write debugging information (F59)' }
    $checks.Add((New-WdfKeyGuardCheck -Name 'crash-dumps' -Passed $dumpOk -Message $dumpText))

    foreach ($file in @($c.SysName, $c.InfName, $c.CatName, $c.CertName)) {
        $path = Join-Path $PackageDir $file
        $present = Test-Path -LiteralPath $path -PathType Leaf
        $checks.Add((New-WdfKeyGuardCheck -Name "package:$file" -Passed $present -Message $(if ($present) { $path } else { "missing ${path}: build the package with ``cargo make`` and pass its folder (target\debug\$($c.PackageName)_package)" })))
    }
    foreach ($file in @($c.SysName, $c.CatName)) {
        $path = Join-Path $PackageDir $file
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $sig = Get-AuthenticodeSignature -FilePath $path
            $signed = $null -ne $sig.SignerCertificate
            $checks.Add((New-WdfKeyGuardCheck -Name "signed:$file" -Passed $signed -Message $(if ($signed) { "signed by $($sig.SignerCertificate.Subject) ($($sig.Status))" } else { "$path carries no signature: the cargo make flow test-signs it; rebuild the package" })))
        }
    }
    return $checks
}

function Find-WdfKeyGuardDevcon {
    <#
    .SYNOPSIS
    The path of devcon.exe (PATH, then the WDK Tools folder), or $null.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param()
    $cmd = Get-Command -Name 'devcon.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -ne $cmd) { return $cmd.Source }
    $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\Tools'
    if (Test-Path -LiteralPath $kits) {
        $found = Get-ChildItem -LiteralPath $kits -Recurse -Filter 'devcon.exe' -ErrorAction SilentlyContinue |
            Where-Object { $_.FullName -match '\\x64\\' } | Sort-Object FullName -Descending | Select-Object -First 1
        if ($null -ne $found) { return $found.FullName }
    }
    return $null
}

function Get-WdfKeyGuardDevice {
    <#
    .SYNOPSIS
    The present devices whose hardware IDs include the driver's (CIM Win32_PnPEntity).
    #>
    [CmdletBinding()]
    param()
    $hwid = $script:WdfKeyGuard.HardwareId
    return @(Get-PnpDevice -PresentOnly -ErrorAction SilentlyContinue | Where-Object { $null -ne $_.HardwareID -and ($_.HardwareID -contains $hwid) })
}

$script:SetupApiSource = @'
using System;
using System.Runtime.InteropServices;
using System.Text;

// What `devcon install` does (docs/facts.md F71), for machines without devcon.
public static class WdfKeyGuardSetupApi {
    const int DICD_GENERATE_ID = 0x1;
    const int SPDRP_HARDWAREID = 0x1;
    const int DIF_REGISTERDEVICE = 0x19;
    const int INSTALLFLAG_FORCE = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    struct SP_DEVINFO_DATA { public int cbSize; public Guid ClassGuid; public int DevInst; public IntPtr Reserved; }

    [DllImport("setupapi.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool SetupDiGetINFClass(string InfName, out Guid ClassGuid, StringBuilder ClassName, int ClassNameSize, out int RequiredSize);
    [DllImport("setupapi.dll", SetLastError = true)]
    static extern IntPtr SetupDiCreateDeviceInfoList(ref Guid ClassGuid, IntPtr hwndParent);
    [DllImport("setupapi.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool SetupDiCreateDeviceInfo(IntPtr DeviceInfoSet, string DeviceName, ref Guid ClassGuid, string DeviceDescription, IntPtr hwndParent, int CreationFlags, ref SP_DEVINFO_DATA DeviceInfoData);
    [DllImport("setupapi.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool SetupDiSetDeviceRegistryProperty(IntPtr DeviceInfoSet, ref SP_DEVINFO_DATA DeviceInfoData, int Property, byte[] PropertyBuffer, int PropertyBufferSize);
    [DllImport("setupapi.dll", SetLastError = true)]
    static extern bool SetupDiCallClassInstaller(int InstallFunction, IntPtr DeviceInfoSet, ref SP_DEVINFO_DATA DeviceInfoData);
    [DllImport("setupapi.dll", SetLastError = true)]
    static extern bool SetupDiDestroyDeviceInfoList(IntPtr DeviceInfoSet);
    [DllImport("newdev.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool UpdateDriverForPlugAndPlayDevices(IntPtr hwndParent, string HardwareId, string FullInfPath, int InstallFlags, out bool bRebootRequired);

    // Returns true when a reboot is required.
    public static bool CreateRootDevice(string fullInfPath, string hardwareId) {
        Guid classGuid;
        StringBuilder className = new StringBuilder(256);
        int required;
        if (!SetupDiGetINFClass(fullInfPath, out classGuid, className, className.Capacity, out required))
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error(), "SetupDiGetINFClass");
        IntPtr set = SetupDiCreateDeviceInfoList(ref classGuid, IntPtr.Zero);
        if (set == new IntPtr(-1))
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCreateDeviceInfoList");
        try {
            SP_DEVINFO_DATA data = new SP_DEVINFO_DATA();
            data.cbSize = Marshal.SizeOf(typeof(SP_DEVINFO_DATA));
            if (!SetupDiCreateDeviceInfo(set, className.ToString(), ref classGuid, null, IntPtr.Zero, DICD_GENERATE_ID, ref data))
                throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCreateDeviceInfo");
            // REG_MULTI_SZ: the ID, then two NULs.
            byte[] ids = Encoding.Unicode.GetBytes(hardwareId + "\0\0");
            if (!SetupDiSetDeviceRegistryProperty(set, ref data, SPDRP_HARDWAREID, ids, ids.Length))
                throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error(), "SetupDiSetDeviceRegistryProperty");
            if (!SetupDiCallClassInstaller(DIF_REGISTERDEVICE, set, ref data))
                throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCallClassInstaller(DIF_REGISTERDEVICE)");
        } finally {
            SetupDiDestroyDeviceInfoList(set);
        }
        bool reboot;
        if (!UpdateDriverForPlugAndPlayDevices(IntPtr.Zero, hardwareId, fullInfPath, INSTALLFLAG_FORCE, out reboot))
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error(), "UpdateDriverForPlugAndPlayDevices");
        return reboot;
    }
}
'@

function New-WdfKeyGuardDevice {
    <#
    .SYNOPSIS
    Creates the root-enumerated device with devcon when given, else in-box
    through SetupAPI (F71). Not idempotent by itself: callers check
    Get-WdfKeyGuardDevice first (each call creates another devnode, F57).
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)][string]$InfPath,
        [string]$Devcon
    )
    $hwid = $script:WdfKeyGuard.HardwareId
    $full = (Resolve-Path -LiteralPath $InfPath).ProviderPath
    if (-not $PSCmdlet.ShouldProcess($hwid, "create a root-enumerated device from $full")) { return }
    if ($Devcon) {
        & $Devcon install $full $hwid   # F57: devcon install <INF> <HardwareID>
        if ($LASTEXITCODE -ne 0) { throw "devcon install failed with exit code $LASTEXITCODE" }
        return
    }
    if ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
        throw 'run 64-bit PowerShell: UpdateDriverForPlugAndPlayDevices fails in a 32-bit process on 64-bit Windows (F71)'
    }
    if (-not ('WdfKeyGuardSetupApi' -as [type])) { Add-Type -TypeDefinition $script:SetupApiSource -Language CSharp }
    $reboot = [WdfKeyGuardSetupApi]::CreateRootDevice($full, $hwid)
    if ($reboot) { Write-Warning 'Windows asks for a reboot to finish installing the device' }
}

function Wait-WdfKeyGuardDeviceStarted {
    <#
    .SYNOPSIS
    Waits until one device with the driver's hardware ID is present and
    started (Status OK, problem code 0); returns it, or throws with its
    status and problem code.
    #>
    [CmdletBinding()]
    param([int]$TimeoutSeconds = 60)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    do {
        $devices = @(Get-WdfKeyGuardDevice)
        if ($devices.Count -ge 1) {
            $device = $devices[0]
            $entity = Get-CimInstance -ClassName Win32_PnPEntity -Filter ("DeviceID='{0}'" -f ($device.InstanceId -replace '\\', '\\')) -ErrorAction SilentlyContinue
            $problem = if ($null -ne $entity) { [int]$entity.ConfigManagerErrorCode } else { -1 }
            if ($device.Status -eq 'OK' -and $problem -eq 0) { return $device }
        }
        Start-Sleep -Milliseconds 500
    } while ((Get-Date) -lt $deadline)
    $state = if ($devices.Count -ge 1) { "status $($devices[0].Status), problem code $problem" } else { 'no device with the hardware ID' }
    throw "the device did not start within $TimeoutSeconds s ($state); see %windir%\INF\setupapi.dev.log"
}

function Install-WdfKeyGuardPackage {
    <#
    .SYNOPSIS
    Trusts the package's test certificate, adds and installs the driver
    package, creates the device only if none exists, waits for it to start.
    Safe to run again.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)][string]$PackageDir,
        [string]$Devcon
    )
    $c = $script:WdfKeyGuard
    $cert = Join-Path $PackageDir $c.CertName
    foreach ($store in @('Root', 'TrustedPublisher')) {
        if ($PSCmdlet.ShouldProcess("Cert:\LocalMachine\$store", "import $cert")) {
            Import-Certificate -FilePath $cert -CertStoreLocation "Cert:\LocalMachine\$store" | Out-Null
        }
    }
    $inf = Join-Path $PackageDir $c.InfName
    if ($PSCmdlet.ShouldProcess($inf, 'pnputil /add-driver /install')) {
        & pnputil.exe /add-driver $inf /install   # F56
        # ASSUMPTION: pnputil returns 0 on success and 3010 when a reboot completes the install.
        if ($LASTEXITCODE -ne 0 -and $LASTEXITCODE -ne 3010) { throw "pnputil /add-driver failed with exit code $LASTEXITCODE" }
    }
    if (@(Get-WdfKeyGuardDevice).Count -eq 0) {
        New-WdfKeyGuardDevice -InfPath $inf -Devcon $Devcon -WhatIf:$WhatIfPreference
    }
    if ($WhatIfPreference) { return $null }
    return Wait-WdfKeyGuardDeviceStarted
}

function Enable-WdfKeyGuardVerifier {
    <#
    .SYNOPSIS
    Driver Verifier on the driver and wdf01000.sys with the standard rule
    classes (special pool, IRQL, pool tracking, I/O, deadlock, DMA, security,
    miscellaneous, DDI compliance, WDF) and the KMDF verifier values.
    Returns $true when a reboot is needed for the settings to take effect.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([bool])]
    param()
    $c = $script:WdfKeyGuard
    $wdf = "HKLM:\SYSTEM\CurrentControlSet\Services\$($c.ServiceName)\Parameters\Wdf"
    if ($PSCmdlet.ShouldProcess($wdf, 'set VerifierOn = 1, TrackHandles = WDFKEY (F52)')) {
        New-Item -Path $wdf -Force | Out-Null
        New-ItemProperty -Path $wdf -Name 'VerifierOn' -PropertyType DWord -Value 1 -Force | Out-Null
        New-ItemProperty -Path $wdf -Name 'TrackHandles' -PropertyType MultiString -Value @('WDFKEY') -Force | Out-Null
    }
    $classes = @($c.VerifierRuleClasses)   # the one list of diag/src/verifier.rs
    if (-not $PSCmdlet.ShouldProcess("$($c.SysName) wdf01000.sys", "verifier /rc $($classes -join ' ')")) { return $false }
    & verifier.exe /rc $classes /driver $c.SysName wdf01000.sys   # F48, F70
    switch ($LASTEXITCODE) {
        0 { return $false }
        2 { return $true }   # F48: 2 = reboot needed
        default { throw "verifier /rc failed with exit code $LASTEXITCODE" }
    }
}

function Disable-WdfKeyGuardVerifier {
    <#
    .SYNOPSIS
    verifier /reset and the KMDF verifier values removed. Takes effect after a reboot.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param()
    $c = $script:WdfKeyGuard
    if ($PSCmdlet.ShouldProcess('Driver Verifier', 'verifier /reset')) {
        & verifier.exe /reset   # F48
        if ($LASTEXITCODE -ne 0 -and $LASTEXITCODE -ne 2) { throw "verifier /reset failed with exit code $LASTEXITCODE" }
    }
    $wdf = "HKLM:\SYSTEM\CurrentControlSet\Services\$($c.ServiceName)\Parameters\Wdf"
    if ((Test-Path -LiteralPath $wdf) -and $PSCmdlet.ShouldProcess($wdf, 'remove the KMDF verifier values')) {
        Remove-Item -LiteralPath $wdf -Recurse -Force
    }
}

function Get-WdfKeyGuardVerifierEvidence {
    <#
    .SYNOPSIS
    `verifier /query` output as evidence for the report (kept as text, not parsed: it is localized).
    #>
    [CmdletBinding()]
    param()
    $text = & verifier.exe /query 2>&1 | Out-String   # F48
    return $text.Trim()
}

function Invoke-WdfKeyGuardDeviceChange {
    <#
    .SYNOPSIS
    Disables, enables, restarts or removes the device by instance ID with
    devcon (F57) or pnputil (F56/F57).
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)][ValidateSet('disable', 'enable', 'restart', 'remove')][string]$Action,
        [Parameter(Mandatory)][string]$InstanceId,
        [string]$Devcon
    )
    if (-not $PSCmdlet.ShouldProcess($InstanceId, $Action)) { return }
    if ($Devcon) {
        $target = "@$InstanceId"
        switch ($Action) {
            'disable' { & $Devcon disable $target }
            'enable' { & $Devcon enable $target }
            'restart' { & $Devcon restart $target }
            'remove' { & $Devcon remove $target }
        }
    } else {
        switch ($Action) {
            'disable' { & pnputil.exe /disable-device $InstanceId }
            'enable' { & pnputil.exe /enable-device $InstanceId }
            'restart' { & pnputil.exe /restart-device $InstanceId }
            'remove' { & pnputil.exe /remove-device $InstanceId }
        }
    }
    # ASSUMPTION: both tools return 0 on success (devcon's sample source exits 0 on success, pnputil 3010 asks for a reboot).
    if ($LASTEXITCODE -ne 0) { throw "$Action of $InstanceId failed with exit code $LASTEXITCODE" }
}

$script:IoClientSource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

// A user-mode client of the driver's IOCTLs (the wire format of wdfkey_guard::wire).
public static class WdfKeyGuardClient {
    const uint GENERIC_READ = 0x80000000, GENERIC_WRITE = 0x40000000, OPEN_EXISTING = 3;
    const int CR_SUCCESS = 0, CM_GET_DEVICE_INTERFACE_LIST_PRESENT = 0;

    [DllImport("cfgmgr32.dll", CharSet = CharSet.Unicode)]
    static extern int CM_Get_Device_Interface_List_Size(out int Len, ref Guid InterfaceClassGuid, string DeviceID, int Flags);
    [DllImport("cfgmgr32.dll", CharSet = CharSet.Unicode)]
    static extern int CM_Get_Device_Interface_List(ref Guid InterfaceClassGuid, string DeviceID, [Out] char[] Buffer, int BufferLen, int Flags);
    [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern SafeFileHandle CreateFile(string Name, uint Access, uint Share, IntPtr Security, uint Disposition, uint Flags, IntPtr Template);
    [DllImport("kernel32.dll", SetLastError = true)]
    static extern bool DeviceIoControl(SafeFileHandle Device, uint Code, byte[] In, int InLen, byte[] Out, int OutLen, out int Returned, IntPtr Overlapped);

    public static string InterfacePath(Guid iface) {
        int len;
        if (CM_Get_Device_Interface_List_Size(out len, ref iface, null, CM_GET_DEVICE_INTERFACE_LIST_PRESENT) != CR_SUCCESS || len <= 1)
            return null;
        char[] buf = new char[len];
        if (CM_Get_Device_Interface_List(ref iface, null, buf, len, CM_GET_DEVICE_INTERFACE_LIST_PRESENT) != CR_SUCCESS)
            return null;
        string first = new string(buf).Split('\0')[0];
        return first.Length == 0 ? null : first;
    }

    public static byte[] Control(string path, uint code, byte[] input, int outLen) {
        using (SafeFileHandle h = CreateFile(path, GENERIC_READ | GENERIC_WRITE, 0, IntPtr.Zero, OPEN_EXISTING, 0, IntPtr.Zero)) {
            if (h.IsInvalid) throw new Win32Exception(Marshal.GetLastWin32Error(), "CreateFile " + path);
            byte[] output = new byte[outLen];
            int returned;
            if (!DeviceIoControl(h, code, input, input == null ? 0 : input.Length, output, outLen, out returned, IntPtr.Zero))
                throw new Win32Exception(Marshal.GetLastWin32Error(), "DeviceIoControl 0x" + code.ToString("X8"));
            Array.Resize(ref output, returned);
            return output;
        }
    }

    // name_units: u16, 0: u16, type: u32, len: u32, name (UTF-16), data
    public static byte[] SetRequest(string name, uint type, byte[] data) {
        byte[] n = System.Text.Encoding.Unicode.GetBytes(name);
        byte[] r = new byte[12 + n.Length + data.Length];
        BitConverter.GetBytes((ushort)name.Length).CopyTo(r, 0);
        BitConverter.GetBytes(type).CopyTo(r, 4);
        BitConverter.GetBytes((uint)data.Length).CopyTo(r, 8);
        n.CopyTo(r, 12);
        data.CopyTo(r, 12 + n.Length);
        return r;
    }

    // name_units: u16, 0: u16, name (UTF-16)
    public static byte[] NameRequest(string name) {
        byte[] n = System.Text.Encoding.Unicode.GetBytes(name);
        byte[] r = new byte[4 + n.Length];
        BitConverter.GetBytes((ushort)name.Length).CopyTo(r, 0);
        n.CopyTo(r, 4);
        return r;
    }
}
'@

function Invoke-WdfKeyGuardIo {
    <#
    .SYNOPSIS
    Simple I/O through the driver (HLK "DoSimpleIO"): sets a DWORD value,
    reads it back, reads the statistics. Returns the statistics
    (LoadCount, KeysOpened, KeysClosed, Failures, Requests); throws when the
    device cannot be opened or a value does not round-trip.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][uint32]$Value)
    $c = $script:WdfKeyGuard
    if (-not ('WdfKeyGuardClient' -as [type])) { Add-Type -TypeDefinition $script:IoClientSource -Language CSharp }
    $path = [WdfKeyGuardClient]::InterfacePath([Guid]$c.InterfaceGuid)
    if ($null -eq $path) { throw "no present device interface $($c.InterfaceGuid)" }
    $name = 'VmStress'
    [void][WdfKeyGuardClient]::Control($path, $c.IoctlSetValue, [WdfKeyGuardClient]::SetRequest($name, $c.RegDword, [BitConverter]::GetBytes($Value)), 0)
    $got = [WdfKeyGuardClient]::Control($path, $c.IoctlGetValue, [WdfKeyGuardClient]::NameRequest($name), 64)
    # Output: type: u32, len: u32, data.
    if ($got.Length -ne 12 -or [BitConverter]::ToUInt32($got, 0) -ne $c.RegDword -or [BitConverter]::ToUInt32($got, 8) -ne $Value) {
        throw "the value did not round-trip through the driver (got $($got.Length) bytes)"
    }
    $stats = [WdfKeyGuardClient]::Control($path, $c.IoctlGetStats, $null, $c.StatsLength)
    if ($stats.Length -ne $c.StatsLength) { throw "GET_STATS returned $($stats.Length) bytes, not $($c.StatsLength)" }
    return [pscustomobject]@{
        LoadCount  = [BitConverter]::ToUInt32($stats, 0)
        KeysOpened = [BitConverter]::ToUInt32($stats, 4)
        KeysClosed = [BitConverter]::ToUInt32($stats, 8)
        Failures   = [BitConverter]::ToUInt32($stats, 12)
        Requests   = [BitConverter]::ToUInt32($stats, 16)
    }
}

function Get-WdfKeyGuardBugCheck {
    <#
    .SYNOPSIS
    Bug checks recorded since -Since (F59): Kernel-Power 41 with a nonzero
    BugcheckCode (decimal in the event XML) and the WER BugCheck event 1001.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][datetime]$Since)
    $events = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; Id = 41, 1001; StartTime = $Since } -ErrorAction SilentlyContinue |
            Where-Object { $_.ProviderName -in @('Microsoft-Windows-Kernel-Power', 'Microsoft-Windows-WER-SystemErrorReporting') })
    $found = New-Object System.Collections.Generic.List[object]
    foreach ($e in $events) {
        if ($e.ProviderName -ne 'Microsoft-Windows-Kernel-Power') {
            # ASSUMPTION (F59): event 1001's text carries the code; kept as evidence, not parsed.
            $found.Add([pscustomobject]@{ Time = $e.TimeCreated; Code = $null; Parameters = @(); Source = 'WER 1001'; Text = $e.Message })
            continue
        }
        $xml = [xml]$e.ToXml()
        $data = @{}
        foreach ($d in $xml.Event.EventData.Data) { $data[$d.Name] = $d.'#text' }
        $code = [uint64]$data['BugcheckCode']
        if ($code -eq 0) { continue }   # an unclean shutdown without a stop code
        $params = @(1..4 | ForEach-Object { [uint64]$data["BugcheckParameter$_"] })
        $found.Add([pscustomobject]@{ Time = $e.TimeCreated; Code = $code; Parameters = $params; Source = 'Kernel-Power 41'; Text = '' })
    }
    return $found
}

function Get-WdfKeyGuardCrashDump {
    <#
    .SYNOPSIS
    Crash dump files written since -Since (F59): the small dumps in the
    MinidumpDir of CrashControl (default %SystemRoot%\Minidump) and the
    DumpFile (default %SystemRoot%\MEMORY.DMP), oldest first. Copy them off
    the VM and read each on any host with: wdfkey-harness triage FILE.dmp
    #>
    [CmdletBinding()]
    [OutputType([System.IO.FileInfo])]
    param([Parameter(Mandatory)][datetime]$Since)
    $crash = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl' -ErrorAction SilentlyContinue
    $miniDir = if ($null -ne $crash -and $crash.MinidumpDir) { [Environment]::ExpandEnvironmentVariables($crash.MinidumpDir) } else { Join-Path $env:SystemRoot 'Minidump' }
    $full = if ($null -ne $crash -and $crash.DumpFile) { [Environment]::ExpandEnvironmentVariables($crash.DumpFile) } else { Join-Path $env:SystemRoot 'MEMORY.DMP' }
    $files = @(Get-ChildItem -LiteralPath $miniDir -Filter '*.dmp' -File -ErrorAction SilentlyContinue)
    if (Test-Path -LiteralPath $full) { $files += Get-Item -LiteralPath $full }
    return @($files | Where-Object { $_.LastWriteTime -ge $Since } | Sort-Object LastWriteTime)
}

function Save-WdfKeyGuardState {
    <#
    .SYNOPSIS
    Writes the run's state (phase, cycle, parameters, start time) for a resume after reboot.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][hashtable]$State)
    if ($PSCmdlet.ShouldProcess($Path, 'save the run state')) {
        $State | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $Path -Encoding UTF8
    }
}

function Get-WdfKeyGuardState {
    <#
    .SYNOPSIS
    The saved state, or $null when there is none.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $null }
    return Get-Content -LiteralPath $Path -Raw | ConvertFrom-Json
}

function Register-WdfKeyGuardResume {
    <#
    .SYNOPSIS
    A scheduled task that runs the script again at startup as SYSTEM (F60).
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)][string]$ScriptPath, [Parameter(Mandatory)][string]$Arguments)
    $name = $script:WdfKeyGuard.ResumeTaskName
    if (-not $PSCmdlet.ShouldProcess($name, 'register the resume-at-startup task')) { return }
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $principal = New-ScheduledTaskPrincipal -UserId 'NT AUTHORITY\SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ("-NoProfile -ExecutionPolicy Bypass -File `"$ScriptPath`" $Arguments")
    Register-ScheduledTask -TaskName $name -Trigger $trigger -Principal $principal -Action $action -Force | Out-Null
}

function Unregister-WdfKeyGuardResume {
    <#
    .SYNOPSIS
    Removes the resume task, if any.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param()
    $name = $script:WdfKeyGuard.ResumeTaskName
    if ((Get-ScheduledTask -TaskName $name -ErrorAction SilentlyContinue) -and $PSCmdlet.ShouldProcess($name, 'unregister')) {
        Unregister-ScheduledTask -TaskName $name -Confirm:$false
    }
}

function Uninstall-WdfKeyGuardPackage {
    <#
    .SYNOPSIS
    Removes the devices, deletes the driver package from the driver store
    (oemNN.inf found via CIM), resets Driver Verifier and the KMDF verifier values.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param([string]$Devcon)
    $c = $script:WdfKeyGuard
    $oem = @(Get-CimInstance -ClassName Win32_PnPSignedDriver -ErrorAction SilentlyContinue |
            Where-Object { $_.HardWareID -eq $c.HardwareId } | ForEach-Object { $_.InfName } | Sort-Object -Unique)
    foreach ($device in @(Get-WdfKeyGuardDevice)) {
        Invoke-WdfKeyGuardDeviceChange -Action remove -InstanceId $device.InstanceId -Devcon $Devcon -WhatIf:$WhatIfPreference
    }
    foreach ($inf in $oem) {
        if ($PSCmdlet.ShouldProcess($inf, 'pnputil /delete-driver /uninstall /force')) {
            & pnputil.exe /delete-driver $inf /uninstall /force   # F56
            if ($LASTEXITCODE -ne 0 -and $LASTEXITCODE -ne 3010) { throw "pnputil /delete-driver $inf failed with exit code $LASTEXITCODE" }
        }
    }
    Disable-WdfKeyGuardVerifier -WhatIf:$WhatIfPreference
}

Export-ModuleMember -Function Get-WdfKeyGuardConstant, Test-WdfKeyGuardElevation, Get-WdfKeyGuardPreflight,
    Find-WdfKeyGuardDevcon, Get-WdfKeyGuardDevice, New-WdfKeyGuardDevice, Wait-WdfKeyGuardDeviceStarted,
    Install-WdfKeyGuardPackage, Enable-WdfKeyGuardVerifier, Disable-WdfKeyGuardVerifier,
    Get-WdfKeyGuardVerifierEvidence, Invoke-WdfKeyGuardDeviceChange, Invoke-WdfKeyGuardIo,
    Get-WdfKeyGuardBugCheck, Get-WdfKeyGuardCrashDump, Save-WdfKeyGuardState, Get-WdfKeyGuardState, Register-WdfKeyGuardResume,
    Unregister-WdfKeyGuardResume, Uninstall-WdfKeyGuardPackage
