# The module's used-by lines, verbatim, against a real USB disk: run as root inside a Debian 6.1 guest
# (tests/UsbRedir.Tests/Vm/PwshVmTests.cs, tests/vm/scenarios/pwsh-pester.sh) whose QEMU-emulated usb-storage
# disk is backed by $env:USBREDIR_TEST_DISK_IMAGE. Tagged Kernel: the host run of the suite excludes it.
BeforeDiscovery {
    $module = Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1'
    # Get-UsbDevice (issue 10) and Connect-UsbDevice <id> for real devices (issue 11) are what these lines need.
    Import-Module $module
    $waiting = -not (Get-Command Get-UsbDevice -Module UsbRedir -ErrorAction Ignore) -or
        -not (Get-Command Connect-UsbDevice -Module UsbRedir).Parameters.ContainsKey('Id')
}

BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force

    # The sdX whose USB device hangs below root hub usb<Bus> (sysfs: …/usbN/N-1/…/host*/…/block/sdX), or $null.
    function Get-DiskBehind([int] $Bus) {
        foreach ($block in Get-ChildItem /sys/block -Filter 'sd*' -ErrorAction Ignore) {
            $device = (Get-Item $block.FullName).ResolvedTarget
            if ($device -match "/usb$Bus/$Bus-") { return "/dev/$($block.Name)" }
        }
    }

    function Get-Sha256([string] $Path, [long] $Length) {
        $stream = [System.IO.File]::OpenRead($Path)
        try {
            $buffer = [byte[]]::new($Length)
            $read = 0
            while ($read -lt $Length) {
                $n = $stream.Read($buffer, $read, $Length - $read)
                if ($n -eq 0) { throw "$Path ended after $read of $Length bytes" }
                $read += $n
            }
            [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($buffer))
        }
        finally { $stream.Dispose() }
    }
}

Describe 'The used-by lines on a real USB disk' -Tag Kernel {
    AfterAll {
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 2
        Get-UsbRedirServer | Stop-UsbRedirServer -Timeout 5
        Get-VhciController | Remove-VhciController -Confirm:$false
    }

    It 'push the disk through a server into a controller, where it shows the image''s bytes' -Skip:$waiting {
        $image = $env:USBREDIR_TEST_DISK_IMAGE
        $image | Should -Exist -Because 'the VM scenario names the emulated disk''s image'

        $disk = Get-UsbDevice | Where Class -eq 8
        $controller = New-VhciController -Ports 4
        $server = Start-UsbRedirServer -Port 1138
        $connection = Connect-UsbDevice $disk.Id -Server 127.0.0.1:1138

        @($disk).Count | Should -Be 1 -Because 'the guest has one USB disk, the emulated one'
        $connection.State | Should -Be 'Connected'
        # The disk lands behind one of the module's controllers (the server's own, -Ports 4 by default).
        $buses = (Get-VhciController).BusNumber
        $controller.BusNumber | Should -BeIn $buses
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        $pushed = $null
        while (-not $pushed -and [DateTime]::UtcNow -lt $deadline) {
            $pushed = $buses | ForEach-Object { Get-DiskBehind $_ } | Select-Object -First 1
            if (-not $pushed) { Start-Sleep -Milliseconds 200 }
        }
        $seen = "controllers: $((Get-VhciController | Out-String -Width 120).Trim()); server connections: " +
            "$(($server.Connections | Out-String -Width 120).Trim()); server log: $($server.Log.Entries -join ' | '); " +
            "connection $($connection.State), log: $($connection.Log.Entries -join ' | ')"
        $pushed | Should -Not -BeNullOrEmpty -Because "usb-storage binds the pushed disk behind a virtual controller ($seen)"
        @($server.Connections | Where-Object State -EQ 'Attached').Count | Should -Be 1
        $length = (Get-Item $image).Length
        Get-Sha256 $pushed $length | Should -Be (Get-Sha256 $image $length)
    }
}
