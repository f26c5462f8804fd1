using LeadScoring.Hosting;

namespace LeadScoring.Sqlite.Tests;

/// <summary>
/// The SQLite store skips the deletion of stale score rows when <c>lead_outcome</c> can hold no other score names than
/// the batch's (<c>OutcomeWriter</c>): these are the two ways the names it knows could be wrong, and each must make it
/// delete again. The store contract's <c>ManyOutcomesInOneCommit…</c> covers an outcome with other names from the same
/// store.
/// </summary>
public class OutcomeNamesTests
{
    private static readonly DateTimeOffset T0 = StoreKit.T0;

    private static ScoreHistoryEntry Outcome(string lead, int hours, params (string Name, double Value)[] scores) =>
        new(lead, T0.AddHours(hours), scores.Select(s => new KeyValuePair<string, double>(s.Name, s.Value)).ToArray(), "A", "lead", "v1", "m" + hours);

    [Fact]
    public async Task AnotherConnectionsOutcome_WithOtherScoreNames_LosesItsScoreRows_WhenTheStoreWritesTheLeadAgain()
    {
        using var folder = new TempFolder();
        string path = folder.File();
        await using var store = await StoreKit.OpenAsync(path);
        await store.CommitAsync(new LeadStoreBatch { Outcomes = [Outcome("u1", 0, ("fit", 1), ("total", 1)), Outcome("u2", 0, ("fit", 2), ("total", 2))] }, CancellationToken.None);

        // Another writer (another process, an older version) stores u1's outcome with other score names.
        using (var raw = StoreKit.Raw(path))
        using (var command = raw.CreateCommand())
        {
            command.CommandText = """
                UPDATE lead_outcome SET score_names = 'other' WHERE lead_id = 'u1';
                DELETE FROM lead_outcome_score WHERE lead_id = 'u1';
                INSERT INTO lead_outcome_score (lead_id, score_name, value) VALUES ('u1', 'other', 5);
                """;
            command.ExecuteNonQuery();
        }

        // This store has only written fit and total, and writes them again: the other writer's row must still go.
        await store.CommitAsync(new LeadStoreBatch { Outcomes = [Outcome("u1", 1, ("fit", 3), ("total", 3))] }, CancellationToken.None);

        (await store.TopAsync("other", 10, CancellationToken.None)).Should().BeEmpty("u1's outcome has no score 'other' now");
        (await store.TopAsync("fit", 10, CancellationToken.None)).Should().Equal(("u1", 3.0), ("u2", 2.0));
    }

    [Fact]
    public async Task ARolledBackReplacementOfEveryOutcome_LeavesTheStoredNamesAsTheyWere()
    {
        using var folder = new TempFolder();
        await using var store = await StoreKit.OpenAsync(folder.File());
        await store.CommitAsync(new LeadStoreBatch { Outcomes = [Outcome("u1", 0, ("fit", 1), ("total", 1))] }, CancellationToken.None);

        // A re-scoring to a model whose only score is 'other' (every outcome deleted, then written) fails after its
        // outcomes were written: rolled back, the table holds u1's fit and total again.
        store.CommitStepHook = step =>
        {
            if (step == "history")
            {
                throw new IOException("injected failure after " + step);
            }
        };
        var rescore = new LeadStoreBatch { ReplaceAllLeads = true, Outcomes = [Outcome("u2", 1, ("other", 2))] };
        await store.Invoking(s => s.CommitAsync(rescore, CancellationToken.None).AsTask()).Should().ThrowAsync<IOException>();
        store.CommitStepHook = null;

        // u1 under the 'other' model: its fit and total rows must go, though a batch of 'other' names only was the last
        // one written.
        await store.CommitAsync(new LeadStoreBatch { Outcomes = [Outcome("u1", 2, ("other", 4))] }, CancellationToken.None);

        (await store.TopAsync("fit", 10, CancellationToken.None)).Should().BeEmpty();
        (await store.TopAsync("total", 10, CancellationToken.None)).Should().BeEmpty();
        (await store.TopAsync("other", 10, CancellationToken.None)).Should().Equal(("u1", 4.0));
    }
}
