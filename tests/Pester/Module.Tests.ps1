# The module as PowerShell sees it: exports, help, the about topic, formatting and error records.
BeforeDiscovery {
    $manifest = Import-PowerShellDataFile (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1')
    $commandCases = $manifest.CmdletsToExport | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    Import-Module (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1') -Force
    $manifest = Import-PowerShellDataFile (Join-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir')) 'UsbRedir.psd1')
}

Describe 'UsbRedir module' {
    It 'imports from the built folder' {
        (Get-Module UsbRedir).ModuleBase | Should -Be (Resolve-Path ($env:USBREDIR_MODULE_PATH ?? (Join-Path $PSScriptRoot '../../out/UsbRedir'))).Path
    }

    It 'exports exactly the cmdlets of its manifest' {
        $exported = (Get-Command -Module UsbRedir).Name | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
        (Get-Command -Module UsbRedir | Where-Object CommandType -NE 'Cmdlet') | Should -BeNullOrEmpty
    }

    It 'has the version of its manifest' {
        (Get-Module UsbRedir).Version | Should -Be ([version]$manifest.ModuleVersion)
    }
}

Describe 'Help for <Name>' -ForEach $commandCases {
    BeforeAll {
        $command = Get-Command $Name
        $help = Get-Help $Name -Full
    }

    It 'comes from UsbRedir.dll-Help.xml' {
        $command.HelpFile | Should -BeLike '*UsbRedir.dll-Help.xml'
    }

    It 'is not auto-generated' {
        # Without a MAML entry, Get-Help makes the synopsis from the syntax: "Name [-Param] <type> ...".
        $help.Synopsis | Should -Not -BeLike "$Name *"
        $help.Synopsis | Should -Not -BeNullOrEmpty
        ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has examples' {
        $examples = @($help.Examples.Example)
        $examples.Count | Should -BeGreaterThan 0
        $examples[0].Code | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        # PSBase: New-UsbVirtualDevice has a parameter named Keys, which PowerShell would return for .Keys.
        foreach ($parameter in $command.Parameters.PSBase.Keys | Where-Object { $_ -notin $common }) {
            $entry = $help.Parameters.Parameter | Where-Object Name -EQ $parameter
            $entry | Should -Not -BeNullOrEmpty -Because "-$parameter must be in the help"
            ($entry.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$parameter needs a description"
        }
    }

    It 'declares its output type' {
        $command.OutputType | Should -Not -BeNullOrEmpty
    }
}

Describe 'about_UsbRedir' {
    It 'is found by Get-Help' {
        $text = Get-Help about_UsbRedir | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'Test-UsbRedirFilter'
    }
}

Describe 'Formatting' {
    It 'shows rules as a table with hex ids' {
        $text = New-UsbRedirFilterRule -Class 8 -VendorId 0x0781 -Allow | Format-Table | Out-String
        foreach ($header in 'Action', 'Class', 'VendorId', 'ProductId', 'Version', 'Rule') {
            $text | Should -Match "\b$header\b"
        }
        $text | Should -Match 'Allow\s+0x08\s+0x0781\s+any\s+any\s+0x08,0x0781,-1,-1,1'
    }

    It 'shows filter test results as a table' {
        $text = Test-UsbRedirFilter '0x08,-1,-1,-1,0' -Class 8 -VendorId 1 -ProductId 2 | Format-Table | Out-String
        foreach ($header in 'Allowed', 'Result', 'RuleIndex', 'DecidingRule', 'Device') {
            $text | Should -Match "\b$header\b"
        }
        $text | Should -Match 'False\s+Denied\s+0\s+0x08,-1,-1,-1,0'
    }

    It 'shows the passes of a check as a table' {
        $result = Test-UsbRedirFilter '0x03,-1,-1,-1,0|-1,-1,-1,-1,1' -VendorId 1 -ProductId 2 -Interface '01/01/00', '03/00/00'
        $text = $result.Passes | Format-Table | Out-String
        foreach ($header in 'Kind', 'Interface', 'Class', 'Outcome', 'Recheck', 'RuleIndex', 'Rule') {
            $text | Should -Match "\b$header\b"
        }
        $text | Should -Match 'Interface\s+1\s+0x03\s+Skipped'
    }
}

Describe 'Error records' {
    It 'carry the engine error id, category, target and recommended action' {
        ConvertFrom-UsbRedirFilter '0x08,zz,-1,-1,1' -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'FilterSyntax,UsbRedir.PowerShell.Filtering.ConvertFromUsbRedirFilterCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $failures[0].TargetObject | Should -Be 'zz'
        $failures[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        $failures[0].Exception | Should -BeOfType ([UsbRedir.UsbRedirException])
    }

    It 'are terminating when raised before the first pipeline item' {
        $outOfRange = [UsbRedir.Filtering.UsbRedirFilterRule]::new(300, -1, -1, -1, $true)
        { Test-UsbRedirFilter -Filter $outOfRange -VendorId 1 -ProductId 2 } |
            Should -Throw -ErrorId 'FilterValueOutOfRange,*' -ExceptionType ([UsbRedir.UsbRedirException])
    }
}
