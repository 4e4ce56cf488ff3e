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

Describe 'The issue''s pipeline on a real USB disk' -Tag Kernel {
    BeforeAll {
        # The host (PwshVmTests) removes the disk (QMP device_del) and adds it again at the same port (device_add) when
        # asked through a file in the shared folder.
        function Request-HostAction([string] $Name) { New-Item -ItemType File (Join-Path $env:USBREDIR_TEST_SHARED $Name) | Out-Null }

        function Wait-Until([scriptblock] $Condition, [int] $Seconds, [string] $What) {
            $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
            while (-not (& $Condition)) {
                if ([DateTime]::UtcNow -gt $deadline) { throw "waited $Seconds s for $What" }
                Start-Sleep -Milliseconds 100
            }
        }

        # The disk of the original device (usb-storage bound to it again), or $null.
        function Get-OriginalDisk([string] $BusId) {
            foreach ($block in Get-ChildItem /sys/block -Filter 'sd*' -ErrorAction Ignore) {
                if ((Get-Item $block.FullName).ResolvedTarget -match "/$([regex]::Escape($BusId))/$([regex]::Escape($BusId)):1\.0/") { return "/dev/$($block.Name)" }
            }
        }

        function Get-PushedDisk { (Get-VhciController).BusNumber | ForEach-Object { Get-DiskBehind $_ } | Select-Object -First 1 }
    }

    AfterAll {
        Get-EventSubscriber -SourceIdentifier UsbRedirStates -ErrorAction Ignore | Unregister-Event
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 2
        Get-UsbRedirServer | Stop-UsbRedirServer -Timeout 5
        Get-VhciController | Remove-VhciController -Confirm:$false
    }

    It 'Get-UsbDevice -VendorId 46f4 | Connect-UsbDevice -Server pushes the disk, re-attaches it when it is re-plugged, and gives it back to usb-storage' -Skip:$waiting {
        $image = $env:USBREDIR_TEST_DISK_IMAGE
        $length = (Get-Item $image).Length
        $imageSha = Get-Sha256 $image $length
        # The test before this one gave the disk back: usb-storage holds it again.
        Wait-Until { (Get-UsbDevice -VendorId 46f4).Driver -eq 'usb-storage' } 60 'usb-storage on the original disk'
        $original = Get-UsbDevice -VendorId 46f4
        @($original).Count | Should -Be 1

        $server = Start-UsbRedirServer -Port 47850 -Address 127.0.0.1
        $connection = Get-UsbDevice -VendorId 46f4 | Connect-UsbDevice -Server 127.0.0.1:47850
        @($connection).Count | Should -Be 1
        $connection.State | Should -Be 'Connected'
        $connection.DeviceIdentity | Should -BeLike "46f4:0001*"
        (Get-UsbDevice -Id $original.Id).InUseByUsbRedir | Should -BeTrue
        Wait-Until { Get-PushedDisk } 60 "the pushed disk behind a virtual controller (server log: $($server.Log.Entries -join ' | '))"
        Get-Sha256 (Get-PushedDisk) $length | Should -Be $imageSha

        # Removed and added again at the same port: the connection waits for it and exports it again by itself.
        $states = [System.Collections.Concurrent.ConcurrentQueue[string]]::new()
        $null = Register-ObjectEvent -InputObject $connection -EventName StateChanged -SourceIdentifier UsbRedirStates -MessageData $states `
            -Action { $Event.MessageData.Enqueue([string]$Event.SourceArgs[1]) }
        $seen = [System.Collections.Generic.List[string]]::new()
        $poll = { $s = [string](Get-UsbRedirConnection -Id $connection.Id).State; if ($seen.Count -eq 0 -or $seen[-1] -ne $s) { $seen.Add($s) } }
        Request-HostAction 'unplug'
        Wait-Until { & $poll; $seen -contains 'WaitingForDevice' } 60 "Get-UsbRedirConnection showing WaitingForDevice (seen: $seen)"
        (Get-UsbRedirConnection -State WaitingForDevice).Id | Should -Be $connection.Id
        Get-UsbRedirConnection | Out-String -Width 120 | Should -Match 'WaitingForDevice.*46f4:0001'
        Wait-Until { -not (Get-PushedDisk) } 60 'the pushed disk to go away'
        Request-HostAction 'plug-in'
        Wait-Until { & $poll; $seen[-1] -eq 'Connected' } 60 "Get-UsbRedirConnection showing Connected again (seen: $seen; log: $($connection.Log.Entries -join ' | '))"
        Wait-Until { $states.Count -ge 3 } 10 "the StateChanged events (got: $($states.ToArray()))"
        $states.ToArray() | Should -Be @('WaitingForDevice', 'Connecting', 'Connected')
        $seen[0] | Should -Be 'Connected'
        $seen | Should -Contain 'WaitingForDevice'
        $connection.Reattachments | Should -Be 1
        Wait-Until { Get-PushedDisk } 60 'the pushed disk to come back'
        Get-Sha256 (Get-PushedDisk) $length | Should -Be $imageSha

        # The end gives the disk back to usb-storage on this machine.
        $connection | Disconnect-UsbDevice -Timeout 5
        $server | Stop-UsbRedirServer -Timeout 5
        Wait-Until { (Get-UsbDevice -Id $original.Id).Driver -eq 'usb-storage' -and (Get-OriginalDisk $original.BusId) } 60 'usb-storage on the original again'
        (Get-UsbDevice -Id $original.Id).InUseByUsbRedir | Should -BeFalse
        Get-Sha256 (Get-OriginalDisk $original.BusId) $length | Should -Be $imageSha
    }
}
