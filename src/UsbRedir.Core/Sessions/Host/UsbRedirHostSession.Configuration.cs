using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// Configuration, alternate settings and reset, as usbredirhost handles them: a change cancels what it affects, and the
// new interface_info and ep_info always go out before the status, so the guest knows the layout when it sees success.
public sealed partial class UsbRedirHostSession
{
    private void RefreshLayout()
    {
        _layout = ComputeLayout();
        SendLayout();
    }

    private async Task SetConfigurationAsync(ulong id, byte configuration)
    {
        if (!IsConnected)
        {
            TrySend(id, new ConfigurationStatusHeader(UsbStatus.IoError, 0));
            return;
        }
        if (Device.ActiveConfiguration == configuration)
        {
            TrySend(id, new ConfigurationStatusHeader(UsbStatus.Success, configuration));
            return;
        }
        CancelAll();
        var status = await Device.SetConfigurationAsync(configuration, _sessionEnded.Token);
        RefreshLayout();
        TrySend(id, new ConfigurationStatusHeader(status, Device.ActiveConfiguration));
    }

    private async Task SetAltSettingAsync(ulong id, byte interfaceNumber, byte alt)
    {
        if (!IsConnected)
        {
            TrySend(id, new AltSettingStatusHeader(UsbStatus.IoError, interfaceNumber, 0xFF));
            return;
        }
        if (!_layout.Interfaces.Any(i => i.Number == interfaceNumber))
        {
            TrySend(id, new AltSettingStatusHeader(UsbStatus.Invalid, interfaceNumber, 0xFF));
            return;
        }
        CancelInterface(interfaceNumber);
        var status = await Device.SetAlternateSettingAsync(interfaceNumber, alt, _sessionEnded.Token);
        if (status == UsbStatus.Success)
            RefreshLayout(); // a failed change sends no new layout, as from usbredirhost (a failed set_configuration does)
        TrySend(id, new AltSettingStatusHeader(status, interfaceNumber, Device.GetAlternateSetting(interfaceNumber)));
    }

    private void GetAltSetting(ulong id, byte interfaceNumber)
    {
        if (!IsConnected)
            TrySend(id, new AltSettingStatusHeader(UsbStatus.IoError, interfaceNumber, 0xFF));
        else if (!_layout.Interfaces.Any(i => i.Number == interfaceNumber))
            TrySend(id, new AltSettingStatusHeader(UsbStatus.Invalid, interfaceNumber, 0xFF));
        else
            TrySend(id, new AltSettingStatusHeader(UsbStatus.Success, interfaceNumber, Device.GetAlternateSetting(interfaceNumber)));
    }

    /// <summary>Stops the receiving and iso streams of an interface's endpoints; other pending transfers are left to the device, which cancels them on the change.</summary>
    private void CancelInterface(byte interfaceNumber)
    {
        for (var i = 1; i < 32; i++)
            if (i != 16 && _layout.EndpointInterface[i] == interfaceNumber && _layout.EndpointType[i] != UsbEndpointType.Invalid)
            {
                StopStream(DeviceLayout.EndpointAddress(i), reportStall: false);
                StopIsoStream(DeviceLayout.EndpointAddress(i), reportStall: false);
            }
    }

    /// <summary>reset is never answered. Like usbredirhost, a reset right after another with no transfer in between is skipped.</summary>
    private async Task ResetAsync()
    {
        lock (_pending)
        {
            if (!IsConnected || _resetSinceLastTransfer)
                return;
            _resetSinceLastTransfer = true;
        }
        CancelAll(reportStreamsStalled: true);
        var before = DescriptorBytes();
        var status = await Device.ResetAsync(_sessionEnded.Token);
        if (status != UsbStatus.Success)
        {
            Log.Error($"resetting the device failed ({status}); dropping it");
            ReleaseDevice("reset failed");
            return;
        }
        var after = DescriptorBytes();
        if (!after.AsSpan().SequenceEqual(before))
        {
            // It came back as another device (a DFU device switching mode). The peer's kernel reads the new descriptors
            // after its reset and enumerates the device anew (Linux: "device firmware changed"); a device_disconnect here
            // would pull the device from under that reset (QEMU's guest then times out reading descriptors for tens of
            // seconds). The peer only needs the new interfaces and endpoints, which it cannot read itself.
            _layout = ComputeLayout();
            SendLayout();
            Log.Info($"the device came back from the reset as another device ({VidPid(before)}, now {VidPid(after)}): its interfaces and endpoints sent again");
            return;
        }
        RefreshLayoutIfChanged();
    }

    /// <summary>The device's descriptors as a host reads them: the device descriptor, then every configuration.</summary>
    private byte[] DescriptorBytes() =>
        [.. Device.DeviceDescriptor.Span, .. Device.ConfigurationDescriptors.SelectMany(c => c.ToArray())];

    /// <summary>VID:PID from <see cref="DescriptorBytes"/> (its device descriptor comes first).</summary>
    private static string VidPid(ReadOnlySpan<byte> descriptors) =>
        $"{BinaryPrimitives.ReadUInt16LittleEndian(descriptors[8..]):x4}:{BinaryPrimitives.ReadUInt16LittleEndian(descriptors[10..]):x4}";

    /// <summary>A reset may leave the device unconfigured; the guest learns the layout from the next set_configuration.</summary>
    private void RefreshLayoutIfChanged()
    {
        var fresh = ComputeLayout();
        if (fresh.Interfaces.SequenceEqual(_layout.Interfaces))
            return;
        _layout = fresh;
    }
}
