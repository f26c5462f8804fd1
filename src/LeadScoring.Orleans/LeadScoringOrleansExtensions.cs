using LeadScoring.Hosting;
using LeadScoring.Orleans;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds LeadScoring to an Orleans silo, and its client to any host that talks to the cluster.</summary>
public static class LeadScoringOrleansExtensions
{
    /// <summary>
    /// Adds the LeadScoring grains to the silo: the identity directory and the partition grains, scoring with the model
    /// of <paramref name="configure"/>. The message log and the outbox go through the <see cref="ILeadStore"/>
    /// registered in the silo's services (e.g. <c>PostgreSqlLeadStore</c>, shared by every silo); without one, an
    /// <see cref="InMemoryLeadStore"/> of this silo (development, one silo). Stage moves are told to every registered
    /// <see cref="IStageChangedHandler"/>. The stage clock runs on Orleans reminders: give the silo a reminder service
    /// (e.g. <c>UseInMemoryReminderService()</c>, or ADO.NET reminders) or set
    /// <see cref="LeadScoringClusterOptions.UseStageClockReminders"/> to false. Also registers <see cref="ILeadScoringClient"/>.
    /// </summary>
    public static ISiloBuilder AddLeadScoring(this ISiloBuilder builder, Action<LeadScoringClusterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<LeadScoringClusterOptions>().Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILeadStore, InMemoryLeadStore>();
        services.TryAddSingleton<ILeadScoringGrainStorage>(sp => new LeadStoreGrainStorage(sp.GetRequiredService<ILeadStore>()));
        services.TryAddSingleton<LeadScoringSiloServices>();
        services.AddLeadScoringClient();
        return builder;
    }

    /// <summary>Registers <see cref="ILeadScoringClient"/> (over the host's <c>IGrainFactory</c>: an Orleans client, or a silo).</summary>
    public static IServiceCollection AddLeadScoringClient(this IServiceCollection services, Action<LeadScoringClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<LeadScoringClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<ILeadScoringClient, LeadScoringClient>();
        return services;
    }
}
