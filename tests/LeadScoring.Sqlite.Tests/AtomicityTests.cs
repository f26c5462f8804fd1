using LeadScoring.Hosting;
using LeadScoring.Messages;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite.Tests;

/// <summary>A commit that fails part way leaves the store as it was; a committed one survives reopening the file.</summary>
public sealed class AtomicityTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private sealed record State(List<string> Leads, List<string> Messages, List<string> Accounts, int History, int DeadLetters, string? Checkpoint, string? ModelVersion, DateTimeOffset? StageClock);

    private static async Task<State> ReadAsync(SqliteLeadStore store) => new(
        await StoreKit.LeadsAsync(store),
        (await StoreKit.ToListAsync(store.LoadMessagesAsync(CancellationToken.None))).Select(m => m.ToJson()).ToList(),
        (await StoreKit.ToListAsync(store.LoadAccountMessagesAsync(CancellationToken.None))).Select(m => m.ToJson()).ToList(),
        (await store.GetHistoryAsync("u1", CancellationToken.None)).Count,
        (await store.GetDeadLettersAsync(100, CancellationToken.None)).Count,
        await store.GetCheckpointAsync("events", CancellationToken.None),
        await store.GetModelVersionAsync(CancellationToken.None),
        await store.GetStageClockAsync(CancellationToken.None));

    /// <summary>A first batch (the first messages) and a second one touching every table (the rest, and a re-scoring).</summary>
    private static (LeadStoreBatch First, LeadStoreBatch Second) Batches()
    {
        var messages = StoreKit.Messages();
        var first = StoreKit.Engine(messages.Take(4));
        var second = StoreKit.Engine(messages);
        return (
            new LeadStoreBatch
            {
                Leads = [.. first.ExportLeads()],
                Messages = messages.Take(4).ToList(),
                AccountMessages = first.ExportAccountMessages(),
                History = [StoreKit.History("u1", StoreKit.T0, 10)],
                DeadLetters = [new("events", "line 1", "bad", "x", StoreKit.T0)],
                Checkpoints = new Dictionary<string, string> { ["events"] = "4" },
                ModelVersion = "v1",
                StageClock = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero),
            },
            new LeadStoreBatch
            {
                Leads = [.. second.ExportLeads()],
                RemovedLeads = ["anon-1"],
                Messages = messages.Skip(4).ToList(),
                AccountMessages = [LeadMessage.Group("g-9", "u2", "acct-2", StoreKit.T0, new Dictionary<string, object?> { ["industry"] = "finance" })],
                History = [StoreKit.History("u1", StoreKit.T0.AddHours(1), 20)],
                DeadLetters = [new("events", "line 9", "bad", null, StoreKit.T0)],
                Checkpoints = new Dictionary<string, string> { ["events"] = "16" },
                ModelVersion = "v2",
                ReplaceAllLeads = true,
                StageClock = new DateTimeOffset(2026, 10, 2, 0, 0, 0, TimeSpan.Zero),
            });
    }

    [Theory]
    [InlineData("replace-all")]
    [InlineData("removed-leads")]
    [InlineData("leads")]
    [InlineData("messages")]
    [InlineData("account-messages")]
    [InlineData("history")]
    [InlineData("dead-letters")]
    [InlineData("checkpoints")]
    [InlineData("model-version")]
    [InlineData("stage-clock")]
    public async Task ACommitFailingPartWay_LeavesThePreviousStateAndCheckpoint(string failingStep)
    {
        var (first, second) = Batches();
        await using var store = await StoreKit.OpenAsync(_folder.File());
        await store.CommitAsync(first, CancellationToken.None);
        var before = await ReadAsync(store);
        before.Checkpoint.Should().Be("4");

        store.CommitStepHook = step =>
        {
            if (step == failingStep)
            {
                throw new IOException("injected failure after " + step);
            }
        };
        var act = async () => await store.CommitAsync(second, CancellationToken.None);
        await act.Should().ThrowAsync<IOException>();

        var after = await ReadAsync(store);
        after.Should().BeEquivalentTo(before, o => o.WithStrictOrdering());

        // The store goes on: the same batch commits once the failure is gone.
        store.CommitStepHook = null;
        await store.CommitAsync(second, CancellationToken.None);
        (await ReadAsync(store)).Checkpoint.Should().Be("16");
    }

    [Fact]
    public async Task ABatchViolatingAConstraint_WritesNothing_AndSurvivesReopening()
    {
        var (first, second) = Batches();
        string path = _folder.File();
        State before;
        await using (var store = await StoreKit.OpenAsync(path))
        {
            await store.CommitAsync(first, CancellationToken.None);
            before = await ReadAsync(store);

            // The dead letters are written after the leads and messages: a NOT NULL column fails in SQLite itself.
            var bad = new LeadStoreBatch
            {
                Leads = second.Leads,
                Messages = second.Messages,
                DeadLetters = [new(null!, "line 10", "bad", null, StoreKit.T0)],
                Checkpoints = second.Checkpoints,
                ReplaceAllLeads = true,
            };
            var act = async () => await store.CommitAsync(bad, CancellationToken.None);
            (await act.Should().ThrowAsync<SqliteException>()).Which.SqliteErrorCode.Should().Be(19, "SQLITE_CONSTRAINT");
            (await ReadAsync(store)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        }

        await using (var reopened = await StoreKit.OpenAsync(path))
        {
            (await ReadAsync(reopened)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        }
    }

    [Fact]
    public async Task ACancelledCommit_WritesNothing()
    {
        var (first, _) = Batches();
        await using var store = await StoreKit.OpenAsync(_folder.File());
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = async () => await store.CommitAsync(first, cancelled.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();
        (await store.GetCheckpointAsync("events", CancellationToken.None)).Should().BeNull();
        (await StoreKit.LeadsAsync(store)).Should().BeEmpty();
    }

    [Fact]
    public async Task CommittedBatches_SurviveReopeningTheFile_WithANewStore()
    {
        var (first, second) = Batches();
        string path = _folder.File();
        State expected;
        await using (var store = await StoreKit.OpenAsync(path, o => o.FlushEveryCommit = true))
        {
            await store.CommitAsync(first, CancellationToken.None);
            await store.CommitAsync(second, CancellationToken.None);
            expected = await ReadAsync(store);
        }

        expected.Checkpoint.Should().Be("16");
        expected.ModelVersion.Should().Be("v2");
        expected.History.Should().Be(2);
        await using (var reopened = await StoreKit.OpenAsync(path))
        {
            (await ReadAsync(reopened)).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        }
    }

    [Fact]
    public async Task ALoadInProgress_SeesASnapshot_AndDoesNotBlockCommits()
    {
        var (first, second) = Batches();
        await using var store = await StoreKit.OpenAsync(_folder.File());
        await store.CommitAsync(first, CancellationToken.None);
        int stored = first.Messages.Count;

        var seen = new List<string>();
        await foreach (var message in store.LoadMessagesAsync(CancellationToken.None))
        {
            if (seen.Count == 0)
            {
                // Committing while enumerating neither deadlocks nor shows up in this enumeration.
                await store.CommitAsync(second, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            }

            seen.Add(message.MessageId);
        }

        seen.Should().HaveCount(stored);
        (await StoreKit.ToListAsync(store.LoadMessagesAsync(CancellationToken.None))).Should().HaveCount(stored + second.Messages.Count);
    }
}
