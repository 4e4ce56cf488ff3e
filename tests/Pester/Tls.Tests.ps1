# TLS in a real pwsh: New-UsbRedirCertificate's set read by openssl (QEMU's layout, keys 0600, a CA with CA:TRUE), the TLS
# parameters of Connect-UsbDevice (-Tls, -TlsDirectory, -Certificate) with openssl as the other end, the listen mode's
# admission policy towards a remote peer (this machine's own LAN address), and (tagged Kernel: the VM harness runs it
# with usbredir_vhci.ko) a TLS link between Start-UsbRedirServer and Connect-UsbDevice in one session.
BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    . (Join-Path $PSScriptRoot 'PeerBytes.ps1')

    function Wait-Until([scriptblock] $Condition, [string] $Because) {
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        & $Condition | Should -BeTrue -Because $Because
    }

    # A CA with a server certificate (localhost, 127.0.0.1 and the names given) and a client certificate, all from the cmdlet.
    function New-TlsSet([string] $Directory, [string] $Name, [string[]] $HostName = @()) {
        $null = New-UsbRedirCertificate Ca -TlsDirectory $Directory -Name "$Name CA"
        $null = New-UsbRedirCertificate Server -TlsDirectory $Directory -Name "$Name server" -HostName (@('localhost', '127.0.0.1') + $HostName)
        $null = New-UsbRedirCertificate Client -TlsDirectory $Directory -Name "$Name client"
    }

    # openssl started with its stdin held open (a peer that stays connected until stopped), stdout and stderr collected.
    function Start-OpenSsl([string[]] $Arguments) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new('openssl')
        foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardInput = $true
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $process = [System.Diagnostics.Process]::Start($psi)
        [pscustomobject]@{
            Process = $process
            Output  = $process.StandardOutput.ReadToEndAsync()
            Errors  = $process.StandardError.ReadToEndAsync()
        }
    }

    function Stop-OpenSsl($Peer) {
        if (-not $Peer.Process.HasExited) { $Peer.Process.Kill() }
        $null = $Peer.Process.WaitForExit(5000)
        $Peer.Output.Result + $Peer.Errors.Result
    }

    # Two sets that do not know each other: 'pester' (what our ends use) and 'stranger' (another CA, its server and client).
    $script:tls = Join-Path $TestDrive 'shared-tls'
    $script:other = Join-Path $TestDrive 'shared-other'
    New-TlsSet $tls 'pester'
    New-TlsSet $other 'stranger'

    # This machine's own LAN address: a connection to it is not loopback, even from here.
    $script:lan = [System.Net.NetworkInformation.NetworkInterface]::GetAllNetworkInterfaces() |
        Where-Object OperationalStatus -eq 'Up' | ForEach-Object { $_.GetIPProperties().UnicastAddresses.Address } |
        Where-Object { $_.AddressFamily -eq 'InterNetwork' -and -not [System.Net.IPAddress]::IsLoopback($_) } | Select-Object -First 1
}

Describe 'New-UsbRedirCertificate' {
    BeforeAll {
        $tls = Join-Path $TestDrive 'tls'
        New-TlsSet $tls 'pester' @('bob.example')
    }

    It 'writes QEMU''s file names, the keys readable by their owner only' {
        foreach ($name in 'ca-cert.pem', 'ca-key.pem', 'server-cert.pem', 'server-key.pem', 'client-cert.pem', 'client-key.pem') {
            Join-Path $tls $name | Should -Exist
        }
        foreach ($key in 'ca-key.pem', 'server-key.pem', 'client-key.pem') {
            [int](Get-Item (Join-Path $tls $key)).UnixFileMode | Should -Be 0x180 -Because "$key is a private key (0600)"
        }
        Get-Content (Join-Path $tls 'server-key.pem') -TotalCount 1 | Should -Be '-----BEGIN PRIVATE KEY-----'
    }

    It 'makes a CA that openssl reads as CA:TRUE with keyCertSign, and certificates it signed for their roles' {
        $ca = openssl x509 -in (Join-Path $tls 'ca-cert.pem') -noout -text | Out-String
        $ca | Should -Match 'Basic Constraints: critical\s+CA:TRUE'
        $ca | Should -Match 'Certificate Sign'
        $ca | Should -Match 'Subject: CN\s*=\s*pester CA'
        $server = openssl x509 -in (Join-Path $tls 'server-cert.pem') -noout -text | Out-String
        $server | Should -Match 'CA:FALSE'
        $server | Should -Match 'TLS Web Server Authentication'
        $server | Should -Match 'DNS:localhost'
        $server | Should -Match 'DNS:bob.example'
        $server | Should -Match 'IP Address:127.0.0.1'
        $server | Should -Match 'Issuer: CN\s*=\s*pester CA'
        (openssl x509 -in (Join-Path $tls 'client-cert.pem') -noout -text | Out-String) | Should -Match 'TLS Web Client Authentication'
        foreach ($cert in 'server-cert.pem', 'client-cert.pem') {
            $verdict = openssl verify -CAfile (Join-Path $tls 'ca-cert.pem') (Join-Path $tls $cert) 2>&1 | Out-String
            $LASTEXITCODE | Should -Be 0 -Because $verdict
            $verdict | Should -Match ': OK'
        }
    }

    It 'refuses to overwrite a file without -Force and names it' {
        { New-UsbRedirCertificate Client -TlsDirectory $tls -ErrorAction Stop } | Should -Throw -ErrorId 'TlsFileExists*'
        $before = Get-Content (Join-Path $tls 'client-cert.pem') -Raw
        $null = New-UsbRedirCertificate Client -TlsDirectory $tls -Name 'pester client' -Force
        Get-Content (Join-Path $tls 'client-cert.pem') -Raw | Should -Not -Be $before
        openssl verify -CAfile (Join-Path $tls 'ca-cert.pem') (Join-Path $tls 'client-cert.pem') | Should -Match ': OK'
    }
}

