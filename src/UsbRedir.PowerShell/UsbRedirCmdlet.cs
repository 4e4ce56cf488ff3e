using System.Management.Automation;

namespace UsbRedir.PowerShell;

/// <summary>
/// Base of every UsbRedir cmdlet. Cmdlets stay thin: they bind parameters, call an engine in
/// UsbRedir.Core and write what it returns. This class is the one place that turns the engines'
/// <see cref="UsbRedirException"/> into PowerShell errors, and that turns Ctrl+C into cancellation.
/// </summary>
/// <remarks>
/// <para>Override <see cref="Begin"/>, <see cref="Process"/> and <see cref="End"/> instead of the PSCmdlet methods.
/// A <see cref="UsbRedirException"/> escaping <see cref="Process"/> is a per-item failure: it is written as a
/// non-terminating error and the next pipeline item is processed. Escaping <see cref="Begin"/> or
/// <see cref="End"/> it is terminating, because nothing further can work (bad -Filter, driver missing, port in use).</para>
/// <para>Threads: PowerShell's Write*, ShouldProcess and ThrowTerminatingError may only be called on the pipeline
/// thread that runs Begin/Process/End; an exception escaping any other thread kills the whole host. Work that runs
/// in the background (servers, connections) must therefore catch everything itself and hand results back, e.g.
/// through a queue drained here or through a handle's state/LastError, never by calling Write* from its thread.
/// Pass <see cref="CancellationToken"/> to every blocking engine call so Ctrl+C stops it promptly.</para>
/// </remarks>
public abstract class UsbRedirCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Only cmdlets in this assembly derive from this class.</summary>
    private protected UsbRedirCmdlet()
    {
    }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected CancellationToken CancellationToken => _stopping.Token;

    /// <summary>Runs once before the first pipeline item; failures are terminating.</summary>
    protected virtual void Begin()
    {
    }

    /// <summary>Runs once per pipeline item (once in total without pipeline input); failures are per item.</summary>
    protected virtual void Process()
    {
    }

    /// <summary>Runs once after the last pipeline item; failures are terminating.</summary>
    protected virtual void End()
    {
    }

    private const int ProgressActivityId = 1;

    /// <summary>
    /// Waits for <paramref name="task"/> on the pipeline thread, showing <paramref name="activity"/> with the seconds
    /// waited (Write-Progress) once the wait passes half a second; Ctrl+C stops the wait.
    /// </summary>
    protected T WaitWithProgress<T>(Task<T> task, string activity)
    {
        WaitWithProgress((Task)task, activity);
        return task.GetAwaiter().GetResult();
    }

    /// <inheritdoc cref="WaitWithProgress{T}(Task{T}, string)"/>
    protected void WaitWithProgress(Task task, string activity)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var shown = false;
        try
        {
            while (!task.Wait(TimeSpan.FromMilliseconds(250), CancellationToken))
            {
                if (started.Elapsed < TimeSpan.FromSeconds(0.5))
                    continue;
                WriteProgress(new ProgressRecord(ProgressActivityId, activity, $"{started.Elapsed.TotalSeconds:F0} s"));
                shown = true;
            }
        }
        catch (AggregateException)
        {
            // The task's own exception is rethrown, unwrapped, by GetAwaiter().GetResult() below.
        }
        finally
        {
            if (shown)
                WriteProgress(new ProgressRecord(ProgressActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
        task.GetAwaiter().GetResult();
    }

    /// <summary>True when the user gave <paramref name="parameterName"/> (a default value and an explicit one look alike otherwise).</summary>
    protected bool IsBound(string parameterName) => MyInvocation.BoundParameters.ContainsKey(parameterName);

    /// <summary>
    /// The -Id pattern of Get-Job: writes a not-found error for each id that named nothing, so the other ids still
    /// work, and returns what was found.
    /// </summary>
    protected IReadOnlyList<T> WriteMissing<T>((IReadOnlyList<T> Found, IReadOnlyList<UsbRedirException> Missing) selection)
    {
        foreach (var error in selection.Missing)
            WriteError(error);
        return selection.Found;
    }

    /// <summary>Writes <paramref name="error"/> as a non-terminating error and carries on.</summary>
    protected void WriteError(UsbRedirException error) => WriteError(UsbRedirErrorRecord.From(error));

    /// <summary>Stops the command with <paramref name="error"/>.</summary>
    protected void ThrowTerminatingError(UsbRedirException error) => ThrowTerminatingError(UsbRedirErrorRecord.From(error));

    protected sealed override void BeginProcessing() => Run(Begin, perItem: false);

    protected sealed override void ProcessRecord() => Run(Process, perItem: true);

    protected sealed override void EndProcessing() => Run(End, perItem: false);

    /// <summary>Called by PowerShell on another thread: only signals, never writes.</summary>
    protected sealed override void StopProcessing() => _stopping.Cancel();

    private void Run(Action step, bool perItem)
    {
        try
        {
            step();
        }
        catch (UsbRedirException e) when (perItem)
        {
            WriteError(e);
        }
        catch (UsbRedirException e)
        {
            ThrowTerminatingError(e);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The user stopped the pipeline: end quietly, the way built-in cmdlets do.
            throw new PipelineStoppedException();
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
