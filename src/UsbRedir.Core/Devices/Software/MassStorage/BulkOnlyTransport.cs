namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>
/// The bulk-only transport state machine (USB MSC BOT 1.0): CBW on bulk OUT, optional data phase, CSW on bulk IN,
/// with the thirteen host/device expectation cases of section 6.7 and reset recovery after an invalid CBW.
/// Not thread-safe: the owning device serializes calls.
/// </summary>
/// <remarks>
/// Choices where the spec leaves room, following the Linux mass storage gadget:
/// <list type="bullet">
/// <item>Host wants more IN data than the command has (cases 4, 5): send what there is, then stall bulk IN; the host
///   clears the halt and reads the CSW with the residue. The stall (rather than only a short transfer) keeps a host
///   that queued several IN transfers for the data phase from reading the CSW as data.</item>
/// <item>Host sends more OUT data than the command takes, or OUT data the command does not want (cases 9, 10, 11, 13):
///   accept and discard it. A command with a phase error never writes to the medium.</item>
/// <item>A bulk OUT while a command still has IN data or its CSW pending is host misuse: that OUT stalls and the
///   command in flight carries on undisturbed.</item>
/// <item>A bulk IN before any CBW waits (NAK) until a command produces data or status.</item>
/// </list>
/// </remarks>
internal sealed class BulkOnlyTransport
{
    private readonly ScsiDisk _disk;
    private readonly IBulkOnlyPipes _pipes;
    private Phase _phase = Phase.Command;
    private ScsiCommand? _command;
    private uint _tag;
    private long _hostLength;
    private long _deviceLength;
    private long _done;
    private long _accepted;
    private bool _phaseError;
    private CommandStatusWrapper _status;

    public BulkOnlyTransport(ScsiDisk disk, IBulkOnlyPipes pipes)
    {
        _disk = disk;
        _pipes = pipes;
    }

    private enum Phase
    {
        Command,
        DataIn,
        DataOut,
        Status,
        NeedsResetRecovery,
    }

    /// <summary>True after an invalid CBW until the host performs reset recovery.</summary>
    public bool NeedsResetRecovery => _phase == Phase.NeedsResetRecovery;

    public UsbTransferResult? BulkOut(ReadOnlySpan<byte> data)
    {
        switch (_phase)
        {
            case Phase.Command:
                AcceptCommand(data);
                return UsbTransferResult.Ok(data.Length);
            case Phase.DataOut:
                AcceptData(data);
                return UsbTransferResult.Ok(data.Length);
            case Phase.DataIn or Phase.Status:
                _pipes.Halt(bulkIn: false, wedge: false);
                return UsbTransferResult.Failed(UsbStatus.Stall);
            default:
                return UsbTransferResult.Failed(UsbStatus.Stall);
        }
    }

    public UsbTransferResult? BulkIn(Span<byte> buffer)
    {
        switch (_phase)
        {
            case Phase.DataIn:
                return SendData(buffer);
            case Phase.Status:
                // A CSW is one 13-byte packet; a smaller buffer would overflow on a real bus.
                if (buffer.Length < CommandStatusWrapper.Size)
                    return UsbTransferResult.Failed(UsbStatus.Babble);
                _status.WriteTo(buffer);
                _phase = Phase.Command;
                _command = null;
                return UsbTransferResult.Ok(CommandStatusWrapper.Size);
            case Phase.NeedsResetRecovery:
                return UsbTransferResult.Failed(UsbStatus.Stall);
            default:
                return null; // nothing to send yet: the host keeps polling (NAK)
        }
    }

    /// <summary>Bulk-Only Mass Storage Reset: ready for the next CBW. Halts stay until the host clears them (BOT 3.1).</summary>
    public void ResetRecovery()
    {
        _phase = Phase.Command;
        _command = null;
        _pipes.UnwedgeBoth();
    }

    /// <summary>USB reset or new configuration: drop any command in flight.</summary>
    public void Reset()
    {
        _phase = Phase.Command;
        _command = null;
    }

