using UsbRedir.Sessions;

namespace UsbRedir.Devices;

/// <summary>
/// What a device that mirrors another (a local one through libusb, a remote one through usbredir) keeps of its current
/// settings: the alternate setting each interface is in (0 until SET_INTERFACE says otherwise, and again after every
/// SET_CONFIGURATION) and the layout of the active configuration, from which each endpoint's type is read. The one home
/// of <see cref="IUsbDevice.GetAlternateSetting"/> and GetEndpointType for both. Not thread-safe: its owner guards it
/// with its own lock.
/// </summary>
internal sealed class ActiveSettings(DeviceLayout layout)
{
    private readonly Dictionary<byte, byte> _alternates = [];

    /// <summary>The active configuration's interfaces and endpoints (only EP0 while unconfigured).</summary>
    public DeviceLayout Layout { get; set; } = layout;

    public byte AlternateOf(byte interfaceNumber) => _alternates.TryGetValue(interfaceNumber, out var alt) ? alt : (byte)0;

    public void SetAlternate(byte interfaceNumber, byte alternateSetting) => _alternates[interfaceNumber] = alternateSetting;

    /// <summary>Every interface back in alternate setting 0 (a configuration was selected, or the device reset).</summary>
    public void ResetAlternates() => _alternates.Clear();

    /// <summary>The endpoint's type in the active configuration and alternate settings (Invalid when it has none).</summary>
    public UsbEndpointType EndpointTypeOf(byte endpoint) => Layout.EndpointType[DeviceLayout.EndpointIndex(endpoint)];
}
