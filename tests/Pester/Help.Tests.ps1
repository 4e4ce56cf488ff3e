# Where PlatyPS v2 is installed: the committed MAML (generated in C# by the xunit HelpTests, since most
# developers have no pwsh) says the same as PlatyPS's own Export-MamlCommandHelp for docs/help/*.md.
BeforeDiscovery {
    $platyPS = Get-Module -ListAvailable -Name Microsoft.PowerShell.PlatyPS | Sort-Object Version -Descending | Select-Object -First 1
}

Describe 'Committed MAML against PlatyPS' -Skip:(-not $platyPS) {
    BeforeAll {
        Import-Module Microsoft.PowerShell.PlatyPS
        $repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
        $markdown = Get-ChildItem (Join-Path $repo 'docs/help') -Filter '*.md'
        $outFolder = Join-Path $TestDrive 'maml'
        $markdown.FullName | Import-MarkdownCommandHelp | Export-MamlCommandHelp -OutputFolder $outFolder | Out-Null
        $generatedFile = Get-ChildItem $outFolder -Recurse -Filter 'UsbRedir.dll-Help.xml' | Select-Object -First 1

        function Read-Maml([string] $Path) {
            $namespaces = @{
                command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
                maml    = 'http://schemas.microsoft.com/maml/2004/10'
            }
            $result = @{}
            foreach ($command in (Select-Xml -Path $Path -XPath '//command:command' -Namespace $namespaces).Node) {
                $name = $command.details.name.Trim()
                $result[$name] = [pscustomobject]@{
                    Synopsis   = (($command.details.description.para -join ' ') -replace '\s+', ' ').Trim()
                    Parameters = @($command.parameters.parameter | ForEach-Object { $_.name.Trim() } | Sort-Object)
                    Required   = @($command.parameters.parameter | Where-Object required -EQ 'true' | ForEach-Object { $_.name.Trim() } | Sort-Object)
                    SetCount   = @($command.syntax.syntaxItem).Count
                }
            }
            $result
        }
        $platy = Read-Maml $generatedFile.FullName
        $committed = Read-Maml (Join-Path $repo 'en-US/UsbRedir.dll-Help.xml')
    }

    It 'PlatyPS wrote a help file' {
        $generatedFile | Should -Not -BeNullOrEmpty
    }

    It 'has the same commands' {
        @($committed.Keys | Sort-Object) | Should -Be @($platy.Keys | Sort-Object)
    }

    It 'has the same synopsis, parameters, mandatory parameters and syntax items for each command' {
        foreach ($name in $platy.Keys) {
            $committed[$name].Synopsis | Should -BeExactly $platy[$name].Synopsis -Because $name
            $committed[$name].Parameters | Should -Be $platy[$name].Parameters -Because $name
            $committed[$name].Required | Should -Be $platy[$name].Required -Because $name
            $committed[$name].SetCount | Should -Be $platy[$name].SetCount -Because $name
        }
    }
}
