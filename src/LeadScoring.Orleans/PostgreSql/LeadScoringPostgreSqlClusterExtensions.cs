using LeadScoring.Orleans.PostgreSql;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Production configuration of a LeadScoring cluster on PostgreSQL: Orleans' ADO.NET clustering, reminders and grain
/// storage (invariant <c>Npgsql</c>) on LeadScoring's own schema (<see cref="LeadScoringOrleansSchema"/>).
/// </summary>
public static class LeadScoringPostgreSqlClusterExtensions
{
    /// <summary>The ADO.NET invariant name of Npgsql, the provider the Orleans ADO.NET packages load for PostgreSQL.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// Keeps the silo's cluster membership, its reminders (the stage clock) and its grain state in PostgreSQL: Orleans'
    /// ADO.NET clustering, reminder service and grain storage (named
    /// <see cref="LeadScoringPostgreSqlClusterOptions.GrainStorageName"/>, and the default), with invariant
    /// <c>Npgsql</c>. The silo installs or upgrades the schema when it starts (<see cref="LeadScoringOrleansSchema.EnsureAsync"/>);
    /// with <see cref="LeadScoringPostgreSqlClusterOptions.EnsureSchema"/> false it only checks that the schema is
    /// there, at this package's version, and refuses to start, saying so, when it is not. Every silo and client of the
    /// cluster must use the same database (and the same Orleans <c>ClusterId</c> and <c>ServiceId</c>). The message log
    /// is the <c>ILeadStore</c> of the silo's services (e.g. <c>PostgreSqlLeadStore</c> on the same database).
    /// </summary>
    /// <param name="builder">The silo.</param>
    /// <param name="connectionString">An Npgsql connection string to the cluster's database.</param>
    /// <param name="configure">Changes the options (schema installation, default storage, reminders).</param>
    public static ISiloBuilder UseLeadScoringPostgreSql(
        this ISiloBuilder builder, string connectionString, Action<LeadScoringPostgreSqlClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new LeadScoringPostgreSqlClusterOptions();
        configure?.Invoke(options);

        builder.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString));
        if (options.UseReminders)
        {
            builder.UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString));
        }

        builder.AddAdoNetGrainStorage(LeadScoringPostgreSqlClusterOptions.GrainStorageName,
            o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString));
        if (options.AsDefaultGrainStorage)
        {
            builder.AddAdoNetGrainStorageAsDefault(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString));
        }

        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(new SchemaInstaller(connectionString, options.EnsureSchema));

        return builder;
    }

    /// <summary>
    /// Finds the cluster's gateways in PostgreSQL (Orleans' ADO.NET clustering, invariant <c>Npgsql</c>): the client
    /// side of <see cref="UseLeadScoringPostgreSql(ISiloBuilder, string, Action{LeadScoringPostgreSqlClusterOptions}?)"/>.
    /// The schema must have been installed (a silo installs it when it starts).
    /// </summary>
    /// <param name="builder">The Orleans client.</param>
    /// <param name="connectionString">An Npgsql connection string to the cluster's database.</param>
    public static IClientBuilder UseLeadScoringPostgreSql(this IClientBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString));
    }

    /// <summary>
    /// Installs the schema (or, when the silo is not to, checks that it is there: a clear error instead of the
    /// providers' failures) at the first stage of the silo's start, before Orleans reads its queries.
    /// </summary>
    private sealed class SchemaInstaller(string connectionString, bool install) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(LeadScoringOrleansSchema), ServiceLifecycleStage.First, cancellationToken => install
                ? LeadScoringOrleansSchema.EnsureAsync(connectionString, cancellationToken)
                : LeadScoringOrleansSchema.VerifyAsync(connectionString, cancellationToken));
    }
}
