namespace UsbRedir.Devices;

/// <summary>
/// The descriptors packed one after another in a configuration descriptor, one at a time, read the way libusb and
/// usbredirhost read them: each is bLength bytes long, and a length below 2 or one running past the end ends the walk.
/// That way the broken descriptors that real devices ship never make a reader look past the buffer.
/// Use it with <c>foreach (var d in new UsbDescriptorWalk(bytes))</c>; d[0] is bLength, d[1] bDescriptorType.
/// </summary>
public ref struct UsbDescriptorWalk(ReadOnlySpan<byte> bytes)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;
    private int _offset;

    /// <summary>The descriptor the walk stands on, exactly bLength bytes.</summary>
    public ReadOnlySpan<byte> Current { get; private set; }

    public readonly UsbDescriptorWalk GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_offset + 2 > _bytes.Length)
            return false;
        int length = _bytes[_offset];
        if (length < 2 || _offset + length > _bytes.Length)
        {
            _offset = _bytes.Length; // a corrupt descriptor ends the walk
            return false;
        }
        Current = _bytes.Slice(_offset, length);
        _offset += length;
        return true;
    }
}
