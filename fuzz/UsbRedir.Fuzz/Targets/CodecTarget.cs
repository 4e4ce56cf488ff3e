using UsbRedir.Protocol;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The usbredir codec in the shape of usbredir's own usbredirparserfuzz: the first bytes choose our role, our
/// capabilities and how the rest is fed (random-sized chunks, copying <see cref="UsbRedirCodec.Receive"/> or zero-copy
/// <see cref="UsbRedirCodec.ReceiveInPlace"/>); every event is consumed through its typed accessor. Then the codec's own
/// output goes back the other way: a codec of the peer's role reads it, re-sends every packet ours accepted, and a
/// fresh codec like ours must read those packets back with the same types, ids and payloads.
/// </summary>
/// <remarks>
/// Expected: protocol errors as events (never exceptions), and <see cref="UsbRedirProtocolException"/> from a send
/// the peer's rules refuse. Anything else thrown, or a broken invariant (held bytes beyond what arrived, an error
/// without a message, a round trip that changes a packet), is a crash.
/// </remarks>
internal static class CodecTarget
{
    public static void Run(byte[] data)
    {
        var input = new FuzzInput(data);
        var role = input.Bool() ? UsbRedirRole.UsbHost : UsbRedirRole.UsbGuest;
        var caps = (UsbRedirCapabilities)input.Byte();
        var inPlace = input.Bool();
        var chunkSeed = input.Byte();
        var helloFirst = input.Bool();
        var stream = input.Rest();

        var codec = new UsbRedirCodec(role, caps, "fuzz");
        var received = new List<(UsbRedirPacketType Type, ulong Id, UsbRedirEvent Event)>();
        var chunks = new Chunker(chunkSeed);
        var copies = new List<byte[]>(); // ReceiveInPlace: the events' memory must stay untouched until consumed
        for (var pos = 0; pos < stream.Length;)
        {
            var n = Math.Min(chunks.Next(), stream.Length - pos);
            UsbRedirEventBatch batch;
            if (inPlace)
            {
                var copy = stream.AsSpan(pos, n).ToArray();
                copies.Add(copy);
                batch = codec.ReceiveInPlace(copy);
            }
            else
            {
                batch = codec.Receive(stream.AsSpan(pos, n));
            }
            pos += n;
            Invariant.Check(codec.BufferedReceiveBytes <= pos, $"the codec holds {codec.BufferedReceiveBytes} bytes after {pos} arrived");
            foreach (var e in batch)
            {
                Consume(e);
                // Payloads of Receive live only until the next call: keep a copy of the packet for the round trip.
                if (e.Kind == UsbRedirEventKind.Packet && e.PacketType != UsbRedirPacketType.Hello)
                    received.Add((e.PacketType, e.Id, Keep(e)));
            }
        }

        // Our own output (hello, and anything queued) read by a codec of the peer's role, which then re-sends what we got.
        var peerRole = role == UsbRedirRole.UsbHost ? UsbRedirRole.UsbGuest : UsbRedirRole.UsbHost;
        var peerCaps = codec.PeerCapabilities ?? (UsbRedirCapabilities)(~(uint)caps & 0xff);
        var mirror = new UsbRedirCodec(peerRole, peerCaps, "fuzz-mirror");
        var dropped = helloFirst ? FeedAll(mirror, codec) : 0;
        var sent = new List<(UsbRedirPacketType Type, ulong Id, byte[] Payload)>();
        foreach (var (type, id, e) in received)
            if (Resend(mirror, e))
                sent.Add((type, HasNoId(type) ? 0 : id, e.Payload.ToArray()));
        if (!helloFirst)
            dropped = FeedAll(mirror, codec);

        // A codec like ours reads the mirror's packets back.
        var again = new UsbRedirCodec(role, caps, "fuzz");
        var back = new List<(UsbRedirPacketType Type, ulong Id, byte[] Payload)>();
        foreach (var e in again.Receive(mirror.PendingOutput.Span))
        {
            Consume(e);
            if (e.Kind == UsbRedirEventKind.Packet && e.PacketType != UsbRedirPacketType.Hello)
                back.Add((e.PacketType, e.Id, e.Payload.ToArray()));
        }
        Invariant.Check(mirror.QueuedPacketCount == 0, $"{mirror.QueuedPacketCount} packets still queued after the hello");
        // Packets queued before the hello may be dropped on it (QueuedPacketDropped, when the peer lacks a capability).
        if (dropped == 0)
        {
            Invariant.Check(back.Count == sent.Count, $"re-sent {sent.Count} packets, {back.Count} came back");
            for (var i = 0; i < sent.Count; i++)
                Invariant.Check(back[i].Type == sent[i].Type && back[i].Id == sent[i].Id && back[i].Payload.AsSpan().SequenceEqual(sent[i].Payload),
                    $"packet {i} {sent[i].Type} id {sent[i].Id} ({sent[i].Payload.Length} bytes) came back as {back[i].Type} id {back[i].Id} ({back[i].Payload.Length} bytes)");
        }
        GC.KeepAlive(copies);
    }

