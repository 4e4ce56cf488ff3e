using System.Net.Security;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// The Stream boilerplate of a duplex, non-seekable stream layered over another (<see cref="TlsStream"/> over its
/// SslStream, <see cref="UnderSslStream"/> under it): the array overloads go to the span and memory ones a subclass
/// writes, flushing and disposal go to the inner stream.
/// </summary>
internal abstract class LayeredStream(Stream inner) : Stream
{
    /// <summary>The stream this one is layered over; disposed with it.</summary>
    protected Stream Inner => inner;

    public abstract override int Read(Span<byte> buffer);
    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);
    public abstract override void Write(ReadOnlySpan<byte> buffer);
    public abstract override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default);

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public sealed override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public sealed override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public sealed override bool CanRead => true;
    public sealed override bool CanWrite => true;
    public sealed override bool CanSeek => false;
    public sealed override long Length => throw new NotSupportedException();
    public sealed override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public sealed override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The stream a TLS connection's loops use, over its <see cref="SslStream"/>: writes go out as records of at most <c>maxRecordPlaintext</c> bytes of
/// plaintext (QEMU before 8.0 stalls on larger ones, see <see cref="TlsEndOptions.MaxRecordPlaintext"/>), and bytes
/// read ahead while checking the peer's first message are handed out first.
/// </summary>
/// <remarks>
/// SslStream hands each record to the stream under it as one write; one socket write per 4 KiB record would cost a system
/// call and a wake-up of the peer each. So the records of one write are gathered by the <see cref="UnderSslStream"/>
/// under it and leave in one socket write, as plaintext chunks do.
/// </remarks>
internal sealed class TlsStream : LayeredStream
{
    /// <summary>Bytes of the peer's first message looked at: a hello's 12-byte header and the start of its version text.</summary>
    private const int HelloBytes = 12 + 32;

    private readonly UnderSslStream? _under;
    private byte[]? _prefix;
    private int _prefixOffset, _prefixCount;
    // Until the peer's hello has been seen, every write keeps to maxRecordPlaintext; then a peer that is not QEMU gets
    // full-size records when limitOnlyForQemu (QEMU's hello version reads "qemu usb-redir guest 7.2.x").
    private int _recordSize;
    private byte[]? _hello;
    private int _helloCount;

    /// <param name="ssl">The SslStream, handshake done.</param>
    /// <param name="under">The stream under <paramref name="ssl"/>: it gathers the records of one write, and reads ahead from now on.</param>
    public TlsStream(Stream ssl, int maxRecordPlaintext, UnderSslStream? under = null, bool limitOnlyForQemu = false) : base(ssl)
    {
        _under = under;
        _recordSize = maxRecordPlaintext;
        _hello = limitOnlyForQemu ? new byte[HelloBytes] : null;
        _under?.StartReadingAhead();
    }

    /// <summary>The most plaintext bytes per record written now.</summary>
    public int RecordSize => Volatile.Read(ref _recordSize);

    /// <summary>
    /// The most bytes handed to SslStream per write: the record size when records are limited; else all of a write, which
    /// SslStream cuts into full records itself, encrypting two at a time (one OpenSSL call and one write under it per
    /// 32 KiB instead of per 16 KiB).
    /// </summary>
    private int PieceSize => _recordSize >= TlsEndOptions.MaxRecordSize ? int.MaxValue : _recordSize;

    private void SeeHello(ReadOnlySpan<byte> received)
    {
        if (_hello is not { } hello)
            return;
        var n = Math.Min(received.Length, hello.Length - _helloCount);
        received[..n].CopyTo(hello.AsSpan(_helloCount));
        _helloCount += n;
        if (_helloCount < hello.Length)
            return;
        var version = System.Text.Encoding.ASCII.GetString(hello, 12, hello.Length - 12);
        if (!version.StartsWith("qemu", StringComparison.OrdinalIgnoreCase))
            Volatile.Write(ref _recordSize, TlsEndOptions.MaxRecordSize);
        _hello = null;
    }

