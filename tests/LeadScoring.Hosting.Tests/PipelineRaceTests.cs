using LeadScoring.Engine;
using LeadScoring.Tests.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static LeadScoring.Tests.Shared.Hosting.ClockHost;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Issue 13, the races: a re-scoring used to replace the engines and refill the lead routes without the readers' lock
/// (a read could find a known lead missing), and handlers ran while that lock was held (one slow handler stalled
/// every read).
/// </summary>
public sealed class PipelineRaceTests
{
    private const int Leads = 2_000;

    [Fact]
    public async Task A_rescore_while_reads_run_never_shows_a_known_lead_missing()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("ls-race-").FullName, "model.json");
        File.WriteAllText(path, ModelJson("1"));
        var time = new FakeTimeProvider(Start);
        using var host = Build(time, new StageRecorder(), o => (o.ModelJson, o.ModelPath) = (null, path));
        await host.StartAsync();
        await WriteAsync(host, Leads, [.. Enumerable.Range(0, Leads).Select(i => DemoOf("u" + i, Demo.AddMinutes(i % 60)))]);
        var reader = host.Services.GetRequiredService<ILeadScoreReader>();

        using var stop = new CancellationTokenSource();
        var versions = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int reads = 0;
        var reading = Task.Run(async () =>
        {
            var random = new Random(13);
            while (!stop.IsCancellationRequested)
            {
                string id = "u" + random.Next(Leads);
                var lead = await reader.GetLeadAsync(id);
                lead.Should().NotBeNull($"{id} is known before, during and after the re-scoring (read {reads})");
                versions.Enqueue(lead!.ModelVersion);
                reads++;
            }
        });

        // A new model version, swapped in with the next batch: every lead is re-scored from the message log while the
        // reads go on.
        await Until(() => reads > 100, "reads running");
        File.WriteAllText(path, ModelJson("2"));
        var models = host.Services.GetRequiredService<ModelProvider>();
        await Until(() => models.Current.Model.Version == "2", "the model reloaded");
        await WriteAsync(host, Leads + 1, DemoOf("u-new", Demo.AddHours(2)));
        await Until(() => reading.IsFaulted || versions.Contains("2"), "reads see the re-scored leads");
        int seen = reads;
        await Until(() => reading.IsFaulted || reads > seen + 100, "more reads after the re-scoring");
        stop.Cancel();
        await reading;

        versions.Should().Contain("1").And.Contain("2");
        versions.SkipWhile(v => v == "1").Should().OnlyContain(v => v == "2", "once a read saw the new model, none saw the old");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_handler_that_blocks_does_not_block_reads()
    {
        var time = new FakeTimeProvider(Start);
        var handler = new BlockingHandler();
        using var host = Build(time, new StageRecorder(), builder: b => b.Services.AddSingleton<IStageChangedHandler>(handler));
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        await writer.WriteAsync(DemoOf("u1", Demo));
        await Until(() => handler.Entered, "the handler was called and blocks");

        // The batch is committed and its handler is blocked: reads still answer, from the committed state.
        var reader = host.Services.GetRequiredService<ILeadScoreReader>();
        var read = reader.GetLeadAsync("u1").AsTask();
        var stage = reader.InStageAsync("mql", 10).AsTask();
        var finished = await Task.WhenAny(Task.WhenAll(read, stage), Task.Delay(TimeSpan.FromSeconds(5)));

        finished.Should().NotBeOfType<Task<Task>>();
        read.IsCompletedSuccessfully.Should().BeTrue("a read must not wait for a handler (it is still blocked)");
        handler.Released.Should().BeFalse();
        (await read)!.Stage.Should().Be("mql");
        (await stage).Select(r => r.LeadId).Should().Equal("u1");
        handler.Release();
        await host.StopAsync();
    }

    [Fact]
    public async Task Notifications_made_in_process_reach_handlers_without_a_json_round_trip()
    {
        var time = new FakeTimeProvider(Start);
        var stages = new StageRecorder();
        using var host = Build(time, stages);
        await host.StartAsync();
        await WriteAsync(host, 50, [.. Enumerable.Range(0, 50).Select(i => DemoOf("u" + i, Demo.AddMinutes(i)))]);
        await Until(() => stages.Calls.Count == 50, "50 moves told");

        // Told from the objects made at commit time, not parsed back from the outbox's JSON (which is for restarts):
        // the same arguments, field for field, as the JSON would give.
        host.Services.GetRequiredService<ScoringPipeline>().NotificationsParsed.Should().Be(0);
        foreach (var call in stages.Calls)
        {
            NotificationJson.ReadStage(NotificationJson.Write(call)).Should().Be(call);
        }

        await host.StopAsync();
    }

    private sealed class BlockingHandler : IStageChangedHandler
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Entered { get; private set; }

        public bool Released => _gate.Task.IsCompleted;

        public void Release() => _gate.TrySetResult();

        public async ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
        {
            Entered = true;
            await _gate.Task.ConfigureAwait(false);
        }
    }
}

/// <summary>Issue 13: reading every lead's history from the in-memory store is linear (it used to scan all history per call).</summary>
public sealed class InMemoryHistoryReadTests
{
    [Fact]
    public async Task Reading_the_history_of_100000_leads_touches_each_entry_once()
    {
        const int leads = 100_000;
        var store = new InMemoryLeadStore();
        var t0 = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        var entries = new List<ScoreHistoryEntry>(2 * leads);
        for (int i = 0; i < leads; i++)
        {
            entries.Add(new ScoreHistoryEntry("u" + i, t0.AddMinutes(i), [new("engagement", 1)], null, "lead", "1", "a" + i));
            entries.Add(new ScoreHistoryEntry("u" + i, t0.AddMinutes(i + 1), [new("engagement", 2)], null, "mql", "1", "b" + i));
        }

        await ((ILeadStore)store).CommitAsync(new LeadStoreBatch { History = entries }, default);
        for (int i = 0; i < leads; i++)
        {
            (await ((ILeadStore)store).GetHistoryAsync("u" + i, default)).Should().HaveCount(2);
        }

        store.HistoryEntriesRead.Should().Be(2 * leads, "each read looks at the lead's own two entries, not at all 200,000");
    }
}
