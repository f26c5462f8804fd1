using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Tests.Shared;

namespace LeadScoring.Hosting.Tests;

/// <summary>Issue 14, row 16: the score history does not depend on where batches fell (in-memory store).</summary>
public class ScoreHistoryTests
{
    [Fact]
    public async Task ScoreHistory_IsTheSame_HoweverMessagesAreBatched()
    {
        var messages = ScoreHistoryRuns.Messages(5_000);
        var expected = ScoreHistoryRuns.Expected(messages);
        expected.Should().HaveCountGreaterThan(1_000);

        foreach (int batchSize in new[] { 1, 7, 1000 })
        {
            var store = new InMemoryLeadStore();
            await ScoreHistoryRuns.RunAsync(messages, batchSize, b => b.UseStore(_ => store));
            ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(store, messages), expected).Should().BeNull($"batches of {batchSize}");
        }

        // Stopped half-way and started again on the same store.
        var restarted = new InMemoryLeadStore();
        int half = messages.Count / 2;
        await ScoreHistoryRuns.RunAsync(messages.Take(half), 7, b => b.UseStore(_ => restarted));
        await ScoreHistoryRuns.RunAsync(messages.Skip(half), 7, b => b.UseStore(_ => restarted));
        ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(restarted, messages), expected).Should().BeNull("a restart half-way");
    }

    [Fact]
    public async Task ScoreHistory_OnFlatRows_IsTheSame_HoweverMessagesAreBatched()
    {
        string model = Path.Combine(Path.GetTempPath(), $"leadscoring-flat-history-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(model, ScoreHistoryRuns.FlatModelJson);
        try
        {
            var compiled = LeadScoring.Engine.CompiledModel.Compile(LeadScoring.Model.ScoringModelLoader.LoadFile(model).GetModelOrThrow());
            var messages = ScoreHistoryRuns.Messages(5_000);
            var engine = new LeadScoring.Engine.LeadScoringEngine(compiled);
            var first = messages.First(m => m.UserId is not null);
            engine.Apply(first);
            engine.TryGetLatestOutcome(first.UserId!, new double[3], out _, out _, out _, out _).Should().BeTrue("the model runs on flat rows");
            var expected = ScoreHistoryRuns.Expected(messages, model);
            expected.Should().HaveCountGreaterThan(500);
            expected.Select(l => l.Split('|')[^4]).Distinct().Should().HaveCountGreaterThan(1, "the grade changes along the way");

            foreach (int batchSize in new[] { 1, 7, 1000 })
            {
                var store = new InMemoryLeadStore();
                await ScoreHistoryRuns.RunAsync(messages, batchSize, b => b.UseStore(_ => store), model);
                ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(store, messages), expected).Should().BeNull($"batches of {batchSize}");
            }

            // Stopped half-way and started again on the same store: the leads it loads are not new.
            var restarted = new InMemoryLeadStore();
            int half = messages.Count / 2;
            await ScoreHistoryRuns.RunAsync(messages.Take(half), 7, b => b.UseStore(_ => restarted), model);
            await ScoreHistoryRuns.RunAsync(messages.Skip(half), 7, b => b.UseStore(_ => restarted), model);
            ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(restarted, messages), expected).Should().BeNull("a restart half-way");
        }
        finally
        {
            File.Delete(model);
        }
    }

    /// <summary>
    /// Of two merging leads, the first to start keeps its entries: a lead's start is its first message ever, not its first
    /// in the last batch. Lead A starts, visitor X starts, A has another message (a batch of its own), then A and X merge:
    /// A started first, although its last batch's message came after X's.
    /// </summary>
    [Fact]
    public async Task Merge_KeepsTheEntriesOfTheLeadThatStartedFirst_AcrossBatches()
    {
        var t0 = new DateTimeOffset(2026, 10, 1, 9, 0, 0, TimeSpan.Zero);
        static LeadMessage Parse(string json) => MessageParser.Parse(System.Text.Encoding.UTF8.GetBytes(json)).Message!;
        List<LeadMessage> messages =
        [
            LeadMessage.Track("a-1", "lead-a", "Demo Requested", t0),
            Parse($$$"""{"type":"page","messageId":"x-1","timestamp":"{{{t0.AddHours(1):O}}}","anonymousId":"visitor-x","name":"Pricing","properties":{"path":"/pricing"}}"""),
            LeadMessage.Track("a-2", "lead-a", "Demo Requested", t0.AddHours(2)),
            LeadMessage.Identify("a-3", "lead-a", t0.AddHours(3), new Dictionary<string, object?> { ["title"] = "VP Sales" }, "visitor-x"),
            LeadMessage.Track("a-4", "lead-a", "Demo Requested", t0.AddHours(4)),
        ];
        var expected = ScoreHistoryRuns.Expected(messages);
        expected.Should().Contain(l => l.StartsWith("lead-a|" + t0.UtcTicks + "|", StringComparison.Ordinal), "lead A's first entry is kept");

        foreach (int batchSize in new[] { 1, 2 })
        {
            var store = new InMemoryLeadStore();
            await ScoreHistoryRuns.RunAsync(messages, batchSize, b => b.UseStore(_ => store));
            ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(store, messages), expected).Should().BeNull($"batches of {batchSize}");
        }
    }
}
