namespace LeadScoring.Samples.Worker;

/// <summary>The sample's settings (section <c>Worker</c>).</summary>
public sealed class WorkerSettings
{
    public string Folder { get; set; } = "inbox";

    /// <summary>The store: <c>sqlite</c> (the default; <see cref="Database"/> is a file path) or <c>postgres</c> (<see cref="Database"/> is an Npgsql connection string).</summary>
    public string Store { get; set; } = "sqlite";

    /// <summary>A SQLite file path, or, with <c>Store=postgres</c>, an Npgsql connection string.</summary>
    public string Database { get; set; } = "leads.db";

    /// <summary>Whether the store is PostgreSQL.</summary>
    public bool IsPostgres => string.Equals(Store, "postgres", StringComparison.OrdinalIgnoreCase);

    public bool Follow { get; set; } = true;

    /// <summary>
    /// With <c>Store=postgres</c>: the lease scope shared by the hosts that score this inbox into this database (one of
    /// them runs the pipeline, the others wait and take over when it stops or dies). Null: no lease.
    /// </summary>
    public string? Lease { get; set; }

    /// <summary>How long the lease lasts without a renewal (default 10 s): the longest a standby waits after the holder dies.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    public bool ExitWhenDrained { get; set; }

    public string? HandlerLog { get; set; }

    public string? Output { get; set; }

    public DateTimeOffset? AsOf { get; set; }

    /// <summary>What is wrong with the settings, in one line (checked before the host starts), or null.</summary>
    public string? Check()
    {
        if (!Directory.Exists(Folder))
        {
            return $"the inbox folder '{Path.GetFullPath(Folder)}' does not exist (Worker:Folder)";
        }

        if (!IsPostgres && !string.Equals(Store, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            return $"unknown store '{Store}' (Worker:Store): use sqlite or postgres";
        }

        if (IsPostgres)
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(Database);
            }
            catch (ArgumentException ex)
            {
                return $"Worker:Database is not an Npgsql connection string ({ex.Message}), as Worker:Store=postgres needs";
            }
        }
        else if (Path.GetDirectoryName(Path.GetFullPath(Database)) is { } databaseFolder && !Directory.Exists(databaseFolder))
        {
            return $"the folder of the database '{Path.GetFullPath(Database)}' does not exist (Worker:Database)";
        }

        if (Lease is not null && !IsPostgres)
        {
            return "Worker:Lease needs Worker:Store=postgres (hosts share a lease in their PostgreSQL database)";
        }

        if (Lease is not null && LeaseDuration < TimeSpan.FromSeconds(1))
        {
            return $"Worker:LeaseDuration must be at least 00:00:01, not {LeaseDuration}";
        }

        if (Output is not null && Path.GetDirectoryName(Path.GetFullPath(Output)) is { } outputFolder && !Directory.Exists(outputFolder))
        {
            return $"the folder of the output '{Path.GetFullPath(Output)}' does not exist (Worker:Output)";
        }

        return null;
    }

    /// <summary>An exception's messages, inner ones included, on one line.</summary>
    public static string OneLine(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            string m = e.Message.ReplaceLineEndings(" ").Trim();
            if (m.Length > 0 && !parts.Contains(m))
            {
                parts.Add(m);
            }
        }

        return string.Join(": ", parts);
    }

    /// <summary>The repository's sample model, found by walking up from the app's folder.</summary>
    public static string FindSampleModel()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "data", "model.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "model.json";
    }
}
