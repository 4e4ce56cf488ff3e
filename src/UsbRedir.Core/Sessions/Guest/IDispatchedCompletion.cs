namespace UsbRedir.Sessions;

/// <summary>
/// What a <see cref="CompletionDispatcher{T}"/> completes: typically a TaskCompletionSource created without
/// RunContinuationsAsynchronously, whose <see cref="Complete"/> runs the waiting caller's continuation on the calling thread.
/// </summary>
internal interface IDispatchedCompletion<in T>
{
    /// <summary>Called once, on a drainer thread.</summary>
    void Complete(T result);
}
