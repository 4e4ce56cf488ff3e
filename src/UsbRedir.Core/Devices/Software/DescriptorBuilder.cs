using System.Buffers.Binary;
using System.Text;

namespace UsbRedir.Devices.Software;

/// <summary>Turns <see cref="UsbDeviceDefinition"/>s into USB 2.0 descriptor bytes.</summary>
public static class DescriptorBuilder
{
    /// <summary>US English, the only language our strings are written in.</summary>
    public const ushort LanguageEnglishUnitedStates = 0x0409;

    private const ushort UsbRelease = 0x0200;

    /// <param name="operating">The device at the speed it runs at.</param>
    /// <param name="otherSpeed">For a high-speed device: the same device at full speed (device qualifier and
    /// other-speed configuration describe it). Null for a device that only supports its operating speed.</param>
    public static UsbDescriptorSet Build(UsbDeviceDefinition operating, UsbDeviceDefinition? otherSpeed)
    {
        ArgumentNullException.ThrowIfNull(operating);
        if (operating.Configurations.Count is 0 or > 255)
            throw new ArgumentException("A device needs 1 to 255 configurations.", nameof(operating));
        if (otherSpeed is not null && otherSpeed.Configurations.Count != operating.Configurations.Count)
            throw new ArgumentException("The other-speed definition must have as many configurations as the operating one.", nameof(otherSpeed));

        var strings = new StringTable();
        var device = new byte[18];
        device[0] = 18;
        device[1] = UsbDescriptorTypes.Device;
        BinaryPrimitives.WriteUInt16LittleEndian(device.AsSpan(2), UsbRelease);
        device[4] = operating.DeviceClass;
        device[5] = operating.DeviceSubClass;
        device[6] = operating.DeviceProtocol;
        device[7] = operating.MaxPacketSize0;
        BinaryPrimitives.WriteUInt16LittleEndian(device.AsSpan(8), operating.VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(device.AsSpan(10), operating.ProductId);
        BinaryPrimitives.WriteUInt16LittleEndian(device.AsSpan(12), operating.DeviceRelease);
        device[14] = strings.Add(operating.Manufacturer);
        device[15] = strings.Add(operating.Product);
        device[16] = strings.Add(operating.SerialNumber);
        device[17] = (byte)operating.Configurations.Count;

        var configurations = operating.Configurations
            .Select(c => (ReadOnlyMemory<byte>)BuildConfiguration(c, UsbDescriptorTypes.Configuration, strings)).ToArray();

        byte[]? qualifier = null;
        ReadOnlyMemory<byte>[] otherConfigurations = [];
        if (otherSpeed is not null)
        {
            qualifier = new byte[10];
            qualifier[0] = 10;
            qualifier[1] = UsbDescriptorTypes.DeviceQualifier;
            BinaryPrimitives.WriteUInt16LittleEndian(qualifier.AsSpan(2), UsbRelease);
            qualifier[4] = otherSpeed.DeviceClass;
            qualifier[5] = otherSpeed.DeviceSubClass;
            qualifier[6] = otherSpeed.DeviceProtocol;
            qualifier[7] = otherSpeed.MaxPacketSize0;
            qualifier[8] = (byte)otherSpeed.Configurations.Count;
            otherConfigurations = otherSpeed.Configurations
                .Select(c => (ReadOnlyMemory<byte>)BuildConfiguration(c, UsbDescriptorTypes.OtherSpeedConfiguration, strings)).ToArray();
        }

        return new UsbDescriptorSet(operating, device, configurations, qualifier, otherConfigurations, strings.Build());
    }

    private static byte[] BuildConfiguration(UsbConfigurationDefinition configuration, byte descriptorType, StringTable strings)
    {
        if (configuration.Value == 0)
            throw new ArgumentException("bConfigurationValue 0 means 'unconfigured' and cannot name a configuration.");
        var bytes = new List<byte>(64);
        bytes.AddRange(new byte[9]);
        foreach (var iface in configuration.Interfaces)
        {
            bytes.AddRange([9, UsbDescriptorTypes.Interface, iface.Number, iface.AlternateSetting, (byte)iface.Endpoints.Count,
                iface.InterfaceClass, iface.InterfaceSubClass, iface.InterfaceProtocol, strings.Add(iface.Name)]);
            bytes.AddRange(iface.ClassDescriptors.ToArray());
            foreach (var endpoint in iface.Endpoints)
            {
                if ((endpoint.Address & 0x0F) == 0)
                    throw new ArgumentException($"Endpoint address 0x{endpoint.Address:x2} is endpoint 0, which is not described.");
                CheckEndpoint(endpoint);
                var packet = new byte[2];
                BinaryPrimitives.WriteUInt16LittleEndian(packet, endpoint.WMaxPacketSize);
                bytes.AddRange([7, UsbDescriptorTypes.Endpoint, endpoint.Address, endpoint.Attributes, packet[0], packet[1], endpoint.Interval]);
            }
        }

        var result = bytes.ToArray();
        if (result.Length > ushort.MaxValue)
            throw new ArgumentException("Configuration descriptor longer than 65535 bytes.");
        result[0] = 9;
        result[1] = descriptorType;
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(2), (ushort)result.Length);
        result[4] = (byte)configuration.Interfaces.Select(i => i.Number).Distinct().Count();
        result[5] = configuration.Value;
        result[6] = strings.Add(configuration.Name);
        result[7] = (byte)(0x80 | (configuration.Attributes & 0x60));
        // bMaxPower counts 2 mA units at USB 2.0 speeds.
        result[8] = (byte)Math.Min(250, (configuration.MaxPowerMilliamps + 1) / 2);
        return result;
    }

