<#
.SYNOPSIS
Installs wdfkey_guard on a test VM, turns on Driver Verifier and the KMDF
verifier, and disables, enables, restarts and re-creates the device again
and again with I/O before and after, stopping at the first failure.

.DESCRIPTION
The checks of the HLK Device Fundamentals test "DF - PNP Disable and Enable
with IO Before and After" (TestCycles, DoSimpleIO, under Driver Verifier), in
a script you can read:

 1. Preflight: elevated, test signing on, Secure Boot off, build >= 20348,
    crash dumps on, the package's files present and signed.
 2. Install (idempotent): trust the package's test certificate, pnputil
    /add-driver /install, create the root-enumerated device only if none
    exists (devcon when found, otherwise SetupAPI), wait for it to start.
 3. Verifier: Driver Verifier on wdfkey_guard.sys and wdf01000.sys with the
    standard rule classes, and the KMDF verifier values. Verifier needs a
    reboot: the state is saved, a startup task resumes the run, and the
    machine reboots only with -AllowReboot.
 4. Stress: each cycle disable -> enable, every RestartEvery-th cycle a
    restart, every RecreateEvery-th cycle remove -> re-create; I/O before and
    after (set and read a value, read the statistics); LoadCount must go up
    by one per reload. After each cycle: the device's status and problem
    code, and any bug check since the run began.
 5. Report: JSON (the harness stress report's field names where they mean
    the same thing) and a summary. Exit code 0 only when every cycle passed.

A clean run does not prove the double close absent: a second close of a free
handle slot is silent unless the slot was reused (docs/facts.md F67). The host
harness's ownership check (wdfkey-harness stress) is what proves it.

.PARAMETER PackageDir
The folder cargo make produced (target\debug\wdfkey_guard_package).
.PARAMETER Cycles
How many stress cycles (default 100).
.PARAMETER Tool
devcon, pnputil, or auto (devcon when found, else pnputil and SetupAPI).
.PARAMETER Verifier
Turn Driver Verifier and the KMDF verifier on (the default).
.PARAMETER NoVerifier
Run without Driver Verifier.
.PARAMETER ReportPath
Where the JSON report goes (default: wdfkey-guard-report.json beside the state file).
.PARAMETER AllowReboot
Reboot by itself when Driver Verifier needs it; the run resumes at startup.
.PARAMETER Uninstall
Remove the devices, the driver package and the verifier settings, then stop.
.PARAMETER Resume
Used by the startup task after a reboot.

.EXAMPLE
.\Invoke-WdfKeyGuardTest.ps1 -PackageDir C:\pkg\wdfkey_guard_package -Cycles 200 -AllowReboot

.EXAMPLE
.\Invoke-WdfKeyGuardTest.ps1 -PackageDir C:\pkg\wdfkey_guard_package -WhatIf
Prints every change the run would make, and makes none.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string]$PackageDir,
    [ValidateRange(1, 1000000)][int]$Cycles = 100,
    [ValidateSet('devcon', 'pnputil', 'auto')][string]$Tool = 'auto',
    [switch]$Verifier,
    [switch]$NoVerifier,
    [string]$ReportPath,
    [switch]$AllowReboot,
    [switch]$Uninstall,
    [ValidateRange(1, 1000000)][int]$RestartEvery = 10,
    [ValidateRange(1, 1000000)][int]$RecreateEvery = 25,
    [switch]$Resume
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

Import-Module (Join-Path $PSScriptRoot 'WdfKeyGuard.psm1') -Force
$c = Get-WdfKeyGuardConstant
$stateDir = Join-Path $env:ProgramData 'wdfkey-guard'
$statePath = Join-Path $stateDir 'state.json'
if (-not $ReportPath) { $ReportPath = Join-Path $stateDir 'wdfkey-guard-report.json' }
if ($Verifier -and $NoVerifier) { throw 'use either -Verifier or -NoVerifier' }
$useVerifier = -not $NoVerifier

