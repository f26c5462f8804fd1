namespace LeadScoring.Samples.Tests;

/// <summary>A WebApi process started with <see cref="Arguments"/>; killed when the test class is done.</summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private WebApiProcess? _server;

    internal WebApiProcess Server => _server ?? throw new InvalidOperationException("not started");

    internal HttpClient Client => Server.Client;

    protected virtual string[] Arguments => [];

    public async Task InitializeAsync() => _server = await WebApiProcess.StartAsync(Arguments);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The WebApi with its default settings (no write key, Segment's limits).</summary>
public sealed class DefaultServerFixture : ServerFixture;

/// <summary>The WebApi with a write key configured.</summary>
public sealed class WriteKeyServerFixture : ServerFixture
{
    public const string WriteKey = "s3cret-write-key";

    protected override string[] Arguments => ["--WebApi:WriteKey", WriteKey];
}

/// <summary>The WebApi with both keys: the write key for <c>/v1/*</c>, the read key for <c>GET /leads*</c>; in Development.</summary>
public sealed class BothKeysServerFixture : ServerFixture
{
    public const string WriteKey = "w-7f3a";

    public const string ReadKey = "r-91c2";

    protected override string[] Arguments => ["--WebApi:WriteKey", WriteKey, "--WebApi:ReadKey", ReadKey, "--environment", "Development"];
}
