using UsbRedir.Filtering;

namespace UsbRedir.Tests.Filtering;

/// <summary>libvirt &lt;redirfilter&gt; XML, read with the rules of virDomainRedirFilterUSBDevDefParseXML.</summary>
public sealed class FilterXmlTests
{
    private static UsbRedirFilterRule One(string usbdevAttributes) =>
        UsbRedirFilterXml.Parse($"<redirfilter><usbdev {usbdevAttributes}/></redirfilter>").Single();

    private static UsbRedirFilterError Error(string usbdevAttributes)
    {
        Assert.False(UsbRedirFilterXml.TryParse($"<redirfilter><usbdev {usbdevAttributes}/></redirfilter>", out var rules, out var error));
        Assert.Empty(rules);
        return error!;
    }

    [Fact]
    public void TheLibvirtDocumentationExampleParses()
    {
        var rules = UsbRedirFilterXml.Parse("""
            <redirfilter>
              <usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.56' allow='yes'/>
              <usbdev allow='no'/>
            </redirfilter>
            """);
        Assert.Equal([new(8, 0x1234, 0xbeef, 0x0256, true), new(-1, -1, -1, -1, false)], rules);
        Assert.Equal("0x08,0x1234,0xbeef,0x0256,1|-1,-1,-1,-1,0", UsbRedirFilter.Format(rules));
    }

    [Theory]
    [InlineData("2.56", 0x0256)]
    [InlineData("2.00", 0x0200)]
    [InlineData("2.0", 0x0200)]
    [InlineData("2.5", 0x0250)]   // one minor digit means tenths
    [InlineData("2.05", 0x0205)]
    [InlineData("10.00", 0x1000)]
    [InlineData("99.99", 0x9999)]
    [InlineData("0.01", 0x0001)]
    [InlineData("2.005", 0x0205)] // libvirt only special-cases a one-digit minor
    [InlineData(" 2.56", 0x0256)] // strtoul skips leading whitespace
    [InlineData("-0.5", 0x0050)]  // strtoul accepts a sign; -0 is 0
    [InlineData("-1", -1)]
    public void VersionsFollowLibvirtsHelper(string version, int bcd) =>
        Assert.Equal(bcd, One($"version='{version}' allow='yes'").Version);

    [Theory]
    [InlineData("2")]
    [InlineData("2.")]
    [InlineData("2.100")]
    [InlineData("100.0")]
    [InlineData("2.5x")]
    [InlineData("0x2.56")]
    [InlineData(" -1")]
    [InlineData("-1.5")]
    [InlineData("any")]
    [InlineData("")]
    public void BadVersionsAreRejected(string version)
    {
        var error = Error($"version='{version}' allow='yes'");
        Assert.Equal(UsbRedirFilterErrorIds.FilterXmlInvalid, error.ErrorId);
        Assert.Equal(3, error.TokenIndex);
        Assert.Contains("version", error.Message);
    }

    [Theory]
    [InlineData("class='0x08'", 8)]
    [InlineData("class='8'", 8)]
    [InlineData("class='010'", 8)]
    [InlineData("class='0xFF'", 255)]
    [InlineData("class='-1'", -1)]
    [InlineData("class=' +3'", 3)]
    public void ClassesAreCIntegers(string attribute, int expected) => Assert.Equal(expected, One($"{attribute} allow='no'").Class);

