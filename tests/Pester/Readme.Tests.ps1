# The README's PowerShell examples, run as written: the Get-UsbDevice lines (this machine's devices, often none), and
# the block that imports the module and shares a disk, in a fresh pwsh from a folder laid out as the README assumes
# (./out/UsbRedir, ./stick.img). The only change is the peer's address: a TCP
# listener of this test stands in for QEMU's usb-redir at 127.0.0.1:4000. The server block needs a controller (a
# kernel): Controllers.Tests.ps1 runs Start-/Get-/Stop-UsbRedirServer in the VM.
BeforeAll {
    $ModuleFolder = $env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')
    $readme = Get-Content -Raw (Join-Path $PSScriptRoot '../../README.md')
    $blocks = [regex]::Matches($readme, '(?ms)^```powershell\r?\n(.*?)^```') | ForEach-Object { $_.Groups[1].Value }
}

Describe 'README quick start' {
    BeforeAll {
        $import = $blocks | Where-Object { $_ -match 'Import-Module ./out/UsbRedir/UsbRedir.psd1' } | Select-Object -First 1
    }

    It 'has PowerShell examples' {
        @($blocks).Count | Should -BeGreaterThan 0
        $import | Should -Not -BeNullOrEmpty
    }

    It 'lists and checks this machine''s USB devices, as written' {
        Import-Module (Join-Path $ModuleFolder 'UsbRedir.psd1')
        foreach ($block in $blocks | Where-Object { $_ -match '^Get-UsbDevice' }) {
            $null = Invoke-Expression $block -ErrorVariable failures
            $failures | Should -BeNullOrEmpty -Because $block
        }
    }

    It 'shares a disk image and disconnects it, as written' {
        $folder = Join-Path $TestDrive 'readme'
        $null = New-Item -ItemType Directory -Force (Join-Path $folder 'out')
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $folder 'out/UsbRedir') -Target (Resolve-Path $ModuleFolder).Path
        [System.IO.File]::WriteAllBytes((Join-Path $folder 'stick.img'), [byte[]]::new(1MB))
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $script = $import -replace '127\.0\.0\.1:4000', "127.0.0.1:$($listener.LocalEndpoint.Port)"
            $script += "`n'state after: ' + `$c.State"
            $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
            Push-Location $folder
            try { $output = (& $pwsh -NoProfile -NonInteractive -Command $script 2>&1 | Out-String -Width 120) -replace '\e\[[0-9;]*m' }
            finally { Pop-Location }
            $LASTEXITCODE | Should -Be 0 -Because $output
            $listener.Pending() | Should -BeTrue -Because 'the disk connected to the peer'
            # Get-UsbRedirConnection's table, in the child's 80 columns.
            $output | Should -Match 'Id State\s+Target\s+Sent\s+Received\s+Errors\s+Device'
            $output | Should -Match '\d+ Connected\s+127\.0\.0\.1:\d+\s+\d+\s+\d+\s+0 UsbRedi'
            $output | Should -Match 'state after: Disconnected'
        }
        finally { $listener.Stop() }
    }
}

# Needs a controller: runs in the VM (tests/vm/scenarios/pwsh-pester.sh runs this file first, so the server the
# block starts is this process's server 1, as the README's `Stop-UsbRedirServer -Id 1` expects).
Describe 'README server example' -Tag Kernel {
    It 'starts a mass-storage-only server on port 1138 with its own 4-port controller, lists it and stops it, as written' {
        $block = $blocks | Where-Object { $_ -match 'Start-UsbRedirServer' } | Select-Object -First 1
        $block | Should -Match 'Stop-UsbRedirServer -Id 1'
        $before = @(Get-VhciController).Count
        $output = Invoke-Expression $block
        $server = $output | Where-Object { $_ -is [UsbRedir.Server.UsbRedirServer] } | Select-Object -First 1
        $server.Id | Should -Be 1
        $server.LocalEndPoint.Port | Should -Be 1138
        $server.Options.Filter.Count | Should -Be 2
        $server.IsRunning | Should -BeFalse -Because 'the block stops it'
        Get-UsbRedirServer | Should -BeNullOrEmpty
        @(Get-VhciController).Count | Should -Be $before -Because 'its own controller goes with it'
    }
}