Describe 'Connect-UsbDevice TLS parameters against openssl' {
    It 'fails with TlsCertificateUntrusted against a server of another CA, and -Certificate presents the given client certificate' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $listener.Start()
        $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $server = Start-OpenSsl @('s_server', '-accept', "127.0.0.1:$port", '-naccept', '1', '-cert', (Join-Path $other 'server-cert.pem'),
            '-key', (Join-Path $other 'server-key.pem'))
        try {
            Start-Sleep -Milliseconds 500
            $certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile(
                (Join-Path $tls 'client-cert.pem'), (Join-Path $tls 'client-key.pem'))
            { New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server "127.0.0.1:$port" -TlsDirectory $tls -Certificate $certificate -NoReconnect -ErrorAction Stop } |
                Should -Throw -ErrorId 'TlsCertificateUntrusted*'
        }
        finally { $null = Stop-OpenSsl $server }
    }
}

Describe 'Connect-UsbDevice -Listen: who gets the device' {
    BeforeAll {
        # openssl s_client as a remote usb-guest's TLS end: it checks our server certificate and presents its client's.
        function Start-Peer([string] $Set, [int] $Port) {
            Start-OpenSsl @('s_client', '-connect', "$($lan):$Port", '-cert', (Join-Path $Set 'client-cert.pem'), '-key', (Join-Path $Set 'client-key.pem'),
                '-CAfile', (Join-Path $tls 'ca-cert.pem'), '-verify_hostname', 'localhost', '-verify_return_error')
        }
        function Get-LogText($Connection) { ($Connection.Log.Entries | ForEach-Object Message) -join "`n" }
    }

    It 'gives a remote peer signed by the -TlsDirectory CA the device over TLS and shows its identity' {
        $lan | Should -Not -BeNullOrEmpty -Because 'this test needs an IPv4 address other than loopback'
        $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Listen "$($lan):0" -TlsDirectory $tls -ConfigFolder (Join-Path $TestDrive 'x1')
        try {
            $peer = Start-Peer $tls $connection.ListenEndPoint.Port
            Wait-Until { (Get-UsbRedirConnection -Id $connection.Id).State -eq 'Connected' } 'the exporter serves the CA-signed peer'
            $shown = Get-UsbRedirConnection -Id $connection.Id
            $shown.Security.IsTls | Should -BeTrue
            $shown.Security.PeerIdentity.CommonName | Should -Be 'pester client'
            $shown.Security.ToString() | Should -Match '^TLS 1\.[23] \(.*pester client'
            (Get-LogText $connection) | Should -Match 'signed by the trusted CA'
            $seen = Stop-OpenSsl $peer
            $seen | Should -Match 'Verify return code: 0 \(ok\)' -Because 's_client verified our server certificate'
            $seen | Should -Match 'UsbRedir \d' -Because 'our usbredir hello came through TLS'
        }
        finally { $connection | Disconnect-UsbDevice -Timeout 0 }
    }

    It 'refuses a remote peer of another CA naming Grant-UsbRedirClient, and gives it the device once granted' {
        $folder = Join-Path $TestDrive 'x2'
        $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Listen "$($lan):0" -TlsDirectory $tls -ConfigFolder $folder
        try {
            $port = $connection.ListenEndPoint.Port
            $peer = Start-Peer $other $port
            Wait-Until { (Get-LogText $connection) -match 'Grant-UsbRedirClient (SHA256:[0-9A-F]{64})' } 'the refusal names the command that allows the peer'
            $key = [regex]::Match((Get-LogText $connection), 'Grant-UsbRedirClient (SHA256:[0-9A-F]{64})').Groups[1].Value
            (Get-LogText $connection) | Should -Match "Refused the client $([regex]::Escape($lan.ToString())) with key $key \(.*CN=stranger client"
            (Get-LogText $connection) | Should -Match "usbredir clients allow $key"
            $null = $peer.Process.WaitForExit(10000)
            (Stop-OpenSsl $peer) | Should -Not -Match 'UsbRedir \d' -Because 'a refused peer never sees the device''s side speak'
            $connection.State | Should -Be 'Listening'

            $null = Grant-UsbRedirClient $key -Name 'stranger' -ConfigFolder $folder
            $peer = Start-Peer $other $port
            Wait-Until { (Get-UsbRedirConnection -Id $connection.Id).State -eq 'Connected' } 'the granted peer gets the device'
            $connection.Security.PeerIdentity.CommonName | Should -Be 'stranger client'
            $null = Stop-OpenSsl $peer
        }
        finally { $connection | Disconnect-UsbDevice -Timeout 0 }
    }

    It 'refuses a plain remote peer unless -AllowUnauthenticated' {
        foreach ($insecure in $false, $true) {
            $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Listen "$($lan):0" -AllowUnauthenticated:$insecure -ConfigFolder (Join-Path $TestDrive 'x3')
            try {
                $client = [System.Net.Sockets.TcpClient]::new()
                $client.Connect($lan, $connection.ListenEndPoint.Port)
                $stream = $client.GetStream()
                $stream.ReadTimeout = 10000
                # A whole hello, as QEMU's chardev speaks first (a bare header of length 0 is a bad hello: the session could
                # close on it before its own hello went out)
                $hello = New-UsbRedirGuestHello
                $stream.Write($hello, 0, $hello.Length)
                $read = $stream.Read([byte[]]::new(64), 0, 64)
                $client.Dispose()
                if ($insecure) {
                    $read | Should -BeGreaterThan 0 -Because 'with -AllowUnauthenticated a plain peer from anywhere gets our hello'
                }
                else {
                    $read | Should -Be 0 -Because 'a plain remote peer is closed before any usbredir byte'
                    Wait-Until { (Get-LogText $connection) -match 'Refused the plaintext' } 'the refusal is in the log'
                    (Get-LogText $connection) | Should -Match '-AllowUnauthenticated \(Connect-UsbDevice -Listen\)'
                }
            }
            finally { $connection | Disconnect-UsbDevice -Timeout 0 }
        }
    }
}

