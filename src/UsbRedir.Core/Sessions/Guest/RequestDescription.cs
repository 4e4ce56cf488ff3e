using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

/// <summary>
/// What a request of the usb-guest role (<see cref="UsbRedirGuestSession"/>) is, apart from how it is encoded: the
/// packet type that answers it, where its IN data goes, how much OUT data it sent, whether the peer can be asked to
/// cancel it, and how long to wait for the answer. Built by <see cref="Status"/> or <see cref="Data"/>.
/// </summary>
/// <param name="AnswerType">The packet type that answers it.</param>
/// <param name="InBuffer">Where IN data goes (at most its length is accepted).</param>
/// <param name="OutLength">Bytes of OUT data sent (the answer's length is clamped to it).</param>
/// <param name="IsIn">The answer carries data into <paramref name="InBuffer"/>.</param>
/// <param name="IsDataPacket">Control, bulk or interrupt: the peer can be asked to cancel it (cancel_data_packet).</param>
/// <param name="Timeout">Give up after this long (null: wait as long as the transfer takes, as bulk does).</param>
internal readonly record struct RequestDescription(UsbRedirPacketType AnswerType, Memory<byte> InBuffer, int OutLength, bool IsIn,
    bool IsDataPacket, TimeSpan? Timeout)
{
    /// <summary>A request the peer answers with a status packet of <paramref name="answerType"/> (configuration, alt setting, streams, interrupt receiving).</summary>
    public static RequestDescription Status(UsbRedirPacketType answerType, TimeSpan timeout) => new(answerType, default, 0, false, false, timeout);

    /// <summary>A control, bulk or interrupt packet of <paramref name="type"/>, answered by a packet of the same type.</summary>
    public static RequestDescription Data(UsbRedirPacketType type, bool isIn, Memory<byte> inBuffer, int outLength, TimeSpan? timeout) =>
        new(type, inBuffer, outLength, isIn, IsDataPacket: true, timeout);
}
