using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>What -VendorId and -ProductId of Get-UsbDevice accept, through the module's own conversion (UsbIdInput).</summary>
public class UsbIdInputTests
{
    private static ushort[] ToIds(object? input) => (ushort[])ModuleInternals.Call("UsbRedir.PowerShell.Devices.UsbIdInput", "ToIds", input)!;

    public static TheoryData<object, ushort> Ids => new()
    {
        { "0781", 0x0781 }, { "46f4", 0x46f4 }, { "0x0781", 0x0781 }, { "0X46F4", 0x46f4 }, { " ffff ", 0xffff },
        { 5567, 0x5567 }, { 1L, 1 }, { (ushort)0x0781, 0x0781 },
    };

    [Theory]
    [MemberData(nameof(Ids))]
    public void Text_and_typed_numbers_are_hex_and_a_ushort_is_itself(object input, ushort id) => Assert.Equal([id], ToIds(input));

    [Fact]
    public void An_array_gives_each_of_its_ids() => Assert.Equal([0x0781, 0x46f4], ToIds(new object[] { "0781", 0x46f4.ToString("x") }));

    public static TheoryData<object?> NotIds => new() { "sandisk", "", "0x", "07811", "-1", 1.5, true, 'x', -1, 100000, null };

    [Theory]
    [MemberData(nameof(NotIds))]
    public void Anything_else_is_UsbIdInvalid_with_the_fix(object? input)
    {
        var e = Assert.Throws<UsbRedirException>(() => ToIds(input));
        Assert.Equal("UsbIdInvalid", e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.InvalidArgument, e.Category);
        Assert.Contains("0x0781", e.RecommendedAction);
    }
}
