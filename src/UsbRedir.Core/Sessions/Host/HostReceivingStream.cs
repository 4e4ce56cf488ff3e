namespace UsbRedir.Sessions;

/// <summary>
/// One stream the usb-host role receives on its own for its peer (<see cref="UsbRedirHostSession"/>): interrupt IN
/// receiving, or buffered bulk IN receiving when <see cref="Buffered"/>; its stop signal, the id of its next packet and
/// whether its drops were already logged. The usb-guest role's counterpart is <see cref="InterruptReceiver"/>.
/// </summary>
internal sealed class HostReceivingStream(byte endpoint, bool buffered, CancellationToken sessionEnded)
{
    public byte Endpoint { get; } = endpoint;
    public bool Buffered { get; } = buffered;
    public CancellationTokenSource Stop { get; } = CancellationTokenSource.CreateLinkedTokenSource(sessionEnded);
    public long NextId;
    public bool DropWarned;
}
