# Dot-sourced by the Pester files that play a usbredir peer over a raw socket.

# The hello a usb-guest sends first on connect, as QEMU's usb-redir with a client chardev does: the 12-byte header of
# the first packet (type 0 = hello, length 68, id 0; ids are 32-bit until both hellos are exchanged), version[64], one
# capability word 0. A listener tells TLS from plain usbredir by these first bytes, then answers with its own hello.
function New-UsbRedirGuestHello {
    $hello = [byte[]]::new(12 + 64 + 4)
    [System.BitConverter]::GetBytes([uint32]68).CopyTo($hello, 4)
    [System.Text.Encoding]::ASCII.GetBytes('pester usb-guest').CopyTo($hello, 12)
    , $hello
}
