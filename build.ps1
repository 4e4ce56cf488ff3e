#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the UsbRedir PowerShell module.

.DESCRIPTION
    Tasks, run in this order whatever order they are given in (Test and Package bring in what they need):

      Clean    dotnet clean, and remove out/
      Help     en-US/UsbRedir.dll-Help.xml from the help source docs/help/*.md (the project's MAML writer, so
               the file is the same on every machine), then, where PlatyPS v2 is installed, a check that
               PlatyPS's own Export-MamlCommandHelp says the same (tests/Pester/Help.Tests.ps1)
      Build    dotnet build UsbRedir.slnx
      Package  dotnet publish src/UsbRedir.PowerShell -o out/UsbRedir: the importable, publishable module folder
               (UsbRedir.psd1, UsbRedir.format.ps1xml, en-US help, UsbRedir.dll, UsbRedir.Core.dll)
      Test     every test: the Debian test dependencies on Linux, then the xunit suite (engines, real peers, the VM
               tests) with the module folder Package made, including the Pester suite (tests/Pester), which
               PesterSuiteTests runs in a fresh pwsh against that folder. Arguments after the task list go to
               dotnet test, e.g. --filter FullyQualifiedName~PowerShell. tests/run is this task, run by the
               repository's own pwsh (tests/install-pwsh puts pwsh 7.6 and Pester 5.7 in .tools/).

    Every step is plain dotnet, so machines without pwsh run the same commands by hand:
      USBREDIR_UPDATE_HELP=1 dotnet test tests/UsbRedir.Tests -c Release --filter FullyQualifiedName~PowerShell.HelpTests
      dotnet publish src/UsbRedir.PowerShell -c Release -o out/UsbRedir
      tests/run

.EXAMPLE
    ./build.ps1 -Task Clean, Test

.EXAMPLE
    ./build.ps1 -Task Help, Package    # after editing docs/help
#>
[CmdletBinding()]
param(
    [ValidateSet('Clean', 'Help', 'Build', 'Package', 'Test')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # For -Task Test: passed to dotnet test as they are (e.g. --filter FullyQualifiedName~PowerShell).
    [Parameter(ValueFromRemainingArguments)]
    [string[]] $TestArguments = @()
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleFolder = Join-Path $out 'UsbRedir'

function Invoke-Native {
    param([string] $FilePath, [string[]] $ArgumentList)
    Write-Host "> $FilePath $($ArgumentList -join ' ')" -ForegroundColor Cyan
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "$FilePath exited with code $LASTEXITCODE"
    }
}

if (-not (Get-Command dotnet -ErrorAction Ignore)) {
    throw 'dotnet was not found. Fix: install the .NET 10 SDK (https://dot.net) and make sure dotnet is on PATH.'
}

$steps = [System.Collections.Generic.List[string]]::new()
foreach ($name in 'Clean', 'Help', 'Build', 'Package', 'Test') {
    $wanted = $Task -contains $name -or
        ($name -eq 'Build' -and ($Task -contains 'Package' -or $Task -contains 'Test')) -or
        ($name -eq 'Package' -and $Task -contains 'Test')
    if ($wanted) { $steps.Add($name) }
}

switch ($steps) {
    'Clean' {
        Invoke-Native dotnet 'clean', (Join-Path $root 'UsbRedir.slnx'), '-c', $Configuration, '-nologo', '-v:q'
        if (Test-Path $out) { Remove-Item -Recurse -Force $out }
    }
    'Help' {
        # The committed file always comes from the project's writer, so it is byte-for-byte the same on every machine
        # (the xunit HelpTests hold it to that); where PlatyPS v2 exists, its own MAML must say the same.
        $env:USBREDIR_UPDATE_HELP = '1'
        try {
            Invoke-Native dotnet 'test', (Join-Path $root 'tests/UsbRedir.Tests'), '-c', $Configuration, '-nologo',
                '--filter', 'FullyQualifiedName~UsbRedir.Tests.PowerShell.HelpTests'
        }
        finally { Remove-Item Env:USBREDIR_UPDATE_HELP }
        Write-Host "MAML written: $(Join-Path $root 'en-US/UsbRedir.dll-Help.xml')" -ForegroundColor Green
        if (Get-Module -ListAvailable -Name Microsoft.PowerShell.PlatyPS) {
            $result = Invoke-Pester -Path (Join-Path $root 'tests/Pester/Help.Tests.ps1') -PassThru -Output Detailed
            if ($result.FailedCount -gt 0) { throw 'PlatyPS reads docs/help/*.md differently from the committed MAML (see above).' }
        }
        else {
            Write-Warning 'PlatyPS v2 (Microsoft.PowerShell.PlatyPS) is not installed: the MAML was not compared with its output.'
        }
    }
    'Build' {
        Invoke-Native dotnet 'build', (Join-Path $root 'UsbRedir.slnx'), '-c', $Configuration, '-nologo', '-v:q'
    }
    'Package' {
        if (Test-Path $moduleFolder) { Remove-Item -Recurse -Force $moduleFolder }
        Invoke-Native dotnet 'publish', (Join-Path $root 'src/UsbRedir.PowerShell'), '-c', $Configuration, '--no-build',
            '-o', $moduleFolder, '-nologo'
        $manifest = Test-ModuleManifest (Join-Path $moduleFolder 'UsbRedir.psd1')
        Write-Host "Module $($manifest.Name) $($manifest.Version) in $moduleFolder" -ForegroundColor Green
    }
    'Test' {
        # With every Debian peer installed, a missing peer fails its tests instead of skipping them.
        $installDeps = Join-Path $root '.ci/install-deps'
        if ($IsLinux -and (Test-Path $installDeps)) {
            & bash $installDeps
            if ($LASTEXITCODE -eq 0) { $env:USBREDIR_REQUIRE_PEERS = '1' }
            else { Write-Warning 'Some test dependencies are missing; tests that need them will be reported as skipped.' }
        }
        # The pwsh and Pester the tests run (.tools/, whatever pwsh runs this script).
        if (-not $IsWindows) { Invoke-Native bash (Join-Path $root 'tests/install-pwsh') }
        # The xunit tests read the module from the folder Package made, and PesterSuiteTests runs tests/Pester
        # against it in a fresh pwsh (a binary module can never be unloaded from the process that imported it).
        $env:USBREDIR_MODULE_FOLDER = $moduleFolder
        try {
            Invoke-Native dotnet (@('test', (Join-Path $root 'tests/UsbRedir.Tests/UsbRedir.Tests.csproj'), '-c', $Configuration,
                '--no-build', '-nologo', '--logger', 'console;verbosity=normal') + $TestArguments)
        }
        finally { Remove-Item Env:USBREDIR_MODULE_FOLDER }
    }
}
