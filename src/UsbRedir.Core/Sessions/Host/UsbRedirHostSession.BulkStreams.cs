using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// USB 3 bulk streams (cap 0), as usbredirhost runs them: alloc_bulk_streams and free_bulk_streams go to the device and are
// answered with bulk_streams_status echoing the request (fewer streams than asked for is an ioerror, and unlike usbredirhost
// the partial grant is freed again, so the device holds what the guest was told); bulk packets with a
// stream_id go to that stream (SubmitBulkAsync). The device drops its streams itself on a reset, configuration or
// alternate-setting change (the IUsbDevice contract, as the kernel does under libusb), so nothing is tracked here.
public sealed partial class UsbRedirHostSession
{
    /// <summary>
    /// What we advertise for <paramref name="device"/>: <see cref="HostCapabilities"/>, plus bulk streams when a bulk endpoint of
    /// any configuration offers them (a SuperSpeed companion descriptor with MaxStreams &gt; 0).
    /// </summary>
    public static UsbRedirCapabilities CapabilitiesFor(IUsbDevice device) =>
        device.ConfigurationDescriptors.Any(c => HasStreamEndpoint(c.Span))
            ? HostCapabilities | UsbRedirCapabilities.BulkStreams
            : HostCapabilities;

    /// <summary>True when a bulk endpoint in <paramref name="configuration"/> (any alternate setting) is followed by a companion offering streams.</summary>
    private static bool HasStreamEndpoint(ReadOnlySpan<byte> configuration)
    {
        var lastWasBulk = false;
        foreach (var d in new UsbDescriptorWalk(configuration))
        {
            switch (d[1])
            {
                case 5 when d.Length >= 7:
                    lastWasBulk = (d[3] & 0x03) == (byte)UsbEndpointType.Bulk;
                    break;
                case 0x30 when d.Length >= 6 && lastWasBulk && (d[3] & 0x1F) != 0:
                    return true;
                case 4:
                    lastWasBulk = false;
                    break;
            }
        }
        return false;
    }

    /// <summary>Awaited on the read loop: a guest may use the streams in the very next packet (QEMU does not wait for the status).</summary>
    private async ValueTask AllocateBulkStreamsAsync(ulong id, AllocBulkStreamsHeader h)
    {
        var status = UsbStatus.IoError;
        try
        {
            if (IsConnected)
            {
                var requested = (int)Math.Min(h.StreamCount, int.MaxValue);
                var result = await Device.AllocateStreamsAsync(EndpointsOf(h.Endpoints), requested, _sessionEnded.Token);
                status = result.Status;
                if (status != UsbStatus.Success)
                    Log.Error($"could not allocate {h.StreamCount} bulk streams on endpoints {Describe(h.Endpoints)}: {status}");
                else if (result.Streams < requested)
                {
                    Log.Error($"asked for {h.StreamCount} bulk streams on endpoints {Describe(h.Endpoints)} but the device granted {result.Streams}");
                    status = UsbStatus.IoError;
                    // The guest takes the ioerror as "no streams": free the partial grant so a retry with fewer can succeed.
                    await Device.FreeStreamsAsync(EndpointsOf(h.Endpoints), _sessionEnded.Token);
                }
                else
                    Log.Info($"allocated {result.Streams} bulk streams on endpoints {Describe(h.Endpoints)}");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Error($"alloc_bulk_streams failed: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return; // the session ended
        }
        TrySend(id, new BulkStreamsStatusHeader(h.Endpoints, h.StreamCount, status));
    }

    private async ValueTask FreeBulkStreamsAsync(ulong id, FreeBulkStreamsHeader h)
    {
        var status = UsbStatus.IoError;
        try
        {
            if (IsConnected)
            {
                status = await Device.FreeStreamsAsync(EndpointsOf(h.Endpoints), _sessionEnded.Token);
                if (status != UsbStatus.Success)
                    Log.Error($"could not free the bulk streams of endpoints {Describe(h.Endpoints)}: {status}");
                else
                    Log.Info($"freed the bulk streams of endpoints {Describe(h.Endpoints)}");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Error($"free_bulk_streams failed: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return;
        }
        TrySend(id, new BulkStreamsStatusHeader(h.Endpoints, 0, status));
    }

    /// <summary>The endpoint addresses of an ep_info index bitmask, lowest index first.</summary>
    private static byte[] EndpointsOf(uint mask) =>
        Enumerable.Range(0, 32).Where(i => (mask & (1u << i)) != 0).Select(DeviceLayout.EndpointAddress).ToArray();

    private static string Describe(uint mask) => string.Join(", ", EndpointsOf(mask).Select(e => $"0x{e:x2}"));
}