    [Theory]
    [InlineData("class='0x100'", UsbRedirFilterErrorIds.FilterXmlInvalid, 0)]
    [InlineData("class='-2'", UsbRedirFilterErrorIds.FilterXmlInvalid, 0)]
    [InlineData("class='4294967295'", UsbRedirFilterErrorIds.FilterXmlInvalid, 0)] // no LP64 narrowing in libvirt
    [InlineData("class='0x'", UsbRedirFilterErrorIds.FilterXmlInvalid, 0)]
    [InlineData("class='08'", UsbRedirFilterErrorIds.FilterXmlInvalid, 0)]
    [InlineData("vendor='beef'", UsbRedirFilterErrorIds.FilterXmlInvalid, 1)]
    [InlineData("product='0x12 '", UsbRedirFilterErrorIds.FilterXmlInvalid, 2)]
    // libvirt accepts these, then QEMU's usbredirfilter refuses the whole filter; we say so at once.
    [InlineData("vendor='0x10000'", UsbRedirFilterErrorIds.FilterValueOutOfRange, 1)]
    [InlineData("product='-5'", UsbRedirFilterErrorIds.FilterValueOutOfRange, 2)]
    public void BadNumbersAreRejectedNamingTheAttribute(string attribute, string errorId, int field)
    {
        var error = Error($"{attribute} allow='yes'");
        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(field, error.TokenIndex);
        Assert.Equal(0, error.RuleIndex);
    }

    [Theory]
    [InlineData("class='8'", "missing allow")]
    [InlineData("allow='Yes'", "either 'yes' or 'no'")]
    [InlineData("allow='1'", "either 'yes' or 'no'")]
    public void AllowIsRequiredAndExactlyYesOrNo(string attributes, string message)
    {
        var error = Error(attributes);
        Assert.Equal(UsbRedirFilterErrorIds.FilterXmlInvalid, error.ErrorId);
        Assert.Contains(message, error.Message);
        Assert.Equal(4, error.TokenIndex);
    }

    [Fact]
    public void TheFilterIsFoundInsideADomainAndOtherElementsAreIgnored()
    {
        var rules = UsbRedirFilterXml.Parse("""
            <domain type='kvm'><name>vm</name><devices>
              <redirdev bus='usb' type='spicevmc'/>
              <redirfilter><usbdev class='0x03' allow='no'/><comment>ignored</comment><usbdev allow='yes'/></redirfilter>
            </devices></domain>
            """);
        Assert.Equal([new(3, -1, -1, -1, false), new(-1, -1, -1, -1, true)], rules);
        Assert.Empty(UsbRedirFilterXml.Parse("<redirfilter/>"));
    }

    [Theory]
    [InlineData("<domain><devices/></domain>", "No <redirfilter>")]
    [InlineData("<devices><redirfilter/><redirfilter/></devices>", "Only one set")]
    [InlineData("<redirfilter><usbdev allow='yes'></redirfilter>", "not well-formed")]
    [InlineData("<!DOCTYPE r [<!ENTITY e 'x'>]><redirfilter/>", "not well-formed")]
    public void BadDocumentsAreRejected(string xml, string message)
    {
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirFilterXml.Parse(xml));
        Assert.Equal(UsbRedirFilterErrorIds.FilterXmlInvalid, e.ErrorId);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void RulesFormatAsLibvirtXmlAndReadBack()
    {
        UsbRedirFilterRule[] rules = [new(8, 0x1234, 0xbeef, 0x0205, true), new(-1, 0x0781, -1, -1, false), new(-1, -1, -1, -1, true)];
        var xml = UsbRedirFilterXml.Format(rules);
        Assert.Equal("""
            <redirfilter>
              <usbdev class='0x08' vendor='0x1234' product='0xBEEF' version='2.05' allow='yes'/>
              <usbdev vendor='0x0781' allow='no'/>
              <usbdev allow='yes'/>
            </redirfilter>
            """.ReplaceLineEndings("\n"), xml);
        Assert.Equal(rules, UsbRedirFilterXml.Parse(xml));
    }

    [Fact]
    public void VersionsWithNonDecimalDigitsCannotBeWrittenAsXml()
    {
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirFilterXml.Format([new(-1, -1, -1, 0x0a00, true)]));
        Assert.Equal(UsbRedirFilterErrorIds.FilterValueOutOfRange, e.ErrorId);
        Assert.Equal(UsbRedirFilterErrorIds.FilterValueOutOfRange,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilterXml.Format([new(300, -1, -1, -1, true)])).ErrorId);
    }
}
