using LeadScoring.Hosting;
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
}
