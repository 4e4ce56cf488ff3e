# What a PowerShell user expects of the module, in real pwsh: -WhatIf/-Confirm on every cmdlet that changes state,
# tab completion, table views that fit 80 and 120 columns and list views, error records. The parts that need a
# controller (a kernel) are in Controllers.Tests.ps1's Kernel block, which runs in the VM.
BeforeDiscovery {
    $stateChanging = 'New-VhciController', 'Remove-VhciController', 'Start-UsbRedirServer', 'Stop-UsbRedirServer',
        'Connect-UsbDevice', 'Disconnect-UsbDevice' | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    . (Join-Path $PSScriptRoot 'FormatChecks.ps1')

    function New-TestListener {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $listener
    }

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe '<Name> asks before it changes anything' -ForEach $stateChanging {
    It 'has -WhatIf and -Confirm' {
        $command = Get-Command $Name
        $command.Parameters.PSBase.Keys | Should -Contain 'WhatIf'
        $command.Parameters.PSBase.Keys | Should -Contain 'Confirm'
    }
}

Describe '-WhatIf and -Confirm' {
    It 'Connect-UsbDevice -WhatIf connects nothing' {
        $listener = New-TestListener
        try {
            New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($listener.LocalEndpoint.Port)" -WhatIf |
                Should -BeNullOrEmpty
            Get-UsbRedirConnection | Should -BeNullOrEmpty
            Start-Sleep -Milliseconds 200
            $listener.Pending() | Should -BeFalse -Because 'no connection was attempted'
        }
        finally { $listener.Stop() }
    }

    It '-Confirm asks first, so a shell that cannot ask changes nothing' {
        # NonInteractive: the confirmation prompt itself fails; had the cmdlet acted first, a controller would exist.
        { New-VhciController -Ports 1 -Confirm } | Should -Throw '*NonInteractive*'
        Get-VhciController | Should -BeNullOrEmpty
        $listener = New-TestListener
        try {
            { New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($listener.LocalEndpoint.Port)" -Confirm } |
                Should -Throw '*NonInteractive*'
            Get-UsbRedirConnection | Should -BeNullOrEmpty
        }
        finally { $listener.Stop() }
    }
}

Describe 'Tab completion' {
    It 'completes connection ids with the device and the server' {
        $listener = New-TestListener
        try {
            $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($listener.LocalEndpoint.Port)"
            foreach ($line in 'Get-UsbRedirConnection -Id ', 'Disconnect-UsbDevice -Id ') {
                $matches = Get-Completion $line
                $matches.CompletionText | Should -Contain "$($connection.Id)"
                ($matches | Where-Object CompletionText -EQ "$($connection.Id)").ToolTip | Should -Match 'UsbRedir virtual keyboard'
            }
            Get-Completion "Get-UsbRedirConnection -Id 99999$($connection.Id)" | Should -BeNullOrEmpty
        }
        finally {
            Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.5
            $listener.Stop()
        }
    }

    It 'completes filter presets that the filter cmdlets accept' {
        $matches = Get-Completion 'Start-UsbRedirServer -Filter Mass'
        $matches.ListItemText | Should -Be 'MassStorage'
        $matches.CompletionText | Should -Be "'0x08,-1,-1,-1,1|-1,-1,-1,-1,0'"
        $all = Get-Completion 'Test-UsbRedirFilter -Filter '
        $all.Count | Should -BeGreaterThan 3
        foreach ($preset in $all) {
            $filter = Invoke-Expression $preset.CompletionText
            { ConvertFrom-UsbRedirFilter $filter -ErrorAction Stop } | Should -Not -Throw
        }
        (Test-UsbRedirFilter (Invoke-Expression $matches.CompletionText) -Class 8 -VendorId 1 -ProductId 2).Allowed | Should -BeTrue
        (Test-UsbRedirFilter (Invoke-Expression $matches.CompletionText) -Class 3 -VendorId 1 -ProductId 2).Allowed | Should -BeFalse
    }

    It 'completes no controller or server id when there is none' {
        Get-Completion 'Remove-VhciController -Id ' | Should -BeNullOrEmpty
        Get-Completion 'Stop-UsbRedirServer -Id ' | Should -BeNullOrEmpty
    }
}

Describe 'Views' {
    BeforeAll {
        $image = Join-Path $TestDrive 'view.img'
        [System.IO.File]::WriteAllBytes($image, [byte[]]::new(1MB))
    }

    It 'fit 80 and 120 columns as tables, and have list views: <Type>' -ForEach @(
        @{ Type = 'UsbRedir.Filtering.UsbRedirFilterRule'; Make = { ConvertFrom-UsbRedirFilter '0x08,0x0781,0x5567,0x0100,1|-1,-1,-1,-1,0' } }
        @{ Type = 'UsbRedir.PowerShell.Filtering.UsbRedirFilterTestResult'; Make = { Test-UsbRedirFilter '0x08,-1,-1,-1,0' -Class 8 -VendorId 0x0781 -ProductId 0x5567 } }
        @{ Type = 'UsbRedir.Filtering.UsbRedirFilterPass'; Make = { (Test-UsbRedirFilter '0x03,-1,-1,-1,0|-1,-1,-1,-1,1' -VendorId 1 -ProductId 2 -Interface '01/01/00', '03/00/00').Passes } }
        @{ Type = 'UsbRedir.Devices.Software.MassStorage.MassStorageDevice'; Make = { New-UsbVirtualDevice $image -ReadOnly } }
        @{ Type = 'UsbRedir.Devices.Software.Hid.BootKeyboard'; Make = { New-UsbVirtualDevice -Keyboard -Keys 'hello{ENTER}' } }
    ) {
        $objects = @(& $Make)
        $objects.Count | Should -BeGreaterThan 0
        Assert-TableFits $objects $Type
        Assert-ListView $objects $Type
    }

    It 'fit 80 and 120 columns as tables, and have list views: UsbRedir.Sessions.UsbRedirConnection' {
        $listener = New-TestListener
        try {
            $null = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($listener.LocalEndpoint.Port)"
            $null = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($listener.LocalEndpoint.Port)"
            Assert-TableFits (Get-UsbRedirConnection) 'UsbRedir.Sessions.UsbRedirConnection'
            Assert-ListView (Get-UsbRedirConnection) 'UsbRedir.Sessions.UsbRedirConnection'
        }
        finally {
            Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.5
            $listener.Stop()
        }
    }
}

Describe 'Connections as jobs (-AsJob)' {
    BeforeEach {
        $listener = New-TestListener
        $address = "127.0.0.1:$($listener.LocalEndpoint.Port)"
    }

    AfterEach {
        Get-Job | Where-Object PSJobTypeName -EQ 'UsbRedirJob' | Remove-Job -Force
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.5
        $listener.Stop()
    }

    It 'are in the job table, log through Receive-Job and disconnect with Stop-Job' {
        $job = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server $address -AsJob
        $job | Should -BeOfType ([UsbRedir.PowerShell.UsbRedirJob])
        (Get-Job -Id $job.Id).InstanceId | Should -Be $job.InstanceId
        $job.State | Should -Be 'Running'
        $job.Location | Should -Be $address
        $job.Target | Should -BeOfType ([UsbRedir.Sessions.UsbRedirConnection])
        $job.Target.State | Should -Be 'Connected'
        Wait-Job $job -Timeout 1 | Should -BeNullOrEmpty -Because 'a connection runs until it ends'
        Assert-TableFits $job 'UsbRedir.PowerShell.UsbRedirJob'
        Assert-ListView $job 'UsbRedir.PowerShell.UsbRedirJob'
        (Get-Job -Id $job.Id | Format-Table | Out-String -Width 120) | Should -Match "$($job.Id)\s+UsbRedir connection \d+\s+Running\s+True\s+127\.0\.0\.1:\d+\s+Connected"

        $log = @(Receive-Job $job -Keep)
        $log[0] | Should -BeOfType ([UsbRedir.Sessions.SessionLogEntry])
        $log.Message | Should -Contain "connected to $address"

        $job | Stop-Job
        $job.State | Should -Be 'Stopped'
        $job.Target.State | Should -Be 'Disconnected'
        Get-UsbRedirConnection -Id $job.Target.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'end Failed when the connection gives up, with the error that ended it' {
        $job = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server $address -NoReconnect -AsJob
        $peer = $listener.AcceptTcpClient()
        $peer.Dispose()
        Wait-Job $job -Timeout 20 | Should -Be $job
        $job.State | Should -Be 'Failed'
        $output = Receive-Job $job -ErrorVariable failures -ErrorAction SilentlyContinue
        ($output.Message -join "`n") | Should -Match 'ended'
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'ConnectionEnded'
        $failures[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $failures[0].TargetObject | Should -Be $job.Target
        $failures[0].ErrorDetails.RecommendedAction | Should -Match 'Receive-Job'
    }
}

Describe 'Progress' {
    It 'shows while Disconnect-UsbDevice waits for a peer that does not answer' {
        $listener = New-TestListener
        $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($listener.LocalEndpoint.Port)"
        # The peer takes the connection and reads our hello, sends its own (usb-guest, capability device_disconnect_ack:
        # so Disconnect-UsbDevice waits for that ack), and then never answers.
        $peer = $listener.AcceptTcpClient()
        $stream = $peer.GetStream()
        $null = $stream.Read([byte[]]::new(512), 0, 512)
        $version = [byte[]]::new(64)
        [System.Text.Encoding]::ASCII.GetBytes('silent peer').CopyTo($version, 0)
        $hello = [BitConverter]::GetBytes([uint32]0) + [BitConverter]::GetBytes([uint32]68) + [BitConverter]::GetBytes([uint32]0) +
            $version + [BitConverter]::GetBytes([uint32](1 -shl 3))
        $stream.Write([byte[]]$hello, 0, $hello.Count)
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not $connection.PeerVersion -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $connection.PeerVersion | Should -Be 'silent peer'
        # Another runspace, whose progress stream can be read back.
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($Module, $Connection)
                    Import-Module $Module
                    $Connection | Disconnect-UsbDevice -Timeout 1.5 -PassThru
                }).AddArgument((Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1')).
                AddArgument($connection)
            $result = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $result.State | Should -Be 'Disconnected'
            $progress = @($ps.Streams.Progress)
            $progress.Activity | Should -Match "^Disconnecting $($connection.Id): UsbRedir virtual keyboard"
            $progress[-1].RecordType | Should -Be 'Completed'
        }
        finally {
            $ps.Dispose()
            $peer.Dispose()
            $listener.Stop()
        }
    }
}
