using UsbRedir.Devices;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Sessions;

/// <summary>Our usb-host role exporting a device to our usb-guest role over a 127.0.0.1 TCP connection.</summary>
internal sealed class GuestLoopback : IAsyncDisposable
{
    private GuestLoopback(UsbRedirHostSession host, UsbRedirGuestSession guest)
    {
        Host = host;
        Guest = guest;
    }

    public UsbRedirHostSession Host { get; }
    public UsbRedirGuestSession Guest { get; }

    public static async Task<GuestLoopback> StartAsync(IUsbDevice device, UsbRedirGuestOptions? options = null)
    {
        var (guestSide, hostSide) = await LoopbackSockets.PairAsync();
        var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        var guest = new UsbRedirGuestSession(ByteStreamConnection.FromSocket(guestSide), new SessionLog(), options);
        host.Start();
        guest.Start();
        return new GuestLoopback(host, guest);
    }

    /// <summary>The exported device as the guest sees it, once its descriptors are read.</summary>
    public async Task<RemoteUsbDevice> RemoteAsync()
    {
        using var timeout = new CancellationTokenSource(TestDeadline.Default);
        return await Guest.NextDeviceAsync(timeout.Token) ?? throw new Xunit.Sdk.XunitException(
            $"the guest session ended without a device: {Guest.Log.LastError?.Message ?? Host.Log.LastError?.Message ?? "no error logged"}");
    }

    public async ValueTask DisposeAsync()
    {
        await Guest.DisposeAsync();
        await Host.DisposeAsync();
    }
}