    /// <summary>Moves the writer's output into the reader; returns how many queued packets the reader dropped on the hello.</summary>
    private static int FeedAll(UsbRedirCodec reader, UsbRedirCodec writer)
    {
        var output = writer.PendingOutput.ToArray();
        writer.AdvanceOutput(output.Length);
        var dropped = 0;
        foreach (var e in reader.Receive(output))
        {
            Consume(e);
            if (e.Kind == UsbRedirEventKind.Error && e.Error!.Violation == UsbRedirViolation.QueuedPacketDropped)
                dropped++;
        }
        return dropped;
    }

    /// <summary>The same packet over a copy of its bytes, valid after the next Receive call.</summary>
    private static UsbRedirEvent Keep(in UsbRedirEvent e)
    {
        var header = e.TypeHeaderBytes.Span;
        var body = new byte[header.Length + e.Payload.Length];
        header.CopyTo(body);
        e.Payload.Span.CopyTo(body.AsSpan(header.Length));
        return new UsbRedirEvent(e.PacketType, e.Id, body, header.Length, null);
    }

    /// <summary>Reads every field of the event the way a session would; the accessors must not throw for the event's own type.</summary>
    internal static void Consume(in UsbRedirEvent e)
    {
        if (e.Kind == UsbRedirEventKind.Error)
        {
            Invariant.Check(!string.IsNullOrEmpty(e.Error!.Message), "an error event without a message");
            _ = e.Error.ToString();
            return;
        }
        _ = e.ToString();
        _ = e.Payload.Length + e.TypeHeaderBytes.Length;
        switch (e.PacketType)
        {
            case UsbRedirPacketType.Hello: _ = e.Hello.Version.Length; break;
            case UsbRedirPacketType.DeviceConnect: _ = e.DeviceConnect; break;
            case UsbRedirPacketType.InterfaceInfo: _ = e.InterfaceInfo; break;
            case UsbRedirPacketType.EpInfo: _ = e.EpInfo; break;
            case UsbRedirPacketType.SetConfiguration: _ = e.SetConfiguration; break;
            case UsbRedirPacketType.ConfigurationStatus: _ = e.ConfigurationStatus; break;
            case UsbRedirPacketType.SetAltSetting: _ = e.SetAltSetting; break;
            case UsbRedirPacketType.GetAltSetting: _ = e.GetAltSetting; break;
            case UsbRedirPacketType.AltSettingStatus: _ = e.AltSettingStatus; break;
            case UsbRedirPacketType.StartIsoStream: _ = e.StartIsoStream; break;
            case UsbRedirPacketType.StopIsoStream: _ = e.StopIsoStream; break;
            case UsbRedirPacketType.IsoStreamStatus: _ = e.IsoStreamStatus; break;
            case UsbRedirPacketType.StartInterruptReceiving: _ = e.StartInterruptReceiving; break;
            case UsbRedirPacketType.StopInterruptReceiving: _ = e.StopInterruptReceiving; break;
            case UsbRedirPacketType.InterruptReceivingStatus: _ = e.InterruptReceivingStatus; break;
            case UsbRedirPacketType.AllocBulkStreams: _ = e.AllocBulkStreams; break;
            case UsbRedirPacketType.FreeBulkStreams: _ = e.FreeBulkStreams; break;
            case UsbRedirPacketType.BulkStreamsStatus: _ = e.BulkStreamsStatus; break;
            case UsbRedirPacketType.StartBulkReceiving: _ = e.StartBulkReceiving; break;
            case UsbRedirPacketType.StopBulkReceiving: _ = e.StopBulkReceiving; break;
            case UsbRedirPacketType.BulkReceivingStatus: _ = e.BulkReceivingStatus; break;
            case UsbRedirPacketType.ControlPacket: _ = e.ControlPacket; break;
            case UsbRedirPacketType.BulkPacket: _ = e.BulkPacket; break;
            case UsbRedirPacketType.IsoPacket: _ = e.IsoPacket; break;
            case UsbRedirPacketType.InterruptPacket: _ = e.InterruptPacket; break;
            case UsbRedirPacketType.BufferedBulkPacket: _ = e.BufferedBulkPacket; break;
            case UsbRedirPacketType.FilterFilter: _ = e.FilterString.Length; break;
        }
    }

