using System.Buffers;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// A reply queued for the socket: the first <see cref="Length"/> bytes of <see cref="Buffer"/>. A rented buffer (a
/// large IN transfer the device wrote in place) goes back to the pool once sent or dropped; replies are never kept.
/// </summary>
internal readonly record struct UsbipOutgoingPdu(byte[] Buffer, int Length, bool Rented)
{
    public static UsbipOutgoingPdu Of(byte[] pdu) => new(pdu, pdu.Length, false);

    public ReadOnlyMemory<byte> Bytes => Buffer.AsMemory(0, Length);

    public void Release()
    {
        if (Rented) ArrayPool<byte>.Shared.Return(Buffer);
    }
}
