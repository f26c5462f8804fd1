using LeadScoring.Tests.Shared;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Hosting.Tests;
using LeadScoring.Sqlite.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LeadScoring.Stores.Tests;

/// <summary>
/// The hosted pipeline (built with <c>AddLeadScoring</c>, as an application does) scores the bundled sample into the
/// store, and a second host restarted on the same database reads it back: both give exactly the batch fold's results
/// (what <c>leadscore score</c> prints), whatever the store.
/// </summary>
public abstract class PipelineStoreTests : IAsyncLifetime
{
    /// <summary>Chooses the store under test on <paramref name="builder"/>: the same database on every call.</summary>
    protected abstract void UseStore(LeadScoringBuilder builder);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [StoreFact]
    public Task TheSample_ScoredThroughThePipelineIntoTheStore_GivesTheBatchResult_AlsoAfterARestart() =>
        ScoreTheSampleAsync(cacheMessages: null, count: int.MaxValue);

    /// <summary>
    /// The replay history is the store's message log (no reorder horizon), with a cache of two batches: the sample's
    /// late messages, retries and merges read older batches back from the store, and the results are the batch fold's.
    /// (The first 4,000 messages: each replay reads whole batches, so the whole sample would take minutes.)
    /// </summary>
    [StoreFact]
    public Task TheSample_WithTheStoresLogAsTheReplayHistory_ReadsItBack_AndGivesTheBatchResult_AlsoAfterARestart() =>
        ScoreTheSampleAsync(cacheMessages: 1_000, count: 4_000);

    private async Task ScoreTheSampleAsync(int? cacheMessages, int count)
    {
        void Configure(LeadScoringOptions o)
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.BatchSize = cacheMessages is null ? 2_000 : 500;
            o.ReorderHorizon = null;
            o.MessageLogCacheMessages = cacheMessages ?? o.MessageLogCacheMessages;
        }

        var messages = HostKit.SampleMessages().Take(count).ToList();
        var expected = HostKit.Expected(messages);
        var ids = expected.Select(e => System.Text.Json.JsonDocument.Parse(e).RootElement.GetProperty("leadId").GetString()!).ToList();
        var reference = new LeadScoringEngine(StoreKit.Model, new LeadScoringEngineOptions { ReorderHorizon = null });

        // With the log as the history the messages go in a batch at a time, each committed before the next is written:
        // older batches are then in the store, not still in flight, when a later message needs them (not timing).
        int chunk = cacheMessages is null ? messages.Count : 500;
        var countedAfter = new List<long>();
        for (int i = 0; i < messages.Count; i += chunk)
        {
            foreach (var m in messages.Skip(i).Take(chunk))
            {
                reference.Apply(m);
            }

            countedAfter.Add(reference.Statistics.Applied + reference.Statistics.Reordered);
        }

        long counted = countedAfter[^1];

        using (var host = HostKit.Build(Configure, UseStore))
        {
            await host.StartAsync();
            var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
            var status = host.Services.GetRequiredService<LeadScoringStatus>();
            for (int k = 0; k < countedAfter.Count; k++)
            {
                foreach (var m in messages.Skip(k * chunk).Take(chunk))
                {
                    await writer.WriteAsync(m);
                }

                await WaitForCommittedAsync(status, countedAfter[k]);
            }

            if (cacheMessages is not null)
            {
                status.HistoryLogReads.Should().BeGreaterThan(0, "late messages, retries and merges read older batches back from the store");
            }

            (await HostKit.ActualAsync(host.Services, ids)).ShouldEqualLines(expected);
            await host.StopAsync();
        }

        // A new host on the same database: the leads come back from the store, not from the messages.
        using (var restarted = HostKit.Build(Configure, UseStore))
        {
            await restarted.StartAsync();
            var status = restarted.Services.GetRequiredService<LeadScoringStatus>();
            (await HostKit.ActualAsync(restarted.Services, ids)).ShouldEqualLines(expected);
            var store = restarted.Services.GetRequiredService<ILeadStore>();
            (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount((int)counted, "every counted message is logged once");
            status.CommittedMessages.Should().Be(0, "nothing was delivered again");
            await restarted.StopAsync();
        }
    }

    private static async Task WaitForCommittedAsync(LeadScoringStatus status, long count)
    {
        var until = DateTime.UtcNow.AddSeconds(120);
        while (status.CommittedMessages < count || status.QueuedMessages > 0)
        {
            status.Fault.Should().BeNull();
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"committed {status.CommittedMessages} of {count} messages");
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>The pipeline into SQLite.</summary>
public sealed class SqlitePipelineStoreTests : PipelineStoreTests, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    protected override void UseStore(LeadScoringBuilder builder) => builder.UseSqlite("Data Source=" + _folder.File());
}

/// <summary>The pipeline into PostgreSQL.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlPipelineStoreTests(PostgreSqlDatabase database) : PipelineStoreTests, IClassFixture<PostgreSqlDatabase>
{
    private string _connectionString = "";

    public override async Task InitializeAsync() => _connectionString = await database.NewSchemaAsync();

    protected override void UseStore(LeadScoringBuilder builder) => builder.UsePostgreSql(_connectionString);
}
