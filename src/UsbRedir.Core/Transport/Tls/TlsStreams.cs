using System.Net.Security;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// The stream a TLS connection's loops use, over its <see cref="SslStream"/>: writes go out as records of at most <c>maxRecordPlaintext</c> bytes of
/// plaintext (QEMU before 8.0 stalls on larger ones, see <see cref="TlsEndOptions.MaxRecordPlaintext"/>), and bytes
/// read ahead while checking the peer's first message are handed out first.
/// </summary>
internal sealed class TlsStream(Stream ssl, int maxRecordPlaintext) : Stream
{
    private byte[]? _prefix;
    private int _prefixOffset, _prefixCount;

    /// <summary>
    /// Reads the peer's first bytes after the handshake (kept for the first reads), bounded by <paramref name="cancellationToken"/>.
    /// Returns the count; 0 when the peer closed.
    /// </summary>
    public async Task<int> ReadAheadAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var n = await ssl.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        (_prefix, _prefixOffset, _prefixCount) = (buffer, 0, n);
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefixCount > 0)
            return new ValueTask<int>(TakePrefix(buffer.Span));
        return ssl.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => _prefixCount > 0 ? TakePrefix(buffer) : ssl.Read(buffer);

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
        while (buffer.Length > 0)
        {
            var piece = buffer[..Math.Min(buffer.Length, maxRecordPlaintext)];
            buffer = buffer[piece.Length..];
            var write = ssl.WriteAsync(piece, cancellationToken);
            if (!write.IsCompletedSuccessfully)
                return buffer.IsEmpty ? write : WriteRestAsync(write, buffer, cancellationToken);
        }
        return ValueTask.CompletedTask;
    }

    private async ValueTask WriteRestAsync(ValueTask pending, ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        await pending.ConfigureAwait(false);
        while (rest.Length > 0)
        {
            var piece = rest[..Math.Min(rest.Length, maxRecordPlaintext)];
            rest = rest[piece.Length..];
            await ssl.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var piece = buffer[..Math.Min(buffer.Length, maxRecordPlaintext)];
            ssl.Write(piece);
            buffer = buffer[piece.Length..];
        }
    }

    public override void Flush() => ssl.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => ssl.FlushAsync(cancellationToken);
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            ssl.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await ssl.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Under the SslStream during the handshake: remembers the first bytes the peer sent and whether it closed, so a failed
/// handshake can say why (the peer sent a plaintext usbredir hello; the peer hung up).
/// </summary>
internal sealed class FirstBytesStream(Stream inner) : Stream
{
    private readonly byte[] _first = new byte[8];
    private int _firstCount;

    /// <summary>The first bytes received (up to 8).</summary>
    public ReadOnlySpan<byte> First => _first.AsSpan(0, _firstCount);

    /// <summary>True once a read returned 0 (the peer closed).</summary>
    public bool SawEnd { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Record(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Record(buffer[..n]);
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

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
