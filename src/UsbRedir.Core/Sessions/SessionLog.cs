namespace UsbRedir.Sessions;

public enum SessionLogLevel
{
    Debug,
    Info,
    Warning,
    Error,
}

public sealed record SessionLogEntry(DateTimeOffset Time, SessionLogLevel Level, string Message)
{
    public override string ToString() => $"{Time:HH:mm:ss.fff} {Level.ToString().ToLowerInvariant()}: {Message}";
}

/// <summary>
/// A session's log: kept (bounded) so front ends can show it on their own thread later, and optionally
/// forwarded as it happens (the CLI prints to stderr). A throwing listener is dropped, never propagated into
/// the protocol threads.
/// </summary>
public sealed class SessionLog
{
    private const int Capacity = 500;
    private readonly Queue<SessionLogEntry> _entries = new();
    private Action<SessionLogEntry>? _listener;

    public SessionLog(Action<SessionLogEntry>? listener = null) => _listener = listener;

    public int ErrorCount { get; private set; }

    public SessionLogEntry? LastError { get; private set; }

    public IReadOnlyList<SessionLogEntry> Entries { get { lock (_entries) return _entries.ToArray(); } }

    public void Write(SessionLogLevel level, string message)
    {
        var entry = new SessionLogEntry(DateTimeOffset.Now, level, message);
        lock (_entries)
        {
            if (_entries.Count == Capacity)
                _entries.Dequeue();
            _entries.Enqueue(entry);
            if (level == SessionLogLevel.Error)
            {
                ErrorCount++;
                LastError = entry;
            }
        }
        try
        {
            _listener?.Invoke(entry);
        }
        catch
        {
            _listener = null;
        }
    }

    public void Debug(string message) => Write(SessionLogLevel.Debug, message);
    public void Info(string message) => Write(SessionLogLevel.Info, message);
    public void Warning(string message) => Write(SessionLogLevel.Warning, message);
    public void Error(string message) => Write(SessionLogLevel.Error, message);
}
