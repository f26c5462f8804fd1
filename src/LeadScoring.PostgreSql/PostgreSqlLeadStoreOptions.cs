namespace LeadScoring.PostgreSql;

/// <summary>Options of <see cref="PostgreSqlLeadStore"/>.</summary>
public sealed class PostgreSqlLeadStoreOptions
{
    /// <summary>
    /// The Npgsql connection string (required), e.g. <c>Host=db;Database=leads;Username=scoring;Password=...</c>. The
    /// database must exist; the store creates its tables in the first schema of the search path (<c>public</c> unless
    /// the connection string sets <c>Search Path</c>), which must exist too.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>How long one command (a whole batch's write, a load) may run before it fails, in seconds. 0 waits without limit. Default 30.</summary>
    public int CommandTimeoutSeconds { get; set; } = 30;

    internal PostgreSqlLeadStoreOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("PostgreSqlLeadStoreOptions.ConnectionString is required (e.g. \"Host=localhost;Database=leads;Username=scoring\").", nameof(ConnectionString));
        }

        if (CommandTimeoutSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CommandTimeoutSeconds), CommandTimeoutSeconds, "PostgreSqlLeadStoreOptions.CommandTimeoutSeconds must not be negative.");
        }

        return new PostgreSqlLeadStoreOptions { ConnectionString = ConnectionString, CommandTimeoutSeconds = CommandTimeoutSeconds };
    }
}