$devcon = $null
if ($Tool -ne 'pnputil') {
    $devcon = Find-WdfKeyGuardDevcon
    if ($Tool -eq 'devcon' -and -not $devcon) { throw 'devcon.exe not found on PATH or in the WDK Tools folder; install the WDK or use -Tool pnputil' }
}

if ($Uninstall) {
    if (-not (Test-WdfKeyGuardElevation)) { throw 'run PowerShell as Administrator' }
    Uninstall-WdfKeyGuardPackage -Devcon $devcon -WhatIf:$WhatIfPreference
    Unregister-WdfKeyGuardResume -WhatIf:$WhatIfPreference
    if ((Test-Path -LiteralPath $statePath) -and $PSCmdlet.ShouldProcess($statePath, 'remove the run state')) { Remove-Item -LiteralPath $statePath -Force }
    Write-Output 'uninstalled; Driver Verifier settings are cleared at the next reboot'
    exit 0
}

$state = Get-WdfKeyGuardState -Path $statePath
if ($Resume -and $null -ne $state) {
    $PackageDir = $state.PackageDir
    $Cycles = [int]$state.Cycles
    $useVerifier = [bool]$state.UseVerifier
}
if (-not $PackageDir) { throw 'give -PackageDir: the folder cargo make produced (target\debug\wdfkey_guard_package)' }
$PackageDir = (Resolve-Path -LiteralPath $PackageDir).ProviderPath

# 1. Preflight
$checks = @(Get-WdfKeyGuardPreflight -PackageDir $PackageDir)
foreach ($check in $checks) {
    $mark = if ($check.Passed) { 'ok  ' } else { 'FAIL' }
    Write-Output ("[{0}] {1}: {2}" -f $mark, $check.Name, $check.Message)
}
$failed = @($checks | Where-Object { -not $_.Passed })
if ($failed.Count -gt 0) {
    Write-Error ("preflight failed: {0}" -f (($failed | ForEach-Object { $_.Name }) -join ', '))
    exit 2
}

if (-not (Test-Path -LiteralPath $stateDir) -and $PSCmdlet.ShouldProcess($stateDir, 'create the state folder')) {
    New-Item -ItemType Directory -Path $stateDir -Force | Out-Null
}
$runStart = if ($null -ne $state -and $state.RunStart) { [datetime]$state.RunStart } else { Get-Date }

# 2. Install
$device = Install-WdfKeyGuardPackage -PackageDir $PackageDir -Devcon $devcon -WhatIf:$WhatIfPreference

