using System.Net;

namespace LeadScoring.Samples.Tests;

/// <summary>
/// One WebApi process (3 workers, the default model found from its folder) fed the whole sample through
/// <c>POST /v1/batch</c>, in batches of at most 500 messages and 500 KB, then waited on until the pipeline has
/// committed them. Killed when the test class is done.
/// </summary>
public sealed class SampleServerFixture : IAsyncLifetime
{
    private WebApiProcess? _server;

    internal WebApiProcess Server => _server ?? throw new InvalidOperationException("not started");

    internal HttpClient Client => Server.Client;

    /// <summary>The CLI's lines at <see cref="SampleData.AsOf"/>, by lead id.</summary>
    internal Dictionary<string, string> Expected { get; private set; } = [];

    /// <summary>Each batch sent and the server's answer.</summary>
    internal List<(List<SampleLine> Lines, HttpStatusCode Status, string Body)> Responses { get; } = [];

    /// <summary>The lead of the last message in the file, polled until it matched.</summary>
    internal string SentinelLead { get; private set; } = "";

    /// <summary>Its last answer while waiting (equal to the expected line when the pipeline caught up in time).</summary>
    internal string? SentinelAnswer { get; private set; }

    public async Task InitializeAsync()
    {
        Expected = SampleData.Expected(SampleData.AsOf);
        _server = await WebApiProcess.StartAsync("--LeadScoring:Workers", "3");
        foreach (var batch in SampleData.Batches(SampleData.ParsableLines))
        {
            var (status, body) = await Client.PostJsonAsync("v1/batch", SampleData.Body(batch.Select(l => l.Text)));
            Responses.Add((batch, status, body));
        }

        // The pipeline commits asynchronously: wait until a lead whose message is last in the file is as expected.
        var last = SampleData.ParsableLines.Select(l => l.Parse().Message).Last(m => m?.UserId is { } id && Expected.ContainsKey(id))!;
        SentinelLead = last.UserId!;
        SentinelAnswer = await Client.WaitForLeadAsync(SentinelLead, SampleData.AsOfText, Expected[SentinelLead], TimeSpan.FromSeconds(120));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
