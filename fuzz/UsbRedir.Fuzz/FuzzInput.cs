namespace UsbRedir.Fuzz;

/// <summary>
/// The fuzzer's bytes as a source of choices (like libFuzzer's FuzzedDataProvider): small decisions are taken from the
/// front, the data a target feeds its parser from the rest. Past the end every choice reads as zero, so any input,
/// even an empty one, is a valid run.
/// </summary>
internal sealed class FuzzInput(byte[] data)
{
    private int _position;

    public int Remaining => data.Length - _position;

    public bool IsEmpty => Remaining == 0;

    public byte Byte() => _position < data.Length ? data[_position++] : (byte)0;

    public bool Bool() => (Byte() & 1) != 0;

    public ushort UInt16() => (ushort)(Byte() | Byte() << 8);

    public uint UInt32() => (uint)(UInt16() | UInt16() << 16);

    /// <summary>A value in 0..<paramref name="max"/> (inclusive), from as few bytes as it needs.</summary>
    public int Range(int max) => max <= 0 ? 0 : max <= 0xff ? Byte() % (max + 1) : max <= 0xffff ? UInt16() % (max + 1) : (int)(UInt32() % ((uint)max + 1));

    /// <summary>Up to <paramref name="count"/> next bytes (fewer at the end).</summary>
    public byte[] Bytes(int count)
    {
        count = Math.Clamp(count, 0, Remaining);
        var bytes = data.AsSpan(_position, count).ToArray();
        _position += count;
        return bytes;
    }

    /// <summary>Everything not read yet.</summary>
    public byte[] Rest() => Bytes(Remaining);

    /// <summary>A length-prefixed block (one byte of length, 0..255).</summary>
    public byte[] Block() => Bytes(Byte());

}
