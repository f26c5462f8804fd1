using LeadScoring.Hosting;
using LeadScoring.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
    /// Calling it again replaces the earlier choice. With <see cref="PostgreSqlLeadStoreOptions.Lease"/> set, the store's
    /// lease is registered as the <see cref="ILeadScoringLease"/>: the pipeline runs only while this host holds it.
    /// </summary>
    public static LeadScoringBuilder UsePostgreSql(this LeadScoringBuilder builder, Action<PostgreSqlLeadStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PostgreSqlLeadStoreOptions();
        configure(options);
        options = options.Validated();
        builder.UseStore(sp => new PostgreSqlLeadStore(options, sp.GetService<TimeProvider>()));
        builder.Services.RemoveAll<ILeadScoringLease>();
        if (options.Lease is not null)
        {
            // The store's own lease: the one that fences its commits.
            builder.Services.AddSingleton<ILeadScoringLease>(sp => (sp.GetRequiredService<ILeadStore>() as PostgreSqlLeadStore)?.Lease
                ?? throw new InvalidOperationException("PostgreSqlLeadStoreOptions.Lease is set, but the lead store is not the PostgreSQL store of UsePostgreSql: call UsePostgreSql last."));
        }

        return builder;
    }
}
