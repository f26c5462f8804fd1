using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Tests.Shared;

namespace LeadScoring.Sqlite.Tests;

/// <summary>
/// Issue 13: a commit binds its per-message and per-row values straight into SQLite (<c>RawStatement</c>) from buffers it
/// keeps, so what it allocates does not grow with its message log and score history rows. A commit makes its message
/// log row's JSON on another thread while its transaction runs, so the test counts every thread's allocations
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>) and runs alone (the collection of <see cref="PerformanceTests"/>).
/// </summary>
[Collection(nameof(PerformanceTests))]
public sealed class CommitAllocationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_commit_allocates_nothing_per_message_or_history_row()
    {
        var messages = StoreKit.SampleMessages();
        await using var store = await StoreKit.OpenAsync(_folder.File());

        LeadStoreBatch Batch(int rows, int round) => new()
        {
            Messages = Enumerable.Range(0, rows).Select(i => messages[i % messages.Count]).ToList(),
            History = Enumerable.Range(0, rows).Select(i => StoreKit.History("lead-" + i, StoreKit.T0.AddMinutes(round), i)).ToList(),
            ModelVersion = "2026.11.1",
        };

        // Least of three rounds: a one-off (a thread's first use of a pool, a buffer's growth, another thread's work)
        // shows in one round, a cost per row in every round.
        async Task<long> AllocatedAsync(int rows)
        {
            long least = long.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                var batch = Batch(rows, round);
                await store.CommitAsync(batch, CancellationToken.None);   // warms the buffers for this size
                batch = Batch(rows, round + 10);
                long before = GC.GetTotalAllocatedBytes(precise: true);
                await store.CommitAsync(batch, CancellationToken.None);
                least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
            }

            return least;
        }

        long small = await AllocatedAsync(200);
        long large = await AllocatedAsync(2_200);

        // 2,000 more messages and 2,000 more history rows. Bound through SqliteCommand parameters, with a string for each
        // row's scores and one for the log row, the same commit allocated 2,167 bytes per message and row (checked on the
        // previous commit, c77ee21); 32 with an enumerator per row's scores.
        double perRow = (large - small) / 2_000.0;
        perRow.Should().BeLessThan(1, $"a commit of 200 rows allocated {small:N0} B and one of 2,200 rows {large:N0} B");

        // And it wrote them: the last batch's history rows are there.
        (await store.GetHistoryAsync("lead-2199", CancellationToken.None)).Should().HaveCount(6);
    }
}
