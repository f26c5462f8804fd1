using System.Reflection;
using LeadScoring.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Change tracking asks the store to delete score-history entries (<see cref="LeadStoreBatch.HistoryReplacedFrom"/>) only
/// for leads that may have some: not for a lead new in its batch, whose history the store cannot hold yet. On the
/// canonical workload every lead starts with an identify, and each of those was a deletion that found nothing.
/// </summary>
public sealed class HistoryDeletionTests
{
    /// <summary>Forwards to an in-memory store and records, per commit, the leads whose entries it was asked to delete.</summary>
    public class RecordingStore : DispatchProxy
    {
        public ILeadStore Inner { get; } = new InMemoryLeadStore();

        public List<string> Deletions { get; } = [];

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(ILeadStore.CommitAsync))
            {
                var batch = (LeadStoreBatch)args![0]!;
                lock (Deletions)
                {
                    Deletions.AddRange(batch.HistoryReplacedFrom.Keys);
                }
            }

            return targetMethod.Invoke(Inner, args);
        }
    }

    [Fact]
    public async Task NewLeads_AskTheStoreToDeleteNoHistory_AndALateMessageStillReplacesTheEntriesAfterIt()
    {
        var store = DispatchProxy.Create<ILeadStore, RecordingStore>();
        var recording = (RecordingStore)(object)store;
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.BatchSize = 20;
            o.BatchDelay = TimeSpan.FromSeconds(1);   // batches of 20 in arrival order: the first holds u-60's two messages
        }, b => b.UseStore(_ => store));
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        var start = HostKit.AsOf.AddDays(-10);

        // A new lead with two instants in its first batch (worked out by a replay, not taken from its latest entry).
        await writer.WriteAsync(LeadMessage.Identify("i-60", "u-60", start, new Dictionary<string, object?> { ["jobTitle"] = "VP Sales" }));
        await writer.WriteAsync(LeadMessage.Track("t-60", "u-60", "Demo Requested", start.AddHours(1)));

        // 60 new leads, each with its messages at one instant (an identify and an event with the same timestamp).
        for (int i = 0; i < 60; i++)
        {
            var at = start.AddMinutes(i);
            await writer.WriteAsync(LeadMessage.Identify($"i-{i:D2}", $"u-{i:D2}", at, new Dictionary<string, object?> { ["jobTitle"] = "VP Sales" }));
            await writer.WriteAsync(LeadMessage.Track($"t-{i:D2}", $"u-{i:D2}", "Demo Requested", at));
        }

        await HostKit.WaitForCommittedAsync(host.Services, 122);
        lock (recording.Deletions)
        {
            recording.Deletions.Should().BeEmpty("a lead new in its batch has no entries in the store to delete");
        }

        // Later messages of one lead, then one that is late (before them): its entries after the late one are replaced.
        await writer.WriteAsync(LeadMessage.Track("t-late-1", "u-07", "Demo Requested", start.AddDays(2)));
        await writer.WriteAsync(LeadMessage.Track("t-late-2", "u-07", "Demo Requested", start.AddDays(3)));
        await HostKit.WaitForCommittedAsync(host.Services, 124);
        (await ((IScoreHistoryStore)recording.Inner).GetHistoryAsync("u-07", default)).Select(e => e.At).Should().Equal(
            [start.AddMinutes(7), start.AddDays(2)], "day 3 left the capped intent where day 2 put it");
        await writer.WriteAsync(LeadMessage.Track("t-late-0", "u-07", "Demo Requested", start.AddDays(1)));
        await HostKit.WaitForCommittedAsync(host.Services, 125);
        await host.StopAsync();

        lock (recording.Deletions)
        {
            recording.Deletions.Should().Equal(["u-07"], "the late message's lead, and only it, has entries replaced");
        }

        // The sample model caps intent at 60: before the late message the lead had entries at its identify (40) and on
        // day 2 (60; day 3 changed nothing). The late message reaches 60 on day 1, so the day-2 entry is replaced by it.
        var history = await ((IScoreHistoryStore)recording.Inner).GetHistoryAsync("u-07", default);
        history.Select(e => (e.At, e.Scores.Single(s => s.Key == "intent").Value)).Should().Equal(
            [(start.AddMinutes(7), 40d), (start.AddDays(1), 60d)],
            "the entries after the late message are worked out again, and the old day-2 entry is gone");
    }
}
