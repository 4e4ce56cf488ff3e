using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.Server;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell;

/// <summary>
/// Tab completion of the -Id parameters: the ids of what this session has now, each shown with what it is
/// (a controller's name, backend and bus; a server's address; a connection's device and server), so that
/// `Remove-VhciController -Id &lt;Tab&gt;` offers the live controllers. Ids that start with what was typed come first.
/// </summary>
public abstract class IdCompleter<T> : IArgumentCompleter
{
    /// <summary>What the session has now.</summary>
    protected abstract IEnumerable<T> Items { get; }

    protected abstract int IdOf(T item);

    /// <summary>The list entry and tooltip: what the id stands for.</summary>
    protected abstract string Describe(T item);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? "").Trim('\'', '"');
        return Items
            .Select(item => (Id: IdOf(item).ToString(System.Globalization.CultureInfo.InvariantCulture), Text: Describe(item)))
            .Where(c => c.Id.StartsWith(typed, StringComparison.Ordinal))
            .OrderBy(c => c.Id.Length).ThenBy(c => c.Id, StringComparer.Ordinal)
            .Select(c => new CompletionResult(c.Id, $"{c.Id}: {c.Text}", CompletionResultType.ParameterValue, c.Text))
            .ToList();
    }
}

/// <summary>Completes controller ids, listed with the controller's name, backend and bus.</summary>
public sealed class VhciControllerIdCompleter : IdCompleter<VhciController>
{
    protected override IEnumerable<VhciController> Items => VhciControllerSelection.All;

    protected override int IdOf(VhciController item) => item.Id;

    protected override string Describe(VhciController item) => $"{item.Name} ({item.Backend}, bus {item.BusNumber}, {item.FreePorts}/{item.PortCount} ports free)";
}

/// <summary>Completes the ids of running servers, listed with their address.</summary>
public sealed class UsbRedirServerIdCompleter : IdCompleter<UsbRedirServer>
{
    protected override IEnumerable<UsbRedirServer> Items => UsbRedirModuleLifetime.Context.Servers.All;

    protected override int IdOf(UsbRedirServer item) => item.Id;

    protected override string Describe(UsbRedirServer item) => $"server on {item.LocalEndPoint} ({item.Connections.Count} connections)";
}

/// <summary>Completes connection ids, listed with the device, the server and the state.</summary>
public sealed class UsbRedirConnectionIdCompleter : IdCompleter<UsbRedirConnection>
{
    protected override IEnumerable<UsbRedirConnection> Items => UsbRedirModuleLifetime.Context.Connections.All;

    protected override int IdOf(UsbRedirConnection item) => item.Id;

    protected override string Describe(UsbRedirConnection item) => $"{item.DeviceIdentity} -> {item.Target} ({item.State})";
}
