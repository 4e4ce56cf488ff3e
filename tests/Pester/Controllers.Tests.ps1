# The controller and server cmdlets in a real pwsh. Without the project's kernel module only the parts that need no
# kernel run (binding, -WhatIf, ids, the errors that say what is missing); with /dev/vhci-ctrl the devices go all the
# way into the kernel and show in sysfs.
BeforeDiscovery {
    $hasVhciCtrl = Test-Path /dev/vhci-ctrl
}

BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    . (Join-Path $PSScriptRoot 'FormatChecks.ps1')

    function Get-FreeLoopbackPort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $listener.Stop()
        $port
    }

    function Wait-Until([scriptblock] $Condition, [string] $Because) {
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        & $Condition | Should -BeTrue -Because $Because
    }
}

Describe 'Controller and server cmdlets without a kernel' {
    It 'create nothing under -WhatIf' {
        New-VhciController -Ports 2 -WhatIf | Should -BeNullOrEmpty
        Get-VhciController | Should -BeNullOrEmpty
        $port = Get-FreeLoopbackPort
        Start-UsbRedirServer -Port $port -Address 127.0.0.1 -WhatIf | Should -BeNullOrEmpty
        Get-UsbRedirServer | Should -BeNullOrEmpty
        # Nothing listens: the port can still be bound.
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $port)
        $probe.Start()
        $probe.Stop()
    }

    It 'name unknown ids' {
        Get-VhciController -Id 424242 -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -Be 'VhciControllerNotFound,UsbRedir.PowerShell.Controllers.GetVhciControllerCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        { Remove-VhciController -Id 424242 -ErrorAction Stop } | Should -Throw -ErrorId 'VhciControllerNotFound,*'
        { Get-UsbRedirServer -Id 424242 -ErrorAction Stop } | Should -Throw -ErrorId 'UsbRedirServerNotFound,*'
        { Stop-UsbRedirServer -Id 424242 -ErrorAction Stop } | Should -Throw -ErrorId 'UsbRedirServerNotFound,*'
    }

    It 'check their arguments while binding' {
        { New-VhciController -Ports 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { New-VhciController -Ports 32 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { New-VhciController -Backend Floppy } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,*'
        { Start-UsbRedirServer -Port 70000 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { Start-UsbRedirServer -Filter '0x08,zz' } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
        { Stop-UsbRedirServer -Id 1 -Timeout 'never' } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }

    It 'say that the kernel module is missing and how to load it' -Skip:$hasVhciCtrl {
        { New-VhciController -Backend VhciCtrl -ErrorAction Stop } | Should -Throw -ErrorId 'VhciModuleMissing,*'
        $record = $null
        try { New-VhciController -Backend VhciCtrl -ErrorAction Stop } catch { $record = $_ }
        $record.CategoryInfo.Category | Should -Be 'NotInstalled'
        $record.ErrorDetails.RecommendedAction | Should -Match 'modprobe|insmod|dkms'
        Get-VhciController | Should -BeNullOrEmpty
    }
}

# Tagged Kernel: the host run excludes it; Vm/PwshVmTests runs it in real pwsh in a guest with the module loaded.
Describe 'Controllers and servers with the usbredir_vhci module' -Tag Kernel {
    BeforeAll {
        $controller = New-VhciController -Ports 2 -Backend VhciCtrl
    }

    AfterAll {
        Get-UsbRedirServer | Stop-UsbRedirServer -Timeout 2
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.5
        Get-VhciController | Remove-VhciController -Confirm:$false
    }

    It 'creates a controller with the ports asked for' {
        $controller.Backend | Should -Be 'VhciCtrl'
        $controller.PortCount | Should -Be 2
        $controller.FreePorts | Should -Be 2
        $controller.State | Should -Be 'Running'
        (Get-VhciController).Id | Should -Contain $controller.Id
        ($controller | Format-Table | Out-String) | Should -Match 'FreePorts'
    }

    It 'completes controller ids with their names, and removes nothing under -WhatIf' {
        $completion = (TabExpansion2 -inputScript 'Remove-VhciController -Id ' -cursorColumn 26).CompletionMatches |
            Where-Object CompletionText -EQ "$($controller.Id)"
        $completion.ToolTip | Should -Match ([regex]::Escape($controller.Name))
        Remove-VhciController -Id $controller.Id -WhatIf
        $controller | Remove-VhciController -WhatIf
        $controller.State | Should -Be 'Running'
        (Get-VhciController).Id | Should -Contain $controller.Id
        $plug = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Controller $controller -WhatIf
        $plug | Should -BeNullOrEmpty
        $controller.FreePorts | Should -Be 2
    }

    It 'shows controllers, ports and plugs in tables that fit and in lists' {
        Assert-TableFits $controller 'UsbRedir.PowerShell.Controllers.VhciController'
        Assert-ListView $controller 'UsbRedir.PowerShell.Controllers.VhciController'
        Assert-TableFits $controller.Ports 'UsbRedir.Controllers.VirtualPortInfo'
        Assert-ListView $controller.Ports 'UsbRedir.Controllers.VirtualPortInfo'
        $plug = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Controller $controller
        try {
            Assert-TableFits $plug 'UsbRedir.PowerShell.Controllers.UsbDevicePlug'
            Assert-ListView $plug 'UsbRedir.PowerShell.Controllers.UsbDevicePlug'
        }
        finally { $plug | Disconnect-UsbDevice }
    }

    It 'plugs a keyboard into a port, where the kernel enumerates it, and unplugs it' {
        $plug = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Controller $controller
        $plug.BusId | Should -Be "$($controller.BusNumber)-1"
        $sysfs = "/sys/bus/usb/devices/$($plug.BusId)"
        Wait-Until { Test-Path "$sysfs/idVendor" } 'the kernel enumerates the keyboard'
        (Get-Content "$sysfs/idVendor") | Should -Be '1209'
        $controller.FreePorts | Should -Be 1

        $plug | Disconnect-UsbDevice
        $plug.IsPlugged | Should -BeFalse
        Wait-Until { -not (Test-Path $sysfs) } 'the kernel sees the keyboard go away'
    }

    It 'serves a pushed disk through the controller and leaves the controller when stopped' {
        $image = Join-Path $TestDrive 'served.img'
        [System.IO.File]::WriteAllBytes($image, [byte[]]::new(4MB))
        $server = $controller | Start-UsbRedirServer -Port 0 -Address 127.0.0.1
        $server.IsRunning | Should -BeTrue
        $connection = New-UsbVirtualDevice $image | Connect-UsbDevice -Server "127.0.0.1:$($server.LocalEndPoint.Port)"
        Wait-Until { @($server.Connections | Where-Object State -EQ 'Attached').Count -eq 1 } 'the server plugs the disk in'
        ($controller.Ports | Where-Object State -EQ 'Plugged').Count | Should -Be 1
        (Get-UsbRedirServer -Id $server.Id).Connections[0].DeviceDescription | Should -Match 'UsbRedir Virtual Disk \(1209:0001, serial \w+\)'
        (Get-UsbRedirServer -Id $server.Id | Format-Table | Out-String -Width 120) | Should -Match 'UsbRedir Virtual Disk \(1209:0001'
        Assert-TableFits $server 'UsbRedir.Server.UsbRedirServer'
        Assert-ListView $server 'UsbRedir.Server.UsbRedirServer'
        Assert-TableFits $server.Connections 'UsbRedir.Server.UsbRedirServerConnection'
        Assert-ListView $server.Connections 'UsbRedir.Server.UsbRedirServerConnection'
        ((TabExpansion2 -inputScript 'Stop-UsbRedirServer -Id ' -cursorColumn 24).CompletionMatches).CompletionText | Should -Contain "$($server.Id)"
        $server | Stop-UsbRedirServer -WhatIf
        Stop-UsbRedirServer -Id $server.Id -WhatIf
        $server.IsRunning | Should -BeTrue

        $server | Stop-UsbRedirServer -Timeout 5
        Get-UsbRedirServer | Should -BeNullOrEmpty
        $controller.FreePorts | Should -Be 2
        $controller.State | Should -Be 'Running'
        $connection | Disconnect-UsbDevice -Timeout 0.5
    }

    It 'runs a server as a job: its log and its connections'' through Receive-Job, stopped by Stop-Job' {
        $job = $controller | Start-UsbRedirServer -Port 0 -Address 127.0.0.1 -AsJob
        $job | Should -BeOfType ([UsbRedir.PowerShell.UsbRedirJob])
        $server = $job.Target
        $server.IsRunning | Should -BeTrue
        (Get-Job -Id $job.Id).InstanceId | Should -Be $job.InstanceId
        $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$($server.LocalEndPoint.Port)"
        Wait-Until { @($server.Connections | Where-Object State -EQ 'Attached').Count -eq 1 } 'the server plugs the keyboard in'
        Wait-Job $job -Timeout 1 | Should -BeNullOrEmpty -Because 'a server runs until it is stopped'
        $job | Stop-Job
        $job.State | Should -Be 'Stopped'
        $server.IsRunning | Should -BeFalse
        $controller.FreePorts | Should -Be 2
        $log = (Receive-Job $job).Message -join "`n"
        $log | Should -Match 'listening on 127.0.0.1'
        $log | Should -Match 'plugged into port \d'
        $job | Remove-Job
        $connection | Disconnect-UsbDevice -Timeout 0.5
    }

    It 'gives a server its own controller with -Ports and removes it with the server' {
        $before = @(Get-VhciController).Count
        $server = Start-UsbRedirServer -Port 0 -Address 127.0.0.1 -Ports 1 -Backend VhciCtrl
        @(Get-VhciController).Count | Should -Be ($before + 1)
        $server | Stop-UsbRedirServer -PassThru | Should -Be $server
        @(Get-VhciController).Count | Should -Be $before
    }

    It 'removes a controller and unplugs what is still in it' {
        $other = New-VhciController -Ports 1 -Backend VhciCtrl
        $plug = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Controller $other
        $removed = $other | Remove-VhciController -Confirm:$false -PassThru
        $removed.State | Should -Be 'Removed'
        $plug.IsPlugged | Should -BeFalse
        Get-VhciController -Id $other.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