    /// <summary>The fields that only some transfer types may use, and their ranges (USB 2.0 9.6.6).</summary>
    private static void CheckEndpoint(UsbEndpointDefinition endpoint)
    {
        if (endpoint.MaxPacketSize > 0x7FF)
            throw new ArgumentException($"Endpoint 0x{endpoint.Address:x2}: MaxPacketSize {endpoint.MaxPacketSize} does not fit 11 bits; use AdditionalTransactions for high-bandwidth endpoints.");
        if (endpoint.AdditionalTransactions > 2 ||
            (endpoint.AdditionalTransactions != 0 && endpoint.Type is not (UsbEndpointType.Isochronous or UsbEndpointType.Interrupt)))
            throw new ArgumentException($"Endpoint 0x{endpoint.Address:x2}: AdditionalTransactions {endpoint.AdditionalTransactions} needs an iso or interrupt endpoint and at most 2.");
        if ((endpoint.Synchronization != UsbIsoSynchronization.None || endpoint.Usage != UsbIsoUsage.Data) && endpoint.Type != UsbEndpointType.Isochronous)
            throw new ArgumentException($"Endpoint 0x{endpoint.Address:x2}: synchronization and usage bits belong to isochronous endpoints only.");
        if (!Enum.IsDefined(endpoint.Synchronization) || !Enum.IsDefined(endpoint.Usage))
            throw new ArgumentException($"Endpoint 0x{endpoint.Address:x2}: unknown synchronization or usage value.");
    }

    /// <summary>Collects distinct strings in first-use order; index 0 is reserved for the language table.</summary>
    private sealed class StringTable
    {
        private readonly List<string> _strings = [];

        public byte Add(string? text)
        {
            if (string.IsNullOrEmpty(text))
                return 0;
            // A string descriptor is at most 255 bytes: 2 header bytes plus 126 UTF-16 code units.
            if (text.Length > 126)
                throw new ArgumentException($"USB string longer than 126 characters: \"{text}\".");
            var index = _strings.IndexOf(text);
            if (index < 0)
            {
                if (_strings.Count == 254)
                    throw new ArgumentException("More than 254 distinct USB strings.");
                _strings.Add(text);
                index = _strings.Count - 1;
            }
            return (byte)(index + 1);
        }

        public ReadOnlyMemory<byte>[] Build()
        {
            var table = new ReadOnlyMemory<byte>[_strings.Count + 1];
            var languages = new byte[4];
            languages[0] = 4;
            languages[1] = UsbDescriptorTypes.String;
            BinaryPrimitives.WriteUInt16LittleEndian(languages.AsSpan(2), LanguageEnglishUnitedStates);
            table[0] = languages;
            for (var i = 0; i < _strings.Count; i++)
            {
                var text = Encoding.Unicode.GetBytes(_strings[i]);
                var descriptor = new byte[2 + text.Length];
                descriptor[0] = (byte)descriptor.Length;
                descriptor[1] = UsbDescriptorTypes.String;
                text.CopyTo(descriptor, 2);
                table[i + 1] = descriptor;
            }
            return table;
        }
    }
}
