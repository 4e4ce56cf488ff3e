#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the UsbRedir Pester suite against a built module folder. Run it in a fresh pwsh (a binary module can
    never be unloaded from a process), e.g.:
        pwsh -NoProfile -NonInteractive -File tests/Pester/Invoke-UsbRedirPester.ps1 -ModulePath out/UsbRedir
    Exit code 0 when every test passed; the JUnit XML lands in -OutputPath.
#>
param(
    # The module folder (holding UsbRedir.psd1), e.g. out/UsbRedir from build.ps1 -Task Package or dotnet publish.
    [Parameter(Mandatory)]
    [string] $ModulePath,

    [string] $OutputPath = (Join-Path $PSScriptRoot '../../out/pester-results.xml'),

    # Test files or folders (default: this folder).
    [string[]] $Path = $PSScriptRoot,

    # Tests tagged so run only inside the VM harness (Kernel: needs root and a kernel module); the host run excludes them.
    [string[]] $Tag = @(),
    [string[]] $ExcludeTag = @()
)
$ErrorActionPreference = 'Stop'

# The repository's own Pester (tests/install-pwsh restores it into .tools), else an installed one.
$pester = Get-ChildItem -Path (Join-Path $PSScriptRoot '../../.tools/packages/pester/*/tools/Pester.psd1') -ErrorAction Ignore |
    Sort-Object { [version]$_.Directory.Parent.Name } -Descending | Select-Object -First 1 -ExpandProperty FullName
if (-not $pester) {
    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -GE ([version]'5.5.0') |
        Sort-Object Version -Descending | Select-Object -First 1
}
if (-not $pester) {
    # Windows still ships Pester 3.4 in the box; never fall back to it.
    Write-Error 'Pester 5.5 or later is not installed. Fix: tests/install-pwsh (into .tools), or Install-Module Pester -MinimumVersion 5.5 -Scope CurrentUser -Force'
    exit 2
}
Import-Module $pester -Force

$module = Resolve-Path -LiteralPath $ModulePath
if (-not (Test-Path (Join-Path $module 'UsbRedir.psd1'))) {
    Write-Error "No UsbRedir.psd1 in '$module'. Fix: dotnet publish src/UsbRedir.PowerShell -c Release -o out/UsbRedir"
    exit 2
}
# The tests import this copy by path; putting its parent first on PSModulePath also makes Get-Help about_UsbRedir
# and auto-loading find this copy rather than an installed one.
$env:USBREDIR_MODULE_PATH = $module.Path
# Keys and trust files the tests make (server and client identities, known_servers) go to a folder of this run, never
# into the user's own ~/.config/usbredir.
$env:XDG_CONFIG_HOME = (New-Item -ItemType Directory -Force -Path (Join-Path ([IO.Path]::GetTempPath()) "usbredir-pester-$PID")).FullName
$env:PSModulePath = (Split-Path $module.Path) + [IO.Path]::PathSeparator + $env:PSModulePath

$null = New-Item -ItemType Directory -Force -Path (Split-Path $OutputPath)
$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Filter.Tag = $Tag
$configuration.Filter.ExcludeTag = $ExcludeTag
$configuration.Run.Exit = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'JUnitXml'
$configuration.TestResult.OutputPath = $OutputPath
Invoke-Pester -Configuration $configuration
