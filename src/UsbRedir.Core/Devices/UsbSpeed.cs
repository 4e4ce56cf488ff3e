namespace UsbRedir.Devices;

/// <summary>Bus speed; values equal usbredir's speed codes.</summary>
public enum UsbSpeed : byte
{
    Low = 0,
    Full = 1,
    High = 2,
    Super = 3,
    Unknown = 255,
}
