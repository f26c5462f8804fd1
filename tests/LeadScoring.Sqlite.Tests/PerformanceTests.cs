using LeadScoring.Tests.Shared;
using System.Diagnostics;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using Xunit.Abstractions;

namespace LeadScoring.Sqlite.Tests;

/// <summary>Runs alone: the figures are not shared with other tests.</summary>
[CollectionDefinition(nameof(PerformanceTests), DisableParallelization = true)]
public sealed class PerformanceCollection;

/// <summary>
/// Prints how long commits of pipeline-sized batches take (nothing about time is asserted). 10 batches by default;
/// set <c>LEADSCORING_SQLITE_PERF_BATCHES=100</c> for the full measurement, and see the figures with
/// <c>dotnet test tests/LeadScoring.Sqlite.Tests --filter Category=Performance --logger "console;verbosity=detailed"</c>.
/// </summary>
[Collection(nameof(PerformanceTests))]
public sealed class PerformanceTests(ITestOutputHelper output) : IDisposable
{
    private static readonly int Batches =
        int.TryParse(Environment.GetEnvironmentVariable("LEADSCORING_SQLITE_PERF_BATCHES"), out int batches) && batches > 0 ? batches : 10;

    private const int MessagesPerBatch = 2_000;
    private const int LeadsPerBatch = 500;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [Trait("Category", "Performance")]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task CommitBatchesOf2000MessagesAnd500Leads(bool flushEveryCommit, bool withJournals)
    {
        var messages = StoreKit.SampleMessages();
        var engine = new LeadScoringEngine(StoreKit.Model);
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        // Without journals: what the rest costs, since every upsert rewrites the lead's whole journal.
        var leads = engine.ExportLeads()
            .Select(l => withJournals ? l : LeadSnapshot.Create(l.LeadId, l.Ids, l.State, l.BaseState, []))
            .ToList();
        var batches = Enumerable.Range(0, Batches).Select(b => new LeadStoreBatch
        {
            Messages = Enumerable.Range(0, MessagesPerBatch).Select(i => messages[((b * MessagesPerBatch) + i) % messages.Count]).ToList(),
            Leads = Enumerable.Range(0, LeadsPerBatch).Select(i => leads[((b * LeadsPerBatch) + i) % leads.Count]).ToList(),
            History = Enumerable.Range(0, LeadsPerBatch).Select(i => StoreKit.History(leads[((b * LeadsPerBatch) + i) % leads.Count].LeadId, StoreKit.T0.AddMinutes(b), i)).ToList(),
            Checkpoints = new Dictionary<string, string> { ["events"] = ((b + 1) * MessagesPerBatch).ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ModelVersion = "2026.11.1",
        }).ToList();

        // Warm up (JIT, file system) on another file, so that the first configuration measured is not penalised.
        await using (var warm = await StoreKit.OpenAsync(_folder.File("warm-up.db"), o => o.FlushEveryCommit = flushEveryCommit))
        {
            foreach (var batch in batches.Take(5))
            {
                await warm.CommitAsync(batch, CancellationToken.None);
            }
        }

        // What serializing the batches costs by itself (message JSON and journals), to tell it from SQLite's share.
        long chars = 0;
        var serialize = Stopwatch.StartNew();
        foreach (var batch in batches)
        {
            chars += batch.Messages.Concat(batch.Leads.SelectMany(l => l.Journal)).Distinct().Sum(m => (long)m.ToJson().Length);
        }

        serialize.Stop();

        string path = _folder.File();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        await using (var store = await StoreKit.OpenAsync(path, o => o.FlushEveryCommit = flushEveryCommit))
        {
            foreach (var batch in batches)
            {
                var one = Stopwatch.StartNew();
                await store.CommitAsync(batch, CancellationToken.None);
                times.Add(one.Elapsed.TotalMilliseconds);
            }

            total.Stop();
            (await store.GetCheckpointAsync("events", CancellationToken.None)).Should().Be((Batches * MessagesPerBatch).ToString(System.Globalization.CultureInfo.InvariantCulture));

            var load = Stopwatch.StartNew();
            int loadedMessages = 0;
            await foreach (var m in store.LoggedMessagesAsync(CancellationToken.None))
            {
                loadedMessages++;
            }

            var loadMessages = load.Elapsed;
            load.Restart();
            int loadedLeads = 0;
            await foreach (var l in store.LoadLeadsAsync(CancellationToken.None))
            {
                loadedLeads++;
            }

            var loadLeads = load.Elapsed;
            loadedMessages.Should().Be(Batches * MessagesPerBatch);
            loadedLeads.Should().Be(Math.Min(leads.Count, Batches * LeadsPerBatch));

            times.Sort();
            output.WriteLine(
                $"synchronous={(flushEveryCommit ? "FULL" : "NORMAL")}{(withJournals ? "" : ", journals left out")}: {Batches} commits of {MessagesPerBatch} messages + {LeadsPerBatch} lead snapshots + {LeadsPerBatch} history entries " +
                $"({leads.Count} distinct sample leads, mean journal {leads.Average(l => l.Journal.Length):F1} messages): total {total.Elapsed.TotalSeconds:F2} s, " +
                $"per commit mean {times.Average():F1} ms, median {times[times.Count / 2]:F1} ms, p95 {times[(int)(times.Count * 0.95)]:F1} ms, max {times[^1]:F1} ms; " +
                $"{Batches * MessagesPerBatch / total.Elapsed.TotalSeconds:N0} messages/s. " +
                $"Of which JSON serialization alone (ToJson of each distinct message): {serialize.Elapsed.TotalMilliseconds / Batches:F1} ms per batch ({chars / Batches:N0} chars). " +
                $"Load {loadedMessages:N0} messages: {loadMessages.TotalMilliseconds:F0} ms; load {loadedLeads:N0} leads: {loadLeads.TotalMilliseconds:F0} ms.");
        }

        output.WriteLine($"file after close: {new FileInfo(path).Length / 1024.0 / 1024.0:F1} MiB");
    }
}
