namespace UsbRedir.Transport.Tls;

/// <summary>What one end of a usbredir link accepts on the wire.</summary>
public enum TlsMode
{
    /// <summary>
    /// Plain usbredir only (what QEMU's default chardev, usbredirect and spice speak). A server port in this mode refuses a
    /// peer whose first bytes are a TLS ClientHello, with a log line saying so.
    /// </summary>
    Plaintext,

    /// <summary>
    /// TLS only (TLS 1.2 or 1.3). A peer that speaks plain usbredir is refused with an error that says so
    /// (ErrorId TlsPeerSpeaksPlaintext); there is never a silent fallback to plaintext.
    /// </summary>
    Tls,

    /// <summary>
    /// Either, decided per connection from the first bytes. A server looks at what the client sends first (a TLS
    /// ClientHello starts 0x16 0x03, a usbredir hello starts with type 0 as a 32-bit little-endian header). A client
    /// waits briefly after connecting for the peer to speak first (QEMU's and usbredirect's usb-redir servers send
    /// their hello at once: plaintext); a peer that stays silent (a UsbRedir server never speaks first) gets TLS.
    /// The outcome is <see cref="ConnectionSecurity.IsTls"/>; whether a plaintext outcome is acceptable is policy
    /// (<see cref="TlsClientOptions.Admit"/>, <see cref="TlsServerOptions.Admit"/>).
    /// </summary>
    Auto,
}