    /// <summary>
    /// Reads the peer's first bytes after the handshake (kept for the first reads), bounded by <paramref name="cancellationToken"/>.
    /// Returns the count; 0 when the peer closed.
    /// </summary>
    public async Task<int> ReadAheadAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var n = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        (_prefix, _prefixOffset, _prefixCount) = (buffer, 0, n);
        SeeHello(buffer.AsSpan(0, n));
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefixCount > 0)
            return new ValueTask<int>(TakePrefix(buffer.Span));
        if (_hello is not null)
            return ReadSeeingHelloAsync(buffer, cancellationToken);
        return Inner.ReadAsync(buffer, cancellationToken);
    }

    private async ValueTask<int> ReadSeeingHelloAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var n = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        SeeHello(buffer.Span[..n]);
        return n;
    }

    public override int Read(Span<byte> buffer)
    {
        if (_prefixCount > 0)
            return TakePrefix(buffer);
        var n = Inner.Read(buffer);
        SeeHello(buffer[..n]);
        return n;
    }

    private int TakePrefix(Span<byte> destination)
    {
        var n = Math.Min(destination.Length, _prefixCount);
        _prefix.AsSpan(_prefixOffset, n).CopyTo(destination);
        _prefixOffset += n;
        _prefixCount -= n;
        if (_prefixCount == 0)
            _prefix = null;
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _under?.BeginGathering();
        while (buffer.Length > 0)
        {
            var piece = buffer[..Math.Min(buffer.Length, PieceSize)];
            buffer = buffer[piece.Length..];
            var write = Inner.WriteAsync(piece, cancellationToken);
            if (!write.IsCompletedSuccessfully)
                return WriteRestAsync(write, buffer, cancellationToken);
        }
        return _under?.EndGathering(cancellationToken) ?? ValueTask.CompletedTask;
    }

    private async ValueTask WriteRestAsync(ValueTask pending, ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        try
        {
            await pending.ConfigureAwait(false);
            while (rest.Length > 0)
            {
                var piece = rest[..Math.Min(rest.Length, PieceSize)];
                rest = rest[piece.Length..];
                await Inner.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (_under is not null)
                await _under.EndGathering(cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var piece = buffer[..Math.Min(buffer.Length, PieceSize)];
            Inner.Write(piece);
            buffer = buffer[piece.Length..];
        }
    }

}

/// <summary>
/// The stream under the SslStream. During the handshake it remembers the first bytes the peer sent and whether it closed,
/// so a failed handshake can say why (the peer sent a plaintext usbredir hello; the peer hung up). Afterwards it gathers
/// the records of one <see cref="TlsStream"/> write (<see cref="BeginGathering"/> .. <see cref="EndGathering"/>) into one
/// write to the socket, and reads the socket in big pieces (<see cref="StartReadingAhead"/>). Writes to the socket never
/// overlap (one at a time, in order), whoever makes them. Reads are SslStream's, one at a time.
/// </summary>
internal sealed class UnderSslStream(Stream inner) : LayeredStream(inner)
{
    /// <summary>Bytes read from the socket at a time once reading ahead, as much as the plaintext read loop reads (ReadPump).</summary>
    private const int ReadAheadSize = 256 * 1024;
    /// <summary>A TLS record header: type, version (2 bytes), length (2 bytes, big-endian).</summary>
    private const int RecordHeader = 5;

    private readonly byte[] _first = new byte[8];
    private int _firstCount;
    // Reading ahead (after the handshake): ciphertext read from the socket, [_aheadStart, _aheadEnd) not yet handed to
    // SslStream; _recordLeft: bytes of a record SslStream got part of that it has still to get (0: at a record boundary).
    private byte[]? _ahead;
    private int _aheadStart, _aheadEnd, _recordLeft;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _writing = new(1, 1);
    private bool _gathering;
    private byte[]? _gathered;
    private int _gatheredCount;

    /// <summary>The first bytes received (up to 8).</summary>
    public ReadOnlySpan<byte> First => _first.AsSpan(0, _firstCount);

    /// <summary>True once a read returned 0 (the peer closed).</summary>
    public bool SawEnd { get; private set; }

    /// <summary>
    /// From now on (after the handshake) the socket is read in pieces of up to 256 KiB, as the plaintext read loop reads
    /// it, and SslStream is handed whole records from them. SslStream reads its inner stream into a buffer of about one
    /// 16 KiB record, so without this every record cost a socket read (a system call) of its own.
    /// </summary>
    public void StartReadingAhead() => _ahead ??= new byte[ReadAheadSize];

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_ahead is null)
            return ReadDirectAsync(buffer, cancellationToken);
        if (Ready)
            return new ValueTask<int>(HandOut(buffer.Span));
        return FillAndHandOutAsync(buffer, cancellationToken);
    }

    private async ValueTask<int> ReadDirectAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var n = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Record(buffer.Span[..n]);
        return n;
    }

    private async ValueTask<int> FillAndHandOutAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var ahead = Compact();
        while (!Ready)
        {
            var n = await Inner.ReadAsync(ahead.AsMemory(_aheadEnd), cancellationToken).ConfigureAwait(false);
            if (!Received(n))
                return 0;
        }
        return HandOut(buffer.Span);
    }

    public override int Read(Span<byte> buffer)
    {
        if (_ahead is null)
        {
            var read = Inner.Read(buffer);
            Record(buffer[..read]);
            return read;
        }
        var ahead = Compact();
        while (!Ready)
        {
            if (!Received(Inner.Read(ahead.AsSpan(_aheadEnd))))
                return 0;
        }
        return HandOut(buffer);
    }

    private int Buffered => _aheadEnd - _aheadStart;

    /// <summary>True when a read can be answered from the buffer: some of the record SslStream holds part of, or a whole record header.</summary>
    private bool Ready => _recordLeft > 0 ? Buffered > 0 : Buffered >= RecordHeader;

    /// <summary>The length of the TLS record (header included) whose header starts at <paramref name="at"/>.</summary>
    private int RecordLength(int at) => RecordHeader + (_ahead![at + 3] << 8 | _ahead[at + 4]);

    /// <summary>Moves what is buffered to the front, making room for a socket read behind it.</summary>
    private byte[] Compact()
    {
        var ahead = _ahead!;
        var buffered = Buffered;
        ahead.AsSpan(_aheadStart, buffered).CopyTo(ahead);
        (_aheadStart, _aheadEnd) = (0, buffered);
        return ahead;
    }

    /// <summary>Takes in <paramref name="n"/> bytes read behind the buffered ones; false when the peer closed and nothing is left.</summary>
    private bool Received(int n)
    {
        Record(_ahead.AsSpan(_aheadEnd, n));
        _aheadEnd += n;
        if (n > 0)
            return true;
        if (Buffered == 0)
            return false;
        _recordLeft = Buffered; // the peer closed within a record header: hand out what came (SslStream reports the cut)
        return true;
    }

    /// <summary>
    /// Copies buffered bytes to SslStream's buffer: as many whole records as fit, or else as much of one record as fits,
    /// or the rest of the record it holds part of. So SslStream's buffer ends on a record boundary whenever it can, and
    /// what it decrypts per read is what arrived, not what its buffer's size cut off.
    /// </summary>
    private int HandOut(Span<byte> destination)
    {
        int n;
        if (_recordLeft > 0)
        {
            n = Math.Min(_recordLeft, Math.Min(Buffered, destination.Length));
            _recordLeft -= n;
        }
        else
        {
            n = 0;
            while (Buffered - n >= RecordHeader)
            {
                var length = RecordLength(_aheadStart + n);
                if (length > Buffered - n || length > destination.Length - n)
                    break;
                n += length;
            }
            if (n == 0)
            {
                n = Math.Min(Buffered, destination.Length);
                _recordLeft = RecordLength(_aheadStart) - n;
            }
        }
        _ahead.AsSpan(_aheadStart, n).CopyTo(destination);
        _aheadStart += n;
        return n;
    }

    private void Record(ReadOnlySpan<byte> received)
    {
        if (received.IsEmpty)
        {
            SawEnd = true;
            return;
        }
        if (_firstCount < _first.Length)
        {
            var n = Math.Min(received.Length, _first.Length - _firstCount);
            received[..n].CopyTo(_first.AsSpan(_firstCount));
            _firstCount += n;
        }
    }

    /// <summary>From now on writes are collected until <see cref="EndGathering"/>.</summary>
    public void BeginGathering()
    {
        lock (_gate)
            _gathering = true;
    }

    /// <summary>Writes what was collected since <see cref="BeginGathering"/> in one socket write.</summary>
    public ValueTask EndGathering(CancellationToken cancellationToken)
    {
        byte[]? gathered;
        int count;
        lock (_gate)
        {
            _gathering = false;
            (gathered, count) = (_gathered, _gatheredCount);
            (_gathered, _gatheredCount) = (null, 0);
        }
        if (gathered is null)
            return ValueTask.CompletedTask;
        var write = WriteOutAsync(gathered.AsMemory(0, count), cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(gathered);
            return ValueTask.CompletedTask;
        }
        return ReturnAfterAsync(write, gathered);
    }

    private static async ValueTask ReturnAfterAsync(ValueTask write, byte[] buffer)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_gathering)
            {
                Append(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }
        return WriteOutAsync(buffer, cancellationToken);
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        var pool = System.Buffers.ArrayPool<byte>.Shared;
        if (_gathered is null || _gathered.Length - _gatheredCount < data.Length)
        {
            var bigger = pool.Rent(Math.Max(_gatheredCount + data.Length, Math.Max(64 * 1024, (_gathered?.Length ?? 0) * 2)));
            if (_gathered is not null)
            {
                _gathered.AsSpan(0, _gatheredCount).CopyTo(bigger);
                pool.Return(_gathered);
            }
            _gathered = bigger;
        }
        data.CopyTo(_gathered.AsSpan(_gatheredCount));
        _gatheredCount += data.Length;
    }

    /// <summary>One socket write at a time, so records written from the read side (TLS 1.3 post-handshake messages) never split ours.</summary>
    private ValueTask WriteOutAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_writing.Wait(0))
        {
            ValueTask write;
            try
            {
                write = Inner.WriteAsync(data, cancellationToken);
            }
            catch
            {
                _writing.Release();
                throw;
            }
            if (write.IsCompleted)
            {
                _writing.Release();
                return write;
            }
            return ReleaseAfterAsync(write);
        }
        return WriteWhenFreeAsync(data, cancellationToken);
    }

    private async ValueTask ReleaseAfterAsync(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async ValueTask WriteWhenFreeAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            if (_gathering)
            {
                Append(buffer);
                return;
            }
        }
        _writing.Wait();
        try
        {
            Inner.Write(buffer);
        }
        finally
        {
            _writing.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                if (_gathered is not null)
                    System.Buffers.ArrayPool<byte>.Shared.Return(_gathered);
                _gathered = null;
            }
        }
        base.Dispose(disposing);
    }
}
