namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>What <see cref="BulkOnlyTransport"/> needs from its device: stalling and un-wedging the two bulk pipes.</summary>
internal interface IBulkOnlyPipes
{
    /// <summary>Halts the bulk IN or OUT pipe; a wedged pipe stays halted through CLEAR_FEATURE until <see cref="UnwedgeBoth"/>.</summary>
    void Halt(bool bulkIn, bool wedge);

    void UnwedgeBoth();
}
