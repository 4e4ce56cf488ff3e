using System.Reflection;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>
/// What PowerShell will see of one cmdlet class, read through <see cref="CustomAttributeData"/> only: the
/// PowerShellStandard stub in this process returns default values from real attribute instances.
/// </summary>
public sealed record CmdletMetadata(
    Type Type,
    string Verb,
    string Noun,
    bool SupportsShouldProcess,
    string? ConfirmImpact,
    string? DefaultParameterSetName,
    IReadOnlyList<Type> OutputTypes,
    IReadOnlyList<ParameterMetadata> Parameters)
{
    public const string AllParameterSets = "__AllParameterSets";

    public string Name => $"{Verb}-{Noun}";

    /// <summary>The parameter sets PowerShell will build: the named ones, or the single implicit set.</summary>
    public IReadOnlyList<string> ParameterSetNames
    {
        get
        {
            // A default set may hold only all-sets parameters (e.g. a no-argument form); PowerShell still creates it.
            var named = Parameters.SelectMany(p => p.Sets).Select(s => s.SetName)
                .Append(DefaultParameterSetName ?? AllParameterSets)
                .Where(n => n != AllParameterSets).Distinct().ToList();
            return named.Count == 0 ? [AllParameterSets] : named;
        }
    }

    /// <summary>The declaration of each parameter in <paramref name="setName"/> (including all-sets declarations).</summary>
    public IEnumerable<(ParameterMetadata Parameter, ParameterSetMetadata Set)> InSet(string setName) =>
        from p in Parameters
        let own = p.Sets.FirstOrDefault(s => s.SetName == setName) ?? p.Sets.FirstOrDefault(s => s.SetName == AllParameterSets)
        where own is not null
        select (p, own);

    public static CmdletMetadata? TryRead(Type type)
    {
        var cmdlet = type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute");
        if (cmdlet is null)
            return null;
        var outputTypes = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.FullName == "System.Management.Automation.OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : [arg.Value])
            .OfType<Type>()
            .ToList();
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(ParameterMetadata.TryRead).OfType<ParameterMetadata>().ToList();
        return new CmdletMetadata(
            type,
            (string)cmdlet.ConstructorArguments[0].Value!,
            (string)cmdlet.ConstructorArguments[1].Value!,
            Named<bool>(cmdlet, "SupportsShouldProcess"),
            cmdlet.NamedArguments.Where(n => n.MemberName == "ConfirmImpact").Select(n => n.TypedValue.Value?.ToString()).FirstOrDefault(),
            Named<string?>(cmdlet, "DefaultParameterSetName"),
            outputTypes,
            parameters);
    }

    internal static T Named<T>(CustomAttributeData attribute, string name, T fallback = default!) =>
        attribute.NamedArguments.Where(n => n.MemberName == name).Select(n => (T)n.TypedValue.Value!).DefaultIfEmpty(fallback).First();

    public override string ToString() => Name;
}

/// <summary>One public property carrying at least one [Parameter] attribute.</summary>
public sealed record ParameterMetadata(
    PropertyInfo Property,
    IReadOnlyList<ParameterSetMetadata> Sets,
    IReadOnlyList<string> Aliases,
    bool SupportsWildcards)
{
    public string Name => Property.Name;

    public Type Type => Property.PropertyType;

    public bool IsSwitch => Type.FullName == "System.Management.Automation.SwitchParameter";

    public static ParameterMetadata? TryRead(PropertyInfo property)
    {
        var data = property.GetCustomAttributesData();
        var sets = data.Where(a => a.AttributeType.FullName == "System.Management.Automation.ParameterAttribute")
            .Select(a => new ParameterSetMetadata(
                CmdletMetadata.Named(a, "ParameterSetName", CmdletMetadata.AllParameterSets),
                CmdletMetadata.Named(a, "Mandatory", false),
                CmdletMetadata.Named(a, "Position", int.MinValue) is var position && position >= 0 ? position : null,
                CmdletMetadata.Named(a, "ValueFromPipeline", false),
                CmdletMetadata.Named(a, "ValueFromPipelineByPropertyName", false),
                CmdletMetadata.Named(a, "ValueFromRemainingArguments", false)))
            .ToList();
        if (sets.Count == 0)
            return null;
        var aliases = data.Where(a => a.AttributeType.FullName == "System.Management.Automation.AliasAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => (string)m.Value!) : [(string)arg.Value!])
            .ToList();
        var wildcards = data.Any(a => a.AttributeType.FullName == "System.Management.Automation.SupportsWildcardsAttribute");
        return new ParameterMetadata(property, sets, aliases, wildcards);
    }

    public override string ToString() => Name;
}

/// <summary>One [Parameter] attribute: how the parameter behaves in one set.</summary>
public sealed record ParameterSetMetadata(
    string SetName,
    bool Mandatory,
    int? Position,
    bool ValueFromPipeline,
    bool ValueFromPipelineByPropertyName,
    bool ValueFromRemainingArguments);