# Tagged Kernel: the host run excludes it; Vm/PwshVmTests runs it in real pwsh in a guest with usbredir_vhci.ko loaded.
Describe 'TLS between Start-UsbRedirServer and Connect-UsbDevice' -Tag Kernel {
    BeforeAll {
        # -Certificate overrides the directory's server-cert.pem: the same certificate, given as an object.
        $certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile(
            (Join-Path $tls 'server-cert.pem'), (Join-Path $tls 'server-key.pem'))
        $server = Start-UsbRedirServer -Port 0 -Address 127.0.0.1 -Ports 1 -Backend VhciCtrl -Tls Tls -TlsDirectory $tls -Certificate $certificate `
            -ConfigFolder (Join-Path $TestDrive 'server')
        $at = "127.0.0.1:$($server.LocalEndPoint.Port)"
    }

    AfterAll {
        Get-UsbRedirConnection | Disconnect-UsbDevice -Timeout 0.5
        $server | Stop-UsbRedirServer -Timeout 2
    }

    It 'links a software keyboard over TLS, each side showing the other''s certificate' {
        $connection = New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server $at -TlsDirectory $tls -NoReconnect -ConfigFolder (Join-Path $TestDrive 'client')
        try {
            Wait-Until { @((Get-UsbRedirServer -Id $server.Id).Connections | Where-Object State -EQ 'Attached').Count -eq 1 } 'the server plugs the keyboard in'
            $served = (Get-UsbRedirServer -Id $server.Id).Connections[0]
            $served.Security.IsTls | Should -BeTrue
            $served.Security.PeerIdentity.CommonName | Should -Be 'pester client'
            $shown = Get-UsbRedirConnection -Id $connection.Id
            $shown.State | Should -Be 'Connected'
            $shown.Security.IsTls | Should -BeTrue
            $shown.Security.PeerIdentity.CommonName | Should -Be 'pester server'
            "$($shown.Security.Protocol)" | Should -BeIn 'Tls12', 'Tls13'
        }
        finally { $connection | Disconnect-UsbDevice -Timeout 2 }
    }

    It 'fails with TlsCertificateUntrusted when the client trusts another CA' {
        { New-UsbVirtualDevice -Keyboard | Connect-UsbDevice -Server $at -TlsDirectory $other -NoReconnect -ConfigFolder (Join-Path $TestDrive 'client') -ErrorAction Stop } |
            Should -Throw -ErrorId 'TlsCertificateUntrusted*'
    }
}