# 3. Verifier (a reboot between configuring and verifying)
$phase = if ($null -ne $state) { $state.Phase } else { 'new' }
$lastBoot = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime
if ($phase -eq 'verifier-active' -and $state.ConfiguredAt -and $lastBoot -lt [datetime]$state.ConfiguredAt) {
    Write-Output 'Driver Verifier was configured but the VM has not restarted since: restart it (the run resumes at startup).'
    exit 3
}
if ($useVerifier -and $phase -eq 'new') {
    $needsReboot = Enable-WdfKeyGuardVerifier -WhatIf:$WhatIfPreference
    if ($needsReboot) {
        $arguments = "-Resume -ReportPath `"$ReportPath`""
        Save-WdfKeyGuardState -Path $statePath -State @{
            Phase = 'verifier-active'; PackageDir = $PackageDir; Cycles = $Cycles; UseVerifier = $true
            RunStart = $runStart.ToString('o'); ConfiguredAt = (Get-Date).ToString('o'); Cycle = 0
        } -WhatIf:$WhatIfPreference
        Register-WdfKeyGuardResume -ScriptPath $PSCommandPath -Arguments $arguments -WhatIf:$WhatIfPreference
        if ($AllowReboot) {
            if ($PSCmdlet.ShouldProcess($env:COMPUTERNAME, 'restart for Driver Verifier')) { Restart-Computer -Force }
            exit 0
        }
        Write-Output 'Driver Verifier is configured and takes effect after a reboot. Restart the VM: the run resumes at startup (or run again with -AllowReboot).'
        exit 3
    }
}
if ($WhatIfPreference) {
    Write-Output "WhatIf: would now run $Cycles cycles and write $ReportPath"
    exit 0
}

# 4. Stress
$report = [ordered]@{
    tool              = 'Invoke-WdfKeyGuardTest.ps1'
    version           = $c.Version
    result            = 'pass'
    cycles_requested  = $Cycles
    cycles_done       = 0
    duration_ms       = 0
    cycles_per_second = 0.0
    bug_checks        = @()
    errors            = @()
    findings          = @()
    machine           = [ordered]@{
        os_build = [int](Get-CimInstance -ClassName Win32_OperatingSystem).BuildNumber
        computer = $env:COMPUTERNAME
    }
    driver_verifier   = [ordered]@{
        enabled      = $useVerifier
        rule_classes = @($c.VerifierRuleClasses)
        drivers      = @($c.SysName, 'wdf01000.sys')
        kmdf_verifier = $useVerifier
        evidence     = ''
    }
    tool_used         = $(if ($devcon) { 'devcon' } else { 'pnputil' })
    load_counts       = @()
}
$clock = [Diagnostics.Stopwatch]::StartNew()
$loadCounts = New-Object System.Collections.Generic.List[uint32]
$errors = New-Object System.Collections.Generic.List[string]
$findings = New-Object System.Collections.Generic.List[string]
$bugChecks = New-Object System.Collections.Generic.List[object]

$claimedDumps = New-Object System.Collections.Generic.List[string]
function Add-BugCheckEvidence([int]$Cycle) {
    # ASSUMPTION (F59): a bug check's dump is written before the event that
    # reports it (Kernel-Power 41 is logged at the next start), so each bug
    # check gets the dumps written since the run began that no earlier one
    # claimed.
    foreach ($b in @(Get-WdfKeyGuardBugCheck -Since $runStart)) {
        if ($null -eq $b.Code) { $findings.Add("cycle ${Cycle}: $($b.Source) at $($b.Time): $($b.Text)"); continue }
        $dumps = @(Get-WdfKeyGuardCrashDump -Since $runStart | Where-Object { $_.LastWriteTime -le $b.Time.AddMinutes(10) -and -not $claimedDumps.Contains($_.FullName) } | ForEach-Object { $_.FullName })
        foreach ($d in $dumps) { $claimedDumps.Add($d) }
        $triageHint = if ($dumps.Count -gt 0) { "copy $($dumps -join ', ') off the VM and run: wdfkey-harness triage <file>.dmp --driver $($c.SysName)" } else { 'no dump file was found: check the crash-dumps preflight (F59)' }
        $bugChecks.Add([ordered]@{
            cycle      = $Cycle
            code       = ('0x{0:x}' -f $b.Code)
            name       = $(if ($b.Code -eq 0x93) { 'INVALID_KERNEL_HANDLE' } else { 'see the dump' })
            parameters = @($b.Parameters | ForEach-Object { '0x{0:x}' -f $_ })
            blamed     = 'see the dump (wdfkey-harness triage)'
            analysis   = "$($b.Source) at $($b.Time). $triageHint"
            dumps      = $dumps
        })
    }
}

# After a crash the startup task (or a rerun) lands here: the saved cycle is
# the one that was running.
$crashedCycle = if ($null -ne $state -and $state.Phase -eq 'stress') { [int]$state.Cycle } else { 0 }
Add-BugCheckEvidence -Cycle $crashedCycle
try {
    if ($bugChecks.Count -gt 0) { throw "a bug check happened since the run began (during cycle $crashedCycle)" }
    $stats = Invoke-WdfKeyGuardIo -Value 0
    $loadCounts.Add($stats.LoadCount)
    for ($cycle = 1; $cycle -le $Cycles; $cycle++) {
        Save-WdfKeyGuardState -Path $statePath -State @{
            Phase = 'stress'; PackageDir = $PackageDir; Cycles = $Cycles; UseVerifier = $useVerifier
            RunStart = $runStart.ToString('o'); Cycle = $cycle
        }
        $device = Wait-WdfKeyGuardDeviceStarted
        $before = Invoke-WdfKeyGuardIo -Value ([uint32]$cycle)
        if ($cycle % $RecreateEvery -eq 0) {
            # F72: a removed root devnode does not come back on rescan; a new instance is created.
            Invoke-WdfKeyGuardDeviceChange -Action remove -InstanceId $device.InstanceId -Devcon $devcon
            New-WdfKeyGuardDevice -InfPath (Join-Path $PackageDir $c.InfName) -Devcon $devcon
            $reload = $true
        } elseif ($cycle % $RestartEvery -eq 0) {
            Invoke-WdfKeyGuardDeviceChange -Action restart -InstanceId $device.InstanceId -Devcon $devcon
            $reload = $false
        } else {
            Invoke-WdfKeyGuardDeviceChange -Action disable -InstanceId $device.InstanceId -Devcon $devcon
            Invoke-WdfKeyGuardDeviceChange -Action enable -InstanceId $device.InstanceId -Devcon $devcon
            $reload = $true
        }
        $device = Wait-WdfKeyGuardDeviceStarted
        $after = Invoke-WdfKeyGuardIo -Value ([uint32]($cycle + 1))
        $loadCounts.Add($after.LoadCount)
        # One device: disabling or removing it unloads the driver (F37), enabling loads it again.
        if ($reload -and $after.LoadCount -ne $before.LoadCount + 1) {
            throw "cycle ${cycle}: LoadCount went from $($before.LoadCount) to $($after.LoadCount), expected one reload"
        }
        if (-not $reload -and $after.LoadCount -lt $before.LoadCount) {
            throw "cycle ${cycle}: LoadCount went down from $($before.LoadCount) to $($after.LoadCount)"
        }
        if ($after.Failures -ne 0) { $findings.Add("cycle ${cycle}: the driver counted $($after.Failures) failures") }
        Add-BugCheckEvidence -Cycle $cycle
        if ($bugChecks.Count -gt 0) { throw "cycle ${cycle}: a bug check was recorded" }
        $report.cycles_done = $cycle
        Write-Progress -Activity 'wdfkey-guard stress' -Status "cycle $cycle of $Cycles" -PercentComplete ([int](100 * $cycle / $Cycles))
    }
} catch {
    $report.result = 'fail'
    $errors.Add($_.Exception.Message)
}
Write-Progress -Activity 'wdfkey-guard stress' -Completed
if ($findings.Count -gt 0) { $report.result = 'fail' }

# 5. Report
$elapsed = $clock.Elapsed
$report.duration_ms = [int64]$elapsed.TotalMilliseconds
$report.cycles_per_second = [math]::Round($report.cycles_done / [math]::Max($elapsed.TotalSeconds, 0.001), 3)
$report.bug_checks = @($bugChecks)
$report.errors = @($errors)
$report.findings = @($findings)
$report.load_counts = @($loadCounts)
if ($useVerifier) { $report.driver_verifier.evidence = Get-WdfKeyGuardVerifierEvidence }
$report | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $ReportPath -Encoding UTF8
Unregister-WdfKeyGuardResume
if (Test-Path -LiteralPath $statePath) { Remove-Item -LiteralPath $statePath -Force }

Write-Output ("wdfkey-guard VM run: {0} - {1} of {2} cycles in {3:n1} s, {4} bug check(s), {5} finding(s)" -f $report.result.ToUpper(), $report.cycles_done, $Cycles, $elapsed.TotalSeconds, $bugChecks.Count, $findings.Count)
foreach ($e in $errors) { Write-Output "  error: $e" }
foreach ($f in $findings) { Write-Output "  finding: $f" }
Write-Output "  report: $ReportPath"
if ($report.result -eq 'pass') { exit 0 } else { exit 1 }
