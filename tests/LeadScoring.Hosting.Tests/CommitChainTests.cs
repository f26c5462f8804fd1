using LeadScoring.Tests.Shared;
using System.Reflection;
using LeadScoring.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Issue 13: a batch's commit runs while the next batch is applied. Commits still run one at a time and in order, and
/// the pipeline reports itself drained only once the last of them is done.
/// </summary>
public sealed class CommitChainTests
{
    /// <summary>Forwards to an in-memory store; each commit is slow, and records the messages it wrote and how many commits ran at once.</summary>
    public class SlowCommits : DispatchProxy
    {
        private int _running;

        public ILeadStore Inner { get; } = new InMemoryLeadStore();

        public List<string> Committed { get; } = [];

        public int MostAtOnce { get; private set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == nameof(ILeadStore.CommitAsync)
                ? CommitAsync((LeadStoreBatch)args![0]!, (CancellationToken)args[1]!)
                : targetMethod.Invoke(Inner, args);

        private async ValueTask CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken)
        {
            int running = Interlocked.Increment(ref _running);
            MostAtOnce = Math.Max(MostAtOnce, running);
            try
            {
                await Task.Delay(50, cancellationToken);
                lock (Committed)
                {
                    Committed.AddRange(batch.Messages.Select(m => m.MessageId));
                }

                await Inner.CommitAsync(batch, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }

    [Fact]
    public async Task Commits_run_one_at_a_time_in_order_and_drained_means_all_committed()
    {
        var store = DispatchProxy.Create<ILeadStore, SlowCommits>();
        var slow = (SlowCommits)(object)store;
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.Workers = 1;   // one partition: the counted order is the arrival order
            o.BatchSize = 25;
            o.BatchDelay = TimeSpan.FromMilliseconds(5);
        }, b => b.UseStore(_ => store));
        await host.StartAsync();
        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        var sent = Enumerable.Range(0, 400)
            .Select(i => LeadMessage.Track($"m-{i:D3}", $"u-{i % 40}", "Demo Requested", HostKit.AsOf.AddDays(-10).AddMinutes(i)))
            .ToList();
        foreach (var m in sent)
        {
            await writer.WriteAsync(m);
        }

        var until = DateTime.UtcNow.AddSeconds(60);
        while (!status.IsDrained)
        {
            DateTime.UtcNow.Should().BeBefore(until, "the pipeline must drain");
            await Task.Delay(1);
        }

        // Drained: every message is in the store, not only applied.
        lock (slow.Committed)
        {
            slow.Committed.Should().Equal(sent.Select(m => m.MessageId), "every message committed once, in arrival order");
        }

        (await StoreMessagesAsync(slow.Inner)).Should().Be(sent.Count);
        status.CommittedMessages.Should().Be(sent.Count);
        slow.MostAtOnce.Should().Be(1, "a commit waits for the one before it");
        await host.StopAsync();
    }

    /// <summary>Forwards to an in-memory store; every commit waits until <see cref="Open"/> is called.</summary>
    public class GatedCommits : DispatchProxy
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _entered;

        public ILeadStore Inner { get; } = new InMemoryLeadStore();

        public int Entered => Volatile.Read(ref _entered);

        public void Open() => _open.TrySetResult();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == nameof(ILeadStore.CommitAsync)
                ? CommitAsync((LeadStoreBatch)args![0]!, (CancellationToken)args[1]!)
                : targetMethod.Invoke(Inner, args);

        private async ValueTask CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _entered);
            await _open.Task.WaitAsync(cancellationToken);
            await Inner.CommitAsync(batch, cancellationToken);
        }
    }

    [Fact]
    public async Task A_store_slower_than_the_loop_holds_it_back_instead_of_batches_piling_up()
    {
        var store = DispatchProxy.Create<ILeadStore, GatedCommits>();
        var gated = (GatedCommits)(object)store;
        const int batchSize = 10, total = 300;
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.Workers = 1;
            o.BatchSize = batchSize;
            o.BatchDelay = TimeSpan.FromSeconds(5);   // every batch is full: the messages are all written at once
        }, b => b.UseStore(_ => store));
        await host.StartAsync();
        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        var sent = Enumerable.Range(0, total)
            .Select(i => LeadMessage.Track($"m-{i:D3}", $"u-{i % 40}", "Demo Requested", HostKit.AsOf.AddDays(-10).AddMinutes(i)))
            .ToList();
        foreach (var m in sent)
        {
            await writer.WriteAsync(m);
        }

        // The first commit never ends: the loop takes the batches of the commits that may wait, and one more (which
        // waits for room), and then leaves the rest queued.
        int taken = batchSize * (ScoringPipeline.MaxCommitsInFlight + 1);
        var until = DateTime.UtcNow.AddSeconds(60);
        while (status.QueuedMessages > total - taken)
        {
            DateTime.UtcNow.Should().BeBefore(until, "the loop takes batches until the commits in flight are at their bound");
            await Task.Delay(5);
        }

        await Task.Delay(500);
        status.QueuedMessages.Should().Be(total - taken, "no batch is applied while the commits in flight are at their bound");
        gated.Entered.Should().Be(1, "commits run one at a time");

        gated.Open();
        while (!status.IsDrained)
        {
            DateTime.UtcNow.Should().BeBefore(until.AddSeconds(60), "the pipeline must drain once the store commits");
            await Task.Delay(5);
        }

        (await StoreMessagesAsync(gated.Inner)).Should().Be(total, "nothing held back is lost");
        status.CommittedMessages.Should().Be(total);
        await host.StopAsync();
    }

    private static async Task<int> StoreMessagesAsync(ILeadStore store)
    {
        int n = 0;
        await foreach (var _ in store.LoggedMessagesAsync(CancellationToken.None))
        {
            n++;
        }

        return n;
    }
}
