using static UsbRedir.Devices.Software.UsbStandardRequests;

namespace UsbRedir.Devices.Software;

/// <summary>Chapter 9 standard requests on endpoint 0 (USB 2.0 section 9.4). Anything not listed here stalls.</summary>
public abstract partial class SoftwareUsbDevice
{
    private UsbTransferResult? HandleStandardRequest(UsbSetupPacket setup, Memory<byte> data)
    {
        var recipient = RecipientOf(setup);
        var hostToDevice = !setup.IsDeviceToHost;
        return setup.Request switch
        {
            GetStatus when setup.IsDeviceToHost && setup.Value == 0 && setup.Length >= 2 => GetStatusLocked(recipient, setup.Index, data.Span),
            ClearFeature when hostToDevice && setup.Length == 0 => SetFeatureLocked(recipient, setup.Value, setup.Index, set: false),
            SetFeature when hostToDevice && setup.Length == 0 => SetFeatureLocked(recipient, setup.Value, setup.Index, set: true),
            SetAddress when hostToDevice && recipient == RecipientDevice && setup.Value <= 127 && setup.Index == 0 && setup.Length == 0 => SetAddressLocked((byte)setup.Value),
            GetDescriptor when setup.IsDeviceToHost => GetDescriptorLocked(setup, data.Span),
            GetConfiguration when setup.IsDeviceToHost && recipient == RecipientDevice && setup.Length >= 1 => Reply([_configuration], data.Span),
            // The contract routes these through the dedicated methods; a caller that forwards them raw gets the same behaviour.
            SetConfiguration when hostToDevice && recipient == RecipientDevice && setup.Value <= 255 && setup.Length == 0 =>
                ToResult(SetConfigurationLocked((byte)setup.Value)),
            GetInterface when setup.IsDeviceToHost && recipient == RecipientInterface && setup.Length >= 1 => GetInterfaceLocked(setup.Index, data.Span),
            SetInterface when hostToDevice && recipient == RecipientInterface && setup.Length == 0 && setup.Index <= 255 && setup.Value <= 255 =>
                ToResult(SetAlternateSettingLocked((byte)setup.Index, (byte)setup.Value)),
            _ => null,
        };
    }

    /// <summary>Copies a reply into the data stage, truncated to wLength as the host asked.</summary>
    protected static UsbTransferResult Reply(ReadOnlySpan<byte> reply, Span<byte> data)
    {
        var length = Math.Min(reply.Length, data.Length);
        reply[..length].CopyTo(data);
        return UsbTransferResult.Ok(length);
    }

    private static UsbTransferResult ToResult(UsbStatus status) =>
        status == UsbStatus.Success ? UsbTransferResult.Ok(0) : UsbTransferResult.Failed(status);

    private UsbTransferResult SetAddressLocked(byte address)
    {
        _address = address;
        return UsbTransferResult.Ok(0);
    }

    private UsbTransferResult? GetStatusLocked(byte recipient, ushort index, Span<byte> data)
    {
        Span<byte> status = stackalloc byte[2];
        status.Clear();
        switch (recipient)
        {
            case RecipientDevice when index == 0:
                var attributes = (ActiveConfigurationDefinition() ?? Descriptors.Definition.Configurations[0]).Attributes;
                status[0] = (byte)(((attributes & UsbConfigurationDefinition.SelfPowered) != 0 ? 1 : 0) | (_remoteWakeupEnabled ? 2 : 0));
                return Reply(status, data);
            case RecipientInterface when IsConfigured && index <= 255 && _alternateSettings.ContainsKey((byte)index):
                return Reply(status, data);
            case RecipientEndpoint when index <= 255 && (index & 0x0F) == 0:
                return Reply(status, data);
            case RecipientEndpoint when index <= 255 && _endpoints.TryGetValue((byte)index, out var endpoint):
                status[0] = (byte)(endpoint.Halted ? 1 : 0);
                return Reply(status, data);
            default:
                return null;
        }
    }

    private UsbTransferResult? SetFeatureLocked(byte recipient, ushort feature, ushort index, bool set)
    {
        switch (recipient)
        {
            case RecipientDevice when feature == FeatureDeviceRemoteWakeup && index == 0 && SupportsRemoteWakeup():
                _remoteWakeupEnabled = set;
                return UsbTransferResult.Ok(0);
            case RecipientEndpoint when feature == FeatureEndpointHalt && index <= 255 && (index & 0x0F) == 0:
                // Halting endpoint 0 is not something a host may do (USB 2.0 9.4.5); clearing it is harmless.
                return set ? null : UsbTransferResult.Ok(0);
            case RecipientEndpoint when feature == FeatureEndpointHalt && index <= 255 && _endpoints.ContainsKey((byte)index):
                if (!set)
                    return ToResult(ClearHaltLocked((byte)index));
                HaltEndpoint((byte)index);
                return UsbTransferResult.Ok(0);
            default:
                // TEST_MODE cannot be emulated and interfaces have no standard features: request error.
                return null;
        }
    }

    private bool SupportsRemoteWakeup() =>
        Descriptors.Definition.Configurations.Any(c => (c.Attributes & UsbConfigurationDefinition.RemoteWakeup) != 0);

    private UsbTransferResult? GetInterfaceLocked(ushort interfaceNumber, Span<byte> data) =>
        IsConfigured && interfaceNumber <= 255 && _alternateSettings.TryGetValue((byte)interfaceNumber, out var alternate)
            ? Reply([alternate], data)
            : null;

    private UsbTransferResult? GetDescriptorLocked(UsbSetupPacket setup, Span<byte> data)
    {
        var type = (byte)(setup.Value >> 8);
        var index = (byte)setup.Value;
        ReadOnlyMemory<byte>? descriptor = null;
        if (RecipientOf(setup) == RecipientDevice)
        {
            descriptor = type switch
            {
                UsbDescriptorTypes.Device when index == 0 => Descriptors.Device,
                UsbDescriptorTypes.Configuration when index < Descriptors.Configurations.Count => Descriptors.Configurations[index],
                // Strings exist in one language only; like most devices we answer any language ID with it.
                UsbDescriptorTypes.String when index < Descriptors.Strings.Count => Descriptors.Strings[index],
                UsbDescriptorTypes.DeviceQualifier when index == 0 => Descriptors.DeviceQualifier,
                UsbDescriptorTypes.OtherSpeedConfiguration when index < Descriptors.OtherSpeedConfigurations.Count => Descriptors.OtherSpeedConfigurations[index],
                UsbDescriptorTypes.Bos when index == 0 => Descriptors.Bos,
                _ => null,
            };
        }
        descriptor ??= GetOtherDescriptor(setup);
        return descriptor is { } bytes ? Reply(bytes.Span, data) : null;
    }
}
