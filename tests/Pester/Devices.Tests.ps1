# New-UsbVirtualDevice in a real pwsh: parameter sets, path resolution, pipeline binding, -WhatIf and error ids.
BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    $DiskType = [UsbRedir.Devices.Software.MassStorage.MassStorageDevice]
    $KeyboardType = [UsbRedir.Devices.Software.Hid.BootKeyboard]

    # A blank raw image in $TestDrive (a whole number of 512-byte blocks). Each test uses its own name: an open,
    # writable virtual disk keeps its image locked.
    function New-TestImage([string] $Name, [int] $Size = 1MB) {
        $path = Join-Path $TestDrive $Name
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $path)
        [System.IO.File]::WriteAllBytes($path, [byte[]]::new($Size))
        [System.IO.Path]::GetFullPath($path)
    }
}

Describe 'New-UsbVirtualDevice -DiskImage' {
    It 'opens an image as a writable high-speed drive' {
        $path = New-TestImage 'plain.img'
        $disk = New-UsbVirtualDevice -DiskImage $path
        $disk | Should -BeOfType $DiskType
        $disk.Speed | Should -Be 'High'
        $disk.ReadOnly | Should -BeFalse
        $disk.ImagePath | Should -Be $path
        $disk.Image.Length | Should -Be 1MB
    }

    It 'takes the image as the first positional argument, read-only and at full speed' {
        $disk = New-UsbVirtualDevice (New-TestImage 'ro.img') -ReadOnly -Speed Full
        $disk.ReadOnly | Should -BeTrue
        $disk.Speed | Should -Be 'Full'
    }

    It 'resolves a relative path against the PowerShell location, not the process directory' {
        $null = New-TestImage 'relative/here.img'
        Push-Location (Join-Path $TestDrive 'relative')
        try {
            $disk = New-UsbVirtualDevice ./here.img
        }
        finally {
            Pop-Location
        }
        $disk.ImagePath | Should -Be ([System.IO.Path]::GetFullPath((Join-Path $TestDrive 'relative/here.img')))
    }

    It 'takes files from Get-ChildItem by their FullName' {
        $expected = (New-TestImage 'many/a.img'), (New-TestImage 'many/b.img')
        $disks = Get-ChildItem (Join-Path $TestDrive 'many') -Filter *.img | Sort-Object Name | New-UsbVirtualDevice -ReadOnly
        $disks.Count | Should -Be 2
        $disks.ImagePath | Should -Be $expected
    }

    It 'opens nothing under -WhatIf' {
        $path = New-TestImage 'whatif.img'
        New-UsbVirtualDevice $path -WhatIf | Should -BeNullOrEmpty
        # A writable virtual disk would hold an exclusive lock on the file.
        $stream = [System.IO.File]::Open($path, 'Open', 'ReadWrite', 'None')
        $stream.Dispose()
    }

    It 'names a missing image with its error id and target' {
        $missing = Join-Path $TestDrive 'missing.img'
        New-UsbVirtualDevice $missing -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -Be 'DiskImageNotFound,UsbRedir.PowerShell.Devices.NewUsbVirtualDeviceCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'refuses a path that is not on the file system' {
        { New-UsbVirtualDevice -DiskImage 'Env:/PATH' -ErrorAction Stop } | Should -Throw -ErrorId 'DiskImagePathInvalid,*'
    }

    It 'refuses a speed a drive cannot run at' {
        { New-UsbVirtualDevice (New-TestImage 'low.img') -Speed Low -ErrorAction Stop } | Should -Throw -ErrorId 'DiskSpeedUnsupported,*'
    }
}

Describe 'New-UsbVirtualDevice -Keyboard' {
    It 'creates a full-speed keyboard that waits for a host before typing' {
        $keyboard = New-UsbVirtualDevice -Keyboard -Keys 'hello{ENTER}' -KeysDelay 0.5
        $keyboard | Should -BeOfType $KeyboardType
        $keyboard.Speed | Should -Be 'Full'
        $keyboard.ActiveConfiguration | Should -Be 0
        $keyboard.QueuedReports | Should -Be 0
    }

    It 'takes -KeysDelay as seconds or as a time span, and refuses anything else while binding' {
        New-UsbVirtualDevice -Keyboard -Keys 'a' -KeysDelay '00:00:02' | Should -BeOfType $KeyboardType
        { New-UsbVirtualDevice -Keyboard -Keys 'a' -KeysDelay 'soon' } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }

    It 'checks the key script when the keyboard is created' {
        { New-UsbVirtualDevice -Keyboard -Keys '{NOSUCHKEY}' -ErrorAction Stop } | Should -Throw -ErrorId 'KeyboardScriptInvalid,*'
        { New-UsbVirtualDevice -Keyboard -KeysDelay 1 -ErrorAction Stop } | Should -Throw -ErrorId 'KeysDelayWithoutKeys,*'
    }

    It 'runs at low speed on request but not at super speed' {
        (New-UsbVirtualDevice -Keyboard -Speed Low).Speed | Should -Be 'Low'
        { New-UsbVirtualDevice -Keyboard -Speed Super -ErrorAction Stop } | Should -Throw -ErrorId 'KeyboardSpeedUnsupported,*'
    }

    It 'cannot be a disk at the same time' {
        { New-UsbVirtualDevice -Keyboard -DiskImage (New-TestImage 'both.img') } | Should -Throw -ErrorId 'AmbiguousParameterSet,*'
    }

    It 'keeps typing available afterwards through the Type method' {
        $keyboard = New-UsbVirtualDevice -Keyboard
        $keyboard.Type('ab')
        $keyboard.QueuedReports | Should -Be 4
    }
}

Describe 'Virtual device formatting' {
    It 'shows a disk with its size and image' {
        $text = New-UsbVirtualDevice (New-TestImage 'format.img' 2MB) -ReadOnly | Format-Table | Out-String
        foreach ($header in 'Speed', 'ReadOnly', 'Size', 'Configured', 'ImagePath') {
            $text | Should -Match "\b$header\b"
        }
        $text | Should -Match 'High\s+True\s+2 MiB\s+False'
    }

    It 'shows a keyboard with its queue' {
        $text = New-UsbVirtualDevice -Keyboard | Format-Table | Out-String
        foreach ($header in 'Speed', 'Configured', 'QueuedReports', 'Leds', 'Description') {
            $text | Should -Match "\b$header\b"
        }
        $text | Should -Match 'Full\s+False\s+0'
    }
}
