# Get-UsbDevice in a real pwsh, over the captured sysfs tree (tests/fixtures/sysfs/qemu-xhci, named by
# USBREDIR_SYSFS_ROOT as the engine reads it): filters, hubs, errors, views, completion and the filter pipeline.
BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    $script:savedRoot = $env:USBREDIR_SYSFS_ROOT
    $env:USBREDIR_SYSFS_ROOT = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/sysfs/qemu-xhci/sys')).Path
}

AfterAll {
    $env:USBREDIR_SYSFS_ROOT = $script:savedRoot
}

Describe 'Get-UsbDevice' {
    It 'lists every device but the hubs, in tree order' {
        (Get-UsbDevice).BusId | Should -Be @('1-1.1', '1-1.2', '1-1.3', '1-3', '2-2', '2-4', '3-1', '4-1')
    }

    It 'finds exactly the disks with Where Class -eq 8, and -Class does the same' {
        (Get-UsbDevice | Where-Object Class -eq 8).BusId | Should -Be @('1-1.1', '2-2', '2-4', '4-1')
        (Get-UsbDevice -Class 8).Id | Should -Be @('1.0.0', '2.1', '2.3', '4.0')
    }

    It 'adds hubs and root hubs with -IncludeHubs' {
        $all = Get-UsbDevice -IncludeHubs
        $all.Count | Should -Be 13
        ($all | Where-Object IsRootHub).Id | Should -Be @('1', '2', '3', '4')
        ($all | Where-Object Id -eq '1.0').FreePorts | Should -Be @(4, 5, 6, 7, 8)
    }

    It 'gets devices by id or busid, hubs too, and by vendor and product id' {
        (Get-UsbDevice 1.0.0, 2-4).BusId | Should -Be @('1-1.1', '2-4')
        (Get-UsbDevice -BusId usb2).Controller | Should -Be 'xhci_hcd'
        (Get-UsbDevice -Id 1.0).IsHub | Should -BeTrue
        (Get-UsbDevice -VendorId 0x0781 -ProductId 0x5567).Product | Should -Be 'Cruzer Blade'
    }

    It 'takes vendor and product ids in hex as lsusb shows them, typed or as strings' {
        # PowerShell alone reads 0781 as the decimal 781 and cannot make a number of 5567 with letters; lsusb's ids are hex.
        (Get-UsbDevice -VendorId 0781 -ProductId 5567).Product | Should -Be 'Cruzer Blade'
        (Get-UsbDevice -VendorId '0781', 'ffff').BusId | Should -Be (Get-UsbDevice -VendorId 0x0781).BusId
        $device = Get-UsbDevice -VendorId 0781
        (Get-UsbDevice -VendorId $device.VendorId -ProductId ([uint16]0x5567)).VidPid | Should -Be '0781:5567'
        { Get-UsbDevice -VendorId 07811 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentTransformationError*'
        { Get-UsbDevice -VendorId 'sandisk' -ErrorAction Stop } | Should -Throw '*not a USB vendor or product id*0x0781*'
    }

    It 'reports an id with no device as UsbDeviceNotFound and still gets the others' {
        $found = Get-UsbDevice 1.0.0, 1.0.6 -ErrorVariable err -ErrorAction SilentlyContinue
        $found.BusId | Should -Be '1-1.1'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UsbDeviceNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'refuses a word that is neither an id nor a busid' {
        { Get-UsbDevice 'x.y' -ErrorAction Stop } | Should -Throw -ErrorId 'UsbDeviceIdInvalid*'
    }

    It 'reads its own output back through the pipeline by Id' {
        (Get-UsbDevice -Class 3 | Get-UsbDevice).BusId | Should -Be @('1-1.2', '1-3')
    }

    It 'warns once, and writes nothing, on a machine without USB' {
        $env:USBREDIR_SYSFS_ROOT = $TestDrive
        try {
            $devices = Get-UsbDevice -WarningVariable warn -WarningAction SilentlyContinue
        }
        finally {
            $env:USBREDIR_SYSFS_ROOT = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/sysfs/qemu-xhci/sys')).Path
        }
        $devices | Should -BeNullOrEmpty
        $warn.Count | Should -Be 1
        "$($warn[0])" | Should -BeLike 'No USB devices:*modprobe xhci_pci*'
    }

    It 'shows a table of Id, BusId, VID:PID, Class, Speed, Driver and names within 120 columns' {
        $table = Get-UsbDevice | Format-Table | Out-String -Width 120
        $table | Should -Match 'Id\s+BusId\s+VID:PID\s+Class\s+Speed\s+Driver\s+Product'
        $table | Should -Match '1\.0\.0\s+1-1\.1\s+46f4:0001\s+Mass Storage\s+Full\s+usb-storage\s+QEMU QEMU USB HARDDRIVE'
        ($table -split "`n" | Where-Object { $_.TrimEnd().Length -gt 120 }) | Should -BeNullOrEmpty
    }

    It 'shows interfaces, classes and the controller in the list view' {
        $list = Get-UsbDevice 3-1 | Format-List | Out-String -Width 200
        $list | Should -Match 'Class\s+: Communications \(0x02\); device class 0xef/0x02/0x01'
        $list | Should -Match '0: 02/02/01 Communications \(cdc_acm\)'
        $list | Should -Match 'Controller\s+: dummy_hcd'
    }

    It 'completes ids and busids of the devices plugged in' {
        $line = 'Get-UsbDevice -Id 1.0.'
        $ids = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $ids | Should -Be @('1.0.0', '1.0.1', '1.0.2')
        $line = 'Get-UsbDevice -BusId 2-'
        $busIds = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $busIds | Should -Be @('2-2', '2-4')
    }
}

Describe 'Get-UsbDevice | Test-UsbRedirFilter' {
    It 'checks each device as usbredirhost would: raw device class and interfaces' {
        $results = Get-UsbDevice | Test-UsbRedirFilter '0x08,-1,-1,-1,1|-1,-1,-1,-1,0'
        $results.Count | Should -Be 8
        ($results | Where-Object Allowed).Device.VendorId | Should -Be @(0x46f4, 0x46f4, 0x46f4, 0x0781)
        # The composite device's class is 0xEF: the device pass is skipped and its interfaces decide.
        ($results | Where-Object { $_.Device.Class -eq 0xef }).Result | Should -Be 'Denied'
    }
}

Describe 'Connect-UsbDevice with local devices' {
    It 'binds a piped Get-UsbDevice device by its Id and opens it through libusb (absent here: the fixture is not this machine)' {
        $device = Get-UsbDevice -Id 2.1
        $device.InUseByUsbRedir | Should -BeFalse
        $err = $null
        $device | Connect-UsbDevice -Server 127.0.0.1:1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UsbDeviceNotFound,*'
        $err[0].Exception.Message | Should -BeLike '*2.1 (busid 2-2)*'
    }

    It 'refuses a root hub by id before opening anything' {
        $err = $null
        Connect-UsbDevice usb2 -Server 127.0.0.1:1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UsbDeviceIsRootHub,*'
    }
}
