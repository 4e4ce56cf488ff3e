using UsbRedir.Cli;
using UsbRedir.Tests.Support;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Cli;

/// <summary>`usbredir connect` in-process through Program.RunAsync, against a scripted usb-guest peer over loopback TCP.</summary>
public sealed class ConnectCommandTests
{
    private sealed class Run(Task<int> exit, StringWriter output, StringWriter error, CancellationTokenSource stop)
    {
        public Task<int> Exit => exit;
        public string Out => output.ToString();
        public string Err => error.ToString();
        public void Stop() => stop.Cancel();
    }

    private static Run Start(params string[] args) => StartWithInput(null, args);

    private static Run StartWithInput(TextReader? input, params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var stop = new CancellationTokenSource();
        // The log listener writes from session threads.
        var console = new CliConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(error), input);
        return new Run(Task.Run(() => Program.RunAsync(args, console, stop.Token)), output, error, stop);
    }

    private static async Task<(int Exit, string Out, string Err)> RunToEndAsync(params string[] args)
    {
        var run = Start(args);
        var exit = await run.Exit.WaitAsync(TimeSpan.FromSeconds(20));
        return (exit, run.Out, run.Err);
    }

    [Fact]
    public async Task Keyboard_types_its_keys_once_configured_and_Ctrl_C_disconnects_cleanly()
    {
        await using var listener = new GuestListener();
        var run = Start("connect", "--keyboard", "--keys", "ab{ENTER}", "--keys-delay", "0", "--server", listener.Address);
        var guest = await listener.NextGuestAsync();

        // HID usages: a = 0x04, b = 0x05, Enter = 0x28.
        Assert.Equal([0x04, 0x05, 0x28], await KeyboardPeer.ConfigureAndReadKeysAsync(guest, 3));
        // The last key's key-up report is still on its way when its key-down arrives; "typed" follows it.
        await Eventually.TrueAsync(() => run.Out.Contains("typed 9 characters"), "the CLI reports every keystroke read");

        run.Stop();
        while ((await guest.NextAsync()).Type != T.DeviceDisconnect)
        {
            // the key-up reports still in flight
        }
        guest.Do(c => c.SendDeviceDisconnectAck());
        Assert.Equal(ExitCode.Success, await run.Exit.WaitAsync(TestDeadline.Default));
        Assert.Contains("connected: UsbRedir virtual keyboard (Full speed)", run.Out);
        Assert.Contains("disconnected: sent", run.Out);
    }

    [Fact]
    public async Task Keys_dash_types_the_line_standard_input_gives_once_it_comes()
    {
        await using var listener = new GuestListener();
        var input = new BlockingInput();
        var run = StartWithInput(input, "connect", "--keyboard", "--keys", "-", "--keys-delay", "0", "--server", listener.Address);
        var guest = await listener.NextGuestAsync();
        var keys = KeyboardPeer.ConfigureAndReadKeysAsync(guest, 3);
        await Task.Delay(300);
        Assert.False(keys.IsCompleted); // nothing typed before the line comes
        input.Give("ab{ENTER}");
        Assert.Equal([0x04, 0x05, 0x28], await keys);
        await Eventually.TrueAsync(() => run.Out.Contains("typed 9 characters"), "the CLI reports every keystroke read");
        run.Stop();
        await run.Exit.WaitAsync(TestDeadline.Default);
    }

    /// <summary>Standard input whose one line arrives when the test gives it.</summary>
    private sealed class BlockingInput : TextReader
    {
        private readonly TaskCompletionSource<string?> _line = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Give(string line) => _line.TrySetResult(line);

        public override ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => new(_line.Task.WaitAsync(cancellationToken));
    }

    [Fact]
    public async Task Reconnect_settings_bound_the_retries()
    {
        var listener = new GuestListener();
        var run = Start("connect", "--keyboard", "--server", listener.Address, "--reconnect-delay", "0.05", "--max-reconnect-attempts", "2");
        await (await listener.NextGuestAsync()).ExpectAnnouncementAsync();
        await listener.DisposeAsync(); // the peer goes away for good: both retries are refused
        Assert.Equal(ExitCode.Failure, await run.Exit.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("reconnect attempt 2 to", run.Err);
        Assert.Contains("after 2 reconnect attempts", run.Err);
        Assert.Contains("connection ended (Failed)", run.Err);
    }

    [Fact]
    public async Task A_low_speed_keyboard_announces_itself_at_low_speed()
    {
        await using var listener = new GuestListener();
        var run = Start("connect", "--keyboard", "--speed", "low", "--server", listener.Address);
        var guest = await listener.NextGuestAsync();
        var announced = await guest.ExpectAnnouncementAsync();
        Assert.Equal(UsbRedir.Devices.UsbSpeed.Low, announced.Speed);
        Assert.Equal((ushort)0x1209, announced.VendorId);
        run.Stop();
        await guest.ExpectAsync(T.DeviceDisconnect);
        guest.Do(c => c.SendDeviceDisconnectAck());
        Assert.Equal(ExitCode.Success, await run.Exit.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task No_reconnect_ends_with_the_first_drop()
    {
        await using var listener = new GuestListener();
        var run = Start("connect", "--keyboard", "--server", listener.Address, "--no-reconnect");
        // Dropped only once the device is announced: a peer dropped right at accept can reset the socket before the
        // client sees its connect complete, and then the first connect fails (correctly) instead of the link dropping.
        var guest = await listener.NextGuestAsync();
        await guest.ExpectAnnouncementAsync();
        await guest.DisposeAsync();
        Assert.Equal(ExitCode.Failure, await run.Exit.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("giving up on", run.Err);
    }

    [Theory]
    [InlineData(new[] { "--keyboard", "--no-reconnect", "--reconnect-delay", "1" }, "[ReconnectPolicyInvalid]")]
    [InlineData(new[] { "--disk", "x.img", "--keys", "a" }, "--keys applies to --keyboard only")]
    [InlineData(new[] { "--keyboard", "--keys", "a", "--type", "b" }, "give --keys or --type, not both")]
    [InlineData(new[] { "--keyboard", "--keys-delay", "1" }, "[KeysDelayWithoutKeys]")]
    [InlineData(new[] { "--keyboard", "--speed", "super" }, "--speed must be low, full or high")]
    [InlineData(new[] { "--keyboard", "--max-reconnect-attempts", "-1" }, "--max-reconnect-attempts must be a whole number")]
    [InlineData(new[] { "--keyboard", "--reconnect-delay", "2", "--max-reconnect-delay", "1" }, "[ReconnectPolicyInvalid]")]
    [InlineData(new[] { "--keyboard", "--keepalive", "0,1,1" }, "[KeepAliveInvalid]")]
    [InlineData(new[] { "--keyboard", "--keys", "{NOSUCHKEY}" }, "{NOSUCHKEY} is not a key name")]
    [InlineData(new[] { "--keyboard", "--keys", "a", "--type", "b" }, "not both")]
    [InlineData(new[] { "--keyboard", "--listen", "127.0.0.1:0" }, "give --server or --listen, not both")]
    [InlineData(new[] { "--keyboard", "--trust-new-clients" }, "--trust-new-clients applies to --listen only")]
    public async Task Bad_settings_fail_before_connecting_and_name_the_cause(string[] args, string message)
    {
        // The port is closed: reaching the connect step would fail with ConnectionRefused instead.
        using var closed = new ClosedLoopbackPort();
        var (exit, output, error) = await RunToEndAsync(["connect", .. args, "--server", closed.Address]);
        Assert.Equal(ExitCode.Usage, exit);
        Assert.Empty(output);
        Assert.Contains(message, error);
        Assert.DoesNotContain("ConnectionRefused", error);
    }

    [Theory]
    [InlineData(new[] { "--keyboard", "--listen", "127.0.0.1:0", "--no-reconnect" }, "--no-reconnect applies to --server only")]
    [InlineData(new[] { "--keyboard", "--listen", "bob:4000" }, "[EndpointInvalid]")]
    [InlineData(new[] { "--keyboard" }, "missing --server HOST:PORT (or --listen ADDRESS:PORT)")]
    public async Task Bad_listen_settings_fail_before_listening_and_name_the_cause(string[] args, string message)
    {
        var (exit, output, error) = await RunToEndAsync(["connect", .. args]);
        Assert.Equal(ExitCode.Usage, exit);
        Assert.Empty(output);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task Listen_waits_for_a_peer_serves_the_next_when_it_leaves_and_Ctrl_C_disconnects_cleanly()
    {
        var run = Start("connect", "--keyboard", "--listen", "127.0.0.1:0");
        await Eventually.TrueAsync(() => run.Out.Contains("listening: "), "the CLI listens");
        var port = int.Parse(System.Text.RegularExpressions.Regex.Match(run.Out, @"on 127\.0\.0\.1:(\d+) \(connection").Groups[1].Value);
        var at = new UsbRedir.Transport.UsbRedirEndpoint("127.0.0.1", port);
        var first = UsbRedir.Tests.Sessions.ScriptedPeer.FromSocket(
            await UsbRedir.Transport.TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
        await first.ExpectAnnouncementAsync();
        await first.DisposeAsync(); // QEMU's guest went away; the next one gets the keyboard
        var next = UsbRedir.Tests.Sessions.ScriptedPeer.FromSocket(
            await UsbRedir.Transport.TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
        await using var _ = next;
        await next.ExpectAnnouncementAsync();
        Assert.Matches(@"peer 127\.0\.0\.1:\d+ left \(.+\); waiting for the next", run.Err);
        // The changes show on stdout as they happen: the first peer left, the next one came.
        await Eventually.TrueAsync(() => run.Out.Contains("state: Connected (127.0.0.1:"), "the CLI shows the next peer");
        Assert.Matches(@"state: Listening\n(.*\n)*state: Connected \(127\.0\.0\.1:\d+\)", run.Out);
        Assert.False(run.Exit.IsCompleted);

        run.Stop();
        await next.ExpectAsync(T.DeviceDisconnect);
        next.Do(c => c.SendDeviceDisconnectAck());
        Assert.Equal(ExitCode.Success, await run.Exit.WaitAsync(TestDeadline.Default));
        Assert.Contains("listening: UsbRedir virtual keyboard (Full speed) on 127.0.0.1:", run.Out);
        Assert.Contains("disconnected: sent", run.Out);
    }

    [Fact]
    public async Task A_low_speed_disk_is_refused_by_the_engine()
    {
        var image = Path.GetTempFileName();
        using var closed = new ClosedLoopbackPort();
        try
        {
            File.WriteAllBytes(image, new byte[64 * 512]);
            var (exit, _, error) = await RunToEndAsync("connect", "--disk", image, "--speed", "low", "--server", closed.Address);
            Assert.NotEqual(ExitCode.Success, exit);
            Assert.Contains("usbredir: error [", error);
            Assert.DoesNotContain("ConnectionRefused", error);
        }
        finally
        {
            File.Delete(image);
        }
    }

    [Fact]
    public void Usage_lists_every_option_the_cmdlets_have()
    {
        var usage = new UsbRedir.Cli.Commands.ConnectCommand().Usage;
        foreach (var option in new[] { "--disk", "--read-only", "--keyboard", "--keys", "--keys-delay", "--speed", "--server", "--listen", "--no-reconnect",
                     "--reconnect-delay", "--max-reconnect-delay", "--max-reconnect-attempts", "--keepalive", "--insecure", "--trust-new-clients", "--config-dir",
                     "--tls-dir", "--tls" })
            Assert.Contains(option + " ", usage);
    }

    [Fact]
    public async Task A_local_device_id_comes_first_and_the_server_may_follow_it_as_vhciclient_took_it()
    {
        using var closed = new ClosedLoopbackPort();
        // Both shapes reach the device lookup (bus 255 has no device here), before any connection is tried.
        foreach (var args in new[] { new[] { "connect", "255.0", closed.Address }, ["connect", "255-1", "--server", closed.Address] })
        {
            var (exit, _, error) = await RunToEndAsync(args);
            Assert.Equal(ExitCode.Failure, exit);
            Assert.Contains("[UsbDeviceNotFound]", error);
            Assert.Contains("255.0 (busid 255-1)", error);
        }
        var (usage, _, both) = await RunToEndAsync("connect", "2.0", "--keyboard", "--server", closed.Address);
        Assert.Equal(ExitCode.Usage, usage);
        Assert.Contains("not both", both);
        var (extra, _, unexpected) = await RunToEndAsync("connect", "2.0", closed.Address, "--server", closed.Address);
        Assert.Equal(ExitCode.Usage, extra);
        Assert.Contains($"unexpected argument '{closed.Address}'", unexpected);
        var (root, _, rootError) = await RunToEndAsync("connect", "usb2", closed.Address);
        Assert.Equal(ExitCode.Usage, root); // a bad id, as a bad argument
        Assert.Contains("[UsbDeviceIsRootHub]", rootError);
    }
}
