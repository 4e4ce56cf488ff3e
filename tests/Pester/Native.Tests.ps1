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
