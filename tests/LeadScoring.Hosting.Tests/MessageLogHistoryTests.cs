using LeadScoring.Messages;
using LeadScoring.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Issue 10, "One engine": the pipeline's replay history is the store's message log. The engines keep where each
/// message is in the log, not the message; in-order traffic never reads the store, and a replay after a late message,
/// an earlier copy or a merge reads the messages it needs back from the log (here with a cache of one batch, so that
/// anything older comes from the store), with the results of the sorted batch fold of the same messages.
/// </summary>
public sealed class MessageLogHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A model the engine keeps in flat rows (no decay, no stage): a row derives its latest message id, or keeps it.</summary>
    private const string FlatModel = """
        {"name": "flat", "version": "1",
         "scores": [{"name": "fit"}, {"name": "engagement"}, {"name": "total", "sum": {"fit": 1, "engagement": 1}}],
         "rules": [
           {"id": "demo", "score": "engagement", "points": 10, "on": "Demo Requested"},
           {"id": "pricing", "score": "engagement", "points": 3, "on": "$page", "when": {"field": "properties.path", "op": "startsWith", "value": "/pricing"}, "limit": {"count": 3, "perDays": 30}},
           {"id": "title", "score": "fit", "points": 20, "when": {"field": "traits.title", "op": "containsAny", "value": ["VP", "Director"]}}
         ]}
        """;

    private static string ModelPath(bool flat)
    {
        if (!flat)
        {
            return HostKit.Sample("model.json");
        }

        string path = Path.Combine(Path.GetTempPath(), "leadscoring-flat-model-" + Environment.ProcessId + ".json");
        File.WriteAllText(path, FlatModel);
        return path;
    }

    private static IHost Host(InMemoryLeadStore store, int cacheMessages = 0, int workers = 2, bool flat = false) => HostKit.Build(o =>
    {
        o.ModelPath = ModelPath(flat);
        o.Workers = workers;
        o.BatchSize = 50;
        o.BatchDelay = TimeSpan.FromMilliseconds(2);
        o.ReorderHorizon = null;
        o.MessageLogCacheMessages = cacheMessages;
        o.StateCheckpointInterval = TimeSpan.FromHours(1);
    }, b => b.UseStore(_ => store));

    /// <summary>Writes the messages and waits until the pipeline has committed <paramref name="counted"/> messages in all, and a batch after them.</summary>
    private static async Task SendAsync(IHost host, long counted, params LeadMessage[] messages)
    {
        var pipeline = host.Services.GetRequiredService<ScoringPipeline>();
        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        long batches = Interlocked.Read(ref pipeline.Batches);
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        foreach (var m in messages)
        {
            await writer.WriteAsync(m);
        }

        await HostKit.WaitForCommittedAsync(host.Services, counted);
        var until = DateTime.UtcNow.AddSeconds(60);
        while (Interlocked.Read(ref pipeline.Batches) == batches || !pipeline.QueueIsEmpty || status.QueuedMessages > 0 || !status.IsDrained)
        {
            DateTime.UtcNow.Should().BeBefore(until, "the pipeline commits what was written");
            await Task.Delay(10);
        }
    }

    private static LeadMessage Track(string id, string messageId, DateTimeOffset at) => LeadMessage.Track(messageId, id, "Demo Requested", at);

    private static LeadMessage Page(string anonymousId, string messageId, DateTimeOffset at) => Parse(
        $$$"""{"type":"page","messageId":"{{{messageId}}}","timestamp":"{{{at:O}}}","anonymousId":"{{{anonymousId}}}","name":"Pricing","properties":{"path":"/pricing"}}""");

    private static LeadMessage Identify(string userId, string? anonymousId, string messageId, DateTimeOffset at) =>
        LeadMessage.Identify(messageId, userId, at, new Dictionary<string, object?> { ["title"] = "VP Sales" }, anonymousId);

    private static LeadMessage Parse(string json) => MessageParser.Parse(System.Text.Encoding.UTF8.GetBytes(json)).Message!;

    /// <summary>Messages of other leads, enough for a batch of their own: they push the earlier batches out of the cache.</summary>
    private static LeadMessage[] Filler(int round) =>
        [.. Enumerable.Range(0, 60).Select(i => Track($"filler-{i}", $"f-{round}-{i}", T0.AddDays(round).AddMinutes(i)))];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InOrderTraffic_NeverReadsTheStore_AndScoresAsTheSortedFold(bool flat)
    {
        // The sample's known users' own messages, in order, each once: no late message, copy, merge or account change.
        // One message per lead and instant: two at one instant split across two batches rewrite the lead's score
        // history at that instant, from its kept messages (docs/hosting.md).
        var messages = HostKit.SampleMessages()
            .Where(m => m.UserId is not null && m.AnonymousId is null && m.PreviousId is null && m.Type != MessageType.Group)
            .DistinctBy(m => m.MessageId)
            .DistinctBy(m => (m.UserId, m.TimestampTicks))
            .Order(Comparer<LeadMessage>.Create(LeadMessage.CompareOrder))
            .Take(3_000)
            .ToList();
        var store = new InMemoryLeadStore();
        using var host = Host(store, flat: flat);
        await host.StartAsync();
        await SendAsync(host, messages.Count, [.. messages]);

        var pipeline = host.Services.GetRequiredService<ScoringPipeline>();
        pipeline.Batches.Should().BeGreaterThan(20, "many batches, all but the newest out of the cache");
        pipeline.HistoryStoreReads.Should().Be(0);
        pipeline.HistoryMessagesKeptParsed.Should().Be(0, "every message is kept by its place in the log");
        var ids = messages.Select(m => m.UserId!).Distinct().ToList();
        (await HostKit.ActualAsync(host.Services, ids)).Order(StringComparer.Ordinal).ToList()
            .ShouldEqualLines(HostKit.Expected(messages, ModelPath(flat)).Order(StringComparer.Ordinal).ToList());

        // The drain exports every changed lead's state (its latest message id included) at a state checkpoint.
        await host.StopAsync();
        (await ((ILeadStore)store).GetStatePositionAsync(default)).Should().BeGreaterThan(0);
        pipeline.HistoryStoreReads.Should().Be(0, "reads after every message (scores as of the end, the checkpoint's exports) read nothing back");
        store.LogBatchesRead.Should().Be(0);
    }

    [Fact]
    public async Task ALateMessage_AnEarlierCopy_AndAMerge_ReadTheLog_AndScoreAsTheSortedFold()
    {
        var store = new InMemoryLeadStore();
        using var host = Host(store);
        await host.StartAsync();
        var pipeline = host.Services.GetRequiredService<ScoringPipeline>();
        var sent = new List<LeadMessage>();
        long counted = 0;

        async Task Send(params LeadMessage[] messages)
        {
            sent.AddRange(messages);
            counted += messages.Length;
            await SendAsync(host, counted, messages);
        }

        // u1's history, then other leads' batches: u1's batch is no longer cached.
        await Send([Identify("u1", null, "u1-0", T0), .. Enumerable.Range(1, 5).Select(i => Track("u1", $"u1-{i}", T0.AddHours(i)))]);
        await Send(Filler(1));
        pipeline.HistoryStoreReads.Should().Be(0);

        // A late message: u1 is replayed from its history, read back from the log.
        await Send(Track("u1", "u1-late", T0.AddMinutes(30)));
        long afterLate = pipeline.HistoryStoreReads;
        afterLate.Should().BeGreaterThan(0, "the replay read u1's older batch from the store");

        // An earlier copy of a counted message (same id, earlier time): it replaces the counted one, and u1 is replayed.
        await Send(Filler(2));
        await Send(Track("u1", "u1-3", T0.AddHours(2.5)));
        pipeline.HistoryStoreReads.Should().BeGreaterThan(afterLate, "confirming the copy read the counted message back");
        long afterCopy = pipeline.HistoryStoreReads;

        // A retry of a counted message (same id, same time): not counted, but confirmed by reading the message back.
        await Send(Filler(3));
        await SendAsync(host, counted, Track("u1", "u1-4", T0.AddHours(4)));
        sent.Add(Track("u1", "u1-4", T0.AddHours(4)));
        pipeline.HistoryStoreReads.Should().BeGreaterThan(afterCopy);
        long afterRetry = pipeline.HistoryStoreReads;

        // A merge: an anonymous visitor with history identifies as u1; the two histories become one and are replayed.
        await Send(Page("a1", "a1-1", T0.AddHours(1.5)), Page("a1", "a1-2", T0.AddHours(3.5)));
        await Send(Filler(4));
        await Send(Identify("u1", "a1", "u1-a1", T0.AddDays(6)));
        pipeline.HistoryStoreReads.Should().BeGreaterThan(afterRetry, "the merge read both leads' messages back");

        var ids = sent.SelectMany(m => new[] { m.UserId, m.AnonymousId }).OfType<string>().Distinct().ToList();
        (await HostKit.ActualAsync(host.Services, ids)).Distinct().Order(StringComparer.Ordinal).ToList()
            .ShouldEqualLines(HostKit.Expected(sent).Order(StringComparer.Ordinal).ToList());
        store.LogBatchesRead.Should().Be(pipeline.HistoryStoreReads, "every read went to the store's log");
        await host.StopAsync();
    }

    [Fact]
    public async Task ShuffledTraffic_WithRetriesAndMerges_ScoresAsTheSortedFold_WithTheLogAsHistory()
    {
        var messages = ScoreHistoryRuns.Messages(3_000);
        var store = new InMemoryLeadStore();
        using var host = Host(store, workers: 3);
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        foreach (var m in messages)
        {
            await writer.WriteAsync(m);
        }

        var pipeline = host.Services.GetRequiredService<ScoringPipeline>();
        await HostKit.WaitForDrainedAsync(host.Services, TimeSpan.FromSeconds(180)); // the stop then only writes the last state checkpoint
        await host.StopAsync();
        pipeline.HistoryStoreReads.Should().BeGreaterThan(0, "late messages and retries of older batches read the log");

        // A new run on the same store: journals by their place in the log, and the sorted fold's results.
        using var second = Host(store, workers: 3);
        await second.StartAsync();
        var restarted = second.Services.GetRequiredService<ScoringPipeline>();
        restarted.HistoryMessagesKeptParsed.Should().Be(0, "every journal message is kept by its place in the log");
        var ids = messages.SelectMany(m => new[] { m.UserId, m.AnonymousId }).OfType<string>().Distinct().ToList();
        (await HostKit.ActualAsync(second.Services, ids)).Distinct().Order(StringComparer.Ordinal).ToList()
            .ShouldEqualLines(HostKit.Expected(messages).Order(StringComparer.Ordinal).ToList());

        // After the restart a late message of an old lead replays it from the log, read from the store.
        var late = messages.First(m => m.UserId is not null && m.Type == MessageType.Track);
        var copy = LeadMessage.Track("late-after-restart", late.UserId!, late.Event!, late.Timestamp.AddSeconds(-1));
        await second.Services.GetRequiredService<ILeadMessageWriter>().WriteAsync(copy);
        await HostKit.WaitForCommittedAsync(second.Services, 1);
        restarted.HistoryStoreReads.Should().BeGreaterThan(0);
        (await HostKit.ActualAsync(second.Services, ids)).Distinct().Order(StringComparer.Ordinal).ToList()
            .ShouldEqualLines(HostKit.Expected([.. messages, copy]).Order(StringComparer.Ordinal).ToList());
        await second.StopAsync();
    }

    /// <summary>Scores <paramref name="messages"/> (shuffled, with retries and merges) in batches of 50 with a cache of one batch, and stops.</summary>
    private static async Task<IHost> RunAsync(List<LeadMessage> messages, InMemoryLeadStore store, Action<LeadScoringOptions> configure)
    {
        var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.Workers = 2;
            o.BatchSize = 50;
            o.BatchDelay = TimeSpan.FromMilliseconds(2);
            o.MessageLogCacheMessages = 0;   // with the log as the history, older batches are read from the store
            configure(o);
        }, b => b.UseStore(_ => store));
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        foreach (var m in messages)
        {
            await writer.WriteAsync(m);
        }

        await HostKit.WaitForDrainedAsync(host.Services, TimeSpan.FromSeconds(180));
        await host.StopAsync();
        return host;
    }

    private static async Task ShouldScoreAsTheSortedFoldAsync(IHost host, List<LeadMessage> messages)
    {
        var ids = messages.SelectMany(m => new[] { m.UserId, m.AnonymousId }).OfType<string>().Distinct().ToList();
        (await HostKit.ActualAsync(host.Services, ids)).Distinct().Order(StringComparer.Ordinal).ToList()
            .ShouldEqualLines(HostKit.Expected(messages).Order(StringComparer.Ordinal).ToList());
    }

    [Theory]
    [InlineData(true, false)]    // asked for
    [InlineData(null, true)]     // the default with a reorder horizon
    public async Task MessagesKeptInMemory_ReadNothingBack_AndScoreTheSame(bool? keepInMemory, bool horizon)
    {
        var messages = ScoreHistoryRuns.Messages(1_500);
        var store = new InMemoryLeadStore();
        using var host = await RunAsync(messages, store, o =>
        {
            o.ReorderHorizon = horizon ? ScoreHistoryRuns.Horizon : null;
            o.KeepMessagesInMemory = keepInMemory;
        });
        store.LogBatchesRead.Should().Be(0);
        await ShouldScoreAsTheSortedFoldAsync(host, messages);
    }

    [Fact]
    public async Task TheLogAsHistory_WithAReorderHorizon_ReadsMessagesBackToFoldThem_AndScoresTheSame()
    {
        var messages = ScoreHistoryRuns.Messages(3_000);
        var store = new InMemoryLeadStore();
        using var host = await RunAsync(messages, store, o =>
        {
            o.ReorderHorizon = ScoreHistoryRuns.Horizon;
            o.KeepMessagesInMemory = false;
        });
        store.LogBatchesRead.Should().BeGreaterThan(0, "folding messages older than the horizon reads them back (why the default keeps them in memory with a horizon)");
        await ShouldScoreAsTheSortedFoldAsync(host, messages);
    }
}
