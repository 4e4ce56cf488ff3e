using System.Management.Automation;
using System.Reflection;
using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>
/// The rules every cmdlet class follows, read from metadata (CustomAttributeData). Each test lists every
/// violation it finds, so one run shows all that needs fixing.
/// </summary>
public class CmdletContractTests
{
    /// <summary>Verbs whose cmdlets change state outside PowerShell and so must support -WhatIf/-Confirm.</summary>
    private static readonly HashSet<string> StateChangingVerbs = new(StringComparer.OrdinalIgnoreCase)
    {
        "New", "Set", "Remove", "Add", "Clear", "Start", "Stop", "Restart", "Reset", "Update", "Connect", "Disconnect",
        "Publish", "Unpublish", "Enable", "Disable", "Register", "Unregister", "Mount", "Dismount", "Install", "Uninstall",
    };

    /// <summary>
    /// Cmdlets with a state-changing verb that only create an object in memory (like New-TimeSpan): -WhatIf would
    /// have nothing to skip. Each entry needs a reason.
    /// </summary>
    private static readonly Dictionary<string, string> InMemoryOnly = new(StringComparer.OrdinalIgnoreCase)
    {
        ["New-UsbRedirFilterRule"] = "builds a rule object; nothing outside the session changes",
    };

    private static readonly HashSet<string> CommonParameterNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm",
        "UseTransaction", "vb", "db", "ea", "wa", "infa", "proga", "ev", "wv", "iv", "ov", "ob", "pv", "wi", "cf", "usetx",
    };

    private static IReadOnlyList<CmdletMetadata> Cmdlets => PublishedModule.Cmdlets;

    [Fact]
    public void The_module_has_the_filter_cmdlets()
    {
        var names = Cmdlets.Select(c => c.Name).ToList();
        Assert.Contains("ConvertFrom-UsbRedirFilter", names);
        Assert.Contains("ConvertTo-UsbRedirFilter", names);
        Assert.Contains("New-UsbRedirFilterRule", names);
        Assert.Contains("Test-UsbRedirFilter", names);
    }

    [Fact]
    public void Verbs_are_approved()
    {
        var approved = typeof(VerbsCommon).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == "System.Management.Automation" && t.Name.StartsWith("Verbs", StringComparison.Ordinal))
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("ConvertFrom", approved);
        Violations.None(Cmdlets.Where(c => !approved.Contains(c.Verb)).Select(c => $"{c}: '{c.Verb}' is not an approved verb"));
    }

    [Fact]
    public void Nouns_are_singular_PascalCase_and_product_specific()
    {
        // Usb… or Vhci…: a generic noun such as "Device" would collide with other modules.
        var violations = Cmdlets.Where(c =>
                !System.Text.RegularExpressions.Regex.IsMatch(c.Noun, "^(Usb|Vhci)([A-Z][a-z0-9]*)*$")
                || (c.Noun.EndsWith('s') && !c.Noun.EndsWith("ss", StringComparison.Ordinal) && !c.Noun.EndsWith("us", StringComparison.Ordinal)))
            .Select(c => $"{c}: noun '{c.Noun}' must be singular PascalCase starting with Usb or Vhci");
        Violations.None(violations);
    }

    [Fact]
    public void Classes_are_public_sealed_VerbNounCommand_on_the_shared_base()
    {
        var violations = new List<string>();
        foreach (var c in Cmdlets)
        {
            if (!c.Type.IsPublic || !c.Type.IsSealed)
                violations.Add($"{c}: {c.Type.Name} must be public sealed");
            if (c.Type.Name != $"{c.Verb}{c.Noun}Command")
                violations.Add($"{c}: class must be named {c.Verb}{c.Noun}Command, not {c.Type.Name}");
            if (c.Type.BaseType?.FullName != "UsbRedir.PowerShell.UsbRedirCmdlet")
                violations.Add($"{c}: must derive from UsbRedirCmdlet (error mapping and Ctrl+C handling live there)");
        }
        Violations.None(violations);
    }

    [Fact]
    public void Every_cmdlet_declares_public_output_types()
    {
        var violations = Cmdlets.Where(c => c.OutputTypes.Count == 0).Select(c => $"{c}: no [OutputType]")
            .Concat(Cmdlets.SelectMany(c => c.OutputTypes.Where(t => !t.IsPublic).Select(t => $"{c}: output type {t} is not public")));
        Violations.None(violations);
    }

    [Fact]
    public void State_changing_verbs_support_ShouldProcess()
    {
        var violations = Cmdlets
            .Where(c => StateChangingVerbs.Contains(c.Verb) && !c.SupportsShouldProcess && !InMemoryOnly.ContainsKey(c.Name))
            .Select(c => $"{c}: a {c.Verb} cmdlet must set SupportsShouldProcess = true and call ShouldProcess before each change");
        Violations.None(violations);
        // The exemptions must still be real, state-free cmdlets of this module.
        foreach (var name in InMemoryOnly.Keys)
            Assert.Contains(Cmdlets, c => c.Name == name && !c.SupportsShouldProcess);
    }

    [Fact]
    public void Parameters_avoid_common_parameter_names_and_bool()
    {
        var violations = new List<string>();
        foreach (var c in Cmdlets)
        {
            foreach (var p in c.Parameters)
            {
                foreach (var name in p.Aliases.Prepend(p.Name).Where(CommonParameterNames.Contains))
                    violations.Add($"{c} -{p}: '{name}' is a common parameter name");
                if (p.Type == typeof(bool))
                    violations.Add($"{c} -{p}: use SwitchParameter, not bool");
                if (p.Property.GetSetMethod() is null || p.Property.GetGetMethod() is null)
                    violations.Add($"{c} -{p}: needs a public getter and setter");
            }
        }
        Violations.None(violations);
    }

    [Fact]
    public void Parameter_sets_are_well_formed()
    {
        var violations = new List<string>();
        foreach (var c in Cmdlets)
        {
            var sets = c.ParameterSetNames;
            // Without a default, PowerShell cannot pick a set when the arguments fit more than one.
            if (sets.Count > 1 && c.DefaultParameterSetName is null)
                violations.Add($"{c}: has sets {string.Join(", ", sets)} but no DefaultParameterSetName");
            foreach (var set in sets)
            {
                var members = c.InSet(set).ToList();
                if (members.Count(m => m.Set.ValueFromPipeline) > 1)
                    violations.Add($"{c} [{set}]: more than one ValueFromPipeline parameter");
                if (members.Count(m => m.Set.ValueFromRemainingArguments) > 1)
                    violations.Add($"{c} [{set}]: more than one ValueFromRemainingArguments parameter");
                foreach (var clash in members.Where(m => m.Set.Position is not null).GroupBy(m => m.Set.Position).Where(g => g.Count() > 1))
                    violations.Add($"{c} [{set}]: position {clash.Key} used by {string.Join(", ", clash.Select(m => m.Parameter.Name))}");
            }
        }
        Violations.None(violations);
    }
}
