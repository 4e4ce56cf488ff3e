namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>
/// A decoded SCSI command, ready for its data phase. Decoding has no side effects on the medium, so the transport
/// may still refuse to run it (a BOT phase error); data moves only through <see cref="ReadData"/> and
/// <see cref="WriteData"/>, and <see cref="Complete"/> gives the final status.
/// </summary>
public abstract class ScsiCommand
{
    public abstract ScsiDataDirection Direction { get; }

    /// <summary>How many bytes the device intends to move (0 for none).</summary>
    public abstract long Length { get; }

    /// <summary>Fills <paramref name="destination"/> with data bytes starting at <paramref name="offset"/>. False on failure (sense is set).</summary>
    public virtual bool ReadData(long offset, Span<byte> destination) =>
        throw new InvalidOperationException($"{GetType().Name} has no data for the host.");

    /// <summary>Takes data bytes starting at <paramref name="offset"/>. False on failure (sense is set).</summary>
    public virtual bool WriteData(long offset, ReadOnlySpan<byte> source) =>
        throw new InvalidOperationException($"{GetType().Name} takes no data from the host.");

    /// <summary>Ends the command after <paramref name="transferred"/> data bytes moved.</summary>
    public abstract ScsiStatus Complete(long transferred);
}
