using LeadScoring.Hosting;
using LeadScoring.Tests.Shared;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite.Tests;

/// <summary>
/// The write-ahead log is checkpointed on the store's own thread and connection (<see cref="WalCheckpointer"/>), not inside
/// the commit that fills it; the commit after that checkpoint copies what was committed meanwhile, so that the log starts
/// again from its beginning and stays bounded.
/// </summary>
public sealed class WalCheckpointTests : IDisposable
{
    /// <summary>A threshold of 16 pages (256 KiB): a commit of the sample messages writes a few pages.</summary>
    private const long Threshold = 16;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static LeadStoreBatch Batch() => new() { Messages = StoreKit.Messages() };

    [Fact]
    public async Task The_log_is_checkpointed_on_the_checkpointer_thread_and_stays_about_its_threshold_long()
    {
        string path = _folder.File();
        int perBatch = Batch().Messages.Count;
        await using (var store = await StoreKit.OpenAsync(path, checkpointPages: Threshold))
        {
            var checkpointer = store.Checkpointer!;
            for (int i = 0; i < 300; i++)
            {
                await store.CommitAsync(Batch(), CancellationToken.None);
                WaitUntil(() => !checkpointer.IsRunning, "the checkpoint thread ends its checkpoint");
            }

            checkpointer.Checkpoints.Should().BeGreaterThan(10, "every 16 pages the thread checkpoints the log");
            checkpointer.Failures.Should().Be(0);
            // 300 commits write hundreds of pages; with no checkpoint the log would hold them all.
            new FileInfo(path + "-wal").Length.Should().BeLessThan(4 * Threshold * SqliteLeadStore.PageSize, "the log starts again after each checkpoint");
            (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(300 * perBatch);
        }

        File.Exists(path + "-wal").Should().BeFalse("closing the store merges the log into the file");
        await using var reopened = await StoreKit.OpenAsync(path);
        (await StoreKit.ToListAsync(reopened.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(300 * perBatch);
    }

    [Fact]
    public async Task Commits_go_on_while_the_thread_checkpoints_and_the_next_commit_copies_what_they_wrote()
    {
        string path = _folder.File();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using var store = await StoreKit.OpenAsync(path, checkpointPages: Threshold);
        var checkpointer = store.Checkpointer!;
        checkpointer.AfterCheckpoint = () =>
        {
            entered.Set();
            release.Wait(Patience);
        };

        await CommitUntilAsync(store, () => entered.IsSet);

        // The thread is held at the end of its checkpoint: commits are not, and their pages are not in the file.
        for (int i = 0; i < 20; i++)
        {
            await store.CommitAsync(Batch(), CancellationToken.None);
        }

        checkpointer.Tails.Should().Be(0);
        checkpointer.AfterCheckpoint = null;
        // A later checkpoint of the thread's waits until the end: what follows is the commits' doing alone.
        using var later = new ManualResetEventSlim();
        checkpointer.BeforeCheckpoint = () => later.Wait(Patience);
        try
        {
            release.Set();
            WaitUntil(() => !checkpointer.IsRunning, "the checkpoint thread ends its checkpoint");

            // This commit copies the twenty commits' pages into the file; the next one starts the log again.
            await store.CommitAsync(Batch(), CancellationToken.None);
            checkpointer.Tails.Should().Be(1);
            await store.CommitAsync(Batch(), CancellationToken.None);
            LogFrames(path).Should().BeLessThan(Threshold / 2, "the log starts again once it is all in the file");
        }
        finally
        {
            later.Set();
        }
    }

    [Fact]
    public async Task A_failed_checkpoint_on_the_thread_fails_no_commit_and_the_next_commit_checkpoints_the_log()
    {
        string path = _folder.File();
        await using var store = await StoreKit.OpenAsync(path, checkpointPages: Threshold);
        var checkpointer = store.Checkpointer!;
        checkpointer.BeforeCheckpoint = () => throw new SqliteException("injected: the disk is busy", 10);

        await CommitUntilAsync(store, () => checkpointer.Failures > 0);
        WaitUntil(() => !checkpointer.IsRunning, "the failed checkpoint ends");
        checkpointer.Checkpoints.Should().Be(0);

        await store.CommitAsync(Batch(), CancellationToken.None);
        checkpointer.Tails.Should().Be(1, "the commit after the failure checkpoints the whole log itself");
        await store.CommitAsync(Batch(), CancellationToken.None);
        LogFrames(path).Should().BeLessThan(Threshold / 2, "the log starts again once it is all in the file");
    }

    [Fact]
    public async Task Closing_while_the_thread_checkpoints_waits_for_it_and_merges_the_log()
    {
        string path = _folder.File();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var store = await StoreKit.OpenAsync(path, checkpointPages: Threshold);
        store.Checkpointer!.AfterCheckpoint = () =>
        {
            entered.Set();
            release.Wait(Patience);
        };

        int commits = await CommitUntilAsync(store, () => entered.IsSet);
        var closing = Task.Run(() => store.DisposeAsync().AsTask());
        await Task.Delay(200);
        closing.IsCompleted.Should().BeFalse("closing waits for the checkpoint in progress");
        release.Set();
        await closing.WaitAsync(Patience);

        File.Exists(path + "-wal").Should().BeFalse("closing the store merges the log into the file");
        await using var reopened = await StoreKit.OpenAsync(path);
        (await StoreKit.ToListAsync(reopened.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(commits * Batch().Messages.Count);
    }

    [Fact]
    public async Task Closing_right_after_a_commit_woke_the_thread_stops_it()
    {
        // The wake-up may not have been taken yet when the store closes: closing must stop the thread all the same.
        string path = _folder.File();
        for (int i = 0; i < 20; i++)
        {
            var store = await StoreKit.OpenAsync(path, checkpointPages: 1);
            await store.CommitAsync(Batch(), CancellationToken.None);
            await store.DisposeAsync().AsTask().WaitAsync(Patience);
        }

        File.Exists(path + "-wal").Should().BeFalse("closing the store merges the log into the file");
        await using var reopened = await StoreKit.OpenAsync(path);
        (await StoreKit.ToListAsync(reopened.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(20 * Batch().Messages.Count);
    }

    [Fact]
    public async Task An_in_memory_database_has_no_checkpointer()
    {
        await using var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = "Data Source=:memory:" });
        await store.InitializeAsync(CancellationToken.None);
        store.Checkpointer.Should().BeNull();
        await store.CommitAsync(Batch(), CancellationToken.None);
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(Batch().Messages.Count);
    }

    /// <summary>Commits batches until <paramref name="done"/> (at most 1,000); returns how many.</summary>
    private static async Task<int> CommitUntilAsync(SqliteLeadStore store, Func<bool> done)
    {
        int commits = 0;
        while (!done())
        {
            commits.Should().BeLessThan(1_000, "the checkpoint thread is woken within a few thresholds of pages");
            await store.CommitAsync(Batch(), CancellationToken.None);
            commits++;
            if (store.Checkpointer!.IsRunning)
            {
                SpinWait.SpinUntil(done, Patience);
            }
        }

        return commits;
    }

    private static void WaitUntil(Func<bool> condition, string what) =>
        SpinWait.SpinUntil(condition, Patience).Should().BeTrue(what);

    /// <summary>The frames the log holds now (a passive checkpoint's second column), read on a connection of the test's.</summary>
    private static long LogFrames(string path)
    {
        using var raw = StoreKit.Raw(path);
        using var command = raw.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var reader = command.ExecuteReader();
        reader.Read().Should().BeTrue();
        return reader.GetInt64(1);
    }
}
