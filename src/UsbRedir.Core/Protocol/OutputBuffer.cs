using System.Buffers;

namespace UsbRedir.Protocol;

/// <summary>
/// Encoded bytes waiting to be written, kept contiguous so a transport can write them with one call.
/// Space consumed at the front is reclaimed by sliding the rest down or, when empty, by rewinding.
/// </summary>
internal sealed class OutputBuffer : IBufferWriter<byte>
{
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    public int Length => _end - _start;

    public ReadOnlyMemory<byte> Pending => _buffer.AsMemory(_start, _end - _start);

    /// <summary>Returns <paramref name="size"/> writable bytes at the end; call <see cref="Commit"/> to keep them.</summary>
    public Span<byte> Reserve(int size)
    {
        if (_buffer.Length - _end < size)
        {
            var used = _end - _start;
            if (_buffer.Length - used >= size && used <= _buffer.Length / 2)
            {
                _buffer.AsSpan(_start, used).CopyTo(_buffer);
            }
            else
            {
                var grown = new byte[Math.Max(checked(used + size), checked(_buffer.Length * 2))];
                _buffer.AsSpan(_start, used).CopyTo(grown);
                _buffer = grown;
            }
            _start = 0;
            _end = used;
        }
        return _buffer.AsSpan(_end, size);
    }

    public void Commit(int size) => _end += size;

    Span<byte> IBufferWriter<byte>.GetSpan(int sizeHint) => Reserve(Math.Max(sizeHint, 1));

    Memory<byte> IBufferWriter<byte>.GetMemory(int sizeHint)
    {
        var size = Math.Max(sizeHint, 1);
        Reserve(size);
        return _buffer.AsMemory(_end, size);
    }

    void IBufferWriter<byte>.Advance(int count) => Commit(count);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Length);
        _start += count;
        if (_start == _end) _start = _end = 0;
    }
}
