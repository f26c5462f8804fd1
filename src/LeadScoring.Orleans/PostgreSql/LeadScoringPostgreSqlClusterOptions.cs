namespace LeadScoring.Orleans.PostgreSql;

/// <summary>Options of <c>UseLeadScoringPostgreSql</c> on a silo: Orleans' ADO.NET providers on PostgreSQL.</summary>
public sealed class LeadScoringPostgreSqlClusterOptions
{
    /// <summary>The name of the ADO.NET grain storage this configuration adds (also the default storage unless <see cref="AsDefaultGrainStorage"/> is false).</summary>
    public const string GrainStorageName = "LeadScoring";

    /// <summary>
    /// Whether the silo creates or upgrades the schema (<see cref="LeadScoringOrleansSchema.EnsureAsync"/>) when it
    /// starts, before Orleans reads its queries (default true). Set it to false when the schema is installed by a
    /// deployment step and the silos' database user may not create tables: the silo then only checks the schema's
    /// version and does not start (with a message saying what to run) when it is missing or older.
    /// </summary>
    public bool EnsureSchema { get; set; } = true;

    /// <summary>Whether the ADO.NET grain storage is also the silo's default grain storage (default true).</summary>
    public bool AsDefaultGrainStorage { get; set; } = true;

    /// <summary>
    /// Whether the silo's reminders (the stage clock) are kept in PostgreSQL (default true). False: the host adds a
    /// reminder service of its own.
    /// </summary>
    public bool UseReminders { get; set; } = true;
}
