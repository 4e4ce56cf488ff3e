# The filter cmdlets in a real pwsh: parameter binding, pipelines, output and error ids.
BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    $RuleType = [UsbRedir.Filtering.UsbRedirFilterRule]
}

Describe 'ConvertFrom-UsbRedirFilter' {
    It 'reads the usbredir form into rule objects in order' {
        $rules = ConvertFrom-UsbRedirFilter '0x08,0x0781,-1,0x0100,1|-1,-1,-1,-1,0'
        $rules.Count | Should -Be 2
        $rules[0] | Should -BeOfType $RuleType
        $rules[0].Class | Should -Be 8
        $rules[0].VendorId | Should -Be 0x0781
        $rules[0].ProductId | Should -Be -1
        $rules[0].Version | Should -Be 0x0100
        $rules[0].Allow | Should -BeTrue
        $rules[1].Allow | Should -BeFalse
    }

    It 'reads the QEMU form with -Qemu' {
        $rules = ConvertFrom-UsbRedirFilter -Qemu '0x03:-1:-1:-1:0|-1:-1:-1:-1:1'
        $rules.Count | Should -Be 2
        $rules[0].Class | Should -Be 3
    }

    It 'takes other separators' {
        $rules = ConvertFrom-UsbRedirFilter '8;-1;-1;-1;1/010;-1;-1;-1;0' -TokenSeparator ';' -RuleSeparator '/'
        $rules.Class | Should -Be 8, 8
    }

    It 'reads libvirt redirfilter XML' {
        $xml = "<domain><devices><redirfilter><usbdev class='0x08' version='2.56' allow='yes'/><usbdev allow='no'/></redirfilter></devices></domain>"
        $rules = ConvertFrom-UsbRedirFilter -LibvirtXml $xml
        $rules.Count | Should -Be 2
        $rules[0].Version | Should -Be 0x0256
        $rules[1].Class | Should -Be -1
    }

    It 'converts each piped string and reports a bad one without stopping' {
        $rules = '0x08,-1,-1,-1,1', '0x08,-1,-1,1', '0x03,-1,-1,-1,0' |
            ConvertFrom-UsbRedirFilter -ErrorVariable failures -ErrorAction SilentlyContinue
        $rules.Class | Should -Be 8, 3
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'FilterTokenCount,*'
    }

    It 'rejects an out-of-range value with FilterValueOutOfRange' {
        { ConvertFrom-UsbRedirFilter '0x100,-1,-1,-1,1' -ErrorAction Stop } | Should -Throw -ErrorId 'FilterValueOutOfRange,*'
    }

    It 'rejects bad XML with FilterXmlInvalid' {
        { ConvertFrom-UsbRedirFilter -LibvirtXml "<redirfilter><usbdev class='8'/></redirfilter>" -ErrorAction Stop } |
            Should -Throw -ErrorId 'FilterXmlInvalid,*'
    }

    It 'cannot combine -Qemu with -TokenSeparator' {
        { ConvertFrom-UsbRedirFilter 'x' -Qemu -TokenSeparator ';' } | Should -Throw -ErrorId 'AmbiguousParameterSet,*'
    }
}

Describe 'ConvertTo-UsbRedirFilter' {
    It 'writes all piped rules as one filter' {
        $text = @(
            New-UsbRedirFilterRule -Class 0x08 -Allow
            New-UsbRedirFilterRule -Deny
        ) | ConvertTo-UsbRedirFilter
        $text | Should -BeExactly '0x08,-1,-1,-1,1|-1,-1,-1,-1,0'
    }

    It 'writes the QEMU form and converts strings between forms' {
        '0x03,-1,-1,-1,0|-1,-1,-1,-1,1' | ConvertTo-UsbRedirFilter -Qemu | Should -BeExactly '0x03:-1:-1:-1:0|-1:-1:-1:-1:1'
    }

    It 'uses the first character of custom separators' {
        ConvertTo-UsbRedirFilter -Rule '8,-1,-1,-1,1|3,-1,-1,-1,0' -TokenSeparator ';,' -RuleSeparator '/' |
            Should -BeExactly '0x08;-1;-1;-1;1/0x03;-1;-1;-1;0'
    }

    It 'writes libvirt XML that reads back to the same rules' {
        $rules = ConvertFrom-UsbRedirFilter '0x08,0x0781,0x5567,0x0100,1|-1,-1,-1,-1,0'
        $xml = $rules | ConvertTo-UsbRedirFilter -AsLibvirtXml
        $xml | Should -Match "<usbdev class='0x08' vendor='0x0781' product='0x5567' version='1.00' allow='yes'/>"
        (ConvertFrom-UsbRedirFilter -LibvirtXml $xml | ConvertTo-UsbRedirFilter) | Should -BeExactly ($rules | ConvertTo-UsbRedirFilter)
    }

    It 'rejects a rule object out of range with FilterValueOutOfRange' {
        { [UsbRedir.Filtering.UsbRedirFilterRule]::new(-1, 70000, -1, -1, $true) | ConvertTo-UsbRedirFilter } |
            Should -Throw -ErrorId 'FilterValueOutOfRange,*'
    }

    It 'rejects a bad filter string while binding -Rule' {
        { ConvertTo-UsbRedirFilter -Rule '0x08,-1' } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }
}

