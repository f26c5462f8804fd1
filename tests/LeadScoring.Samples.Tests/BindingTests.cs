using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace LeadScoring.Samples.Tests;

/// <summary>The WebApi started without <c>--urls</c>: it listens on 127.0.0.1 only (the port comes from <c>WebApi:Port</c>).</summary>
public sealed class DefaultBindingFixture : IAsyncLifetime
{
    private WebApiProcess? _server;

    internal WebApiProcess Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        int port = WebApiProcess.FreePort();
        _server = await WebApiProcess.StartAsync(port, ["--WebApi:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class BindingTests(DefaultBindingFixture fixture) : IClassFixture<DefaultBindingFixture>
{
    [Fact]
    public async Task By_default_it_listens_on_127_0_0_1_only()
    {
        var server = fixture.Server;
        server.Output.Should().Contain($"Now listening on: http://127.0.0.1:{server.Port}");
        server.Output.Should().NotContain("Now listening on: http://[::]").And.NotContain("Now listening on: http://0.0.0.0");
        (await server.Client.GetTextAsync(Http.LeadPath("nobody"))).Status.Should().Be(HttpStatusCode.NotFound);

        // Nothing answers on this machine's other addresses.
        foreach (var address in OtherAddresses().Append(IPAddress.IPv6Loopback))
        {
            (await AcceptsAsync(address, server.Port)).Should().BeFalse($"nothing should listen on {address}:{server.Port}");
        }
    }

    [Theory]
    [InlineData("http://0.0.0.0:{0}")]
    [InlineData("http://*:{0}")]
    [InlineData("http://[::]:{0}")]
    [InlineData("http://127.0.0.1:{0};http://example.com:{0}")]
    public async Task A_non_loopback_address_is_refused_unless_allowed(string urls)
    {
        int port = WebApiProcess.FreePort();
        await using var server = WebApiProcess.Launch(port, ["--urls", string.Format(System.Globalization.CultureInfo.InvariantCulture, urls, port)]);
        (await server.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("the server must refuse to start:\n" + server.Output);
        server.ExitCode.Should().Be(2);
        server.Output.Should().Contain("error: refusing to listen on").And.Contain("WebApi:AllowRemoteBinding");
        (await AcceptsAsync(IPAddress.Loopback, port)).Should().BeFalse();
    }

    [Theory]
    [InlineData("--WebApi:WriteKey", "w")]
    [InlineData("--WebApi:ReadKey", "r")]
    [InlineData(null, null)]
    public async Task Listening_beyond_loopback_is_refused_at_start_without_both_keys(string? option, string? value)
    {
        int port = WebApiProcess.FreePort();
        string[] args = ["--urls", $"http://0.0.0.0:{port}", "--WebApi:AllowRemoteBinding", "true", .. option is null ? [] : new[] { option, value! }];
        await using var server = WebApiProcess.Launch(port, args);

        (await server.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("the server must refuse to start:\n" + server.Output);
        server.ExitCode.Should().Be(2);
        server.Output.Should().Contain($"error: refusing to listen on 'http://0.0.0.0:{port}' without both keys");
        (await AcceptsAsync(IPAddress.Loopback, port)).Should().BeFalse();
    }

    [Fact]
    public async Task AllowRemoteBinding_lets_it_listen_on_every_interface()
    {
        int port = WebApiProcess.FreePort();
        await using var server = await WebApiProcess.StartAsync(port,
            ["--urls", $"http://0.0.0.0:{port}", "--WebApi:AllowRemoteBinding", "true", "--WebApi:WriteKey", "w", "--WebApi:ReadKey", "r"]);
        server.Output.Should().Contain($"Now listening on: http://0.0.0.0:{port}");
        (await server.Client.GetTextAsync("leads?score=total&top=1")).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await server.Client.PostJsonAsync("v1/track", TestMessages.Track("remote-a"))).Status.Should().Be(HttpStatusCode.Unauthorized);

        // The check above is not vacuous: bound to every interface, it answers on the machine's other IPv4 addresses.
        foreach (var address in OtherAddresses().Where(a => a.AddressFamily == AddressFamily.InterNetwork))
        {
            (await AcceptsAsync(address, port)).Should().BeTrue($"{address}:{port} should answer");
        }
    }

    [Fact]
    public async Task Localhost_is_loopback()
    {
        int port = WebApiProcess.FreePort();
        await using var server = await WebApiProcess.StartAsync(port, ["--urls", $"http://localhost:{port}"]);
        (await server.Client.GetTextAsync(Http.LeadPath("nobody"))).Status.Should().Be(HttpStatusCode.NotFound);
    }

    /// <summary>This machine's addresses other than loopback (and IPv6 link-local, which need a scope).</summary>
    private static List<IPAddress> OtherAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
            .Where(a => !IPAddress.IsLoopback(a) && a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal)
            .ToList();

    private static async Task<bool> AcceptsAsync(IPAddress address, int port)
    {
        using var client = new TcpClient(address.AddressFamily);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            await client.ConnectAsync(address, port, cts.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
