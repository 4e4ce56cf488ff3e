using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using UsbRedir.Controllers.Usbip;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>
/// Plays vhci_hcd on our end of a real AF_UNIX socketpair: sends CMD PDUs built by <see cref="UsbipWire"/> and reads
/// the replies the way vhci_rx does (48-byte header, then the payload its own record of the URB says to expect).
/// </summary>
/// <remarks>
/// <para>Like vhci_hcd, whose vhci_rx and vhci_tx are separate kernel threads, it reads replies on a thread of its own
/// while the test sends: a client that sent a long burst of commands before reading anything would fill both
/// directions of the socketpair (AF_UNIX charges each small PDU ~760 bytes of send buffer) and deadlock with the link,
/// whose receiving thread writes replies too.</para>
/// <para>Every wait is bounded by <see cref="Deadline"/>: a lost reply fails the test naming the commands still
/// unanswered, and a send the link stops taking fails it too, instead of hanging the test host.</para>
/// </remarks>
internal sealed class FakeVhciClient : IDisposable
{
    /// <summary>How long one reply, or one send, may take before the test fails, unless a test sets its own.</summary>
    public static readonly TimeSpan DefaultDeadline = TestDeadline.Default;

    private const uint RetSubmit = 3;
    private const int Econnreset = -104;

    private readonly Dictionary<uint, (bool DirIn, bool Iso)> _submitted = [];
    // Commands sent and not answered yet (seqnum -> what it was), for the message of a reply that does not come.
    private readonly SortedDictionary<uint, string> _unanswered = [];
    private readonly Dictionary<uint, uint> _unlinkTargets = [];
    private readonly BlockingCollection<UsbipWire.Ret> _replies = [];
    private readonly Thread _reader;
    private volatile Exception? _readerFailure;
    private volatile bool _disposed;
    private uint _seqnum = 100;

    private FakeVhciClient(Socket socket, TimeSpan deadline)
    {
        Socket = socket;
        Deadline = deadline;
        _reader = new Thread(ReceiveLoop) { IsBackground = true, Name = "fake vhci_rx" };
        _reader.Start();
    }

    public Socket Socket { get; }

    /// <summary>How long one reply, or one send, may take before the test fails.</summary>
    public TimeSpan Deadline { get; }

    /// <summary>This client on one end of a socketpair, and the other end for the link under test.</summary>
    public static (FakeVhciClient Client, Socket ServerEnd) Create(TimeSpan? deadline = null)
    {
        var wait = deadline ?? DefaultDeadline;
        var (server, clientFd) = UsbipNative.CreateSocketPair();
        var client = new Socket(new SafeSocketHandle(clientFd, ownsHandle: true))
        {
            SendTimeout = (int)wait.TotalMilliseconds,
        };
        return (new FakeVhciClient(client, wait), server);
    }

    public uint NextSeqnum() => ++_seqnum;

    /// <param name="seqnum">A seqnum to use again (vhci_hcd's wrap around); by default the next one.</param>
    public uint Submit(bool dirIn, uint ep, int length, byte[]? setup = null, byte[]? outData = null, uint flags = 0, uint? seqnum = null)
    {
        var seq = seqnum ?? NextSeqnum();
        lock (_unanswered)
        {
            _submitted[seq] = (dirIn, false);
            _unanswered[seq] = $"CMD_SUBMIT {seq} ({(dirIn ? "IN" : "OUT")} ep {ep}, {length} bytes)";
        }
        Send(UsbipWire.CmdSubmit(seq, dirIn, ep, length, setup, outData, flags));
        return seq;
    }

    public uint Unlink(uint target)
    {
        var seq = NextSeqnum();
        lock (_unanswered)
        {
            _unlinkTargets[seq] = target;
            _unanswered[seq] = $"CMD_UNLINK {seq} (of {target})";
        }
        Send(UsbipWire.CmdUnlink(seq, target));
        return seq;
    }

    public void Send(byte[] pdu)
    {
        try
        {
            for (var sent = 0; sent < pdu.Length;)
                sent += Socket.Send(pdu, sent, pdu.Length - sent, SocketFlags.None);
        }
        catch (SocketException ex)
        {
            throw new Xunit.Sdk.XunitException(ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock
                ? $"the link took no PDU for {Deadline.TotalMilliseconds:0} ms (it stopped reading commands); still unanswered: {Unanswered()}"
                : $"sending to the link failed: {ex.Message}");
        }
    }

    /// <summary>The next reply, or null at end of stream; fails the test if none comes within <see cref="Deadline"/>.</summary>
    public UsbipWire.Ret? Read() => Next("a reply to one of: " + Unanswered());

    /// <summary>True when the server closed its end (the next thing on the stream is its end, within <see cref="Deadline"/>).</summary>
    public bool AtEndOfStream() => Next("the end of the stream") is null;

    private UsbipWire.Ret? Next(string awaited)
    {
        if (_replies.TryTake(out var reply, Deadline)) return reply;
        if (!_replies.IsCompleted)
            throw new Xunit.Sdk.XunitException($"nothing from the link within {Deadline.TotalMilliseconds:0} ms; awaited {awaited}");
        if (_readerFailure is { } failure)
            throw new Xunit.Sdk.XunitException($"reading from the link failed: {failure.Message}; awaited {awaited}");
        return null;
    }

    private string Unanswered()
    {
        lock (_unanswered)
            return _unanswered.Count == 0 ? "nothing (every command sent has been answered)" : string.Join(", ", _unanswered.Values.Take(20))
                + (_unanswered.Count > 20 ? $" and {_unanswered.Count - 20} more" : "");
    }

    // vhci_rx: reads replies until the stream ends; nothing escapes this thread (the test host would go with it).
    private void ReceiveLoop()
    {
        try
        {
            while (ReadOne() is { } reply)
            {
                lock (_unanswered)
                {
                    _unanswered.Remove(reply.Seqnum);
                    // A successful unlink answers its URB too: no RET_SUBMIT may follow.
                    if (reply.Command != RetSubmit && reply.Status == Econnreset && _unlinkTargets.TryGetValue(reply.Seqnum, out var target))
                        _unanswered.Remove(target);
                }
                _replies.Add(reply);
            }
        }
        catch (Exception ex)
        {
            if (!_disposed) _readerFailure = ex;
        }
        finally
        {
            _replies.CompleteAdding();
        }
    }

    private UsbipWire.Ret? ReadOne()
    {
        var header = new byte[48];
        if (!ReadExactly(header)) return null;
        var command = BinaryPrimitives.ReadUInt32BigEndian(header);
        var seq = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var payload = 0;
        if (command == RetSubmit)
        {
            (bool DirIn, bool Iso) urb;
            lock (_unanswered)
                if (!_submitted.TryGetValue(seq, out urb))
                    throw new InvalidDataException($"RET_SUBMIT for seqnum {seq}, which was never submitted");
            payload = urb.DirIn ? BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(24)) : 0;
        }
        var pdu = new byte[48 + payload];
        header.CopyTo(pdu, 0);
        if (!ReadExactly(pdu.AsSpan(48))) return null;
        return UsbipWire.ParseRet(pdu, payload > 0, false);
    }

    private bool ReadExactly(Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = Socket.Receive(buffer);
            if (n == 0) return false;
            buffer = buffer[n..];
        }
        return true;
    }

    public void Dispose()
    {
        _disposed = true;
        try
        {
            // Wakes the reading thread (its Receive returns 0) before the handle goes.
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        _reader.Join(Deadline);
        Socket.Dispose();
        // _replies is left to the collector: a reading thread still running would otherwise meet a disposed collection.
    }
}