Describe 'New-UsbRedirFilterRule' {
    It 'matches anything in the fields not given' {
        $rule = New-UsbRedirFilterRule -VendorId 0x0781 -Deny
        $rule | Should -BeOfType $RuleType
        $rule.Class, $rule.ProductId, $rule.Version | Should -Be -1, -1, -1
        $rule.Allow | Should -BeFalse
        "$rule" | Should -BeExactly '-1,0x0781,-1,-1,0'
    }

    It 'binds fields by property name from the pipeline' {
        $rules = [pscustomobject]@{ Class = 8; VendorId = 0x0781 }, [pscustomobject]@{ ProductId = 0x5567 } |
            New-UsbRedirFilterRule -Allow
        ($rules | ConvertTo-UsbRedirFilter) | Should -BeExactly '0x08,0x0781,-1,-1,1|-1,-1,0x5567,-1,1'
    }

    It 'reports an out-of-range field per item and goes on' {
        $rules = [pscustomobject]@{ Class = 256 }, [pscustomobject]@{ Class = 3 } |
            New-UsbRedirFilterRule -Deny -ErrorVariable failures -ErrorAction SilentlyContinue
        $rules.Class | Should -Be 3
        $failures[0].FullyQualifiedErrorId | Should -Be 'FilterValueOutOfRange,UsbRedir.PowerShell.Filtering.NewUsbRedirFilterRuleCommand'
    }

    It 'cannot both allow and deny' {
        { New-UsbRedirFilterRule -Allow -Deny } | Should -Throw -ErrorId 'AmbiguousParameterSet,*'
    }
}

Describe 'Test-UsbRedirFilter' {
    It 'allows a device whose interface an allow rule matches' {
        $result = Test-UsbRedirFilter '0x08,-1,-1,-1,1|-1,-1,-1,-1,0' -VendorId 0x0781 -ProductId 0x5567 -Interface '08/06/50'
        $result | Should -BeOfType ([UsbRedir.PowerShell.Filtering.UsbRedirFilterTestResult])
        $result.Allowed | Should -BeTrue
        $result.Result | Should -Be 'Allowed'
        $result.RuleIndex | Should -Be 0
        "$($result.DecidingRule)" | Should -BeExactly '0x08,-1,-1,-1,1'
    }

    It 'names the rule and pass that deny a device' {
        $result = Test-UsbRedirFilter '0x03,-1,-1,-1,0|-1,-1,-1,-1,1' -VendorId 0x046d -ProductId 0xc52b -Interface '03/01/01', '03/01/02'
        $result.Allowed | Should -BeFalse
        $result.Result | Should -Be 'Denied'
        $result.Code | Should -Be -1
        $result.DecidingPass.InterfaceIndex | Should -Be 0
        $result.Message | Should -Match 'rule 0'
    }

    It 'reads a filter in QEMU notation and rule objects' {
        (Test-UsbRedirFilter '0x08:-1:-1:-1:0' -Class 8 -VendorId 1 -ProductId 2).Result | Should -Be 'Denied'
        $rules = ConvertFrom-UsbRedirFilter '0x08,-1,-1,-1,1'
        (Test-UsbRedirFilter $rules -Class 8 -VendorId 1 -ProductId 2).Allowed | Should -BeTrue
    }

    It 'reports NoMatch, or allows with -DefaultAllow' {
        (Test-UsbRedirFilter '0x08,-1,-1,-1,1' -Class 3 -VendorId 1 -ProductId 2).Result | Should -Be 'NoMatch'
        (Test-UsbRedirFilter '0x08,-1,-1,-1,1' -Class 3 -VendorId 1 -ProductId 2 -DefaultAllow).Allowed | Should -BeTrue
    }

    It 'skips non-boot HID interfaces unless told not to' {
        $filter = '0x03,-1,-1,-1,0|-1,-1,-1,-1,1'
        (Test-UsbRedirFilter $filter -VendorId 1 -ProductId 2 -Interface '01/01/00', '03/00/00').Allowed | Should -BeTrue
        (Test-UsbRedirFilter $filter -VendorId 1 -ProductId 2 -Interface '01/01/00', '03/00/00' -DontSkipNonBootHid).Allowed | Should -BeFalse
    }

    It 'checks every device piped in, binding by property name' {
        $devices = @(
            [pscustomobject]@{ VendorId = 0x0781; ProductId = 0x5567; Interfaces = '08/06/50' }
            [pscustomobject]@{ DeviceClass = 3; VendorId = 0x046d; ProductId = 0xc52b; Version = 0x1201 }
            [pscustomobject]@{ VendorId = 1; ProductId = 2; Interfaces = [pscustomobject]@{ Class = 8; SubClass = 6; Protocol = 0x50 } }
        )
        $results = $devices | Test-UsbRedirFilter '0x08,-1,-1,-1,1|-1,-1,-1,-1,0'
        $results.Allowed | Should -Be $true, $false, $true
        $results[1].Device.Class | Should -Be 3
        $results[1].Device.Version | Should -Be 0x1201
    }

    It 'takes engine device objects from the pipeline' {
        $device = [UsbRedir.Filtering.UsbRedirFilterDevice]::Parse('08:0781:5567:0100')
        ($device | Test-UsbRedirFilter '0x08,0x0781,-1,-1,0').Result | Should -Be 'Denied'
    }

    It 'rejects a bad filter string while binding -Filter' {
        { Test-UsbRedirFilter '0x08,zz,-1,-1,1' -VendorId 1 -ProductId 2 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }

    It 'rejects a bad interface while binding -Interface' {
        { Test-UsbRedirFilter '-1,-1,-1,-1,1' -VendorId 1 -ProductId 2 -Interface 'xx/00/00' } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }
}
