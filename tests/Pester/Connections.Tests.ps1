# Connect-UsbDevice, Get-UsbRedirConnection and Disconnect-UsbDevice in a real pwsh, against a TCP peer that listens
# like QEMU's usb-redir chardev in server mode: binding, pipelines, background connections, -WhatIf, errors, formats.
BeforeAll {
    $ModuleFolder = $env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')
    Import-Module (Join-Path $ModuleFolder 'UsbRedir.psd1') -Force
    . (Join-Path $PSScriptRoot 'PeerBytes.ps1')
    $ConnectionType = [UsbRedir.Sessions.UsbRedirConnection]

    function New-TestListener {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $listener
    }

    function Get-ListenerAddress([System.Net.Sockets.TcpListener] $Listener) { "127.0.0.1:$($Listener.LocalEndpoint.Port)" }

    # A bound socket that never listens: connects to its port are refused, and while it lives nothing running beside
    # can take the port (a port probed and released at once could be bound again before the connect). Dispose it after.
    function New-ClosedPort {
        $socket = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
        $socket.Bind([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        $socket
    }

    # The peer's end of a pushed connection: the first bytes our usb-host role sends are its hello with its version.
    function Receive-Hello([System.Net.Sockets.TcpListener] $Listener) {
        $client = $Listener.AcceptTcpClient()
        $stream = $client.GetStream()
        $stream.ReadTimeout = 10000
        $buffer = [byte[]]::new(512)
        $count = $stream.Read($buffer, 0, $buffer.Length)
        [pscustomobject]@{ Client = $client; Stream = $stream; Text = [System.Text.Encoding]::ASCII.GetString($buffer, 0, $count) }
    }

    # True when the other side closes the connection within the stream's read timeout.
    function Test-Closed($Peer) {
        $buffer = [byte[]]::new(4096)
        try {
            while ($Peer.Stream.Read($buffer, 0, $buffer.Length) -gt 0) { }
            $true
        }
        catch [System.IO.IOException] {
            $false
        }
    }

    function Wait-State($Connection, [string] $State) {
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        while ($Connection.State -ne $State -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $Connection.State | Should -Be $State
    }
}

Describe 'Connect-UsbDevice' {
    BeforeEach {
        $listener = New-TestListener
        $address = Get-ListenerAddress $listener
        $keyboard = New-UsbVirtualDevice -Keyboard
    }

    AfterEach {
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.2
        $listener.Stop()
    }

    It 'pushes a piped device and returns a connection that runs in the background' {
        $connection = $keyboard | Connect-UsbDevice -Server $address
        $connection | Should -BeOfType $ConnectionType
        $connection.State | Should -Be 'Connected'
        "$($connection.Server)" | Should -Be $address
        $connection.Device | Should -Be $keyboard

        $peer = Receive-Hello $listener
        $peer.Text | Should -Match 'UsbRedir'
        $connection.BytesSent | Should -BeGreaterThan 0
        $peer.Client.Dispose()
    }

    It 'takes the device by name too' {
        $connection = Connect-UsbDevice -Device $keyboard -Server $address
        $connection.Device | Should -Be $keyboard
    }

    It 'takes a local device id at position 0 and nothing else positionally' {
        $positional = foreach ($parameter in (Get-Command Connect-UsbDevice).Parameters.Values) {
            foreach ($entry in $parameter.ParameterSets.GetEnumerator()) {
                if ($entry.Value.Position -ge 0) { "-$($parameter.Name) at $($entry.Value.Position) in $($entry.Key)" }
            }
        }
        $positional | Sort-Object | Should -Be @('-Id at 0 in IdListen', '-Id at 0 in IdToController', '-Id at 0 in IdToServer')
    }

    It 'connects nothing under -WhatIf' {
        $keyboard | Connect-UsbDevice -Server $address -WhatIf | Should -BeNullOrEmpty
        Get-UsbRedirConnection | Should -BeNullOrEmpty
        $listener.Pending() | Should -BeFalse
    }

    It 'reports a refused first attempt as an error and leaves nothing running' {
        $closed = New-ClosedPort
        try {
            $keyboard | Connect-UsbDevice -Server "127.0.0.1:$($closed.LocalEndPoint.Port)" -ErrorVariable failures -ErrorAction SilentlyContinue |
                Should -BeNullOrEmpty
        } finally {
            $closed.Dispose()
        }
        $failures[0].FullyQualifiedErrorId | Should -Be 'ConnectionRefused,UsbRedir.PowerShell.Connections.ConnectUsbDeviceCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        Get-UsbRedirConnection | Should -BeNullOrEmpty
    }

    It 'stops before connecting when a setting is wrong' {
        { $keyboard | Connect-UsbDevice -Server 'no-port-here' } | Should -Throw -ErrorId 'EndpointInvalid,*'
        { $keyboard | Connect-UsbDevice -Server $address -NoReconnect -ReconnectDelay 1 } | Should -Throw -ErrorId 'ReconnectPolicyInvalid,*'
        { $keyboard | Connect-UsbDevice -Server $address -ReconnectDelay 5 -MaxReconnectDelay 1 } | Should -Throw -ErrorId 'ReconnectPolicyInvalid,*'
        { $keyboard | Connect-UsbDevice -Server $address -KeepAliveIdle 0 } | Should -Throw -ErrorId 'KeepAliveInvalid,*'
        { $keyboard | Connect-UsbDevice -Server $address -ReconnectDelay 'later' } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
        $listener.Pending() | Should -BeFalse
    }

    It 'refuses a second connection for the same device' {
        $null = $keyboard | Connect-UsbDevice -Server $address
        { $keyboard | Connect-UsbDevice -Server $address -ErrorAction Stop } | Should -Throw -ErrorId 'DeviceAlreadyConnected,*'
    }

    It 'takes reconnect and keepalive settings in seconds' {
        $connection = $keyboard | Connect-UsbDevice -Server $address -ReconnectDelay 0.1 -MaxReconnectDelay 0.2 -MaxReconnectAttempts 1 `
            -KeepAliveIdle 5 -KeepAliveInterval 2 -KeepAliveProbeCount 2
        $connection.State | Should -Be 'Connected'
        # The peer goes away for good: one refused retry later the connection gives up and says why.
        $peer = Receive-Hello $listener
        $listener.Stop()
        $peer.Client.Dispose()
        Wait-State $connection 'Failed'
        $connection.LastError | Should -Match 'giving up'
    }
}

Describe 'Connect-UsbDevice -Listen' {
    BeforeEach {
        $keyboard = New-UsbVirtualDevice -Keyboard
    }

    AfterEach {
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.2
    }

    It 'listens for the peer, serves it, and listens again when it leaves' {
        $connection = $keyboard | Connect-UsbDevice -Listen 127.0.0.1:0
        $connection | Should -BeOfType $ConnectionType
        $connection.State | Should -Be 'Listening'
        $connection.Server | Should -BeNullOrEmpty
        $port = $connection.ListenEndPoint.Port
        $connection.Target | Should -Be "listen 127.0.0.1:$port"

        # The peer speaks first, as QEMU's usb-redir with a client chardev does (every usbredir peer sends its hello on
        # connect): the listener tells TLS from plain usbredir by the first bytes (Auto), then answers with its hello.
        $client = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port)
        $stream = $client.GetStream()
        $stream.ReadTimeout = 10000
        $hello = New-UsbRedirGuestHello
        $stream.Write($hello, 0, $hello.Length)
        $buffer = [byte[]]::new(512)
        $count = $stream.Read($buffer, 0, $buffer.Length)
        [System.Text.Encoding]::ASCII.GetString($buffer, 0, $count) | Should -Match 'UsbRedir'
        Wait-State $connection 'Connected'
        $client.Dispose()
        Wait-State $connection 'Listening'
        (Get-UsbRedirConnection | Format-Table | Out-String) | Should -Match "listen 127\.0\.0\.1:$port"
    }

    It 'stops before listening when the address is not one of this machine' {
        { $keyboard | Connect-UsbDevice -Listen 'bob:4000' } | Should -Throw -ErrorId 'EndpointInvalid,*'
        Get-UsbRedirConnection | Should -BeNullOrEmpty
    }
}

Describe 'Get-UsbRedirConnection' {
    BeforeAll {
        $listener = New-TestListener
        $address = Get-ListenerAddress $listener
        $first = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server $address
        $second = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server $address -NoReconnect
    }

    AfterAll {
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.2
        $listener.Stop()
    }

    It 'lists every connection in id order' {
        (Get-UsbRedirConnection).Id | Should -Be $first.Id, $second.Id
    }

    It 'selects by id, by piped objects with an Id and by state' {
        (Get-UsbRedirConnection $second.Id).Id | Should -Be $second.Id
        ($first | Get-UsbRedirConnection).Id | Should -Be $first.Id
        (Get-UsbRedirConnection -State Connected).Count | Should -Be 2
        Get-UsbRedirConnection -State Failed, Rejected | Should -BeNullOrEmpty
    }

    It 'names an unknown id and still lists the known ones' {
        $found = Get-UsbRedirConnection -Id 987654, $first.Id -ErrorVariable failures -ErrorAction SilentlyContinue
        $found.Id | Should -Be $first.Id
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'ConnectionNotFound,UsbRedir.PowerShell.Connections.GetUsbRedirConnectionCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].TargetObject | Should -Be 987654
    }

    It 'keeps a connection that ended by itself, with the reason' {
        # Both connections are in the backlog; the first accepted is the first connected.
        $peers = (Receive-Hello $listener), (Receive-Hello $listener)
        $peers | ForEach-Object { $_.Client.Dispose() }
        Wait-State $second 'Failed'
        (Get-UsbRedirConnection -State Failed).Id | Should -Be $second.Id
        $second.LastError | Should -Match 'giving up'
        $second.ErrorCount | Should -BeGreaterThan 0
    }

    It 'shows connections as a table and as a list' {
        $table = Get-UsbRedirConnection | Format-Table | Out-String -Width 120
        foreach ($header in 'Id', 'State', 'Target', 'Sent', 'Received', 'Errors', 'Device') {
            $table | Should -Match "\b$header\b"
        }
        $table | Should -Match 'UsbRedir virtual keyboard'
        $list = Get-UsbRedirConnection -Id $second.Id | Format-List | Out-String
        foreach ($label in 'Target', 'Peer', 'DeviceIdentity', 'PeerVersion', 'PeerFilter', 'StartTime', 'Reconnects', 'Reattachments', 'TransfersSent', 'TransfersReceived', 'ErrorCount', 'LastError') {
            $list | Should -Match "\b$label\s*:"
        }
    }
}

Describe 'Disconnect-UsbDevice' {
    BeforeEach {
        $listener = New-TestListener
        $address = Get-ListenerAddress $listener
        $keyboard = New-UsbVirtualDevice -Keyboard
        $connection = $keyboard | Connect-UsbDevice -Server $address
        $peer = Receive-Hello $listener
    }

    AfterEach {
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.2
        $peer.Client.Dispose()
        $listener.Stop()
    }

    It 'ends a piped connection, closes it and takes it off the list' {
        $result = $connection | Disconnect-UsbDevice -Timeout 0.5 -PassThru
        $result | Should -Be $connection
        $connection.State | Should -Be 'Disconnected'
        Get-UsbRedirConnection | Should -BeNullOrEmpty
        Test-Closed $peer | Should -BeTrue
    }

    It 'ends a connection by id and writes nothing without -PassThru' {
        Disconnect-UsbDevice -Id $connection.Id -Timeout 0.2 | Should -BeNullOrEmpty
        $connection.State | Should -Be 'Disconnected'
    }

    It 'leaves the device usable for a new connection' {
        $connection | Disconnect-UsbDevice -Timeout 0.2
        ($keyboard | Connect-UsbDevice -Server $address).State | Should -Be 'Connected'
    }

    It 'changes nothing under -WhatIf' {
        $connection | Disconnect-UsbDevice -WhatIf
        $connection.State | Should -Be 'Connected'
        (Get-UsbRedirConnection).Id | Should -Be $connection.Id
    }

    It 'names an unknown id and refuses a negative timeout' {
        Disconnect-UsbDevice -Id 987654 -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -Be 'ConnectionNotFound,UsbRedir.PowerShell.Connections.DisconnectUsbDeviceCommand'
        { $connection | Disconnect-UsbDevice -Timeout -1 } | Should -Throw -ErrorId 'TimeoutInvalid,*'
        $connection.State | Should -Be 'Connected'
    }
}

Describe 'Removing the module' {
    It 'disconnects every connection it made' {
        $listener = New-TestListener
        try {
            # A fresh pwsh: a binary module cannot be loaded again into this one after removal.
            $script = @"
Import-Module '$((Join-Path $ModuleFolder 'UsbRedir.psd1') -replace "'", "''")'
`$connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server '$(Get-ListenerAddress $listener)'
`$context = [UsbRedir.PowerShell.UsbRedirModuleLifetime]::Context
Remove-Module UsbRedir
`$connection.State.ToString()
`$context.Connections.All.Count
"@
            # This shell's own executable: under the dotnet-tool pwsh the process is `dotnet` itself, so never its path.
            $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
            $output = & $pwsh -NoProfile -NonInteractive -Command $script
            $LASTEXITCODE | Should -Be 0
            $output | Should -Be 'Disconnected', '0'
        }
        finally {
            $listener.Stop()
        }
    }
}
