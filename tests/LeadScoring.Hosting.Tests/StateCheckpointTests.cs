using System.Collections.Concurrent;
using System.Reflection;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Tests.Shared;
using LeadScoring.Tests.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Issue 13: lead states are saved at state checkpoints, not with every batch. A process that dies between two of them
/// comes back from the states of the first and the message log after it, exactly: scores, score history and outbox.
/// </summary>
public sealed class StateCheckpointTests
{
    /// <summary>
    /// Forwards to an in-memory store until the process "dies": <see cref="BatchesAfterCheckpoint"/> commits with
    /// messages after the first state checkpoint (the last of them not acknowledged), every write fails (nothing more reaches the store, as after kill -9).
    /// </summary>
    public class DyingStore : DispatchProxy
    {
        public ILeadStore Inner { get; set; } = new InMemoryLeadStore();

        public int BatchesAfterCheckpoint { get; set; } = 3;

        public volatile bool Dead;

        private int _afterCheckpoint = -1;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            bool write = targetMethod!.Name is nameof(ILeadStore.CommitAsync) or nameof(IOutbox.AcknowledgeNotificationsAsync);
            if (write && Dead)
            {
                return ValueTask.FromException(new IOException("the process died"));
            }

            object? result = targetMethod.Invoke(Inner, args);
            if (targetMethod.Name == nameof(ILeadStore.CommitAsync) && args![0] is LeadStoreBatch batch)
            {
                if (batch.StateCheckpoint && _afterCheckpoint < 0)
                {
                    _afterCheckpoint = 0;
                }
                else if (_afterCheckpoint >= 0 && batch.Messages.Count > 0 && ++_afterCheckpoint == BatchesAfterCheckpoint)
                {
                    Dead = true;   // this commit is in the store; its notifications are never acknowledged
                }
            }

