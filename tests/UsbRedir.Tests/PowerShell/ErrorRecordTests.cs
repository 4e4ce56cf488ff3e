using System.Management.Automation;
using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>
/// The one mapping from engine errors to PowerShell errors. (The ErrorRecord itself is a stub here; Pester checks
/// FullyQualifiedErrorId, category and RecommendedAction in a real pwsh.)
/// </summary>
public class ErrorRecordTests
{
    [Fact]
    public void Every_engine_category_maps_to_the_PowerShell_category_of_the_same_name()
    {
        foreach (var category in Enum.GetValues<UsbRedirErrorCategory>())
        {
            var mapped = (ErrorCategory)ModuleInternals.Call("UsbRedir.PowerShell.UsbRedirErrorRecord", "ToErrorCategory", category)!;
            Assert.Equal(category.ToString(), mapped.ToString());
        }
    }
}
