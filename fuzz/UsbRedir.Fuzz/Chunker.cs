namespace UsbRedir.Fuzz;

/// <summary>
/// Chunk sizes for feeding a stream parser, from a small generator seeded by one input byte: a quarter of them 1..4
/// bytes (splits inside headers), the others up to 64, 1024 or 70000 bytes. The same seed always gives the same splits.
/// </summary>
internal sealed class Chunker(byte seed)
{
    private uint _state = seed * 2654435761u + 1;

    public int Next()
    {
        _state = _state * 1103515245 + 12345;
        var r = (int)(_state >> 16);
        return (r & 3) switch { 0 => 1 + (r >> 2) % 4, 1 => 1 + (r >> 2) % 64, 2 => 1 + (r >> 2) % 1024, _ => 1 + (r >> 2) % 70000 };
    }
}
