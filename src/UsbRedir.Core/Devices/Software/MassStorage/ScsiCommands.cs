namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>A command already finished at decode time: no data, a fixed status (and sense set on the unit).</summary>
internal sealed class CompletedScsiCommand(ScsiStatus status) : ScsiCommand
{
    public static CompletedScsiCommand Good { get; } = new(ScsiStatus.Good);

    public override ScsiDataDirection Direction => ScsiDataDirection.None;

    public override long Length => 0;

    public override ScsiStatus Complete(long transferred) => status;
}

/// <summary>A command whose whole reply is known at decode time (INQUIRY, MODE SENSE, READ CAPACITY, ...).</summary>
internal sealed class ReplyScsiCommand(byte[] reply) : ScsiCommand
{
    public override ScsiDataDirection Direction => ScsiDataDirection.ToHost;

    public override long Length => reply.Length;

    public override bool ReadData(long offset, Span<byte> destination)
    {
        reply.AsSpan((int)offset, destination.Length).CopyTo(destination);
        return true;
    }

    public override ScsiStatus Complete(long transferred) => ScsiStatus.Good;
}

/// <summary>A range of blocks streamed between the host and the image: READ, WRITE and VERIFY with byte compare.</summary>
internal sealed class BlockScsiCommand : ScsiCommand
{
    private readonly ScsiDisk _disk;
    private readonly long _start;
    private readonly BlockOperation _operation;
    private readonly bool _forceUnitAccess;
    private bool _failed;
    private bool _miscompared;

    public BlockScsiCommand(ScsiDisk disk, BlockOperation operation, long firstBlock, long blockCount, bool forceUnitAccess)
    {
        _disk = disk;
        _operation = operation;
        _start = firstBlock * DiskImage.BlockSize;
        Length = blockCount * DiskImage.BlockSize;
        _forceUnitAccess = forceUnitAccess;
    }

    public enum BlockOperation
    {
        Read,
        Write,
        Compare,
    }

    public override ScsiDataDirection Direction => _operation == BlockOperation.Read ? ScsiDataDirection.ToHost : ScsiDataDirection.FromHost;

    public override long Length { get; }

    public override bool ReadData(long offset, Span<byte> destination)
    {
        if (_failed)
            return false;
        try
        {
            _disk.Image.Read(_start + offset, destination);
            return true;
        }
        catch (IOException)
        {
            return Fail(SenseData.UnrecoveredReadError);
        }
    }

    public override bool WriteData(long offset, ReadOnlySpan<byte> source)
    {
        if (_failed)
            return false;
        try
        {
            if (_operation == BlockOperation.Write)
            {
                _disk.Image.Write(_start + offset, source);
                return true;
            }
            var stored = new byte[source.Length];
            _disk.Image.Read(_start + offset, stored);
            _miscompared |= !source.SequenceEqual(stored);
            return true;
        }
        catch (IOException)
        {
            return Fail(_operation == BlockOperation.Write ? SenseData.WriteError : SenseData.UnrecoveredReadError);
        }
    }

    public override ScsiStatus Complete(long transferred)
    {
        if (_failed)
            return ScsiStatus.CheckCondition;
        if (_miscompared)
        {
            _disk.Sense = SenseData.Miscompare;
            return ScsiStatus.CheckCondition;
        }
        if (_operation == BlockOperation.Write && _forceUnitAccess && transferred > 0)
        {
            try
            {
                _disk.Image.Flush();
            }
            catch (IOException)
            {
                _disk.Sense = SenseData.WriteError;
                return ScsiStatus.CheckCondition;
            }
        }
        return ScsiStatus.Good;
    }

    private bool Fail(SenseData sense)
    {
        _failed = true;
        _disk.Sense = sense;
        return false;
    }
}