    /// <summary>Sends the packet again from the peer's side; false when the peer's send rules refuse it.</summary>
    private static bool Resend(UsbRedirCodec mirror, in UsbRedirEvent e)
    {
        var id = e.Id;
        var payload = e.Payload.Span;
        try
        {
            switch (e.PacketType)
            {
                case UsbRedirPacketType.DeviceConnect: mirror.Send(id, e.DeviceConnect, payload); break;
                case UsbRedirPacketType.DeviceDisconnect: mirror.SendDeviceDisconnect(); break;
                case UsbRedirPacketType.Reset: mirror.SendReset(); break;
                case UsbRedirPacketType.InterfaceInfo: mirror.Send(id, e.InterfaceInfo, payload); break;
                case UsbRedirPacketType.EpInfo: mirror.Send(id, e.EpInfo, payload); break;
                case UsbRedirPacketType.SetConfiguration: mirror.Send(id, e.SetConfiguration, payload); break;
                case UsbRedirPacketType.GetConfiguration: mirror.SendGetConfiguration(id); break;
                case UsbRedirPacketType.ConfigurationStatus: mirror.Send(id, e.ConfigurationStatus, payload); break;
                case UsbRedirPacketType.SetAltSetting: mirror.Send(id, e.SetAltSetting, payload); break;
                case UsbRedirPacketType.GetAltSetting: mirror.Send(id, e.GetAltSetting, payload); break;
                case UsbRedirPacketType.AltSettingStatus: mirror.Send(id, e.AltSettingStatus, payload); break;
                case UsbRedirPacketType.StartIsoStream: mirror.Send(id, e.StartIsoStream, payload); break;
                case UsbRedirPacketType.StopIsoStream: mirror.Send(id, e.StopIsoStream, payload); break;
                case UsbRedirPacketType.IsoStreamStatus: mirror.Send(id, e.IsoStreamStatus, payload); break;
                case UsbRedirPacketType.StartInterruptReceiving: mirror.Send(id, e.StartInterruptReceiving, payload); break;
                case UsbRedirPacketType.StopInterruptReceiving: mirror.Send(id, e.StopInterruptReceiving, payload); break;
                case UsbRedirPacketType.InterruptReceivingStatus: mirror.Send(id, e.InterruptReceivingStatus, payload); break;
                case UsbRedirPacketType.AllocBulkStreams: mirror.Send(id, e.AllocBulkStreams, payload); break;
                case UsbRedirPacketType.FreeBulkStreams: mirror.Send(id, e.FreeBulkStreams, payload); break;
                case UsbRedirPacketType.BulkStreamsStatus: mirror.Send(id, e.BulkStreamsStatus, payload); break;
                case UsbRedirPacketType.CancelDataPacket: mirror.SendCancelDataPacket(id); break;
                case UsbRedirPacketType.FilterReject: mirror.SendFilterReject(); break;
                case UsbRedirPacketType.DeviceDisconnectAck: mirror.SendDeviceDisconnectAck(); break;
                case UsbRedirPacketType.StartBulkReceiving: mirror.Send(id, e.StartBulkReceiving, payload); break;
                case UsbRedirPacketType.StopBulkReceiving: mirror.Send(id, e.StopBulkReceiving, payload); break;
                case UsbRedirPacketType.BulkReceivingStatus: mirror.Send(id, e.BulkReceivingStatus, payload); break;
                case UsbRedirPacketType.ControlPacket: mirror.Send(id, e.ControlPacket, payload); break;
                case UsbRedirPacketType.BulkPacket: mirror.Send(id, e.BulkPacket, payload); break;
                case UsbRedirPacketType.IsoPacket: mirror.Send(id, e.IsoPacket, payload); break;
                case UsbRedirPacketType.InterruptPacket: mirror.Send(id, e.InterruptPacket, payload); break;
                case UsbRedirPacketType.BufferedBulkPacket: mirror.Send(id, e.BufferedBulkPacket, payload); break;
                default: return false; // filter_filter: its text is re-decoded, not byte-exact; hello: sent by the codec itself
            }
            return true;
        }
        catch (UsbRedirProtocolException)
        {
            return false;
        }
    }

    /// <summary>Packets the codec sends with id 0 whatever id they arrived with.</summary>
    private static bool HasNoId(UsbRedirPacketType type) => type is UsbRedirPacketType.DeviceDisconnect or UsbRedirPacketType.Reset
        or UsbRedirPacketType.FilterReject or UsbRedirPacketType.DeviceDisconnectAck;
}
