using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace LeadScoring.Sqlite;

/// <summary>
/// Checkpoints the write-ahead log of a file database off the commit path. SQLite's automatic checkpoint runs inside the
/// commit that crosses its threshold: that commit copies the whole log into the database file and syncs both, and the
/// store's commits, one after the other, all wait for it (on the canonical workload 10 of 551 commits took 0.3–0.8 s
/// each, about a third of the commit chain's time: <c>benchmarks/README.md</c>, "The log's checkpoint off the commit path").
/// Instead the store's connection has no automatic checkpoint, and:
/// <list type="number">
/// <item>after each commit <see cref="Committed"/> counts the pages the connection wrote to the log
/// (<c>sqlite3_db_status</c>, <c>SQLITE_DBSTATUS_CACHE_WRITE</c>);</item>
/// <item>every <see cref="ThresholdPages"/> of them it wakes a thread of its own, which runs a <c>PASSIVE</c> checkpoint
/// on a connection of its own: the log's committed pages are copied into the file and synced while commits go on
/// (SQLite lets one checkpointer run beside the writer);</item>
/// <item>the first commit after that checkpoint ends copies what was committed meanwhile (a <c>PASSIVE</c> checkpoint of
/// a few pages, on the store's connection, between two transactions): the log is then wholly in the file, and the next
/// commit writes it again from its start, so it stays about as long as with the automatic checkpoint.</item>
/// </list>
/// A checkpoint is never needed for durability (a committed batch is in the log); when the thread's checkpoint fails, the
/// next commit's checkpoint copies the whole log, as SQLite's automatic one would.
/// </summary>
internal sealed class WalCheckpointer : IDisposable
{
    private const int Idle = 0, Running = 1, Done = 2;

    private readonly SqliteConnection _writer;
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _checkpoint;
    private readonly SqliteCommand _tail;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _state = Idle;

    /// <summary>Pages written to the log since the thread's last checkpoint was asked for (the commit path only).</summary>
    private long _sinceAsked;

    /// <param name="writer">The store's connection (its commits are counted; it has no automatic checkpoint).</param>
    /// <param name="connectionString">The database, for the checkpointer's own connection.</param>
    /// <param name="synchronous">The <c>PRAGMA synchronous</c> value of the store (a checkpoint syncs as its connection says).</param>
    /// <param name="thresholdPages">Pages written to the log between two checkpoints.</param>
    public WalCheckpointer(SqliteConnection writer, string connectionString, string synchronous, long thresholdPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(thresholdPages, 1);
        _writer = writer;
        ThresholdPages = thresholdPages;
        _connection = new SqliteConnection(connectionString);
        try
        {
            _connection.Open();
            using (var setup = _connection.CreateCommand())
            {
                setup.CommandText = "PRAGMA synchronous=" + synchronous + "; PRAGMA wal_autocheckpoint=0;";
                setup.ExecuteNonQuery();
            }

            _checkpoint = _connection.CreateCommand();
            _checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            _tail = writer.CreateCommand();
            _tail.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        }
        catch
        {
            _connection.Dispose();
            throw;
        }

        // Drop what the connection wrote before (the schema's creation): counted from here.
        raw.sqlite3_db_status(writer.Handle, raw.SQLITE_DBSTATUS_CACHE_WRITE, out _, out _, 1);
        _thread = new Thread(Run) { IsBackground = true, Name = "LeadScoring SQLite checkpoint" };
        _thread.Start();
    }

    /// <summary>Pages written to the log between two checkpoints.</summary>
    public long ThresholdPages { get; }

    /// <summary>Checkpoints run by the thread so far (tests).</summary>
    internal int Checkpoints;

    /// <summary>Checkpoints of the pages committed during the thread's, run by a commit so far (tests).</summary>
    internal int Tails;

    /// <summary>Whether the thread's checkpoint was asked for and has not ended (tests).</summary>
    internal bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <summary>Called on the thread before each of its checkpoints (tests inject failures with it).</summary>
    internal Action? BeforeCheckpoint { get; set; }

    /// <summary>Called on the thread after each of its checkpoints that succeeded (tests hold the thread there).</summary>
    internal Action? AfterCheckpoint { get; set; }

    /// <summary>Checkpoints of the thread that failed so far (tests).</summary>
    internal int Failures;

    /// <summary>After a commit, on the store's connection, under the store's lock, outside any transaction.</summary>
    public void Committed()
    {
        raw.sqlite3_db_status(_writer.Handle, raw.SQLITE_DBSTATUS_CACHE_WRITE, out int written, out _, 1);
        _sinceAsked += written;
        switch (Volatile.Read(ref _state))
        {
            case Done:
                // The pages committed while the thread's checkpoint ran: the log is then all in the file. The batch is
                // committed whatever happens here: a failure leaves the pages in the log, for the next checkpoint.
                try
                {
                    _tail.ExecuteNonQuery();
                    Tails++;
                }
                catch (SqliteException)
                {
                    Interlocked.Increment(ref Failures);
                }

                Volatile.Write(ref _state, Idle);
                break;
            case Idle when _sinceAsked >= ThresholdPages:
                _sinceAsked = 0;
                Volatile.Write(ref _state, Running);
                _wake.Release();
                break;
        }
    }

    private void Run()
    {
        while (true)
        {
            _wake.Wait();
            if (_stopping)
            {
                return;
            }

            try
            {
                BeforeCheckpoint?.Invoke();
                _checkpoint.ExecuteNonQuery();
                Interlocked.Increment(ref Checkpoints);
                AfterCheckpoint?.Invoke();
            }
            catch (Exception)
            {
                // Not needed for durability: the pages stay in the log, and the next commit's checkpoint copies them. Any
                // exception: one escaping this thread would end the process.
                Interlocked.Increment(ref Failures);
            }

            Volatile.Write(ref _state, Done);
        }
    }

    /// <summary>Stops the thread (after the checkpoint it runs, if any) and closes its connection.</summary>
    public void Dispose()
    {
        // Called under the store's lock, as Committed is. A wake-up the thread has not taken yet (it may be between the end
        // of a checkpoint and its wait) stops it as well: only one is given.
        _stopping = true;
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }

        _thread.Join();
        _checkpoint.Dispose();
        _tail.Dispose();
        _connection.Dispose();
        _wake.Dispose();
    }
}
