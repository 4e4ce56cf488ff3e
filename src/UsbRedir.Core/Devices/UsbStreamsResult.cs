namespace UsbRedir.Devices;

/// <summary>Outcome of allocating USB 3 bulk streams: the status and how many streams each endpoint now has (ids 1..Streams).</summary>
public readonly record struct UsbStreamsResult(UsbStatus Status, int Streams);
