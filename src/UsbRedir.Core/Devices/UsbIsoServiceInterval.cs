namespace UsbRedir.Devices;

/// <summary>How often the bus serves an isochronous endpoint, i.e. the time one of its packets takes.</summary>
public static class UsbIsoServiceInterval
{
    private static readonly TimeSpan Microframe = TimeSpan.FromTicks(1250); // 125 µs
    private static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Full and low speed count 1 ms frames, high and super speed 125 µs microframes. At every speed bInterval is an
    /// exponent for iso: one packet every 2^(bInterval-1) (micro)frames, with bInterval clamped to 1..16.
    /// </summary>
    public static TimeSpan For(UsbSpeed speed, byte bInterval) =>
        (speed is UsbSpeed.High or UsbSpeed.Super ? Microframe : Frame) * (1L << (Math.Clamp((int)bInterval, 1, 16) - 1));
}
