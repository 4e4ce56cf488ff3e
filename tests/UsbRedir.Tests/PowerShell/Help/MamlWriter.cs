using System.Text;
using System.Xml;

namespace UsbRedir.Tests.PowerShell.Help;

/// <summary>
/// Writes MAML command help (en-US/UsbRedir.dll-Help.xml) from the markdown model, in the element order and
/// vocabulary PlatyPS v2's Export-MamlCommandHelp uses: helpItems in http://msh, one command:command per
/// cmdlet, pipelineInput as "false" / "true (ByValue)" / "true (ByPropertyName)" / "true (ByValue, ByPropertyName)".
/// Output is deterministic (LF, two-space indent, UTF-8 without BOM) so the committed file can be compared byte for byte.
/// </summary>
public static class MamlWriter
{
    public const string Msh = "http://msh";
    public const string Maml = "http://schemas.microsoft.com/maml/2004/10";
    public const string Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public const string Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    public const string MSHelp = "http://msdn.microsoft.com/mshelp";

    public static string Write(IEnumerable<CommandHelp> commands)
    {
        var settings = new XmlWriterSettings
        {
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        };
        using var stream = new MemoryStream();
        using (var xml = XmlWriter.Create(stream, settings))
        {
            xml.WriteStartDocument();
            xml.WriteStartElement("helpItems", Msh);
            xml.WriteAttributeString("schema", "maml");
            foreach (var command in commands.OrderBy(c => c.Name, StringComparer.Ordinal))
                WriteCommand(xml, command);
            xml.WriteEndElement();
            xml.WriteEndDocument();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteCommand(XmlWriter xml, CommandHelp help)
    {
        xml.WriteStartElement("command", "command", Command);
        xml.WriteAttributeString("xmlns", "maml", null, Maml);
        xml.WriteAttributeString("xmlns", "command", null, Command);
        xml.WriteAttributeString("xmlns", "dev", null, Dev);
        xml.WriteAttributeString("xmlns", "MSHelp", null, MSHelp);

        xml.WriteStartElement("command", "details", Command);
        xml.WriteElementString("command", "name", Command, help.Name);
        xml.WriteElementString("command", "verb", Command, help.Verb);
        xml.WriteElementString("command", "noun", Command, help.Noun);
        Description(xml, [help.Synopsis]);
        xml.WriteEndElement();

        Description(xml, help.Description);

        xml.WriteStartElement("command", "syntax", Command);
        foreach (var set in help.Syntax)
        {
            xml.WriteStartElement("command", "syntaxItem", Command);
            xml.WriteElementString("maml", "name", Maml, help.Name);
            foreach (var (parameter, entry) in help.InSet(set.SetName))
                Parameter(xml, parameter, entry.IsRequired, entry.Position, entry.ValueFromPipeline, entry.ValueFromPipelineByPropertyName);
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteStartElement("command", "parameters", Command);
        foreach (var parameter in help.Parameters)
        {
            // Across sets, as PlatyPS does: required anywhere, the first set's position, pipeline input anywhere.
            var sets = parameter.ParameterSets;
            Parameter(xml, parameter, sets.Any(s => s.IsRequired), sets[0].Position,
                sets.Any(s => s.ValueFromPipeline), sets.Any(s => s.ValueFromPipelineByPropertyName));
        }
        xml.WriteEndElement();

        TypeList(xml, "inputTypes", "inputType", help.Inputs);
        TypeList(xml, "returnValues", "returnValue", help.Outputs);

        xml.WriteStartElement("maml", "alertSet", Maml);
        if (help.Notes.Count > 0)
        {
            xml.WriteStartElement("maml", "alert", Maml);
            Paras(xml, help.Notes);
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteStartElement("command", "examples", Command);
        foreach (var example in help.Examples)
        {
            xml.WriteStartElement("command", "example", Command);
            xml.WriteElementString("maml", "title", Maml, $"--------- {example.Title} ---------");
            xml.WriteElementString("dev", "code", Dev, example.Code);
            xml.WriteStartElement("dev", "remarks", Dev);
            Paras(xml, example.Remarks);
            xml.WriteEndElement();
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteStartElement("command", "relatedLinks", Command);
        foreach (var link in help.RelatedLinks)
        {
            xml.WriteStartElement("maml", "navigationLink", Maml);
            xml.WriteElementString("maml", "linkText", Maml, link.Text);
            // Only absolute URLs: Windows PowerShell mishandles a first link whose URI is not one (platyPS #144).
            xml.WriteElementString("maml", "uri", Maml, Uri.IsWellFormedUriString(link.Uri, UriKind.Absolute) ? link.Uri : "");
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteEndElement();
    }

    private static void Parameter(XmlWriter xml, ParameterHelp parameter, bool required, int? position, bool byValue, bool byPropertyName)
    {
        xml.WriteStartElement("command", "parameter", Command);
        xml.WriteAttributeString("required", required ? "true" : "false");
        xml.WriteAttributeString("variableLength", "true");
        xml.WriteAttributeString("globbing", parameter.SupportsWildcards ? "true" : "false");
        xml.WriteAttributeString("pipelineInput", PipelineInput(byValue, byPropertyName));
        xml.WriteAttributeString("position", position?.ToString() ?? "named");
        xml.WriteAttributeString("aliases", parameter.Aliases.Count == 0 ? "none" : string.Join(", ", parameter.Aliases));
        xml.WriteElementString("maml", "name", Maml, parameter.Name);
        Description(xml, parameter.Description);
        if (!parameter.IsSwitch)
        {
            xml.WriteStartElement("command", "parameterValue", Command);
            xml.WriteAttributeString("required", "true");
            xml.WriteAttributeString("variableLength", parameter.Type.EndsWith("[]", StringComparison.Ordinal) ? "true" : "false");
            xml.WriteString(parameter.Type);
            xml.WriteEndElement();
        }
        if (parameter.AcceptedValues.Count > 0)
        {
            xml.WriteStartElement("command", "parameterValueGroup", Command);
            foreach (var value in parameter.AcceptedValues)
            {
                xml.WriteStartElement("command", "parameterValue", Command);
                xml.WriteAttributeString("required", "false");
                xml.WriteAttributeString("command", "variableLength", Command, "false");
                xml.WriteString(value);
                xml.WriteEndElement();
            }
            xml.WriteEndElement();
        }
        xml.WriteStartElement("dev", "type", Dev);
        xml.WriteElementString("maml", "name", Maml, parameter.Type);
        xml.WriteElementString("maml", "uri", Maml, "");
        xml.WriteEndElement();
        xml.WriteElementString("dev", "defaultValue", Dev, parameter.DefaultValue);
        xml.WriteEndElement();
    }

    public static string PipelineInput(bool byValue, bool byPropertyName) => (byValue, byPropertyName) switch
    {
        (true, true) => "true (ByValue, ByPropertyName)",
        (true, false) => "true (ByValue)",
        (false, true) => "true (ByPropertyName)",
        _ => "false",
    };

    private static void TypeList(XmlWriter xml, string listName, string itemName, IReadOnlyList<TypeHelp> types)
    {
        xml.WriteStartElement("command", listName, Command);
        foreach (var type in types)
        {
            xml.WriteStartElement("command", itemName, Command);
            xml.WriteStartElement("dev", "type", Dev);
            xml.WriteElementString("maml", "name", Maml, type.TypeName);
            xml.WriteEndElement();
            Description(xml, type.Description);
            xml.WriteEndElement();
        }
        xml.WriteEndElement();
    }

    private static void Description(XmlWriter xml, IEnumerable<string> paragraphs)
    {
        xml.WriteStartElement("maml", "description", Maml);
        Paras(xml, paragraphs);
        xml.WriteEndElement();
    }

    private static void Paras(XmlWriter xml, IEnumerable<string> paragraphs)
    {
        foreach (var paragraph in paragraphs)
            xml.WriteElementString("maml", "para", Maml, paragraph);
    }
}
