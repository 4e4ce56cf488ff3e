using UsbRedir.Devices;

namespace UsbRedir.Tests.Devices;

/// <summary>The one recognition of SET_CONFIGURATION, SET_INTERFACE and CLEAR_FEATURE(ENDPOINT_HALT) every layer routes.</summary>
public sealed class UsbStateRequestTests
{
    [Theory]
    [InlineData(0x00, 0x09, 2, 0, 0, UsbStateRequestKind.SetConfiguration, 0, 2)]
    [InlineData(0x01, 0x0B, 1, 3, 0, UsbStateRequestKind.SetInterface, 3, 1)]
    [InlineData(0x02, 0x01, 0, 0x81, 0, UsbStateRequestKind.ClearEndpointHalt, 0x81, 0)]
    // Not these: data stage, wrong direction, recipient, type, feature, or a value out of range (a plain control transfer).
    [InlineData(0x00, 0x09, 1, 0, 1, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x80, 0x09, 1, 0, 0, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x01, 0x09, 1, 0, 0, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x21, 0x0B, 1, 0, 0, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x02, 0x01, 1, 0x81, 0, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x00, 0x09, 256, 0, 0, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x01, 0x0B, 1, 256, 0, UsbStateRequestKind.None, 0, 0)]
    [InlineData(0x02, 0x01, 0, 0x181, 0, UsbStateRequestKind.None, 0, 0)]
    public void Recognises_exactly_the_state_changing_standard_requests(int requestType, int request, int value, int index, int length,
        UsbStateRequestKind kind, int target, int setting) =>
        Assert.Equal(new UsbStateRequest(kind, (byte)target, (byte)setting),
            UsbStateRequest.Of(new UsbSetupPacket((byte)requestType, (byte)request, (ushort)value, (ushort)index, (ushort)length)));
}
