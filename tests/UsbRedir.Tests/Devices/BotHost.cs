using UsbRedir.Devices;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.Tests.Devices;

/// <summary>
/// The host side of bulk-only transport, as Linux usb-storage does it: CBW out, data phase (IN transfers of a given
/// chunk size, stopping at a short one; a stall is cleared and ends the phase), CSW in (a stall is cleared and the
/// read retried once).
/// </summary>
internal sealed class BotHost(UsbHostDriver host)
{
    private uint _tag = 0x1000;

    public UsbHostDriver Host { get; } = host;

    internal sealed record Result(byte[] Data, CommandStatusWrapper Csw, bool DataStalled, bool CswStalled);

    public static byte[] Cbw(uint tag, uint length, bool dataIn, byte[] cdb)
    {
        var bytes = new byte[CommandBlockWrapper.Size];
        new CommandBlockWrapper(tag, length, (byte)(dataIn ? 0x80 : 0), 0, (byte)cdb.Length, cdb).WriteTo(bytes);
        return bytes;
    }

    /// <param name="chunk">Size of each IN/OUT transfer of the data phase; 0 means one transfer for all of it.</param>
    public async Task<Result> RunAsync(byte[] cdb, uint dataLength, bool dataIn, byte[]? dataOut = null, int chunk = 0)
    {
        var tag = _tag++;
        var sent = await Host.OutAsync(MassStorageDevice.BulkOutEndpoint, Cbw(tag, dataLength, dataIn, cdb));
        Assert.Equal(UsbTransferResult.Ok(CommandBlockWrapper.Size), sent);

        var data = new List<byte>();
        var dataStalled = false;
        if (dataLength > 0 && dataIn)
        {
            var remaining = (int)dataLength;
            while (remaining > 0)
            {
                var size = chunk == 0 ? remaining : Math.Min(chunk, remaining);
                var buffer = new byte[size];
                var result = await Host.InAsync(MassStorageDevice.BulkInEndpoint, buffer);
                if (result.Status == UsbStatus.Stall)
                {
                    dataStalled = true;
                    Assert.Equal(UsbStatus.Success, await Host.Device.ClearHaltAsync(MassStorageDevice.BulkInEndpoint, CancellationToken.None));
                    break;
                }
                Assert.Equal(UsbStatus.Success, result.Status);
                data.AddRange(buffer[..result.ActualLength]);
                remaining -= result.ActualLength;
                if (result.ActualLength < size)
                    break;
            }
        }
        else if (dataLength > 0)
        {
            var payload = dataOut ?? new byte[dataLength];
            Assert.Equal((int)dataLength, payload.Length);
            for (var offset = 0; offset < payload.Length;)
            {
                var size = chunk == 0 ? payload.Length - offset : Math.Min(chunk, payload.Length - offset);
                var result = await Host.OutAsync(MassStorageDevice.BulkOutEndpoint, payload[offset..(offset + size)]);
                if (result.Status == UsbStatus.Stall)
                {
                    dataStalled = true;
                    Assert.Equal(UsbStatus.Success, await Host.Device.ClearHaltAsync(MassStorageDevice.BulkOutEndpoint, CancellationToken.None));
                    break;
                }
                Assert.Equal(UsbTransferResult.Ok(size), result);
                offset += size;
            }
        }

        var (csw, cswStalled) = await ReadCswAsync();
        Assert.Equal(tag, csw.Tag);
        return new Result(data.ToArray(), csw, dataStalled, cswStalled);
    }

    public async Task<(CommandStatusWrapper Csw, bool Stalled)> ReadCswAsync()
    {
        var stalled = false;
        var buffer = new byte[CommandStatusWrapper.Size];
        var result = await Host.InAsync(MassStorageDevice.BulkInEndpoint, buffer);
        if (result.Status == UsbStatus.Stall)
        {
            stalled = true;
            Assert.Equal(UsbStatus.Success, await Host.Device.ClearHaltAsync(MassStorageDevice.BulkInEndpoint, CancellationToken.None));
            result = await Host.InAsync(MassStorageDevice.BulkInEndpoint, buffer);
        }
        Assert.Equal(UsbTransferResult.Ok(CommandStatusWrapper.Size), result);
        Assert.True(CommandStatusWrapper.TryParse(buffer, out var csw));
        return (csw, stalled);
    }

    /// <summary>REQUEST SENSE (allocation length 18, as Linux asks after a failure): sense key, ASC, ASCQ.</summary>
    public async Task<(byte Key, byte Asc, byte Ascq)> RequestSenseAsync()
    {
        var result = await RunAsync([ScsiOpcodes.RequestSense, 0, 0, 0, 18, 0], 18, dataIn: true);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(18, result.Data.Length);
        Assert.Equal(0x70, result.Data[0]);
        return ((byte)(result.Data[2] & 0x0F), result.Data[12], result.Data[13]);
    }
}
