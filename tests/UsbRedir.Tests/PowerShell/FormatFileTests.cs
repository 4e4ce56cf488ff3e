using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>UsbRedir.format.ps1xml: every view names a real type and real properties, and tables are consistent.</summary>
public class FormatFileTests
{
    private static readonly string[] Controls = ["TableControl", "ListControl", "WideControl", "CustomControl"];

    private static XDocument Document => XDocument.Load(RepoPaths.Combine("UsbRedir.format.ps1xml"));

    private static IEnumerable<XElement> Views => Document.Root!.Element("ViewDefinitions")!.Elements("View");

    private static Type? Resolve(string typeName) =>
        PublishedModule.Assembly.GetType(typeName) ?? typeof(UsbRedirException).Assembly.GetType(typeName);

    [Fact]
    public void Views_are_well_formed_and_name_real_types_and_properties()
    {
        Assert.Equal("Configuration", Document.Root!.Name.LocalName);
        Assert.Equal("", Document.Root.Name.NamespaceName);
        var views = Views.ToList();
        Assert.NotEmpty(views);
        var violations = new List<string>();
        foreach (var view in views)
        {
            var name = (string?)view.Element("Name") ?? "";
            if (name.Length == 0)
                violations.Add("a view without a Name");
            var typeNames = view.Element("ViewSelectedBy")?.Elements("TypeName").Select(t => t.Value.Trim()).ToList() ?? [];
            if (typeNames.Count == 0)
                violations.Add($"{name}: no ViewSelectedBy/TypeName");
            var types = typeNames.Select(t => (Name: t, Type: Resolve(t))).ToList();
            violations.AddRange(types.Where(t => t.Type is null).Select(t => $"{name}: type {t.Name} is not in UsbRedir.dll or UsbRedir.Core.dll"));
            var controls = view.Elements().Where(e => Controls.Contains(e.Name.LocalName)).ToList();
            if (controls.Count != 1)
                violations.Add($"{name}: needs exactly one of {string.Join("/", Controls)}");
            foreach (var table in view.Elements("TableControl"))
            {
                var headers = table.Element("TableHeaders")?.Elements("TableColumnHeader").Count() ?? 0;
                foreach (var row in table.Descendants("TableRowEntry"))
                {
                    var items = row.Element("TableColumnItems")?.Elements("TableColumnItem").Count() ?? 0;
                    if (items != headers)
                        violations.Add($"{name}: {headers} headers but {items} column items");
                }
            }
            foreach (var (typeName, type) in types.Where(t => t.Type is not null))
            {
                foreach (var property in view.Descendants("PropertyName").Select(p => p.Value.Trim()))
                    if (type!.GetProperty(property, BindingFlags.Public | BindingFlags.Instance) is null)
                        violations.Add($"{name}: {typeName} has no property {property}");
                // Script blocks cannot be compiled here, but the properties they read can be checked.
                foreach (var script in view.Descendants("ScriptBlock").Select(s => s.Value))
                    foreach (Match m in Regex.Matches(script, @"\$_\.(\w+)"))
                        if (type!.GetProperty(m.Groups[1].Value, BindingFlags.Public | BindingFlags.Instance) is null
                            && type.GetMethod(m.Groups[1].Value, Type.EmptyTypes) is null)
                            violations.Add($"{name}: script block reads $_.{m.Groups[1].Value}, which {typeName} lacks");
            }
        }
        violations.AddRange(views.GroupBy(v => (string?)v.Element("Name")).Where(g => g.Count() > 1).Select(g => $"view name {g.Key} repeated"));
        Violations.None(violations);
    }

    [Fact]
    public void Every_output_type_of_the_module_has_a_view()
    {
        var viewed = Views.SelectMany(v => v.Element("ViewSelectedBy")!.Elements("TypeName")).Select(t => t.Value.Trim()).ToHashSet();
        var missing = PublishedModule.Cmdlets
            .SelectMany(c => c.OutputTypes.Select(t => (Cmdlet: c, Type: t)))
            .Where(x => x.Type.Namespace?.StartsWith("UsbRedir", StringComparison.Ordinal) == true && !viewed.Contains(x.Type.FullName!))
            .Select(x => $"{x.Cmdlet} writes {x.Type.FullName}, which has no view in UsbRedir.format.ps1xml");
        Violations.None(missing);
    }
}
