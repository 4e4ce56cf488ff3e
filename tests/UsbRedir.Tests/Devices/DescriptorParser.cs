using System.Buffers.Binary;

namespace UsbRedir.Tests.Devices;

/// <summary>Walks a configuration descriptor and checks its structure the way a host's parser would.</summary>
internal static class DescriptorParser
{
    internal sealed record Endpoint(byte Address, byte Attributes, ushort MaxPacketSize, byte Interval);

    internal sealed record Interface(byte Number, byte Alternate, byte Class, byte SubClass, byte Protocol, List<Endpoint> Endpoints, List<byte[]> ClassDescriptors);

    /// <summary>Validates lengths, wTotalLength, bNumInterfaces, bNumEndpoints; returns the interfaces.</summary>
    public static List<Interface> ParseConfiguration(byte[] configuration, byte expectedType = 2)
    {
        Assert.True(configuration.Length >= 9);
        Assert.Equal(9, configuration[0]);
        Assert.Equal(expectedType, configuration[1]);
        Assert.Equal(configuration.Length, BinaryPrimitives.ReadUInt16LittleEndian(configuration.AsSpan(2)));
        Assert.NotEqual(0, configuration[5]);
        Assert.True((configuration[7] & 0x80) != 0, "bmAttributes bit 7 must be set");
        Assert.Equal(0, configuration[7] & 0x1F);

        var interfaces = new List<Interface>();
        Interface? current = null;
        for (var offset = 9; offset < configuration.Length;)
        {
            var length = configuration[offset];
            Assert.True(length >= 2 && offset + length <= configuration.Length, $"descriptor at {offset} overruns the configuration");
            var descriptor = configuration.AsSpan(offset, length).ToArray();
            switch (descriptor[1])
            {
                case 4:
                    Assert.Equal(9, length);
                    current = new Interface(descriptor[2], descriptor[3], descriptor[5], descriptor[6], descriptor[7], [], []);
                    interfaces.Add(current);
                    break;
                case 5:
                    Assert.Equal(7, length);
                    Assert.NotNull(current);
                    current.Endpoints.Add(new Endpoint(descriptor[2], descriptor[3], BinaryPrimitives.ReadUInt16LittleEndian(descriptor.AsSpan(4)), descriptor[6]));
                    break;
                default:
                    Assert.NotNull(current);
                    current.ClassDescriptors.Add(descriptor);
                    break;
            }
            offset += length;
        }
        Assert.Equal(configuration[4], interfaces.Select(i => i.Number).Distinct().Count());
        var rawInterfaceCounts = new List<int>();
        for (var offset = 9; offset < configuration.Length; offset += configuration[offset])
            if (configuration[offset + 1] == 4)
                rawInterfaceCounts.Add(configuration[offset + 4]);
        Assert.Equal(rawInterfaceCounts, interfaces.Select(i => i.Endpoints.Count));
        return interfaces;
    }

    public static void CheckDeviceDescriptor(byte[] device, byte maxPacketSize0)
    {
        Assert.Equal(18, device.Length);
        Assert.Equal(18, device[0]);
        Assert.Equal(1, device[1]);
        Assert.Equal(0x0200, BinaryPrimitives.ReadUInt16LittleEndian(device.AsSpan(2)));
        Assert.Equal(maxPacketSize0, device[7]);
        Assert.Equal(1, device[17]);
    }
}
