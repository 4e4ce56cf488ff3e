# Dot-sourced by the *.Tests.ps1 files: checks that the module's views suit a console.

# The column labels of the table view the module's format file defines for $TypeName.
function Get-TableLabels([string] $TypeName) {
    $view = (Get-FormatData -TypeName $TypeName).FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.TableControl] }
    $view | Should -Not -BeNullOrEmpty -Because "$TypeName needs a table view"
    $view.Control.Headers.Label
}

# Format-Table of $InputObject at 80 and 120 columns: no line longer than the width, and the header line made of whole
# labels only (a label that does not fit is left out by PowerShell, never wrapped into "Devi/ce"); at 120 every label.
function Assert-TableFits([object[]] $InputObject, [string] $TypeName) {
    $labels = Get-TableLabels $TypeName
    foreach ($width in 80, 120) {
        $lines = ($InputObject | Format-Table | Out-String -Width $width) -split '\r?\n' | Where-Object { $_.Trim() }
        foreach ($line in $lines) { $line.TrimEnd().Length | Should -BeLessOrEqual $width -Because "'$line' must fit $width columns" }
        $header = $lines[0]
        foreach ($word in -split $header) { $word | Should -BeIn $labels -Because "the $width-column header '$header' must hold whole labels" }
        # The rule line under the header has one dash run per shown column: no column wrapped onto a second line.
        @(-split $lines[1]).Count | Should -Be @(-split $header).Count
        if ($width -eq 120) { @(-split $header) | Should -Be $labels -Because "at 120 columns the $TypeName table shows every column" }
    }
}

# Format-List of $InputObject uses the module's list view: each of its items is a line of the list.
function Assert-ListView([object[]] $InputObject, [string] $TypeName) {
    $view = (Get-FormatData -TypeName $TypeName).FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.ListControl] }
    $view | Should -Not -BeNullOrEmpty -Because "$TypeName needs a list view"
    $list = $InputObject | Format-List | Out-String -Width 120
    foreach ($item in $view.Control.Entries[0].Items) {
        $label = $item.Label ?? $item.DisplayEntry.Value
        $list | Should -Match "(?m)^$label\s*:"
    }
}
