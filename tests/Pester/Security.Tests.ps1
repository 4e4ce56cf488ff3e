# The trust cmdlets in a real pwsh: pairing (Grant/Get/Revoke-UsbRedirClient), known servers, own identities, and a
# plain Connect-UsbDevice to a non-loopback plain peer refused unless -AllowUnauthenticated.
BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    $Key = 'SHA256:0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20'
}

Describe 'Grant-, Get- and Revoke-UsbRedirClient' {
    BeforeEach { $folder = Join-Path $TestDrive ([guid]::NewGuid()) }

    It 'allows a client with a name and a filter, lists it, and revokes it through the pipeline' {
        $entry = Grant-UsbRedirClient $Key.ToLowerInvariant() -Name 'alice laptop' -Filter '0x08,-1,-1,-1,1|-1,-1,-1,-1,0' -ConfigFolder $folder
        $entry | Should -BeOfType ([UsbRedir.Security.AuthorizedClient])
        $entry.Identity | Should -Be $Key
        $entry.FilterText | Should -Be '0x08,-1,-1,-1,1|-1,-1,-1,-1,0'
        [int](Get-Item (Join-Path $folder 'authorized_clients')).UnixFileMode | Should -Be 0x180  # 0600
        $listed = @(Get-UsbRedirClient -ConfigFolder $folder)
        $listed.Count | Should -Be 1
        $listed[0].Name | Should -Be 'alice laptop'
        ($listed | Format-Table | Out-String -Width 200) | Should -Match 'alice laptop'
        $removed = Get-UsbRedirClient -ConfigFolder $folder | Revoke-UsbRedirClient -ConfigFolder $folder -PassThru
        $removed.Identity | Should -Be $Key
        @(Get-UsbRedirClient -ConfigFolder $folder).Count | Should -Be 0
    }

    It 'names the error of an unknown client and of a bad identity' {
        Revoke-UsbRedirClient $Key -ConfigFolder $folder -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ClientNotFound*'
        { Grant-UsbRedirClient 'nope' -ConfigFolder $folder -ErrorAction Stop } | Should -Throw -ErrorId 'ClientIdentityInvalid*'
    }

    It 'warns about a bad line with its number and still lists the good ones' {
        $null = New-Item -ItemType Directory -Path $folder
        Set-Content (Join-Path $folder 'authorized_clients') "garbage`n$Key name=bob"
        $listed = @(Get-UsbRedirClient -ConfigFolder $folder -WarningVariable warnings -WarningAction SilentlyContinue)
        $listed.Count | Should -Be 1
        $warnings[0] | Should -Match 'authorized_clients:1: '
    }
}

Describe 'Get- and Remove-UsbRedirKnownServer, Get-UsbRedirIdentity' {
    BeforeEach { $folder = Join-Path $TestDrive ([guid]::NewGuid()) }

    It 'lists and forgets a recorded server key' {
        $null = New-Item -ItemType Directory -Path $folder
        Set-Content (Join-Path $folder 'known_servers') "# mine`nBob:1138 $Key"
        (Get-UsbRedirKnownServer -ConfigFolder $folder).Server | Should -Be 'bob:1138'
        (Get-UsbRedirKnownServer bob:1139 -ConfigFolder $folder) | Should -BeNullOrEmpty
        Get-UsbRedirKnownServer -ConfigFolder $folder | Remove-UsbRedirKnownServer -ConfigFolder $folder
        Get-UsbRedirKnownServer -ConfigFolder $folder | Should -BeNullOrEmpty
        Get-Content (Join-Path $folder 'known_servers') | Should -Be '# mine'
    }

    It 'creates this machine''s identities once and shows the same keys afterwards' {
        $first = Get-UsbRedirIdentity -ConfigFolder $folder
        $first.Count | Should -Be 2
        $first.Created | Should -Be @($true, $true)
        $again = Get-UsbRedirIdentity Client -ConfigFolder $folder
        $again.Created | Should -BeFalse
        $again.Fingerprint.ToString() | Should -Be $first[0].Fingerprint.ToString()
    }
}

Describe 'Connect-UsbDevice to a plain peer at a non-loopback address' {
    BeforeAll {
        # This machine's own LAN address: a connection to it is not loopback, even from here.
        $lan = [System.Net.NetworkInformation.NetworkInterface]::GetAllNetworkInterfaces() |
            Where-Object OperationalStatus -eq 'Up' | ForEach-Object { $_.GetIPProperties().UnicastAddresses.Address } |
            Where-Object { $_.AddressFamily -eq 'InterNetwork' -and -not [System.Net.IPAddress]::IsLoopback($_) } | Select-Object -First 1
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Any, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        # A plain usb-guest that speaks first, as QEMU's chardev does: a usbredir header (hello, type 0).
        $script:peer = Start-ThreadJob -ArgumentList $listener {
            param($listener)
            # The thread waits in AcceptSocket and answers at once (a client waits 0.5 s for a peer to speak first); the
            # sockets stay open until the listener stops.
            'ready'
            for ($i = 0; $i -lt 2; $i++) {
                $socket = $listener.AcceptSocket()
                $null = $socket.Send([byte[]]::new(16))
            }
        }
    }
    AfterAll { $listener.Stop(); $peer | Remove-Job -Force }

    BeforeEach {
        $deadline = [DateTime]::Now.AddSeconds(30)
        while (@($peer.Output).Count -eq 0 -and [DateTime]::Now -lt $deadline) { Start-Sleep -Milliseconds 20 }
        Start-Sleep -Milliseconds 50 # from 'ready' into AcceptSocket
    }

    It 'refuses it with PlaintextServerRefused and connects with -AllowUnauthenticated' {
        $lan | Should -Not -BeNullOrEmpty -Because 'this test needs an IPv4 address other than loopback'
        $keyboard = New-UsbVirtualDevice -Keyboard
        { Connect-UsbDevice -Device $keyboard -Server "$($lan):$port" -NoReconnect -ConfigFolder (Join-Path $TestDrive 'c') -ErrorAction Stop } |
            Should -Throw -ErrorId 'PlaintextServerRefused*'
        $connection = Connect-UsbDevice -Device $keyboard -Server "$($lan):$port" -NoReconnect -AllowUnauthenticated -ConfigFolder (Join-Path $TestDrive 'c')
        $connection.Security.IsTls | Should -BeFalse
        $connection | Disconnect-UsbDevice
    }
}
