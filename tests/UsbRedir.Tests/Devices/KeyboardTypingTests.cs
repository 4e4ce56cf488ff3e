using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Devices;

/// <summary>BootKeyboard.TypeWhenConfiguredAsync: the background typing the front ends start for -Keys / --keys.</summary>
public class KeyboardTypingTests
{
    [Fact]
    public async Task Waits_for_the_configuration_then_types_and_reports_delivery()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var typing = keyboard.TypeWhenConfiguredAsync("hi", TimeSpan.Zero);
        await Task.Delay(150);
        Assert.Equal(0, keyboard.QueuedReports); // nobody listens yet: nothing is typed into the void
        Assert.False(typing.IsCompleted);

        Assert.Equal(UsbStatus.Success, await keyboard.SetConfigurationAsync(1, CancellationToken.None));
        var buffer = new byte[8];
        var keys = new List<byte>();
        // Read like a host does until typing reports every keystroke delivered.
        using var timeout = new CancellationTokenSource(TestDeadline.Default);
        while (!typing.IsCompleted || keyboard.QueuedReports > 0)
        {
            var result = await keyboard.TransferAsync(BootKeyboard.InterruptInEndpoint, buffer, timeout.Token);
            Assert.Equal(UsbStatus.Success, result.Status);
            if (buffer[2] != 0) // skip key-up reports and idle repeats
                keys.Add(buffer[2]);
        }
        Assert.Equal([0x0B, 0x0C], keys); // h, i
        Assert.True(await typing.WaitAsync(TestDeadline.Default));
    }

    [Fact]
    public async Task A_bad_script_throws_at_once_and_unplugging_ends_the_wait_with_false()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        // Thrown by the call itself, not by the returned task: the cmdlet and the CLI report it before connecting.
        Assert.Throws<UsbRedirException>(() => { _ = keyboard.TypeWhenConfiguredAsync("{NOSUCHKEY}", TimeSpan.Zero); });
        Assert.Equal("KeyboardDelayInvalid",
            Assert.Throws<UsbRedirException>(() => { _ = keyboard.TypeWhenConfiguredAsync("a", TimeSpan.FromSeconds(-1)); }).ErrorId);

        var typing = keyboard.TypeWhenConfiguredAsync("a", TimeSpan.Zero);
        await keyboard.DisposeAsync();
        Assert.False(await typing.WaitAsync(TestDeadline.Default));
    }
}

/// <summary>KeyboardTyping: the typing options every front end takes, checked in one place.</summary>
public class KeyboardTypingOptionsTests
{
    [Fact]
    public void No_keys_no_typing_and_the_default_delay_when_none_is_given()
    {
        Assert.Null(KeyboardTyping.Create(null, null));
        var typing = KeyboardTyping.Create("ab{ENTER}", null)!;
        Assert.Equal(("ab{ENTER}", KeyboardTyping.DefaultDelay), (typing.Keys, typing.Delay));
        Assert.Equal(TimeSpan.FromSeconds(1), KeyboardTyping.DefaultDelay);
        Assert.Equal(TimeSpan.FromSeconds(3), KeyboardTyping.Create("a", TimeSpan.FromSeconds(3))!.Delay);
    }

    [Theory]
    [InlineData(null, 1.0, "KeysDelayWithoutKeys")]
    [InlineData("a", -1.0, "KeyboardDelayInvalid")]
    [InlineData("{NOSUCHKEY}", null, "KeyboardScriptInvalid")]
    public void Bad_options_are_refused_with_their_error(string? keys, double? seconds, string errorId)
    {
        var error = Assert.Throws<UsbRedirException>(() => KeyboardTyping.Create(keys, seconds is { } s ? TimeSpan.FromSeconds(s) : null));
        Assert.Equal((errorId, UsbRedirErrorCategory.InvalidArgument), (error.ErrorId, error.Category));
        Assert.DoesNotContain("-Keys", error.RecommendedAction); // an engine error names no cmdlet parameter
    }
}
