using LeadScoring.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace LeadScoring.Sqlite.Tests;

/// <summary>Issue 14, row 16: the score history does not depend on where batches fell (SQLite store, restarts).</summary>
public class ScoreHistoryTests
{
    [Fact]
    public async Task ScoreHistory_IsTheSame_HoweverMessagesAreBatched()
    {
        using var folder = new TempFolder();
        var messages = ScoreHistoryRuns.Messages(5_000);
        var expected = ScoreHistoryRuns.Expected(messages);
        expected.Should().HaveCountGreaterThan(1_000);

        foreach (int batchSize in new[] { 1, 7, 1000 })
        {
            string database = folder.File($"batches-{batchSize}.db");
            await ScoreHistoryRuns.RunAsync(messages, batchSize, b => b.UseSqlite("Data Source=" + database));
            await using var store = await StoreKit.OpenAsync(database);
            ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(store, messages), expected).Should().BeNull($"batches of {batchSize}");
        }

        // Stopped at three points and started again on the same file: each run reads its leads back from the database.
        string restarted = folder.File("restarted.db");
        int third = messages.Count / 3;
        foreach (var part in new[] { messages.Take(third), messages.Skip(third).Take(third), messages.Skip(2 * third) })
        {
            await ScoreHistoryRuns.RunAsync(part, 7, b => b.UseSqlite("Data Source=" + restarted));
        }

        await using (var store = await StoreKit.OpenAsync(restarted))
        {
            ScoreHistoryRuns.FirstDifference(await ScoreHistoryRuns.HistoryAsync(store, messages), expected).Should().BeNull("two restarts");
        }
    }
}
