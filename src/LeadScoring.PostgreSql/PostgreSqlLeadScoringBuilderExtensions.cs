using LeadScoring.Hosting;
using LeadScoring.PostgreSql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the PostgreSQL lead store to <c>AddLeadScoring()</c>.</summary>
public static class PostgreSqlLeadScoringBuilderExtensions
{
    /// <summary>
    /// Stores leads, the message log, history, dead letters, the outbox and checkpoints in the PostgreSQL database of
    /// <paramref name="connectionString"/> (an Npgsql connection string; the database must exist, the tables are created
    /// on start). Calling it again replaces the earlier choice.
    /// </summary>
    public static LeadScoringBuilder UsePostgreSql(this LeadScoringBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgreSql(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Stores leads in PostgreSQL with the options <paramref name="configure"/> sets
    /// (<see cref="PostgreSqlLeadStoreOptions.ConnectionString"/> is required). The options are read and checked now.
    /// Calling it again replaces the earlier choice.
    /// </summary>
    public static LeadScoringBuilder UsePostgreSql(this LeadScoringBuilder builder, Action<PostgreSqlLeadStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PostgreSqlLeadStoreOptions();
        configure(options);
        options = options.Validated();
        return builder.UseStore(sp => new PostgreSqlLeadStore(options, sp.GetService<TimeProvider>()));
    }
}
