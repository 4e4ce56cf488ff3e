using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Tests.Devices;

/// <summary>
/// A small USB Attached SCSI initiator over SuperSpeed bulk streams (UAS r04 / T10 UAS-2), the way Linux's uas driver talks
/// to a disk: a Command IU on the command pipe, then the data on the data-in pipe and the Sense IU on the status pipe, both on
/// stream = the command's tag. Several commands may run at once, each on its own tag (stream).
/// </summary>
internal sealed class UasInitiator
{
    private const byte CommandIu = 0x01, SenseIu = 0x03, ResponseIu = 0x04;
    private const byte PipeCommand = 1, PipeStatus = 2, PipeDataIn = 3, PipeDataOut = 4;
    private const byte PipeUsageDescriptor = 0x24;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly IUsbDevice _device;
    private readonly byte _commandPipe, _statusPipe, _dataInPipe;
    private readonly byte[] _streamPipes;

    private UasInitiator(IUsbDevice device, byte interfaceNumber, byte alternateSetting, byte[] pipes, int streams)
    {
        _device = device;
        InterfaceNumber = interfaceNumber;
        AlternateSetting = alternateSetting;
        (_commandPipe, _statusPipe, _dataInPipe) = (pipes[PipeCommand], pipes[PipeStatus], pipes[PipeDataIn]);
        _streamPipes = StreamPipes(pipes);
        Streams = streams;
    }

    public byte InterfaceNumber { get; }
    public byte AlternateSetting { get; }

    /// <summary>Streams allocated on the status and data pipes: the tags 1..Streams.</summary>
    public int Streams { get; }

    /// <summary>The result of one command: SCSI status, the data read, and the sense data of a CHECK CONDITION.</summary>
    public sealed record Result(byte Status, byte[] Data, byte[] Sense)
    {
        public bool Good => Status == 0;
    }

    /// <summary>
    /// Finds the UAS alternate setting (mass storage, SCSI, protocol 0x62) in the first configuration, selects configuration and
    /// alternate setting, reads the pipes from their pipe usage descriptors and allocates streams on status, data-in and data-out.
    /// </summary>
    public static async Task<UasInitiator> OpenAsync(IUsbDevice device, int streams)
    {
        var configuration = device.ConfigurationDescriptors[0].ToArray();
        var (iface, alt, pipes) = FindUas(configuration);
        var value = configuration[5];
        if (device.ActiveConfiguration != value)
            Check(await device.SetConfigurationAsync(value, default).WaitAsync(Timeout), "SET_CONFIGURATION");
        Check(await device.SetAlternateSettingAsync(iface, alt, default).WaitAsync(Timeout), $"SET_INTERFACE {iface} alt {alt}");
        var allocation = await device.AllocateStreamsAsync(StreamPipes(pipes), streams, default).WaitAsync(Timeout);
        Check(allocation.Status, $"allocating {streams} streams");
        Assert.True(allocation.Streams >= 1, "no streams were granted");
        return new UasInitiator(device, iface, alt, pipes, allocation.Streams);
    }

    private static byte[] StreamPipes(byte[] pipes) => [pipes[PipeStatus], pipes[PipeDataIn], pipes[PipeDataOut]];

    public Task<UsbStatus> FreeStreamsAsync() => _device.FreeStreamsAsync(_streamPipes, default).WaitAsync(Timeout);

    /// <summary>The UAS interface and, by pipe id (1 command, 2 status, 3 data-in, 4 data-out), its endpoint addresses.</summary>
    private static (byte Interface, byte Alt, byte[] Pipes) FindUas(byte[] configuration)
    {
        byte[]? pipes = null;
        byte iface = 0, alt = 0, lastEndpoint = 0;
        for (var offset = 0; offset + 2 <= configuration.Length && configuration[offset] >= 2; offset += configuration[offset])
        {
            var d = configuration.AsSpan(offset, Math.Min(configuration[offset], configuration.Length - offset));
            switch (d[1])
            {
                case 4 when d.Length >= 9:
                    if (pipes is not null && pipes[1..].All(p => p != 0))
                        return (iface, alt, pipes); // the UAS setting just ended, complete
                    pipes = d[5] == 0x08 && d[6] == 0x06 && d[7] == 0x62 ? new byte[5] : null;
                    (iface, alt) = (d[2], d[3]);
                    break;
                case 5 when d.Length >= 7:
                    lastEndpoint = d[2];
                    break;
                case PipeUsageDescriptor when d.Length >= 3 && pipes is not null && d[2] is >= PipeCommand and <= PipeDataOut:
                    pipes[d[2]] = lastEndpoint;
                    break;
            }
        }
        if (pipes is not null && pipes[1..].All(p => p != 0))
            return (iface, alt, pipes);
        throw new Xunit.Sdk.XunitException("the device has no UAS interface with all four pipes described");
    }

    private static void Check(UsbStatus status, string what) =>
        Assert.True(status == UsbStatus.Success, $"{what}: {status}");

    /// <summary>Runs one command on <paramref name="tag"/> (1..Streams) reading <paramref name="dataInLength"/> bytes (0: no data phase).</summary>
    public async Task<Result> RunAsync(ushort tag, byte[] cdb, int dataInLength)
    {
        Assert.InRange(tag, 1, Streams);
        // Status and data reads go out first, as Linux's uas does: the device holds each until its command produces it.
        var sense = new byte[256];
        var status = _device.StreamTransferAsync(_statusPipe, tag, sense, default);
        var data = new byte[dataInLength];
        var dataIn = dataInLength > 0 ? _device.StreamTransferAsync(_dataInPipe, tag, data, default) : null;

        var command = new byte[32];
        command[0] = CommandIu;
        BinaryPrimitives.WriteUInt16BigEndian(command.AsSpan(2), tag);
        // byte 4: simple task attribute (0); byte 6: no additional CDB; bytes 8-15: LUN 0.
        cdb.CopyTo(command, 16);
        var sent = await _device.TransferAsync(_commandPipe, command, default).WaitAsync(Timeout);
        Assert.True(sent == UsbTransferResult.Ok(32), $"Command IU tag {tag}: {sent}");

        var received = 0;
        if (dataIn is not null)
        {
            var result = await dataIn.WaitAsync(Timeout);
            Assert.True(result.Status == UsbStatus.Success, $"data-in on stream {tag}: {result.Status}");
            received = result.ActualLength;
        }
        var statusResult = await status.WaitAsync(Timeout);
        Assert.True(statusResult.Status == UsbStatus.Success && statusResult.ActualLength >= 4, $"status on stream {tag}: {statusResult}");
        Assert.Equal(tag, BinaryPrimitives.ReadUInt16BigEndian(sense.AsSpan(2)));
        Assert.True(sense[0] != ResponseIu, $"tag {tag}: the device answered with a Response IU, code 0x{sense[7]:x2}");
        Assert.Equal(SenseIu, sense[0]);
        Assert.True(statusResult.ActualLength >= 16, $"a Sense IU of {statusResult.ActualLength} bytes");
        var senseLength = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(sense.AsSpan(14)), statusResult.ActualLength - 16);
        return new Result(sense[6], data[..received], sense[16..(16 + senseLength)]);
    }

    /// <summary>Retries TEST UNIT READY while the disk reports its power-on UNIT ATTENTION (autosense comes in the Sense IU).</summary>
    public async Task WaitUntilReadyAsync()
    {
        for (var i = 0; i < 5; i++)
            if ((await RunAsync(1, Cdb.TestUnitReady(), 0)).Good)
                return;
        throw new Xunit.Sdk.XunitException("the UAS disk never became ready");
    }
}
