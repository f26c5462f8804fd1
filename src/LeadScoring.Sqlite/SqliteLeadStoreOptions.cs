namespace LeadScoring.Sqlite;

/// <summary>Options of <see cref="SqliteLeadStore"/>.</summary>
public sealed class SqliteLeadStoreOptions
{
    /// <summary>
    /// The SQLite connection string (required), e.g. <c>Data Source=leads.db</c>. The file is created when missing.
    /// Connection pooling is turned off: the store keeps its own connection for its lifetime.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How long a command may wait for a lock held by another connection or process before failing, in seconds
    /// (also the SQLite busy timeout). 0 waits without limit. Default 30.
    /// </summary>
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// When true, every commit is flushed to the disk (<c>PRAGMA synchronous=FULL</c>), so that a committed batch also
    /// survives a power loss or an operating-system crash, at the cost of an fsync per commit. Default false
    /// (<c>synchronous=NORMAL</c>): with the write-ahead log a committed batch survives the process being killed, and
    /// after a power loss the store is still consistent but may miss its last batches (lead states and source
    /// checkpoints together, so the sources deliver those messages again).
    /// </summary>
    public bool FlushEveryCommit { get; set; }

    internal SqliteLeadStoreOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("SqliteLeadStoreOptions.ConnectionString is required (e.g. \"Data Source=leads.db\").", nameof(ConnectionString));
        }

        if (CommandTimeoutSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CommandTimeoutSeconds), CommandTimeoutSeconds, "SqliteLeadStoreOptions.CommandTimeoutSeconds must not be negative.");
        }

        return new SqliteLeadStoreOptions { ConnectionString = ConnectionString, CommandTimeoutSeconds = CommandTimeoutSeconds, FlushEveryCommit = FlushEveryCommit };
    }
}
