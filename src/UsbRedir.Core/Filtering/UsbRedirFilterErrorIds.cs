namespace UsbRedir.Filtering;

/// <summary>The stable <see cref="UsbRedirException.ErrorId"/> values the filter engine uses.</summary>
public static class UsbRedirFilterErrorIds
{
    /// <summary>A field is not a C integer (strtol base 0: decimal, 0x hex or leading-0 octal, optional sign).</summary>
    public const string FilterSyntax = "FilterSyntax";

    /// <summary>A rule does not have exactly five fields.</summary>
    public const string FilterTokenCount = "FilterTokenCount";

    /// <summary>A field is outside its range (class -1..255, vendor/product/version -1..65535).</summary>
    public const string FilterValueOutOfRange = "FilterValueOutOfRange";

    /// <summary>A separator set is empty.</summary>
    public const string FilterSeparatorEmpty = "FilterSeparatorEmpty";

    /// <summary>Exactly one rule was expected (<see cref="UsbRedirFilterRule.Parse"/>).</summary>
    public const string FilterRuleCount = "FilterRuleCount";

    /// <summary>libvirt &lt;redirfilter&gt; XML that is malformed or holds a value libvirt would reject.</summary>
    public const string FilterXmlInvalid = "FilterXmlInvalid";

    /// <summary>A device description (CLI/cmdlet input) that cannot be read.</summary>
    public const string FilterDeviceInvalid = "FilterDeviceInvalid";
}
