using static UsbRedir.Devices.Software.UsbStandardRequests;

namespace UsbRedir.Devices;

/// <summary>Which standard request that changes device state a control transfer is (<see cref="UsbStateRequest"/>).</summary>
public enum UsbStateRequestKind
{
    /// <summary>Any other control transfer: it goes to the device as one.</summary>
    None,

    /// <summary>SET_CONFIGURATION: <see cref="IUsbDevice.SetConfigurationAsync"/>.</summary>
    SetConfiguration,

    /// <summary>SET_INTERFACE: <see cref="IUsbDevice.SetAlternateSettingAsync"/>.</summary>
    SetInterface,

    /// <summary>CLEAR_FEATURE(ENDPOINT_HALT): <see cref="IUsbDevice.ClearHaltAsync"/>.</summary>
    ClearEndpointHalt,
}

/// <summary>
/// The one recognition of the standard requests that change what the rest of the stack knows about a device (its
/// configuration, an interface's alternate setting, an endpoint's halt): every layer that receives control transfers
/// (the URB router, the usb-host role, the remote device of the usb-guest role) routes these to the dedicated
/// <see cref="IUsbDevice"/> calls instead of passing them on as control transfers, so endpoint layouts and halts stay
/// right, as usbredirhost and Linux's usbip do. Each is a standard host-to-device request with no data stage, addressed
/// to its recipient, with values in range; anything else is <see cref="UsbStateRequestKind.None"/>.
/// </summary>
/// <param name="Kind">Which request, or <see cref="UsbStateRequestKind.None"/>.</param>
/// <param name="Target">SET_INTERFACE: the interface; CLEAR_FEATURE: the endpoint address.</param>
/// <param name="Value">SET_CONFIGURATION: the configuration value; SET_INTERFACE: the alternate setting.</param>
public readonly record struct UsbStateRequest(UsbStateRequestKind Kind, byte Target, byte Value)
{
    /// <summary>What <paramref name="setup"/> is.</summary>
    public static UsbStateRequest Of(UsbSetupPacket setup)
    {
        if (TypeOf(setup) != TypeStandard || setup.IsDeviceToHost || setup.Length != 0)
            return default;
        return (RecipientOf(setup), setup.Request) switch
        {
            (RecipientDevice, SetConfiguration) when setup.Value <= 255 =>
                new(UsbStateRequestKind.SetConfiguration, 0, (byte)setup.Value),
            (RecipientInterface, SetInterface) when setup.Value <= 255 && setup.Index <= 255 =>
                new(UsbStateRequestKind.SetInterface, (byte)setup.Index, (byte)setup.Value),
            (RecipientEndpoint, ClearFeature) when setup.Value == FeatureEndpointHalt && setup.Index <= 255 =>
                new(UsbStateRequestKind.ClearEndpointHalt, (byte)setup.Index, 0),
            _ => default,
        };
    }
}
