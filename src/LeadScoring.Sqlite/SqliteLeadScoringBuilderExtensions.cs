using LeadScoring.Hosting;
using LeadScoring.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the SQLite lead store to <c>AddLeadScoring()</c>.</summary>
public static class SqliteLeadScoringBuilderExtensions
{
    /// <summary>
    /// Stores leads, the message log, history, dead letters and checkpoints in the SQLite database of
    /// <paramref name="connectionString"/> (e.g. <c>Data Source=leads.db</c>; the file is created when missing).
    /// Calling it again replaces the earlier choice.
    /// </summary>
    public static LeadScoringBuilder UseSqlite(this LeadScoringBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Stores leads in SQLite with the options <paramref name="configure"/> sets (<see cref="SqliteLeadStoreOptions.ConnectionString"/>
    /// is required). The options are read and checked now. Calling it again replaces the earlier choice.
    /// </summary>
    public static LeadScoringBuilder UseSqlite(this LeadScoringBuilder builder, Action<SqliteLeadStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SqliteLeadStoreOptions();
        configure(options);
        options = options.Validated();
        return builder.UseStore(sp => new SqliteLeadStore(options, sp.GetService<TimeProvider>()));
    }
}
