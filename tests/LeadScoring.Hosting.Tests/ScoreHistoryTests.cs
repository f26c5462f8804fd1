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
}
