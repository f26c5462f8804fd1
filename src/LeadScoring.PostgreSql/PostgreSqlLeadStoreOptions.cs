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

    /// <summary>
    /// The lease scope: when set, several hosts may share the database and the pipeline runs on one of them at a time,
    /// the one holding the lease of this scope (a row of the <c>lease</c> table); the others wait as standbys and one
    /// takes over when the holder stops or dies. Every commit of the store is fenced by the lease (see the README).
    /// Hosts scoring the same inbox into the same database must give the same scope. Null (the default): no lease, one
    /// host per database.
    /// </summary>
    public string? Lease { get; set; }

    /// <summary>
    /// How long the lease lasts without a renewal (default 10 s): a host that dies is replaced after at most this
    /// long. The holder renews it every third of it. At least one second.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// This host's name in the lease table (who holds it); null (the default): the machine name, the process id and a
    /// random suffix, different for every store object.
    /// </summary>
    public string? LeaseOwner { get; set; }

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

        if (Lease is not null && string.IsNullOrWhiteSpace(Lease))
        {
            throw new ArgumentException("PostgreSqlLeadStoreOptions.Lease must not be empty: give a scope name, or null for no lease.", nameof(Lease));
        }

        if (LeaseDuration < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration, "PostgreSqlLeadStoreOptions.LeaseDuration must be at least one second.");
        }

        if (LeaseOwner is not null && string.IsNullOrWhiteSpace(LeaseOwner))
        {
            throw new ArgumentException("PostgreSqlLeadStoreOptions.LeaseOwner must not be empty: give a name, or null for one made up.", nameof(LeaseOwner));
        }

        return new PostgreSqlLeadStoreOptions
        {
            ConnectionString = ConnectionString,
            CommandTimeoutSeconds = CommandTimeoutSeconds,
            Lease = Lease,
            LeaseDuration = LeaseDuration,
            LeaseOwner = LeaseOwner,
        };
    }
}