            return result;
        }
    }

    private sealed class Told : IStageChangedHandler, IScoreChangedHandler
    {
        public readonly ConcurrentDictionary<string, byte> Keys = new();

        public ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
        {
            Keys.TryAdd(arguments.IdempotencyKey, 0);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnScoreChangedAsync(ScoreChangedArguments arguments, CancellationToken cancellationToken)
        {
            Keys.TryAdd(arguments.IdempotencyKey, 0);
            return ValueTask.CompletedTask;
        }
    }

    private static IHost Host(ILeadStore store, Told told) => HostKit.Build(o =>
    {
        o.ModelPath = HostKit.Sample("model.json");
        o.Workers = 3;
        o.BatchSize = 50;
        o.BatchDelay = TimeSpan.FromMilliseconds(5);
        o.ReorderHorizon = ScoreHistoryRuns.Horizon;
        o.StateCheckpointMessages = 1_000;
        o.StateCheckpointInterval = TimeSpan.FromHours(1);
    }, b =>
    {
        b.UseStore(_ => store);
        b.Services.AddSingleton<IStageChangedHandler>(told);
        b.Services.AddSingleton<IScoreChangedHandler>(told);
    });

    [Fact]
    public async Task ACrashBetweenTwoStateCheckpoints_ResumesExactly_Scores_History_AndOutbox()
    {
        var messages = ScoreHistoryRuns.Messages(4_000);
        var told = new Told();
        var dying = DispatchProxy.Create<ILeadStore, DyingStore>();
        var proxy = (DyingStore)(object)dying;
        var store = proxy.Inner;

        // The first run dies a few batches after its first state checkpoint.
        using (var first = Host(dying, told))
        {
            var lifetime = first.Services.GetRequiredService<IHostApplicationLifetime>();
            var stopping = new TaskCompletionSource();
            lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());
            await first.StartAsync();
            var writer = first.Services.GetRequiredService<ILeadMessageWriter>();
            foreach (var m in messages)
            {
                if (proxy.Dead)
                {
                    break;
                }

                await writer.WriteAsync(m);
            }

            await stopping.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await first.StopAsync();
        }

        proxy.Dead.Should().BeTrue("the first run died before the end");
        long position = await store.GetStatePositionAsync(default);
        position.Should().BeGreaterThan(0, "a state checkpoint was committed");
        var after = new List<(long Position, IReadOnlyList<LeadMessage> Messages)>();
        await foreach (var batch in store.ReadLogAsync(position, default))
        {
            after.Add(batch);
        }

        after.Should().HaveCount(proxy.BatchesAfterCheckpoint, "the batches committed after the checkpoint are in the log, not in the states");
        (await store.LoadPendingNotificationsAsync(default)).Should().NotBeEmpty("what the dead process had not acknowledged is in the outbox");

        // The second run: the states of the checkpoint, the log after it replayed, and every message sent again (at least once).
        using (var second = Host(store, told))
        {
            await second.StartAsync();
            var pipeline = second.Services.GetRequiredService<ScoringPipeline>();
            pipeline.ReplayedOnStart.Should().Be(after.Sum(b => b.Messages.Count));

            // Before anything is sent again, the leads are exactly what the committed log says (states + replay).
            var logged = new List<LeadMessage>();
            await foreach (var batch in store.ReadLogAsync(0, default))
            {
                logged.AddRange(batch.Messages);
            }

            var loggedIds = logged.SelectMany(m => new[] { m.UserId, m.AnonymousId }).OfType<string>().Distinct().ToList();
            (await HostKit.ActualAsync(second.Services, loggedIds)).Distinct().Order(StringComparer.Ordinal)
                .Should().Equal(HostKit.Expected(logged).Order(StringComparer.Ordinal));

            // The outcome tables are as of the state checkpoint; the replay's leads are the overlay: the lists are those
            // of the committed history (written with every batch, the replayed ones included).
            var reader = second.Services.GetRequiredService<ILeadScoreReader>();
            await (await OutcomeExpectation.FromHistoryAsync(reader, loggedIds)).ShouldMatchAsync(reader, pipeline, "after the restart");
            var writer = second.Services.GetRequiredService<ILeadMessageWriter>();
            foreach (var m in messages)
            {
                await writer.WriteAsync(m);
            }

            await second.StopAsync();
        }

        // Scores, read from a third run on the same store, against the batch fold of the messages.
        var ids = messages.SelectMany(m => new[] { m.UserId, m.AnonymousId }).OfType<string>().Distinct().ToList();
        using (var third = Host(store, new Told()))
        {
            await third.StartAsync();
            third.Services.GetRequiredService<ScoringPipeline>().ReplayedOnStart.Should().Be(0, "the drain committed a state checkpoint");
            var thirdReader = third.Services.GetRequiredService<ILeadScoreReader>();
            await (await OutcomeExpectation.FromHistoryAsync(thirdReader, ids)).ShouldMatchAsync(
                thirdReader, third.Services.GetRequiredService<ScoringPipeline>(), "after the drain");
            var expected = HostKit.Expected(messages);
            (await HostKit.ActualAsync(third.Services, ids)).Distinct().Order(StringComparer.Ordinal)
                .Should().Equal(expected.Order(StringComparer.Ordinal));
            await third.StopAsync();
        }

        // History: as its definition has it (every instant of every lead, from one engine that keeps every message).
        ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(store, messages), ScoreHistoryRuns.Expected(messages)).Should().BeNull();

        // Outbox: delivered and emptied; every stage move of the final histories was told.
        (await store.LoadPendingNotificationsAsync(default)).Should().BeEmpty();
        var model = CompiledModel.Compile(ScoringModelLoader.LoadFile(HostKit.Sample("model.json")).GetModelOrThrow());
        var latest = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            latest.Apply(m);
        }

        var moves = latest.LeadIds().SelectMany(lead => latest.EvaluateLatest(lead)!.StageHistory
            .Select(h => new StageChangedArguments(lead, h.From, h.To, h.At, model.Model.Version, null).IdempotencyKey)).ToList();
        moves.Should().NotBeEmpty();
        told.Keys.Keys.Should().Contain(moves);
    }

    [Fact]
    public async Task StatesAreSaved_OnlyAtACheckpoint_AfterTheInterval_AndOnDrain()
    {
        var time = new FakeTimeProvider(ClockHost.Start);
        ILeadStore store = new InMemoryLeadStore();
        using var host = ClockHost.Build(time, new StageRecorder(), o =>
        {
            o.StateCheckpointMessages = 1_000_000;
            o.StateCheckpointInterval = TimeSpan.FromMinutes(10);
        }, b => b.UseStore(_ => store));
        await host.StartAsync();

        await ClockHost.WriteAsync(host, 1, ClockHost.DemoOf("u1", ClockHost.Demo));
        (await store.GetStatePositionAsync(default)).Should().Be(0, "the interval has not passed: the batch logged its message, not the state");
        (await store.LoadLeadsAsync(default).ToListAsync()).Should().BeEmpty();

        time.Advance(TimeSpan.FromMinutes(9));
        await ClockHost.WriteAsync(host, 2, ClockHost.DemoOf("u2", ClockHost.Demo.AddMinutes(1)));
        (await store.GetStatePositionAsync(default)).Should().Be(0, "9 minutes since the first change");

        time.Advance(TimeSpan.FromMinutes(2));
        await ClockHost.WriteAsync(host, 3, ClockHost.DemoOf("u3", ClockHost.Demo.AddMinutes(2)));
        var log = await store.ReadLogAsync(0, default).ToListAsync();
        (await store.GetStatePositionAsync(default)).Should().Be(log[^1].Position, "11 minutes: the batch that ends the interval carries the states");
        (await store.LoadLeadsAsync(default).ToListAsync()).Select(l => l.LeadId).Order(StringComparer.Ordinal).Should().Equal("u1", "u2", "u3");

        await ClockHost.WriteAsync(host, 4, ClockHost.DemoOf("u4", ClockHost.Demo.AddMinutes(3)));
        (await store.LoadLeadsAsync(default).ToListAsync()).Should().HaveCount(3);
        await host.StopAsync();
        (await store.LoadLeadsAsync(default).ToListAsync()).Should().HaveCount(4, "the drain saves the states changed since");
        log = await store.ReadLogAsync(0, default).ToListAsync();
        (await store.GetStatePositionAsync(default)).Should().Be(log[^1].Position);
    }

    [Fact]
    public async Task CheckpointOptions_OutOfRange_FailAtStart_NamingTheOption()
    {
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.StateCheckpointMessages = 0;
            o.StateCheckpointInterval = TimeSpan.FromSeconds(-1);
        });

        var error = (await host.Invoking(h => h.StartAsync()).Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Failures.Should().BeEquivalentTo(
            "LeadScoring: StateCheckpointMessages must be at least 1, not 0.",
            "LeadScoring: StateCheckpointInterval must not be negative.");
    }
}
