using System.Buffers.Binary;
using System.Text;

namespace UsbRedir.Protocol;

/// <summary>
/// A sans-IO usbredir codec, byte-compatible with libusbredirparser 0.13: bytes in (<see cref="Receive"/>), typed
/// events out, and encoded bytes to send (<see cref="PendingOutput"/>) for whatever transport the caller runs.
/// <para>It sends hello on construction, queues every other packet until the peer's hello has been parsed (then
/// flushes them with the right header width), enforces the direction, length, capability and per-type rules on both
/// receive and send, and never holds more for a partly received packet than max(128 KiB, twice the bytes that actually
/// arrived), bounded by <see cref="UsbRedirLimits.MaxPacketSize"/>.</para>
/// <para>Not thread-safe: one caller at a time (a session's read loop and its senders must share a lock).</para>
/// </summary>
public sealed partial class UsbRedirCodec
{
    private readonly OutputBuffer _output = new();
    private readonly List<UsbRedirEvent> _events = [];
    private readonly Queue<DeferredPacket> _deferred = new();
    private UsbRedirCapabilities? _peerCaps;
    private UsbRedirCapabilities _negotiated;
    private int _headerSize = UsbRedirLimits.HeaderSize32;

    /// <summary>
    /// Creates a codec and queues our hello (12-byte header, id 0, version NUL-padded to 64 bytes, one caps word).
    /// </summary>
    /// <param name="role">Which side we are.</param>
    /// <param name="capabilities">Capabilities we advertise. A usb-guest always gets <see cref="UsbRedirCapabilities.DeviceDisconnectAck"/>
    /// (like the C parser); <see cref="UsbRedirCapabilities.BulkStreams"/> without <see cref="UsbRedirCapabilities.EpInfoMaxPacketSize"/> is cleared.</param>
    /// <param name="version">Free-text version sent in hello; truncated to 63 UTF-8 bytes.</param>
    /// <param name="sendHello">False only when resuming a connection whose hello was already exchanged.</param>
    public UsbRedirCodec(UsbRedirRole role, UsbRedirCapabilities capabilities, string version, bool sendHello = true)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (role is not (UsbRedirRole.UsbHost or UsbRedirRole.UsbGuest)) throw new ArgumentOutOfRangeException(nameof(role));
        Role = role;
        if (role == UsbRedirRole.UsbGuest) capabilities |= UsbRedirCapabilities.DeviceDisconnectAck;
        Capabilities = Sanitize(capabilities);
        Version = version;
        if (sendHello) WriteHello(version);
    }

    /// <summary>Our role.</summary>
    public UsbRedirRole Role { get; }

    /// <summary>The capabilities we advertised (after the guest/bulk-streams adjustments).</summary>
    public UsbRedirCapabilities Capabilities { get; }

    /// <summary>The version text we advertised.</summary>
    public string Version { get; }

    /// <summary>The peer's capabilities, or null until its hello has been parsed.</summary>
    public UsbRedirCapabilities? PeerCapabilities => _peerCaps;

    /// <summary>The peer's version text, or null until its hello has been parsed.</summary>
    public string? PeerVersion { get; private set; }

    /// <summary>True once the peer's hello has been parsed (packets are no longer queued).</summary>
    public bool HasPeerHello => _peerCaps.HasValue;

    /// <summary>Capabilities both sides advertised (None before the peer's hello).</summary>
    public UsbRedirCapabilities NegotiatedCapabilities => _negotiated;

    /// <summary>Size of the main header in use: 12 bytes, or 16 once 64-bit ids are negotiated.</summary>
    public int HeaderSize => _headerSize;

    /// <summary>True when both sides advertised <paramref name="capability"/> (all bits of it).</summary>
    public bool IsNegotiated(UsbRedirCapabilities capability) => (_negotiated & capability) == capability;

    /// <summary>True when we advertised <paramref name="capability"/>.</summary>
    public bool Has(UsbRedirCapabilities capability) => (Capabilities & capability) == capability;

    /// <summary>True when the peer advertised <paramref name="capability"/> (false before its hello).</summary>
    public bool PeerHas(UsbRedirCapabilities capability) => _peerCaps is { } p && (p & capability) == capability;

    /// <summary>
    /// For a usb-guest: after handling a device_disconnect, the guest must send device_disconnect_ack
    /// (<see cref="SendDeviceDisconnectAck"/>) once its teardown is done — true when the peer supports the ack.
    /// (libusbredirparser queues it automatically after its callback; a sans-IO codec leaves the moment to the caller.)
    /// </summary>
    public bool DisconnectAckRequired => Role == UsbRedirRole.UsbGuest && PeerHas(UsbRedirCapabilities.DeviceDisconnectAck);

    private static UsbRedirCapabilities Sanitize(UsbRedirCapabilities caps) =>
        (caps & UsbRedirCapabilities.BulkStreams) != 0 && (caps & UsbRedirCapabilities.EpInfoMaxPacketSize) == 0
            ? caps & ~UsbRedirCapabilities.BulkStreams
            : caps;

    private void SetPeerCapabilities(UsbRedirCapabilities peer)
    {
        _peerCaps = peer;
        _negotiated = Capabilities & peer;
        _headerSize = (_negotiated & UsbRedirCapabilities.Ids64Bit) != 0 ? UsbRedirLimits.HeaderSize64 : UsbRedirLimits.HeaderSize32;
    }

    private void WriteHello(string version)
    {
        const int length = UsbRedirLimits.VersionFieldSize + 4;
        var dest = _output.Reserve(UsbRedirLimits.HeaderSize32 + length);
        dest.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(dest, (uint)UsbRedirPacketType.Hello);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[4..], length);
        var versionField = dest.Slice(UsbRedirLimits.HeaderSize32, UsbRedirLimits.VersionFieldSize - 1);
        Encoding.UTF8.GetEncoder().Convert(version, versionField, true, out _, out _, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[(UsbRedirLimits.HeaderSize32 + UsbRedirLimits.VersionFieldSize)..], (uint)Capabilities);
        _output.Commit(UsbRedirLimits.HeaderSize32 + length);
    }
}
