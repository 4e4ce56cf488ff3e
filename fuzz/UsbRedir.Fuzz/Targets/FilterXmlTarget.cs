using System.Text;
using UsbRedir.Filtering;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// libvirt's &lt;redirfilter&gt; reader (<see cref="UsbRedirFilterXml"/>): the input is the XML document (UTF-8). Rules
/// that read must format back to XML that reads as the same rules, and to a usbredir filter string that does too.
/// </summary>
/// <remarks>Expected: <see cref="UsbRedirException"/> FilterXmlInvalid or FilterValueOutOfRange (XML errors are wrapped).</remarks>
internal static class FilterXmlTarget
{
    public static void Run(byte[] data)
    {
        var xml = Encoding.UTF8.GetString(data);
        IReadOnlyList<UsbRedirFilterRule> rules;
        try
        {
            rules = UsbRedirFilterXml.Parse(xml);
        }
        catch (UsbRedirException e) when (e.ErrorId is UsbRedirFilterErrorIds.FilterXmlInvalid or UsbRedirFilterErrorIds.FilterValueOutOfRange)
        {
            Invariant.Check(!string.IsNullOrEmpty(e.Message) && !string.IsNullOrEmpty(e.RecommendedAction), $"{e.ErrorId} without a message or a fix");
            return;
        }
        Invariant.Check(UsbRedirFilter.Verify(rules) is null, "rules read from XML do not verify");
        Invariant.Check(UsbRedirFilter.Parse(UsbRedirFilter.Format(rules)).SequenceEqual(rules), "the string form reads back as other rules");
        // Read from JJ.MN, a version is always decimal BCD, so the XML form can always be written.
        var again = UsbRedirFilterXml.Format(rules);
        Invariant.Check(UsbRedirFilterXml.Parse(again).SequenceEqual(rules), $"{again} reads back as other rules");
    }
}
