@{
    RootModule           = 'UsbRedir.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = 'd3e000f2-954d-4018-b22b-32f39eaff621'
    Author               = 'UsbRedir developers'
    CompanyName          = 'UsbRedir'
    Copyright            = '(c) UsbRedir developers. MIT License.'
    Description          = 'Share USB devices over the network with the usbredir protocol: export local, virtual or remote devices and plug received devices into a virtual host controller.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('UsbRedir.format.ps1xml')
    CmdletsToExport      = @(
        'Connect-UsbDevice',
        'ConvertFrom-UsbRedirFilter',
        'ConvertTo-UsbRedirFilter',
        'Disconnect-UsbDevice',
        'Get-UsbDevice',
        'Get-UsbRedirClient',
        'Get-UsbRedirConnection',
        'Get-UsbRedirIdentity',
        'Get-UsbRedirKnownServer',
        'Get-UsbRedirServer',
        'Get-VhciController',
        'Grant-UsbRedirClient',
        'New-UsbRedirCertificate',
        'New-UsbRedirFilterRule',
        'New-UsbVirtualDevice',
        'New-VhciController',
        'Remove-UsbRedirKnownServer',
        'Remove-VhciController',
        'Revoke-UsbRedirClient',
        'Start-UsbRedirServer',
        'Stop-UsbRedirServer',
        'Test-UsbRedirFilter'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            # No ProjectUri/LicenseUri until the project has real addresses for them.
            Tags = @('USB', 'usbredir', 'VHCI', 'QEMU', 'libvirt', 'Linux', 'PSEdition_Core')
        }
    }
}