    private void AcceptCommand(ReadOnlySpan<byte> data)
    {
        if (!CommandBlockWrapper.TryParse(data, out var cbw) || !cbw.IsMeaningful(maxLun: 0))
        {
            // BOT 6.6.1: stall both pipes until a reset recovery; CLEAR_FEATURE alone must not revive them.
            _phase = Phase.NeedsResetRecovery;
            _command = null;
            _pipes.Halt(bulkIn: true, wedge: true);
            _pipes.Halt(bulkIn: false, wedge: true);
            return;
        }

        var command = _disk.Decode(cbw.Cdb.Span, cbw.CdbLength);
        _command = command;
        _tag = cbw.Tag;
        _hostLength = cbw.DataTransferLength;
        _done = 0;
        _accepted = 0;
        _phaseError = false;
        var deviceHasNoData = command.Direction == ScsiDataDirection.None || command.Length == 0;

        if (_hostLength == 0)
        {
            // Case 1 (Hn = Dn), or cases 2/3 (Hn < Di, Hn < Do): the command does not run.
            Finish(deviceHasNoData ? ToCsw(command.Complete(0)) : CommandStatus.PhaseError, residue: 0);
        }
        else if (cbw.DataIn)
        {
            if (deviceHasNoData)
            {
                // Case 4 (Hi > Dn).
                Finish(ToCsw(command.Complete(0)), _hostLength);
                _pipes.Halt(bulkIn: true, wedge: false);
            }
            else if (command.Direction == ScsiDataDirection.FromHost)
            {
                // Case 8 (Hi <> Do).
                Finish(CommandStatus.PhaseError, _hostLength);
                _pipes.Halt(bulkIn: true, wedge: false);
            }
            else
            {
                // Cases 5, 6, 7: send min(Hi, Di); more data than the host takes is a phase error.
                _deviceLength = Math.Min(_hostLength, command.Length);
                _phaseError = command.Length > _hostLength;
                _phase = Phase.DataIn;
            }
        }
        else
        {
            // Cases 9 to 13: take all Ho bytes; the command gets them only in cases 11 and 12.
            var writes = command.Direction == ScsiDataDirection.FromHost && command.Length > 0;
            _phaseError = command.Direction == ScsiDataDirection.ToHost && command.Length > 0 || writes && command.Length > _hostLength;
            _deviceLength = writes && !_phaseError ? command.Length : 0;
            _phase = Phase.DataOut;
        }
    }

    private UsbTransferResult SendData(Span<byte> buffer)
    {
        var command = _command!;
        var count = (int)Math.Min(buffer.Length, _deviceLength - _done);
        if (!command.ReadData(_done, buffer[..count]))
        {
            Finish(CommandStatus.Failed, _hostLength - _done);
            _pipes.Halt(bulkIn: true, wedge: false);
            return UsbTransferResult.Failed(UsbStatus.Stall);
        }
        _done += count;
        if (_done == _deviceLength)
        {
            var residue = _hostLength - _done;
            Finish(_phaseError ? CommandStatus.PhaseError : ToCsw(command.Complete(_done)), residue);
            if (residue > 0)
                _pipes.Halt(bulkIn: true, wedge: false);
        }
        return UsbTransferResult.Ok(count);
    }

    private void AcceptData(ReadOnlySpan<byte> data)
    {
        var command = _command!;
        var count = (int)Math.Min(data.Length, _hostLength - _done);
        if (_done < _deviceLength)
        {
            var take = (int)Math.Min(count, _deviceLength - _done);
            // After a failed write the rest of the data is still taken (and dropped) so the host reaches the CSW.
            command.WriteData(_done, data[..take]);
            _accepted += take;
        }
        _done += count;
        if (_done < _hostLength)
            return;
        var status = _phaseError
            ? CommandStatus.PhaseError
            : ToCsw(command.Complete(_accepted));
        Finish(status, _hostLength - _accepted);
    }

    private void Finish(CommandStatus status, long residue)
    {
        _status = new CommandStatusWrapper(_tag, (uint)residue, status);
        _phase = Phase.Status;
    }

    private static CommandStatus ToCsw(ScsiStatus status) => status == ScsiStatus.Good ? CommandStatus.Passed : CommandStatus.Failed;
}
